"""Middlebury .flo files (the format of Sintel's ground-truth flow), for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FLO_MAGIC = np.float32(202021.25)


def read_flo(path: str | Path) -> np.ndarray:
    """(H, W, 2) float32 (u, v) in pixels; raises ValueError on a bad magic or a short file."""
    data = Path(path).read_bytes()
    if len(data) < 12 or np.frombuffer(data, "<f4", 1)[0] != FLO_MAGIC:
        raise ValueError(f"{path}: not a Middlebury .flo file (bad magic)")
    width, height = (int(v) for v in np.frombuffer(data, "<i4", 2, offset=4))
    expected = 12 + width * height * 2 * 4
    if width <= 0 or height <= 0 or len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes, expected {expected} for {width}x{height}")
    return np.frombuffer(data, "<f4", offset=12).reshape(height, width, 2).copy()


def write_flo(path: str | Path, flow: np.ndarray) -> None:
    """Write an (H, W, 2) flow in Middlebury format (little endian)."""
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected an (H, W, 2) flow, got shape {flow.shape}")
    height, width = flow.shape[:2]
    header = np.array([FLO_MAGIC], "<f4").tobytes() + np.array([width, height], "<i4").tobytes()
    Path(path).write_bytes(header + np.ascontiguousarray(flow, dtype="<f4").tobytes())
