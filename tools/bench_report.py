#!/usr/bin/env python
"""Markdown report and PNG charts from a benchmark suite's `suite.json`.

    python tools/bench_report.py docs/benchmarks/suite/suite.json [--out DIR]

Writes `report.md` and the charts (`sintel_temporal_error.png`, `sintel_style_vs_temporal.png`,
`peer.png`, `flow.png`, `scaling.png`) into DIR (default: the JSON's folder). Every section of the
suite is optional: a missing one is reported as "not run", and a missing field gives a warning on
stderr and an empty cell, never an exception. Without matplotlib the report is written without charts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DPI = 120
DASH = "—"

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
FLOW_SIZE = (1024, 436)

_warned: set[str] = set()


def warn(message: str) -> None:
    """Print a warning to stderr, once per message."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Field access and formatting


def _num(row: dict, key: str, where: str) -> float | None:
    """`row[key]` as a float, or None (with a warning) when it is absent or not a number."""
    value = row.get(key)
    if value is None:
        if key not in row:
            warn(f"{where}: missing field '{key}'")
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        warn(f"{where}: field '{key}' is not a number ({value!r})")
        return None
    return value if math.isfinite(value) else None


def _str(row: dict, key: str, where: str, default: str = "?") -> str:
    value = row.get(key)
    if value is None:
        warn(f"{where}: missing field '{key}'")
        return default
    return str(value)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def fmt_g(value: Any) -> str:
    """Errors and losses: 4 significant digits."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return _cell(value)


def fmt_s(value: float | None) -> str:
    """Seconds: 2 decimals."""
    return DASH if value is None else f"{value:.2f}"


def fmt_x(value: float | None) -> str:
    """Ratios: `28.3x`."""
    if value is None:
        return DASH
    return f"{value:.2f}x" if abs(value) < 10 else f"{value:.1f}x"


def fmt_int(value: Any) -> str:
    if value is None:
        return DASH
    try:
        return str(int(value))
    except (TypeError, ValueError, OverflowError):
        return _cell(value)


def fmt_auto(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return _cell(value)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A Markdown table; `align` holds 'l' or 'r' per column (default: first left, rest right)."""
    if align is None:
        align = ["l"] + ["r"] * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _rows(section: dict, key: str, where: str) -> list[dict]:
    rows = section.get(key)
    if rows is None:
        warn(f"{where}: no '{key}'")
        return []
    if not isinstance(rows, list):
        warn(f"{where}: '{key}' is not a list")
        return []
    kept = [r for r in rows if isinstance(r, dict)]
    if len(kept) != len(rows):
        warn(f"{where}: skipped {len(rows) - len(kept)} '{key}' entries that are not objects")
    return kept


