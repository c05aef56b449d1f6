"""The output step: a finished result back to the source's size, colours and highlights, at strength."""

from __future__ import annotations

import numpy as np
import torch

from vst_node.engine.vgg import caffe_deprocess
from vst_node.ops.colour_transfer import keep_source_colour
from vst_node.ops.resize import resize
from vst_node.settings import ColourSettings


def finished_image(
    result: np.ndarray, source: np.ndarray, colour: ColourSettings, strength: float, device: torch.device
) -> np.ndarray:
    """Network RGB (H, W, 3) at the source's size from a caffe-space result at the processing size."""
    x = torch.from_numpy(result).to(device, torch.float32)
    rgb = caffe_deprocess(x).clamp(0.0, 1.0)
    rgb = resize(rgb, source.shape[:2])
    if colour.preserve_colour:
        original = torch.from_numpy(np.clip(source, 0.0, 1.0)).permute(2, 0, 1)[None].to(device)
        rgb = keep_source_colour(rgb, original)
    rgb = rgb[0].permute(1, 2, 0).cpu().numpy()
    if colour.preserve_highlights:
        # The network only sees [0,1]; carry what lies outside (HDR highlights, negative
        # lobes) over the stylized result so that no value is silently clamped.
        rgb = rgb + (source - np.clip(source, 0.0, 1.0))
    if strength >= 1.0:
        return rgb
    # Infinite source values stay as they are: the mix would turn them into NaN (inf - inf).
    with np.errstate(invalid="ignore"):
        mixed = source + strength * (rgb - source)
    return np.where(np.isfinite(source), mixed, source)
