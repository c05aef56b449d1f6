"""Reading the suite's fields: a missing or malformed one gives a warning on stderr (once per
message) and None or a default, never an exception; and the small sums over them."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Iterable
from typing import Any

_warned: set[str] = set()


def warn(message: str) -> None:
    """Print a warning to stderr, once per message."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)


def number(row: dict, key: str, where: str) -> float | None:
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


def text(row: dict, key: str, where: str, default: str = "?") -> str:
    value = row.get(key)
    if value is None:
        warn(f"{where}: missing field '{key}'")
        return default
    return str(value)


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def rows(section: dict, key: str, where: str) -> list[dict]:
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


def ordered(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def pixels(size: Any) -> int | None:
    try:
        w, h = str(size).lower().split("x")
        return int(w) * int(h)
    except (ValueError, AttributeError):
        return None


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def spans_decades(values: Iterable[float | None]) -> bool:
    kept = [v for v in values if v is not None]
    return bool(kept) and min(kept) > 0 and max(kept) / min(kept) >= 10
