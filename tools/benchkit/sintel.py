"""MPI Sintel sequences with ground-truth flow, as the benchmarks read them from ../shared/data.

A sequence is a scene's render pass (`alley_2/clean`) around one ground-truth pair N -> N+1: the
frames the pass folder has from N-1 to N+2 (what long-term and multi-pass runs need), downscaled
by an integer factor with the flow scaled alike. Pairs are discovered from the `.flo` files, so a
data folder with other scenes works unchanged. Frames are sRGB-encoded RGB in [0,1] (H,W,3)
float32: the network's encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vst_node.io.flo import read_flo

# The shared data folder (Sintel, style images), next to the checkout.
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PASSES = ("clean", "final")  # Sintel's render passes, in the order they are tried for a pair


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


def style_images(data: Path) -> list[Path]:
    """The style images of the shared data folder (data/styles/*.jpg, *.jpeg, *.png), sorted."""
    return sorted(
        p for p in (Path(data) / "styles").glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )


def frame_path(scene_dir: Path, pass_: str, number: int) -> Path:
    return scene_dir / pass_ / f"frame_{number:04d}.png"


def mask_path(scene_dir: Path, kind: str, number: int) -> Path:
    """`kind`: "occlusions" or "invalid"."""
    return scene_dir / kind / f"frame_{number:04d}.png"


def discover(data: Path, strict: bool = False) -> list[tuple[Path, str, int]]:
    """(scene folder, pass, N) for every ground-truth flow `data/sintel/<scene>/flow/frame_N.flo`.

    The pass is the first of PASSES whose folder holds both frame N and frame N+1 (Sintel's .flo
    files are shared by the passes). A .flo without its frames is skipped; with `strict` it is a
    data error, as is one without its occlusion and invalid masks.
    """
    found = []
    for scene_dir in sorted(p for p in (Path(data) / "sintel").glob("*") if p.is_dir()):
        for flo in sorted((scene_dir / "flow").glob("frame_*.flo")):
            number = int(flo.stem.split("_")[1])
            pass_ = next(
                (
                    p
                    for p in PASSES
                    if all(frame_path(scene_dir, p, n).is_file() for n in (number, number + 1))
                ),
                None,
            )
            if strict:
                if pass_ is None:
                    names = " and ".join(f"frame_{n:04d}.png" for n in (number, number + 1))
                    raise FileNotFoundError(f"{flo}: no pass folder ({', '.join(PASSES)}) has {names}")
                for kind in ("occlusions", "invalid"):
                    if not mask_path(scene_dir, kind, number).is_file():
                        raise FileNotFoundError(f"{flo}: {mask_path(scene_dir, kind, number)} is missing")
            if pass_ is not None:
                found.append((scene_dir, pass_, number))
    return found


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """An 8-bit sRGB PNG as float RGB in [0,1], area-downscaled to (w, h) `size` when given."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float32) / 255.0


def scaled_size(path: Path, scale: int) -> tuple[int, int]:
    """(w, h) of the image at `path` divided by `scale`."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    h, w = image.shape
    return w // scale, h // scale


def load_mask(path: Path, size: tuple[int, int], threshold: float = 0.0) -> np.ndarray:
    """A Sintel mask PNG area-downscaled to (w, h) `size`: True where more than `threshold` of the
    full-resolution pixels under a pixel are set (0: any one makes it set)."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    mask = (image > 127).astype(np.float32)
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > threshold


def ground_truth(scene_dir: Path, number: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame N's forward flow N -> N+1 downscaled by `scale` (in pixels of that size), and the pixels
    hidden in N+1 (occluded or invalid; a missing mask hides nothing)."""
    flow = read_flo(scene_dir / "flow" / f"frame_{number:04d}.flo")
    h, w = flow.shape[:2]
    size = (w // scale, h // scale)
    if scale != 1:
        flow = cv2.resize(flow, size, interpolation=cv2.INTER_AREA) / scale
    hidden = np.zeros((size[1], size[0]), bool)
    for kind in ("occlusions", "invalid"):
        if (path := mask_path(scene_dir, kind, number)).is_file():
            hidden |= load_mask(path, size)
    return flow.astype(np.float32), hidden


def load_sequence(scene_dir: Path, pass_: str, number: int, scale: int, before: int = 1, after: int = 1):
    """Frames N-before .. N+1+after (those that exist), downscaled by `scale`, with N's ground truth."""
    flow, hidden = ground_truth(scene_dir, number, scale)
    size = (flow.shape[1], flow.shape[0])
    numbers = [
        n
        for n in range(number - before, number + 2 + after)
        if frame_path(scene_dir, pass_, n).is_file() or n in (number, number + 1)
    ]
    return SintelSequence(
        name=f"{scene_dir.name}/{pass_}",
        numbers=numbers,
        frames=[load_rgb(frame_path(scene_dir, pass_, n), size) for n in numbers],
        pair=numbers.index(number),
        flow=flow,
        hidden=hidden,
    )


def load_all(data: Path, scale: int, before: int = 1, after: int = 1) -> list[SintelSequence]:
    return [load_sequence(d, p, n, scale, before, after) for d, p, n in discover(data)]


def load_clip(scene_dir: Path, scale: int, pass_: str = "clean"):
    """All frames of a scene's pass, downscaled by `scale`, with every ground-truth pair it has, as
    an evaluation Clip."""
    from vst_node.engine.evaluation import Clip

    paths = sorted((scene_dir / pass_).glob("frame_*.png"))
    size = scaled_size(paths[0], scale)
    frames = [load_rgb(p, size) for p in paths]
    pairs = []
    for index, path in enumerate(paths[:-1]):
        number = int(path.stem.split("_")[1])
        if (scene_dir / "flow" / f"frame_{number:04d}.flo").is_file():
            pairs.append((index, *ground_truth(scene_dir, number, scale)))
    return Clip(f"sintel {scene_dir.name} {size[0]}x{size[1]}", frames, pairs)


def load_frame(data: Path, width: int, height: int) -> tuple[np.ndarray, str]:
    """Sintel alley_2 frame 1 at (width, height), or the built-in shot's first frame without the
    shared data; and which it is."""
    path = frame_path(Path(data) / "sintel" / "alley_2", "clean", 1)
    if path.is_file():
        return load_rgb(path, (width, height)), "sintel alley_2 frame 1"
    from vst_node.engine.evaluation import network_frames
    from vst_node.io.synthetic import make_shot

    return network_frames(make_shot(width=width, height=height, n_frames=2))[0], "built-in shot"
