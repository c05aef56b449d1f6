"""The scaling section: tables by resolution and by sequence length, one two-panel chart."""

from __future__ import annotations

from pathlib import Path

from benchkit.report import fields
from benchkit.report.cells import fmt_auto, fmt_int, fmt_s, table
from benchkit.report.charts import chart_guard, log_if_decades, save

SCALING_HEADERS = {
    "size": "Size",
    "pixels": "Pixels",
    "frames": "Frames",
    "wall_s_per_frame": "Wall s/frame",
    "optimise_s_per_iteration": "Optimise s/iteration",
    "peak_rss_mib": "Peak RSS MiB",
    "peak_cuda_mib": "Peak CUDA MiB",
}


def scaling_table(rows: list[dict], first: list[str]) -> str:
    keys = fields.ordered([*first, *(k for r in rows for k in r)])
    keys = [k for k in keys if any(k in r for r in rows)]
    headers = [*keys[:1], "pixels", *keys[1:]] if "size" in keys else keys
    out = []
    for r in rows:
        cells = []
        for h in headers:
            if h == "pixels":
                cells.append(fmt_auto(fields.pixels(r.get("size"))))
            elif h.endswith("_s") or "_s_per_" in h:
                v = r.get(h)
                cells.append(fmt_s(v) if isinstance(v, (int, float)) else fmt_auto(v))
            elif h.endswith("_mib"):
                v = r.get(h)
                cells.append(f"{v:.1f}" if isinstance(v, (int, float)) else fmt_auto(v))
            else:
                cells.append(fmt_auto(r.get(h)))
        out.append(cells)
    return table([SCALING_HEADERS.get(h, h) for h in headers], out)


def render(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "scaling"
    lines = ["## Scaling", ""]
    if sec.get("iterations") is not None:
        lines += [f"{fmt_int(sec['iterations'])} iterations per frame.", ""]
    res = fields.rows(sec, "resolution_rows", where)
    length = fields.rows(sec, "length_rows", where)
    lines += ["### By resolution", ""]
    lines.append(
        scaling_table(
            res, ["size", "wall_s_per_frame", "optimise_s_per_iteration", "peak_rss_mib", "peak_cuda_mib"]
        )
        if res
        else "No rows."
    )
    lines += ["", "### By sequence length", ""]
    lines.append(
        scaling_table(length, ["size", "frames", "wall_s_per_frame", "peak_rss_mib", "peak_cuda_mib"])
        if length
        else "No rows."
    )
    if plt is None or not (res or length):
        return lines
    with chart_guard("scaling"):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        panels = [
            (axes[0], res, "pixels", "pixels per frame", "resolution"),
            (axes[1], length, "frames", "frames in the sequence", "sequence length"),
        ]
        for ax, rows, xkey, xlabel, title in panels:
            for i, r in enumerate(rows):
                w = f"{where} {title} row {i}"
                if xkey == "pixels" and fields.pixels(r.get("size")) is None:
                    fields.warn(f"{w}: field 'size' missing or not WxH")
                if xkey == "frames":
                    fields.number(r, "frames", w)
                fields.number(r, "wall_s_per_frame", w)
                fields.number(r, "peak_rss_mib", w)

            def x_of(r: dict, xkey: str = xkey) -> float | None:
                if xkey == "pixels":
                    return fields.pixels(r.get("size"))
                v = r.get(xkey)
                return float(v) if isinstance(v, (int, float)) else None

            def series(key: str, rows: list[dict] = rows, x_of=x_of) -> tuple[list[float], list[float]]:
                pts = sorted(
                    (x_of(r), r.get(key))
                    for r in rows
                    if x_of(r) is not None and fields.finite(r.get(key)) and fields.finite(x_of(r))
                )
                return [p[0] for p in pts], [float(p[1]) for p in pts]

            ax.set_title(f"By {title}")
            ax.set_xlabel(xlabel)
            if not rows:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
                continue
            xs, ys = series("wall_s_per_frame")
            handles = []
            if xs:
                handles += ax.plot(xs, ys, "o-", color="tab:blue", label="seconds per frame")
                log_if_decades(ax, "x", xs)
                log_if_decades(ax, "y", ys)
            if ax.get_yscale() != "log" and ys:
                ax.set_ylim(0, max(ys) * 1.15 or 1.0)
            ax.set_ylabel("seconds per frame", color="tab:blue")
            mem = ax.twinx()
            all_mem = []
            for key, colour, label in [
                ("peak_rss_mib", "tab:orange", "peak RSS (MiB)"),
                ("peak_cuda_mib", "tab:green", "peak CUDA (MiB)"),
            ]:
                mx, my = series(key)
                if mx:
                    all_mem += my
                    handles += mem.plot(mx, my, "s--", color=colour, label=label)
            log_if_decades(mem, "y", all_mem)
            if mem.get_yscale() != "log" and all_mem:
                mem.set_ylim(0, max(all_mem) * 1.15 or 1.0)
            mem.set_ylabel("peak memory (MiB)")
            ax.grid(which="both", alpha=0.3)
            if handles:
                ax.legend(
                    handles=handles,
                    labels=[h.get_label() for h in handles],
                    fontsize=8,
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.14),
                    ncol=3,
                )
        save(fig, out_dir / "scaling.png", written)
    return lines
