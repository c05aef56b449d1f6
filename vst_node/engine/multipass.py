"""Multi-pass bookkeeping (Ruder et al. 2016, section 4.4).

Pass 0 stylizes every frame on its own; each later pass walks the range in the opposite direction
to the last and starts frame i from a blend of its own previous-pass result and the neighbour it
has just finished, warped: init = delta c * warp(x_neighbour) + (1 - delta c) * x_i(previous pass).
The optimisation itself lives in the node; this module owns the order, the blend and where each
pass's results are kept (memory for hosts, disk for `vst-node render` so a render resumes per pass).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

FORWARD, BACKWARD = 1, -1


def pass_direction(pass_index: int) -> int:
    """Pass 0 runs forward (its frames are independent anyway); each later pass reverses the last."""
    return FORWARD if pass_index % 2 == 0 else BACKWARD


def pass_order(frames: Sequence[int], pass_index: int) -> list[int]:
    frames = list(frames)
    return frames if pass_direction(pass_index) == FORWARD else frames[::-1]


def blended_init(
    warped: torch.Tensor, weights: torch.Tensor, previous_pass: torch.Tensor, blend: float
) -> torch.Tensor:
    """delta c o warp(x_neighbour) + (1 - delta c) o x_i(previous pass)."""
    mix = blend * weights
    return mix * warped + (1.0 - mix) * previous_pass


class PassStore(Protocol):
    """Per-pass, per-frame results (caffe space, processing size, float32)."""

    def get(self, pass_index: int, frame: int) -> np.ndarray | None: ...
    def put(self, pass_index: int, frame: int, image: np.ndarray) -> None: ...
    def is_complete(self, pass_index: int) -> bool: ...
    def mark_complete(self, pass_index: int) -> None: ...
    def drop(self, pass_index: int) -> None: ...


def last_complete_pass(store: PassStore, passes: int) -> int:
    """The highest pass whose every frame is stored, or -1."""
    for pass_index in range(passes - 1, -1, -1):
        if store.is_complete(pass_index):
            return pass_index
    return -1


class MemoryPassStore:
    """For hosts: two passes in memory at most (the one being written and the one it reads)."""

    def __init__(self) -> None:
        self._passes: dict[int, dict[int, np.ndarray]] = {}
        self._complete: set[int] = set()

    def get(self, pass_index: int, frame: int) -> np.ndarray | None:
        return self._passes.get(pass_index, {}).get(frame)

    def put(self, pass_index: int, frame: int, image: np.ndarray) -> None:
        self._passes.setdefault(pass_index, {})[frame] = image

    def is_complete(self, pass_index: int) -> bool:
        return pass_index in self._complete

    def mark_complete(self, pass_index: int) -> None:
        self._complete.add(pass_index)

    def drop(self, pass_index: int) -> None:
        self._passes.pop(pass_index, None)
        self._complete.discard(pass_index)

    def clear(self) -> None:
        self._passes.clear()
        self._complete.clear()


class DiskPassStore:
    """Lossless per-pass results on disk (.npy), so an interrupted multi-pass render resumes.

    `fingerprint` names everything the results depend on (preset, source frames, sizes); a store
    written for another fingerprint is emptied rather than trusted. Files are written to a
    temporary name and renamed, so a crash never leaves a half-written frame.
    """

    MANIFEST = "manifest.json"

    def __init__(self, root: Path, fingerprint: str, fresh: bool = False) -> None:
        """fresh: discard whatever is stored (a render without --resume starts over)."""
        self.root = Path(root)
        self.fingerprint = fingerprint
        manifest = self.root / self.MANIFEST
        try:
            stored = json.loads(manifest.read_text()).get("fingerprint")
        except (OSError, ValueError):
            stored = None
        if fresh or stored != fingerprint:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True, exist_ok=True)
            manifest.write_text(json.dumps({"fingerprint": fingerprint}))

    def _dir(self, pass_index: int) -> Path:
        return self.root / f"pass_{pass_index:03d}"

    def get(self, pass_index: int, frame: int) -> np.ndarray | None:
        path = self._dir(pass_index) / f"{frame}.npy"
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None

    def put(self, pass_index: int, frame: int, image: np.ndarray) -> None:
        folder = self._dir(pass_index)
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, np.ascontiguousarray(image, np.float32))
            os.replace(temp, folder / f"{frame}.npy")
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def is_complete(self, pass_index: int) -> bool:
        return (self._dir(pass_index) / "COMPLETE").exists()

    def mark_complete(self, pass_index: int) -> None:
        (self._dir(pass_index) / "COMPLETE").touch()

    def drop(self, pass_index: int) -> None:
        shutil.rmtree(self._dir(pass_index), ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()
