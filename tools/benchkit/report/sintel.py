"""The Sintel section: Ruder et al. Table 1 per method and sequence, all rows, two charts."""

from __future__ import annotations

from pathlib import Path

from benchkit.report import fields
from benchkit.report.cells import DASH, cell, fmt_g, fmt_int, fmt_s, fmt_x, table
from benchkit.report.charts import chart_guard, grouped_bars, log_if_decades, save

# Method keys of the Sintel section, in the order of the report (Ruder et al. Table 1 first).
METHOD_ORDER = [
    "random",
    "previous",
    "warped",
    "warped_temporal_dis",
    "warped_temporal_deepflow",
    "long_term",
    "multipass",
    "pastiche",
]
DEFAULT_LABELS = {
    "random": "random init (per frame)",
    "previous": "previous-frame init",
    "warped": "warped init",
    "warped_temporal_dis": "warped init + temporal loss (DIS)",
    "warped_temporal_deepflow": "warped init + temporal loss (DeepFlow)",
    "long_term": "long-term temporal loss",
    "multipass": "multi-pass",
    "pastiche": "pastiche (peer)",
}
PUBLISHED = (
    "Published (Ruder et al. 2016, Table 1, 1024x436, full iterations, averaged over styles): "
    "alley_2 0.00061 (DeepFlow + temporal loss), 0.0016 (warped init), 0.010 (previous), "
    "0.019 (random); market_6 0.0035 / 0.0049 / 0.014 / 0.023."
)


def render(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "sintel"
    lines = ["## Sintel (Ruder et al. Table 1 protocol)", ""]
    info = []
    if "size" in sec or "scale" in sec:
        info.append(f"size {sec.get('size', '?')} (1/{sec.get('scale', '?')} of 1024x436)")
    budget = sec.get("budget")
    if isinstance(budget, dict):
        info.append(
            f"iterations: first frame {budget.get('first', '?')}, later frames {budget.get('later', '?')}"
        )
    if sec.get("styles"):
        info.append("styles: " + ", ".join(map(str, sec["styles"])))
    if sec.get("sequences"):
        info.append("sequences: " + ", ".join(map(str, sec["sequences"])))
    if info:
        lines += ["; ".join(info) + ".", ""]
    lines += [PUBLISHED, ""]

    rows = fields.rows(sec, "rows", where)
    if not rows:
        return [*lines, "No rows."]
    parsed = []
    labels: dict[str, str] = {}
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        method = fields.text(r, "method", w)
        labels.setdefault(method, str(r["label"]) if r.get("label") else DEFAULT_LABELS.get(method, method))
        parsed.append(
            {
                "sequence": fields.text(r, "sequence", w),
                "pair": str(r.get("pair", "")),
                "style": fields.text(r, "style", w),
                "method": method,
                "te": fields.number(r, "temporal_error", w),
                "style_loss": fields.number(r, "style_loss", w),
                "content_loss": fields.number(r, "content_loss", w),
                "seconds": fields.number(r, "seconds", w),
                "iterations": r.get("iterations"),
            }
        )
    sequences = fields.ordered(p["sequence"] for p in parsed)
    present = fields.ordered(p["method"] for p in parsed)
    methods = [m for m in METHOD_ORDER if m in present] + [m for m in present if m not in METHOD_ORDER]

    random_rows = {(p["sequence"], p["pair"], p["style"]): p for p in parsed if p["method"] == "random"}
    if not random_rows:
        fields.warn("sintel: no 'random' rows: ratios to random are left empty")

    def ratio(p: dict, key: str, invert: bool = False) -> float | None:
        ref = random_rows.get((p["sequence"], p["pair"], p["style"]))
        if ref is None or ref[key] is None or p[key] is None:
            return None
        num, den = (ref[key], p[key]) if invert else (p[key], ref[key])
        return num / den if den else None

    # Headline: one row per method, one column per sequence (mean over styles), as in Table 1.
    head_rows = []
    mean_te: dict[str, dict[str, float | None]] = {}
    for m in methods:
        mine = [p for p in parsed if p["method"] == m]
        mean_te[m] = {s: fields.mean(p["te"] for p in mine if p["sequence"] == s) for s in sequences}
        style_ratio = fields.mean(ratio(p, "style_loss") for p in mine)
        content_ratio = fields.mean(ratio(p, "content_loss") for p in mine)
        head_rows.append(
            [
                cell(labels[m]),
                *(fmt_g(mean_te[m][s]) for s in sequences),
                fmt_x(style_ratio),
                fmt_x(content_ratio),
            ]
        )
    lines += [
        "### Temporal error per sequence (mean over styles)",
        "",
        table(["Method", *sequences, "style loss vs random", "content loss vs random"], head_rows),
        "",
        "### All rows",
        "",
    ]
    order = {m: i for i, m in enumerate(methods)}
    full = []
    for p in sorted(
        parsed, key=lambda p: (sequences.index(p["sequence"]), p["pair"], p["style"], order[p["method"]])
    ):
        full.append(
            [
                cell(p["sequence"]),
                cell(p["pair"]) or DASH,
                cell(p["style"]),
                cell(labels[p["method"]]),
                fmt_g(p["te"]),
                fmt_x(ratio(p, "te", invert=True)),
                fmt_g(p["style_loss"]),
                fmt_g(p["content_loss"]),
                fmt_s(p["seconds"]),
                fmt_int(p["iterations"]),
            ]
        )
    lines.append(
        table(
            [
                "Sequence",
                "Pair",
                "Style",
                "Method",
                "Temporal error",
                "x lower than random",
                "Style loss",
                "Content loss",
                "Seconds",
                "Iterations",
            ],
            full,
            ["l", "l", "l", "l", "r", "r", "r", "r", "r", "r"],
        )
    )

    if plt is not None:
        with chart_guard("sintel"):
            fig, ax = plt.subplots(figsize=(max(9.0, 1.6 * len(sequences) + 6), 5))
            grouped_bars(
                ax, sequences, {labels[m]: [mean_te[m][s] for s in sequences] for m in methods}, log=True
            )
            ax.set_ylabel("temporal error (mean over styles, log)")
            ax.set_title("Sintel: short-term temporal error per method (lower is better)")
            ax.grid(axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            save(fig, out_dir / "sintel_temporal_error.png", written)

            fig, ax = plt.subplots(figsize=(8, 5.5))
            xs_all, ys_all = [], []
            for m in methods:
                mine = [p for p in parsed if p["method"] == m]
                pts = [(ratio(p, "te"), ratio(p, "style_loss")) for p in mine]
                pts = [(x, y) for x, y in pts if x is not None and y is not None and x > 0 and y > 0]
                if pts:
                    xs_all += [x for x, _ in pts]
                    ys_all += [y for _, y in pts]
                    ax.scatter([x for x, _ in pts], [y for _, y in pts], label=labels[m], s=36, alpha=0.8)
            ax.axvline(1.0, color="grey", lw=0.8, ls="--")
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            if xs_all:
                ax.set_xscale("log")
                log_if_decades(ax, "y", ys_all)
            ax.set_xlabel("temporal error / random init's (log; left is more stable)")
            ax.set_ylabel("style loss / random init's (lower is better)")
            ax.set_title("Sintel: stylization vs stability, per sequence and style")
            ax.grid(which="both", alpha=0.3)
            if xs_all:
                ax.legend(fontsize=8)
            save(fig, out_dir / "sintel_style_vs_temporal.png", written)
    return lines
