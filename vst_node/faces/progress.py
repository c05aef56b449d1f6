"""Progress reporting: tqdm bars on a terminal, plain `frame N (i/n)` lines in logs and pipes.

Two levels, because one frame can take many minutes on a CPU: the frame bar, and inside the frame
being optimised its iterations and current loss (updated once per stopping window, when the
optimiser reads the loss anyway).
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Frame-level and iteration-level progress; `tty=None` asks the stream whether it is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self.stage = ""  # e.g. "pass 3/15", shown before the frame
        self._frames: tqdm | None = None
        self._inner: tqdm | None = None
        if self.tty:
            self._frames = tqdm(total=total, file=self.stream, unit="frame", dynamic_ncols=True, position=0)

    def _where(self, frame: int) -> str:
        return f"{self.stage} frame {frame}" if self.stage else f"frame {frame}"

    def frame_done(self, frame: int, detail: str = "", skipped: bool = False) -> None:
        self.done += 1
        state = "skipped (exists)" if skipped else detail
        if self._frames is not None:
            self._close_inner()
            self._frames.n = min(self.done, self.total)
            self._frames.set_description_str(f"{self._where(frame)} {state}".strip(), refresh=False)
            self._frames.refresh()
            if self.done >= self.total:
                self.close()
        else:
            self.stream.write(f"{self._where(frame)} ({self.done}/{self.total}) {state}".rstrip() + "\n")
            self.stream.flush()

    def iterations(self, frame: int, done: int, budget: int, loss: float) -> None:
        """Inside a frame: `done` of `budget` iterations, the loss at the last stopping check."""
        if self._frames is not None:
            if self._inner is None:
                self._inner = tqdm(total=budget, file=self.stream, unit="it", leave=False, position=1,
                                   dynamic_ncols=True, desc=self._where(frame))  # fmt: skip
            self._inner.total = max(budget, done)
            self._inner.n = done
            self._inner.set_postfix_str(f"loss {loss:.4g}", refresh=False)
            self._inner.refresh()
        else:
            self.stream.write(f"{self._where(frame)}: {done}/{budget} it, loss {loss:.4g}\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        if self._frames is not None:
            self._frames.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _close_inner(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None

    def close(self) -> None:
        self._close_inner()
        if self._frames is not None:
            self._frames.close()
            self._frames = None
