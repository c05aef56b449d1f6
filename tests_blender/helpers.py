"""Helpers for the add-on tests: loading the add-on, writing and reading tiny frames, rendering."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import bpy
import numpy as np
import OpenImageIO as oiio

ROOT = Path(__file__).resolve().parents[1]
ADDON_DIR = ROOT / "plugins" / "blender"
PACKAGE = "vst_node_blender"
TINY = "optimiser.iterations_first=4;optimiser.iterations=2;optimiser.tolerance_window=2"
WIDTH, HEIGHT = 48, 32


def load_addon():
    """The add-on package imported the way Blender does it: a package with relative imports."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, ADDON_DIR / "__init__.py", submodule_search_locations=[str(ADDON_DIR)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def strips(scene):
    return list(scene.sequence_editor.strips)


def card(width: int = WIDTH, height: int = HEIGHT, frame: int = 0) -> np.ndarray:
    """A smooth 8-bit RGB test card that moves a little per frame (values 0-255)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 255 * x / (width - 1)
    g = 255 * y / (height - 1)
    b = 128 + 100 * np.sin((x + 3 * frame) / 5.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def write_image(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width, channels = pixels.shape
    fmt = oiio.UINT8 if pixels.dtype == np.uint8 else oiio.FLOAT
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), oiio.ImageSpec(width, height, channels, fmt)), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def read_image(path: Path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return np.asarray(buf.get_pixels(oiio.FLOAT), dtype=np.float32)


def render_frame(scene, frame: int, path: Path, only) -> np.ndarray:
    """What Blender shows at `frame` with only strip `only` unmuted, as the linear EXR it renders."""
    muted = {s.name: s.mute for s in scene.sequence_editor.strips}
    for strip in scene.sequence_editor.strips:
        strip.mute = strip.name != only.name
    try:
        scene.render.image_settings.file_format = "OPEN_EXR"
        scene.render.image_settings.color_depth = "32"
        scene.render.filepath = str(path)
        scene.frame_set(frame)
        bpy.ops.render.render(write_still=True)
    finally:
        for strip in scene.sequence_editor.strips:
            strip.mute = muted[strip.name]
    return read_image(path)
