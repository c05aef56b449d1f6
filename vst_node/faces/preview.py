"""One frame through a preset's fast network at preview size: a look at the style before a render.

The preview always uses the preset's trained network (`network.model`), whatever its method, so
it takes about a second on a CPU; a preset rendered with `method: optimise` will look similar,
with finer strokes. Hosts (the Blender panel) hand over the frame's pixels and colour space and
get the stylized frame back in the same space and size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vst_node.engine.node import StyleTransferNode
from vst_node.errors import PresetError
from vst_node.io.colour import from_network, input_colorspace, to_network
from vst_node.io.image_io import read_frame
from vst_node.settings import Preset

PREVIEW_SIDE = 512  # longer side the network runs at; the result is resized back


@dataclass
class PreviewResult:
    rgba: np.ndarray  # (H, W, 4) premultiplied, in the caller's colour space and size
    seconds: float
    network_digest: str


def preview_preset(preset: Preset, max_side: int | None = PREVIEW_SIDE) -> Preset:
    """The preset switched to its network at preview size; a clear error when it has none."""
    if preset.network.model is None or not preset.network.model.is_file():
        raise PresetError(
            f"preset {preset.name!r} has no trained network (network.model: {preset.network.model});"
            f" train one with `vst-node train --preset {preset.source or preset.name} -o look.pt`"
        )
    cap = preset.resolution.max_side
    side = max_side if cap is None or max_side is None else min(cap, max_side)
    return replace(
        preset,
        method="feedforward",
        network=replace(preset.network, statistics="frame"),  # one frame: its own statistics
        resolution=replace(preset.resolution, max_side=side),
    )


def preview_frame(
    preset: Preset,
    rgba: np.ndarray,
    colorspace: str,
    device: str = "auto",
    max_side: int | None = PREVIEW_SIDE,
    output_space: str | None = None,
) -> PreviewResult:
    """Stylize one premultiplied RGBA frame (scene-linear or display, as `colorspace` says); the
    result is in `output_space` (default: the input's)."""
    started = time.perf_counter()
    fast = preview_preset(preset, max_side)
    rgb, alpha = to_network(np.asarray(rgba, np.float32), colorspace)
    node = StyleTransferNode(fast, device=device, cache_dir=None)
    try:
        node.begin_sequence([0])
        stylized = node.render(0, lambda _t: rgb)
        digest = node.network_digest or ""
    finally:
        node.close()
    out = from_network(stylized, alpha, output_space or colorspace, source=np.asarray(rgba)[..., :3])
    return PreviewResult(out, time.perf_counter() - started, digest)


def preview_file(
    preset: Preset,
    path: Path,
    colorspace: str = "auto",
    device: str = "auto",
    max_side: int | None = PREVIEW_SIDE,
    output_space: str | None = None,
) -> PreviewResult:
    """preview_frame of an image file, read like a rendered frame (display window, its colour space)."""
    frame = read_frame(Path(path))
    space = input_colorspace(frame, colorspace)
    return preview_frame(preset, frame.rgba, space, device, max_side, output_space)
