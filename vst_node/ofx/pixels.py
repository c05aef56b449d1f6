"""Pixels across the OFX face: the host's linear (un)premultiplied RGBA to network RGB and back,
and the Style clip's frame as a file the preset can name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from vst_node.io.colour import from_network, to_network
from vst_node.io.image_io import write_image


def host_to_network(image: np.ndarray, space: str, premultiplied: bool) -> tuple[np.ndarray, np.ndarray]:
    """(network RGB, alpha) of a host image; unpremultiplied sources are converted as they are."""
    rgb = image[..., :3]
    alpha = image[..., 3:4] if image.shape[2] == 4 else np.ones_like(rgb[..., :1])
    if premultiplied:
        return to_network(np.concatenate([rgb, alpha], axis=-1), space)
    encoded, _ = to_network(np.concatenate([rgb, np.ones_like(alpha)], axis=-1), space)
    return encoded, alpha


def network_to_host(stylized: np.ndarray, source: np.ndarray, space: str, premultiplied: bool) -> np.ndarray:
    """Back to the host's space, with the Source's alpha (bit-exact) and premultiplication.

    Premultiplied alpha-0 pixels keep their Source colour: nothing covers them, so the
    stylization must not add light there (zero stays zero, emissive values stay as they were).
    """
    if source.shape[2] == 3 or not premultiplied:
        rgb = from_network(stylized, np.ones((*stylized.shape[:2], 1), np.float32), space)[..., :3]
        if source.shape[2] == 3:
            return np.ascontiguousarray(rgb, dtype=np.float32)
        return np.concatenate([rgb, source[..., 3:4]], axis=-1).astype(np.float32, copy=False)
    alpha = source[..., 3:4]
    rgba = from_network(stylized, alpha, space, source=source[..., :3])
    return np.concatenate([rgba[..., :3], alpha], axis=-1).astype(np.float32, copy=False)


def style_file(image: np.ndarray, folder: Path, colorspace: str) -> Path:
    """The Style clip's frame as a float EXR named by its content, so the same image keeps every
    cache keyed by the style file's bytes."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"Style image is {image.shape}; expected (H, W, 4) or (H, W, 3)")
    digest = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()[:24]
    path = folder / f"{digest}.exr"
    if not path.exists():
        write_image(path, image, colorspace=colorspace)
    return path
