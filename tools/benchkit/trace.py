"""When a run's loss trace first reached a level: the fair time to compare two optimisers at."""

from __future__ import annotations

import math
from collections.abc import Sequence


def seconds_to_reach(trace: Sequence[tuple[float, float]], target: float) -> float | None:
    """First time (linear between (seconds, loss) trace points) the loss is at or below `target`."""
    previous = (0.0, math.inf)
    for seconds, loss in trace:
        if loss <= target:
            if not math.isfinite(previous[1]):
                return seconds
            fraction = (previous[1] - target) / (previous[1] - loss)
            return previous[0] + fraction * (seconds - previous[0])
        previous = (seconds, loss)
    return None


def history_trace(
    history: Sequence[float], window: int, iterations: int, seconds: float
) -> list[tuple[float, float]]:
    """(seconds, loss) points of a loss history with one entry per `window` iterations, all
    `iterations` of the run (`seconds` long) taking equal time."""
    per_iteration = seconds / max(iterations, 1)
    return [(min((k + 1) * window, iterations) * per_iteration, loss) for k, loss in enumerate(history)]
