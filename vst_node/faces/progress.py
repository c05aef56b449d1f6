"""Progress reporting: a live bar on a terminal, plain `frame N (i/n)` lines in logs and pipes."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else (f"{seconds // 60}:{seconds % 60:02d}")
    )


class Progress:
    """Frame-level progress; `tty=None` asks the stream whether it is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None, width: int = 28):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.width = width
        self.done = 0
        self.stage = ""  # e.g. "pass 3/15", shown before the frame
        self.started = time.perf_counter()

    def _eta(self) -> str:
        if self.done == 0:
            return "--:--"
        elapsed = time.perf_counter() - self.started
        return _duration(elapsed / self.done * (self.total - self.done))

    def frame_done(self, frame: int, detail: str = "", skipped: bool = False) -> None:
        self.done += 1
        state = "skipped (exists)" if skipped else detail
        where = f"{self.stage} frame {frame}" if self.stage else f"frame {frame}"
        if self.tty:
            filled = round(self.width * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r[{bar}] {self.done}/{self.total} {where} {state} eta {self._eta()}"
            self.stream.write(line.ljust(100)[:100])
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{where} ({self.done}/{self.total}) {state}".rstrip() + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 100 + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