def _ordered(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def _pixels(size: Any) -> int | None:
    try:
        w, h = str(size).lower().split("x")
        return int(w) * int(h)
    except (ValueError, AttributeError):
        return None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _spans_decades(values: Iterable[float | None]) -> bool:
    kept = [v for v in values if v is not None]
    return bool(kept) and min(kept) > 0 and max(kept) / min(kept) >= 10


# ---------------------------------------------------------------------------------------------
# Charts (matplotlib is imported lazily so that the report works without it)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        warn("matplotlib is not installed: no charts (pip install 'matplotlib>=3.8')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, written: list[Path]) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    written.append(path)


@contextlib.contextmanager
def _chart_guard(name: str):
    """A chart that fails to draw gives a warning, and the section's tables are kept."""
    try:
        yield
    except Exception as exc:
        warn(f"{name}: chart not drawn ({type(exc).__name__}: {exc})")
        import matplotlib.pyplot as plt

        plt.close("all")


def _log_if_decades(ax, axis: str, values: Iterable[float | None]) -> None:
    values = list(values)
    if _spans_decades(values):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _grouped_bars(ax, groups: list[str], series: dict[str, list[float | None]], log: bool) -> None:
    """Bars per group (x) and series (colour); None values are left out."""
    n = max(len(series), 1)
    width = 0.8 / n
    values = [v for vs in series.values() for v in vs if v is not None and v > 0]
    for i, (name, vs) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        pts = [(x, v) for x, v in zip(xs, vs, strict=False) if v is not None and (v > 0 or not log)]
        if pts:
            ax.bar([p[0] for p in pts], [p[1] for p in pts], width=width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(
        groups, rotation=20 if len(groups) > 3 else 0, ha="right" if len(groups) > 3 else "center"
    )
    if log and values:
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 2, max(values) * 2)


# ---------------------------------------------------------------------------------------------
# Sections


def _header(suite: dict) -> list[str]:
    for key in ["machine", "device", "torch_threads", "commit", "command", "started", "wall_seconds"]:
        if suite.get(key) is None:
            warn(f"suite: missing field '{key}'")
    device = suite.get("device")
    if suite.get("device_name"):
        device = f"{device or '?'} ({suite['device_name']})"
    wall = suite.get("wall_seconds")
    wall_text = None
    if _finite(wall):
        wall_text = f"{wall:.2f} s ({wall / 60:.1f} min)" if wall >= 60 else f"{wall:.2f} s"
    command = suite.get("command")
    fields = [
        ("Machine", suite.get("machine")),
        ("Device", device),
        ("Network precision", suite.get("precision", "float32")),
        ("Torch threads", suite.get("torch_threads")),
        ("Commit", suite.get("commit")),
        ("Command", f"`{command}`" if command else None),
        ("Date", suite.get("started")),
        ("Total wall time", wall_text),
    ]
    lines = ["# Benchmark report", ""]
    lines += [f"- **{name}:** {DASH if value is None else value}" for name, value in fields]
    return lines


def _flat(value: Any) -> str:
    """A free-form value on one line: dicts as `key value, ...`, lists comma-separated."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt_auto(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list):
        return ", ".join(fmt_auto(v) for v in value) or DASH
    return fmt_auto(value)


def _target_rows(section_name: str, targets: Any) -> tuple[list[dict], list[str]]:
    """Target dicts with a 'section' key, and free-form items (`key: value`) that are not targets."""
    found: list[dict] = []
    other: list[str] = []
    if targets is None:
        return found, other
    if isinstance(targets, dict):
        for key, value in targets.items():
            if isinstance(value, dict) and ("passed" in value or "value" in value):
                found.append({"name": key, **value, "section": section_name})
            else:
                other.append(f"{key}: {_flat(value)}")
        return found, other
    if isinstance(targets, list):
        for t in targets:
            if isinstance(t, dict):
                found.append({**t, "section": section_name})
            else:
                warn(f"{section_name}: skipped a target that is not an object ({t!r})")
        return found, other
    warn(f"{section_name}: 'targets' is neither a list nor an object")
    return found, other


def _targets(sections: dict) -> list[str]:
    lines = ["## Targets", ""]
    found: list[dict] = []
    for name, section in sections.items():
        if isinstance(section, dict):
            found += _target_rows(name, section.get("targets"))[0]
    if not found:
        return [*lines, "No targets recorded."]
    rows = []
    passed = 0
    for t in found:
        where = f"{t['section']} target"
        name = _str(t, "name", where)
        ok = t.get("passed")
        if ok is None:
            warn(f"{where} '{name}': missing field 'passed'")
            verdict = "?"
        elif ok:
            verdict = "pass"
            passed += 1
        else:
            verdict = "**FAIL**"
        if "value" not in t:
            warn(f"{where} '{name}': missing field 'value'")
        rows.append(
            [
                _cell(t["section"]),
                _cell(name),
                fmt_g(t.get("value")),
                fmt_g(t.get("threshold")),
                verdict,
                _cell(t.get("detail", "")),
            ]
        )
    lines.append(
        table(
            ["Section", "Target", "Measured", "Threshold", "Result", "Detail"],
            rows,
            ["l", "l", "r", "r", "l", "l"],
        )
    )
    lines += ["", f"{passed} of {len(found)} targets passed."]
    return lines


def _sintel(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
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

    rows = _rows(sec, "rows", where)
    if not rows:
        return [*lines, "No rows."]
    parsed = []
    labels: dict[str, str] = {}
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        method = _str(r, "method", w)
        labels.setdefault(method, str(r["label"]) if r.get("label") else DEFAULT_LABELS.get(method, method))
        parsed.append(
            {
                "sequence": _str(r, "sequence", w),
                "pair": str(r.get("pair", "")),
                "style": _str(r, "style", w),
                "method": method,
                "te": _num(r, "temporal_error", w),
                "style_loss": _num(r, "style_loss", w),
                "content_loss": _num(r, "content_loss", w),
                "seconds": _num(r, "seconds", w),
                "iterations": r.get("iterations"),
            }
        )
    sequences = _ordered(p["sequence"] for p in parsed)
    present = _ordered(p["method"] for p in parsed)
    methods = [m for m in METHOD_ORDER if m in present] + [m for m in present if m not in METHOD_ORDER]

    random_rows = {(p["sequence"], p["pair"], p["style"]): p for p in parsed if p["method"] == "random"}
    if not random_rows:
        warn("sintel: no 'random' rows: ratios to random are left empty")

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
        mean_te[m] = {s: _mean(p["te"] for p in mine if p["sequence"] == s) for s in sequences}
        style_ratio = _mean(ratio(p, "style_loss") for p in mine)
        content_ratio = _mean(ratio(p, "content_loss") for p in mine)
        head_rows.append(
            [
                _cell(labels[m]),
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
                _cell(p["sequence"]),
                _cell(p["pair"]) or DASH,
                _cell(p["style"]),
                _cell(labels[p["method"]]),
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
        with _chart_guard("sintel"):
            fig, ax = plt.subplots(figsize=(max(9.0, 1.6 * len(sequences) + 6), 5))
            _grouped_bars(
                ax, sequences, {labels[m]: [mean_te[m][s] for s in sequences] for m in methods}, log=True
            )
            ax.set_ylabel("temporal error (mean over styles, log)")
            ax.set_title("Sintel: short-term temporal error per method (lower is better)")
            ax.grid(axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            _save(fig, out_dir / "sintel_temporal_error.png", written)

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
                _log_if_decades(ax, "y", ys_all)
            ax.set_xlabel("temporal error / random init's (log; left is more stable)")
            ax.set_ylabel("style loss / random init's (lower is better)")
            ax.set_title("Sintel: stylization vs stability, per sequence and style")
            ax.grid(which="both", alpha=0.3)
            if xs_all:
                ax.legend(fontsize=8)
            _save(fig, out_dir / "sintel_style_vs_temporal.png", written)
    return lines


def _peer(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "peer"
    lines = ["## Peer: vst-node vs pastiche", ""]
    rows = _rows(sec, "rows", where)
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
        p = {"sequence": _str(r, "sequence", w), "style": _str(r, "style", w)}
        p.update({k: _num(r, k, w) for k in keys})
        level = _num(r, "same_style_loss", w)
        to_level = (_num(r, "vst_seconds_to_it", w), _num(r, "pastiche_seconds_to_it", w))
        parsed.append(p)
        out.append(
            [
                _cell(p["sequence"]),
                _cell(p["style"]),
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
        with _chart_guard("peer"):
            seqs = _ordered(p["sequence"] for p in parsed)

            def per_seq(key: str) -> list[float | None]:
                return [_mean(p[key] for p in parsed if p["sequence"] == s) for s in seqs]

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
                log = _spans_decades(v for vs in series.values() for v in vs)
                _grouped_bars(ax, seqs, series, log=log)
                for bars in ax.containers:
                    ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
                if not log:
                    ax.set_ylim(bottom=0)
                ax.set_ylabel(label + (" (log)" if log else ""))
                ax.set_title(f"{label} (mean over styles)")
                ax.grid(axis="y", which="both", alpha=0.3)
                ax.legend(fontsize=8)
            _save(fig, out_dir / "peer.png", written)
    return lines


def _convergence(sec: dict) -> list[str]:
    where = "convergence"
    cap = sec.get("cap")
    lines = ["## Convergence", ""]
    lines += [
        f"Iterations until the stopping rule, per init (cap {fmt_int(cap)}); "
        "'cap' where it did not stop; seconds in brackets.",
        "",
    ]
    if cap is None:
        warn(f"{where}: missing field 'cap'")
    rows = _rows(sec, "rows", where)
    if not rows:
        return [*lines, "No rows."]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    iters: dict[str, list[float]] = {}
    inits = _ordered(str(r.get("init", "?")) for r in rows)
    known = ["random", "warped", "warped_temporal"]
    inits = [i for i in known if i in inits] + [i for i in inits if i not in known]
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        key = (_str(r, "sequence", w), _str(r, "style", w))
        init = _str(r, "init", w)
        n = r.get("iterations")
        if n is None:
            warn(f"{w}: missing field 'iterations'")
        seconds = _num(r, "seconds", w)
        stopped = r.get("stopped")
        if stopped is None:
            warn(f"{w}: missing field 'stopped'")
        text = fmt_int(n) if stopped or stopped is None else f"cap ({fmt_int(n)})"
        if seconds is not None:
            text += f" [{fmt_s(seconds)} s]"
        cells.setdefault(key, {})[init] = text
        if isinstance(n, (int, float)):
            iters.setdefault(init, []).append(float(n))
    out = [[_cell(s), _cell(st), *(cells[(s, st)].get(i, DASH) for i in inits)] for s, st in cells]
    out.append(["**mean**", "", *(fmt_auto(_mean(iters.get(i, []))) for i in inits)])
    lines.append(table(["Sequence", "Style", *inits], out, ["l", "l"] + ["r"] * len(inits)))
    return lines


def _flow(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "flow"
    lines = ["## Optical flow", ""]
    rows = _rows(sec, "rows", where)
    parsed = []
    for i, r in enumerate(rows):
        w = f"{where} row {i}"
        p = {
            "sequence": _str(r, "sequence", w),
            "pair": _str(r, "pair", w),
            "backend": _str(r, "backend", w),
            "width": r.get("width"),
            "height": r.get("height"),
        }
        if p["width"] is None or p["height"] is None:
            warn(f"{w}: missing field 'width' or 'height'")
        for k in [
            "flow_pair_s",
            "weights_s",
            "total_s",
            "epe_noc",
            "occlusion_precision",
            "occlusion_recall",
        ]:
            p[k] = _num(r, k, w)
        parsed.append(p)
    if parsed:
        backends = _ordered(p["backend"] for p in parsed)
        summary = []
        for b in backends:
            mine = [p for p in parsed if p["backend"] == b]
            full = [p for p in mine if (p["width"], p["height"]) == FLOW_SIZE]
            if full:
                median = fmt_s(_median(p["total_s"] for p in full))
            else:
                sized = [p for p in mine if isinstance(p["width"], int) and isinstance(p["height"], int)]
                if sized:
                    big = max(sized, key=lambda p: p["width"] * p["height"])
                    at = [p for p in sized if (p["width"], p["height"]) == (big["width"], big["height"])]
                    median = f"{fmt_s(_median(p['total_s'] for p in at))} (at {big['width']}x{big['height']})"
                else:
                    median = f"{fmt_s(_median(p['total_s'] for p in mine))} (size unknown)"
                warn(f"flow: backend '{b}' has no {FLOW_SIZE[0]}x{FLOW_SIZE[1]} rows")
            summary.append(
                [
                    _cell(b),
                    str(len(mine)),
                    median,
                    fmt_g(_mean(p["epe_noc"] for p in mine)),
                    fmt_g(_mean(p["occlusion_precision"] for p in mine)),
                    fmt_g(_mean(p["occlusion_recall"] for p in mine)),
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
                        _cell(p["sequence"]),
                        _cell(p["pair"]),
                        _cell(p["backend"]),
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
    found, other = _target_rows(where, sec.get("targets"))
    if other or found:
        lines += ["", "Flow targets:", ""]
        lines += [f"- {_cell(item)}" for item in other]
        lines += [
            f"- {_cell(t.get('name', '?'))}: {fmt_g(t.get('value'))} (threshold {fmt_g(t.get('threshold'))})"
            for t in found
        ]
    if plt is not None and parsed:
        with _chart_guard("flow"):
            fig, ax = plt.subplots(figsize=(8, 5))
            any_point = False
            for b in _ordered(p["backend"] for p in parsed):
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
            _save(fig, out_dir / "flow.png", written)
    return lines


SCALING_HEADERS = {
    "size": "Size",
    "pixels": "Pixels",
    "frames": "Frames",
    "wall_s_per_frame": "Wall s/frame",
    "optimise_s_per_iteration": "Optimise s/iteration",
    "peak_rss_mib": "Peak RSS MiB",
    "peak_cuda_mib": "Peak CUDA MiB",
}


def _scaling_table(rows: list[dict], first: list[str]) -> str:
    keys = _ordered([*first, *(k for r in rows for k in r)])
    keys = [k for k in keys if any(k in r for r in rows)]
    headers = [*keys[:1], "pixels", *keys[1:]] if "size" in keys else keys
    out = []
    for r in rows:
        cells = []
        for h in headers:
            if h == "pixels":
                cells.append(fmt_auto(_pixels(r.get("size"))))
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


def _scaling(sec: dict, out_dir: Path, plt, written: list[Path]) -> list[str]:
    where = "scaling"
    lines = ["## Scaling", ""]
    if sec.get("iterations") is not None:
        lines += [f"{fmt_int(sec['iterations'])} iterations per frame.", ""]
    res = _rows(sec, "resolution_rows", where)
    length = _rows(sec, "length_rows", where)
    lines += ["### By resolution", ""]
    lines.append(
        _scaling_table(
            res, ["size", "wall_s_per_frame", "optimise_s_per_iteration", "peak_rss_mib", "peak_cuda_mib"]
        )
        if res
        else "No rows."
    )
    lines += ["", "### By sequence length", ""]
    lines.append(
        _scaling_table(length, ["size", "frames", "wall_s_per_frame", "peak_rss_mib", "peak_cuda_mib"])
        if length
        else "No rows."
    )
    if plt is None or not (res or length):
        return lines
    with _chart_guard("scaling"):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        panels = [
            (axes[0], res, "pixels", "pixels per frame", "resolution"),
            (axes[1], length, "frames", "frames in the sequence", "sequence length"),
        ]
        for ax, rows, xkey, xlabel, title in panels:
            for i, r in enumerate(rows):
                w = f"{where} {title} row {i}"
                if xkey == "pixels" and _pixels(r.get("size")) is None:
                    warn(f"{w}: field 'size' missing or not WxH")
                if xkey == "frames":
                    _num(r, "frames", w)
                _num(r, "wall_s_per_frame", w)
                _num(r, "peak_rss_mib", w)

            def x_of(r: dict, xkey: str = xkey) -> float | None:
                if xkey == "pixels":
                    return _pixels(r.get("size"))
                v = r.get(xkey)
                return float(v) if isinstance(v, (int, float)) else None

            def series(key: str, rows: list[dict] = rows, x_of=x_of) -> tuple[list[float], list[float]]:
                pts = sorted(
                    (x_of(r), r.get(key))
                    for r in rows
                    if x_of(r) is not None and _finite(r.get(key)) and _finite(x_of(r))
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
                _log_if_decades(ax, "x", xs)
                _log_if_decades(ax, "y", ys)
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
            _log_if_decades(mem, "y", all_mem)
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
        _save(fig, out_dir / "scaling.png", written)
    return lines


SECTIONS = [
    ("sintel", "Sintel (Ruder et al. Table 1 protocol)", _sintel),
    ("peer", "Peer: vst-node vs pastiche", _peer),
    ("convergence", "Convergence", lambda sec, out_dir, plt, written: _convergence(sec)),
    ("flow", "Optical flow", _flow),
    ("scaling", "Scaling", _scaling),
]


def write_report(suite: dict, out_dir: Path) -> list[Path]:
    """Write `report.md` and the charts into `out_dir`; return the paths written (report first)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not isinstance(suite, dict):
        warn("suite is not a JSON object")
        suite = {}
    sections = suite.get("sections")
    if not isinstance(sections, dict):
        warn("suite: no 'sections' object")
        sections = {}
    known = {key for key, _, _ in SECTIONS}
    for key in sections:
        if key not in known:
            warn(f"suite: unknown section '{key}' is not reported")
    plt = _pyplot() if any(isinstance(sections.get(k), dict) for k in known) else None
    charts: list[Path] = []
    lines = _header(suite)
    lines += ["", *_targets(sections)]
    for key, title, render in SECTIONS:
        lines.append("")
        section = sections.get(key)
        if section is None:
            lines += [f"## {title}", "", "not run."]
            continue
        if not isinstance(section, dict):
            warn(f"{key}: section is not an object")
            lines += [f"## {title}", "", "not run (section is not an object)."]
            continue
        before = len(charts)
        try:
            rendered = render(section, out_dir, plt, charts)
            run = section.get("run")
            if isinstance(run, dict) and rendered:  # a section kept from an earlier run says which
                command, commit = _cell(run.get("command", "?")), _cell(run.get("commit", "?"))
                started = _cell(run.get("started", "?"))
                rendered[1:1] = ["", f"Measured by `{command}` at commit {commit}, {started}."]
            lines += rendered
        except Exception as exc:  # a report that is half-written is worth more than a traceback
            warn(f"{key}: could not be reported ({type(exc).__name__}: {exc})")
            lines += [f"## {title}", "", f"could not be reported: {type(exc).__name__}: {_cell(exc)}"]
        for chart in charts[before:]:
            lines += ["", f"![{chart.stem}]({chart.name})"]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return [report, *charts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("suite_json", type=Path, metavar="SUITE_JSON")
    parser.add_argument("--out", type=Path, help="output folder (default: the JSON's folder)")
    args = parser.parse_args(argv)
    try:
        suite = json.loads(args.suite_json.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.suite_json}: {exc}", file=sys.stderr)
        return 2
    for path in write_report(suite, args.out or args.suite_json.parent):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
