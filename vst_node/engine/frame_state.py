"""The temporal state of a render on disk, losslessly: the float results frames continue from.

A written frame is half-float EXR (or 8-bit PNG) after the colour transform; rebuilding the next
frame's start from it changes that frame's pixels (by up to 1.75 of 255 after a `kill -9`). Keeping
the exact float result each frame leaves behind (caffe space, processing size) lets a resumed
render, a retried farm chunk and an uninterrupted render produce bit-identical frames.

One store per lineage (preset digest, source, frame range or farm plan): its key is checked on every
read, so a state is never taken for a frame rendered another way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vst_node.errors import RenderError
from vst_node.io.atomic import atomic_file, write_text_atomic

_KEY_FILE = "key"


class StateStore:
    """frame -> float32 (1, 3, H, W) result, one `.npy` per frame, written atomically."""

    def __init__(self, root: Path, key: str, fresh: bool = False) -> None:
        """fresh: start empty (a render that is not resuming must not read an earlier one's state)."""
        self.root = Path(root)
        self.key = key
        stored = self._stored_key()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a cache folder that cannot be made: say which, not a traceback
            raise RenderError(
                f"cache folder {self.root}: cannot create it ({exc.strerror or exc}); choose another with"
                " --cache-dir or $VST_NODE_CACHE, or render with --no-cache"
            ) from exc
        if fresh or (stored is not None and stored != key):
            # Another lineage's frames (or a fresh render): drop them. A store that has no key yet
            # is being created, perhaps by several farm tasks at once: none of them deletes anything.
            for path in self.root.glob("*.npy"):
                path.unlink(missing_ok=True)
        if stored != key:
            write_text_atomic(self.root / _KEY_FILE, key)

    def _stored_key(self) -> str | None:
        try:
            return (self.root / _KEY_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):  # none, or damaged: another lineage's, start afresh
            return None

    def _path(self, frame: int) -> Path:
        return self.root / f"{frame}.npy"

    def save(self, frame: int, result: np.ndarray) -> None:
        """Store frame's result; a reader never sees half a file."""
        with atomic_file(self._path(frame)) as handle:
            np.save(handle, np.ascontiguousarray(result, np.float32), allow_pickle=False)

    def load(self, frame: int) -> np.ndarray | None:
        """frame's result, or None when this store does not have it (or holds another lineage's)."""
        if self._stored_key() != self.key:
            return None
        try:
            return np.load(self._path(frame), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def frames(self) -> list[int]:
        found = []
        for path in self.root.glob("*.npy"):
            try:
                found.append(int(path.stem))
            except ValueError:
                continue
        return sorted(found)

    def discard(self, frames: Iterable[int]) -> None:
        """Forget frames nothing will continue from: the store stays bounded by the temporal reach."""
        for frame in frames:
            self._path(frame).unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

