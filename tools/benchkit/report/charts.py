"""Chart helpers (matplotlib is imported lazily so that the report works without it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from benchkit.report import fields

DPI = 120


def pyplot():
    try:
        import matplotlib
    except ImportError:
        fields.warn("matplotlib is not installed: no charts (pip install 'matplotlib>=3.8')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, written: list[Path]) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    written.append(path)


@contextlib.contextmanager
def chart_guard(name: str):
    """A chart that fails to draw gives a warning, and the section's tables are kept."""
    try:
        yield
    except Exception as exc:
        fields.warn(f"{name}: chart not drawn ({type(exc).__name__}: {exc})")
        import matplotlib.pyplot as plt

        plt.close("all")


def log_if_decades(ax, axis: str, values: Iterable[float | None]) -> None:
    values = list(values)
    if fields.spans_decades(values):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def grouped_bars(ax, groups: list[str], series: dict[str, list[float | None]], log: bool) -> None:
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
