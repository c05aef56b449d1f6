"""Number formats and Markdown tables: a None value is shown as a dash."""

from __future__ import annotations

from typing import Any

DASH = "—"


def fmt_g(value: Any) -> str:
    """Errors and losses: 4 significant digits."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return cell(value)


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
        return cell(value)


def fmt_auto(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return cell(value)


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A Markdown table; `align` holds 'l' or 'r' per column (default: first left, rest right)."""
    if align is None:
        align = ["l"] + ["r"] * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
