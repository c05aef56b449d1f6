"""The optical-flow section: per-backend summary, all pairs, accuracy-vs-time chart."""

from __future__ import annotations

from pathlib import Path

from benchkit.report import fields
from benchkit.report.cells import cell, fmt_g, fmt_int, fmt_s, table
from benchkit.report.charts import chart_guard, save
from benchkit.report.summary import target_rows

FLOW_SIZE = (1024, 436)


def render(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "flow"
    lines = ["## Optical flow", ""]
    rows = fields.rows(sec, "rows", where)
    parsed = []
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        p = {
            "sequence": fields.text(r, "sequence", w),
            "pair": fields.text(r, "pair", w),
            "backend": fields.text(r, "backend", w),
            "width": r.get("width"),
            "height": r.get("height"),
        }
        if p["width"] is None or p["height"] is None:
            fields.warn(f"{w}: missing field 'width' or 'height'")
        for k in [
            "flow_pair_s",
            "weights_s",
            "total_s",
            "epe_noc",
            "occlusion_precision",
            "occlusion_recall",
        ]:
            p[k] = fields.number(r, k, w)
        parsed.append(p)
    if parsed:
        backends = fields.ordered(p["backend"] for p in parsed)
        summary = []
        for b in backends:
            mine = [p for p in parsed if p["backend"] == b]
            full = [p for p in mine if (p["width"], p["height"]) == FLOW_SIZE]
            if full:
                median = fmt_s(fields.median(p["total_s"] for p in full))
            else:
                sized = [p for p in mine if isinstance(p["width"], int) and isinstance(p["height"], int)]
                if sized:
                    big = max(sized, key=lambda p: p["width"] * p["height"])
                    at = [p for p in sized if (p["width"], p["height"]) == (big["width"], big["height"])]
                    at_median = fmt_s(fields.median(p["total_s"] for p in at))
                    median = f"{at_median} (at {big['width']}x{big['height']})"
                else:
                    median = f"{fmt_s(fields.median(p['total_s'] for p in mine))} (size unknown)"
                fields.warn(f"flow: backend '{b}' has no {FLOW_SIZE[0]}x{FLOW_SIZE[1]} rows")
            summary.append(
                [
                    cell(b),
                    str(len(mine)),
                    median,
                    fmt_g(fields.mean(p["epe_noc"] for p in mine)),
                    fmt_g(fields.mean(p["occlusion_precision"] for p in mine)),
                    fmt_g(fields.mean(p["occlusion_recall"] for p in mine)),
                ]
            )
        lines += [
            table(
                [
                    "Backend",
                    "Pairs",
                    f"Median s/pair at {FLOW_SIZE[0]}x{FLOW_SIZE[1]}",
                    "Mean EPE (noc)",
                    "Mean occlusion precision",
                    "Mean occlusion recall",
                ],
                summary,
            ),
            "",
            table(
                [
                    "Sequence",
                    "Pair",
                    "Backend",
                    "Size",
                    "Flow s",
                    "Weights s",
                    "Total s",
                    "EPE (noc)",
                    "Occl. precision",
                    "Occl. recall",
                ],
                [
                    [
                        cell(p["sequence"]),
                        cell(p["pair"]),
                        cell(p["backend"]),
                        f"{fmt_int(p['width'])}x{fmt_int(p['height'])}",
                        fmt_s(p["flow_pair_s"]),
                        fmt_s(p["weights_s"]),
                        fmt_s(p["total_s"]),
                        fmt_g(p["epe_noc"]),
                        fmt_g(p["occlusion_precision"]),
                        fmt_g(p["occlusion_recall"]),
                    ]
                    for p in parsed
                ],
                ["l", "l", "l", "l"] + ["r"] * 6,
            ),
        ]
    else:
        lines.append("No rows.")
    found, other = target_rows(where, sec.get("targets"))
    if other or found:
        lines += ["", "Flow targets:", ""]
        lines += [f"- {cell(item)}" for item in other]
        lines += [
            f"- {cell(t.get('name', '?'))}: {fmt_g(t.get('value'))} (threshold {fmt_g(t.get('threshold'))})"
            for t in found
        ]
    if plt is not None and parsed:
        with chart_guard("flow"):
            fig, ax = plt.subplots(figsize=(8, 5))
            any_point = False
            for b in fields.ordered(p["backend"] for p in parsed):
                pts = [(p["total_s"], p["epe_noc"]) for p in parsed if p["backend"] == b]
                pts = [(x, y) for x, y in pts if x is not None and y is not None and x > 0]
                if pts:
                    any_point = True
                    ax.scatter([x for x, _ in pts], [y for _, y in pts], label=b, s=40, alpha=0.8)
            if any_point:
                ax.set_xscale("log")
                ax.legend(fontsize=8)
            ax.set_xlabel("seconds per pair (flow + weights, log)")
            ax.set_ylabel("EPE, non-occluded pixels (px)")
            ax.set_title("Optical flow: accuracy vs time, one point per backend and pair")
            ax.grid(which="both", alpha=0.3)
            save(fig, out_dir / "flow.png", written)
    return lines
