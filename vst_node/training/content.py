"""The photographs a network learns from: the user's frames and folders, or a built-in set.

The built-in set is the photographs shipped inside scikit-image's wheel (nothing is downloaded),
each public domain or CC0 by its own documentation. Grey photographs are kept: they teach shapes.
User images go through the same colour path as rendered frames (EXR is scene-linear, PNG/JPEG
display-referred), so a network trained on a shot's own frames sees them as the renderer will.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vst_node.errors import InputError
from vst_node.io.colour import input_colorspace, to_network
from vst_node.io.image_io import read_frame

# scikit-image's bundled photographs and their licences (from each loader's docstring).
BUILTIN_IMAGES: dict[str, str] = {
    "astronaut": "public domain (NASA)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "coffee": "CC0 (Rachel Michetti)",
    "rocket": "public domain (SpaceX)",
    "hubble_deep_field": "public domain (NASA)",
    "immunohistochemistry": "no known copyright restrictions",
    "retina": "CC0",
    "camera": "CC0 (Lav Varshney)",
    "coins": "no known copyright restrictions",
    "clock": "public domain (Stefan van der Walt)",
    "moon": "no known copyright restrictions",
}
IMAGE_SUFFIXES = (".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class TrainingImage:
    name: str
    rgb: np.ndarray  # float32 (H, W, 3), network RGB in [0, 1]


def _as_rgb(array: np.ndarray) -> np.ndarray:
    image = np.asarray(array)
    if image.dtype == bool:
        image = image.astype(np.float32)
    elif np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    # NaN/Inf (EXR fireflies) would make every loss and weight NaN; the render path zeroes them too.
    image = np.nan_to_num(image[..., :3], nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0))


def builtin_images() -> list[TrainingImage]:
    """The bundled photographs; a clear error if scikit-image is missing."""
    try:
        import skimage.data
    except ModuleNotFoundError as exc:
        raise InputError(
            "the built-in training photographs need scikit-image (pip install scikit-image)"
        ) from exc
    return [TrainingImage(name, _as_rgb(getattr(skimage.data, name)())) for name in BUILTIN_IMAGES]


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"training image {path}: no such file or folder")
    if not found:
        raise InputError("no training images found in " + ", ".join(str(p) for p in paths))
    return found


def user_images(paths: Sequence[Path], colour_input: str = "auto") -> list[TrainingImage]:
    """Files and folders (their images, not recursively) through the renderer's colour path
    (`colour_input`: the preset's colour.input, as a render uses it)."""
    images = []
    for path in _files([Path(p) for p in paths]):
        try:
            frame = read_frame(path)
        except InputError as exc:
            raise InputError(f"training image {path}: {exc}") from exc
        rgb, _alpha = to_network(frame.rgba, input_colorspace(frame, colour_input))
        images.append(TrainingImage(path.name, _as_rgb(rgb)))
    return images


def summary(images: Sequence[TrainingImage], builtin: bool) -> dict:
    """What the model file records about its training data."""
    return {
        "source": "builtin" if builtin else "user",
        "count": len(images),
        "names": [image.name for image in images][:64],
        "pixels": int(sum(image.rgb.shape[0] * image.rgb.shape[1] for image in images)),
    }
