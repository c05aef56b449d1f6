"""Which frames a frame depends on, and which must be rendered before it (the frame schedule).

Frame t depends on the frames t-j of the temporal offsets J. Asking for t when those are not
finished renders the missing run first, from the latest point where max(J) finished frames precede
it (or the first frame of the range), so any render order gives the same pixels as in order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


class Schedule:
    """The frame list of one sequence render and the dependencies between its frames."""

    def __init__(self, frames: Sequence[int] = ()) -> None:
        self.frames = list(frames)
        self.index = {f: i for i, f in enumerate(self.frames)}

    def __contains__(self, t: int) -> bool:
        return t in self.index

    def previous(self, t: int) -> int | None:
        i = self.index[t]
        return self.frames[i - 1] if i > 0 else None

    def next(self, t: int) -> int | None:
        i = self.index[t]
        return self.frames[i + 1] if i + 1 < len(self.frames) else None

    def neighbours(self, t: int, offsets: Sequence[int]) -> list[tuple[int, int]]:
        """(offset j, frame) for each t-j of the range."""
        return neighbours_in(self.frames, self.index[t], offsets)

    def window(self, t: int, reach: int) -> set[int]:
        """t and the `reach - 1` frames before it: what the frame after t reads."""
        i = self.index.get(t, 0)
        return set(self.frames[max(0, i - reach + 1) : i + 1])

    def missing_run(self, t: int, reach: int, finished: Collection[int]) -> tuple[list[int], set[int]]:
        """Unfinished frames from the latest start whose `reach` predecessors are all finished, and
        the finished frames that run reads (they must not be evicted while it renders)."""
        if t in finished:  # scrubbing back to a kept frame: nothing to re-render before it
            return [], {t}
        i = self.index[t]
        start = i
        while start > 0 and not all(self.frames[k] in finished for k in range(max(0, start - reach), start)):
            start -= 1
        span = self.frames[max(0, start - reach) : i + 1]
        run = [f for f in self.frames[start : i + 1] if f not in finished]
        return run, {f for f in span if f in finished}


def neighbours_in(order: Sequence[int], position: int, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """(offset j, frame) for each frame j places before `position` in `order` (a pass's walk)."""
    return [(j, order[position - j]) for j in offsets if position - j >= 0]
