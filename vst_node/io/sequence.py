"""Image sequence patterns (``render.####.exr``, ``%04d``) and frame-range specs (``1001-1100x2``).

Everything here is checked before the first frame is read, so a render never starts on a
sequence with holes in it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vst_node.errors import InputError

# A still (no frame token) answers to this frame number alone.
STILL_FRAME = 1

# One token per path: a run of '#', a run of '@', or printf %0Nd / %d.
_TOKEN = re.compile(r"#+|@+|%0(\d+)d|%d")
# A frame, or a range A-B with an optional step; frames may be negative (`-10--1`, `-5-5`).
_FRAME = r"-?\d+"
_RANGE = re.compile(rf"({_FRAME})(?:-({_FRAME})(?:x(\d+))?)?")


@dataclass(frozen=True)
class SequencePattern:
    """A frame-numbered path: the text around the frame token plus its zero padding."""

    text: str
    prefix: str = ""
    suffix: str = ""
    padding: int | None = None  # digits of zero padding; None for a still

    @property
    def is_still(self) -> bool:
        return self.padding is None

    @staticmethod
    def parse(text: str | os.PathLike[str]) -> SequencePattern:
        """Split ``text`` at its frame token; a path without one is a still image."""
        text = os.fspath(text)
        # Only the file name holds the token; an existing folder such as `take#2/` is just a name.
        start = max(text.rfind("/"), text.rfind(os.sep)) + 1
        tokens = list(_TOKEN.finditer(text, start))
        in_folder = list(_TOKEN.finditer(text, 0, start)) if not Path(text[:start] or ".").is_dir() else []
        if in_folder and not Path(text).is_file():
            if tokens:
                tokens = in_folder + tokens  # reported below as two tokens
            else:
                raise InputError(
                    f"sequence pattern {text!r}: the frame token must be in the file name (a folder"
                    " whose name has # or @ in it must exist first)"
                )
        if not tokens or Path(text).is_file():  # an existing file is a still, whatever its name
            return SequencePattern(text=text, prefix=text)
        if len(tokens) > 1:
            found = ", ".join(repr(t.group(0)) for t in tokens)
            raise InputError(f"sequence pattern {text!r} has more than one frame token ({found}); use one")
        token = tokens[0]
        raw = token.group(0)
        if raw[0] in "#@":
            padding = len(raw)
        elif token.group(1) is not None:
            padding = int(token.group(1))
        else:
            padding = 0
        return SequencePattern(
            text=text,
            prefix=text[: token.start()],
            suffix=text[token.end() :],
            padding=padding,
        )

    def __str__(self) -> str:
        return self.text

    def path(self, frame: int) -> Path:
        """The file of ``frame`` (a still ignores the number). A negative frame is its sign before
        the padded digits, as OpenTimelineIO names them: frame -1 with ``####`` is ``-0001``."""
        if self.is_still:
            return Path(self.text)
        sign = "-" if frame < 0 else ""
        return Path(f"{self.prefix}{sign}{abs(frame):0{self.padding}d}{self.suffix}")

    def _name_regex(self) -> re.Pattern[str]:
        head = os.path.basename(self.prefix)
        return re.compile(rf"{re.escape(head)}(-?\d+){re.escape(self.suffix)}")

    def discover(self) -> list[int]:
        """Frames whose files exist on disk, sorted (a still: [STILL_FRAME] if it exists)."""
        if self.is_still:
            return [STILL_FRAME] if Path(self.text).is_file() else []
        folder = Path(os.path.dirname(self.prefix) or ".")
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        regex = self._name_regex()
        frames = set()
        for name in names:
            match = regex.fullmatch(name)
            # Only the names path() gives: `0001` is frame 1 for ####, `01` or `00001` are not.
            if match and self.path(frame := int(match.group(1))).name == name and (folder / name).is_file():
                frames.add(frame)
        return sorted(frames)


MAX_FRAMES = 1_000_000  # a range longer than this is a typo (1001-100000000), not a shot


def parse_frame_range(spec: str) -> list[int]:
    """``1001-1100``, ``1-20x2``, ``1,3,5-7``, ``-10--1`` → sorted unique frames; InputError quoting
    a bad part."""
    if not spec or not spec.strip():
        raise InputError("frame range is empty; expected e.g. '1001-1100', '1-20x2' or '1,3,5-7'")
    frames: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        match = _RANGE.fullmatch(part)
        if not match:
            raise InputError(
                f"frame range {spec!r}: cannot read {part!r}; expected N, A-B or A-BxSTEP (e.g. 1-20x2)"
            )
        if match.group(2) is None:
            frames.add(int(match.group(1)))
            continue
        start, end = int(match.group(1)), int(match.group(2))
        step = int(match.group(3)) if match.group(3) is not None else 1
        if start > end:
            raise InputError(f"frame range {spec!r}: {part!r} ends before it starts")
        if step < 1:
            raise InputError(f"frame range {spec!r}: {part!r} has step 0; the step must be at least 1")
        if (end - start) // step + 1 > MAX_FRAMES:
            raise InputError(f"frame range {spec!r}: {part!r} is over {MAX_FRAMES:,} frames; a typo?")
        frames.update(range(start, end + 1, step))
    return sorted(frames)


def frame_runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """The frames, sorted and unique, as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def _run_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def frame_spec(frames: Iterable[int]) -> str:
    """Every frame as a frame range that parse_frame_range reads back: ``1-25,40,42-50``."""
    return ",".join(_run_text(*run) for run in frame_runs(frames))


def format_frames(frames: Iterable[int], limit: int = 20) -> str:
    """Compact runs for messages: ``1001-1003, 1010``; more than ``limit`` runs are summarised."""
    runs = frame_runs(frames)
    parts = [_run_text(*run) for run in runs[:limit]]
    if len(runs) > limit:
        rest = sum(b - a + 1 for a, b in runs[limit:])
        parts.append(f"… and {rest} more")
    return ", ".join(parts)


def resolve_frames(pattern: SequencePattern, spec: str | None) -> list[int]:
    """The frames to render: all on disk when ``spec`` is None, else ``spec`` after checking each exists.

    Raises one InputError naming every missing frame, so a render never dies half way through.
    """
    if spec is None:
        frames = pattern.discover()
        if not frames:
            if pattern.is_still:
                raise InputError(f"{pattern}: file does not exist")
            folder = os.path.dirname(pattern.prefix) or "."
            where = "" if os.path.isdir(folder) else f" (folder {folder!r} does not exist)"
            raise InputError(f"no frames match {pattern}{where}")
        return frames
    if pattern.is_still:
        raise InputError(f"{pattern} is a single image (no #### or %04d in its name); it has no frame range")
    frames = parse_frame_range(spec)
    missing = [f for f in frames if not pattern.path(f).is_file()]
    if missing:
        count = f"{len(missing)} of {len(frames)} requested frames"
        raise InputError(f"{count} missing for {pattern}: {format_frames(missing)}")
    return frames
