"""MPI Sintel sequences with ground-truth flow, as the benchmarks read them from ../shared/data.

A sequence is a scene's render pass (`alley_2/clean`) around one ground-truth pair N -> N+1: the
frames the pass folder has from N-1 to N+2 (what long-term and multi-pass runs need), downscaled
by an integer factor with the flow scaled alike. Pairs are discovered from the `.flo` files, so a
data folder with other scenes works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vst_node.io.flo import read_flo

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PASSES = ("clean", "final")


@dataclass
class SintelSequence:
    name: str  # "alley_2/clean"
    numbers: list[int]  # Sintel frame numbers of `frames`
    frames: list[np.ndarray]  # sRGB-encoded RGB in [0,1] (H,W,3) float32: the network's encoding
    pair: int  # index in `frames` of N; the ground truth describes frames[pair] -> frames[pair + 1]
    flow: np.ndarray  # (H,W,2) forward flow N -> N+1 on N's grid, in pixels of this size
    hidden: np.ndarray  # (H,W) bool: occluded in N+1 or invalid

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].shape[0], self.frames[0].shape[1]

    @property
    def pair_label(self) -> str:
        return f"{self.numbers[self.pair]}->{self.numbers[self.pair + 1]}"


def frame_path(scene_dir: Path, pass_: str, number: int) -> Path:
    return scene_dir / pass_ / f"frame_{number:04d}.png"


def discover(data: Path) -> list[tuple[Path, str, int]]:
    """(scene folder, pass, N) for every ground-truth pair whose frames N and N+1 a pass folder has."""
    found = []
    for scene_dir in sorted(p for p in (data / "sintel").glob("*") if p.is_dir()):
        for flo in sorted((scene_dir / "flow").glob("frame_*.flo")):
            number = int(flo.stem.split("_")[1])
            for pass_ in PASSES:
                if all(frame_path(scene_dir, pass_, n).is_file() for n in (number, number + 1)):
                    found.append((scene_dir, pass_, number))
                    break
    return found


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """An 8-bit sRGB PNG as float RGB in [0,1], area-downscaled to (w, h) `size` when given."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float32) / 255.0


def _mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        return np.zeros((size[1], size[0]), bool)
    mask = (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
    # Any occluded/invalid full-resolution pixel under a downscaled pixel makes it hidden.
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0.0


def load_sequence(scene_dir: Path, pass_: str, number: int, scale: int, before: int = 1, after: int = 1):
    """Frames N-before .. N+1+after (those that exist), downscaled by `scale`, with N's ground truth."""
    flow = read_flo(scene_dir / "flow" / f"frame_{number:04d}.flo")
    h, w = flow.shape[:2]
    size = (w // scale, h // scale)
    numbers = [
        n
        for n in range(number - before, number + 2 + after)
        if frame_path(scene_dir, pass_, n).is_file() or n in (number, number + 1)
    ]
    frames = [load_rgb(frame_path(scene_dir, pass_, n), size) for n in numbers]
    if scale != 1:
        flow = cv2.resize(flow, size, interpolation=cv2.INTER_AREA) / scale
    hidden = _mask(scene_dir / "occlusions" / f"frame_{number:04d}.png", size)
    hidden |= _mask(scene_dir / "invalid" / f"frame_{number:04d}.png", size)
    return SintelSequence(
        name=f"{scene_dir.name}/{pass_}",
        numbers=numbers,
        frames=frames,
        pair=numbers.index(number),
        flow=flow.astype(np.float32),
        hidden=hidden,
    )


def load_all(data: Path, scale: int, before: int = 1, after: int = 1) -> list[SintelSequence]:
    return [load_sequence(d, p, n, scale, before, after) for d, p, n in discover(data)]
