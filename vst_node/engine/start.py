"""Where a frame's optimisation starts: noise or the content for a first frame, and for later
frames the previous result warped along the flow (disoccluded pixels filled), or unwarped."""

from __future__ import annotations

import numpy as np
import torch

from vst_node.engine.multipass import blended_init
from vst_node.engine.stylize import TemporalTerm
from vst_node.engine.vgg import caffe_preprocess
from vst_node.settings import InitSettings, Preset


def fresh_start(mode: str, content: torch.Tensor, t: int, settings: InitSettings) -> torch.Tensor:
    """A start that needs no other frame: the content frame, or noise seeded by frame number."""
    if mode == "content":
        return caffe_preprocess(content)
    # Reference code: Gaussian * 0.001 in the network's 0-255 space, i.e. around the ImageNet
    # mean colour. Seeded by frame so that any render order draws the same noise for a frame.
    gen = torch.Generator().manual_seed(settings.seed * 1_000_003 + t)
    noise = torch.randn(content.shape, generator=gen) * settings.noise_std
    return noise.to(content.device)


def later_start(
    settings: InitSettings,
    fill_disoccluded: str,
    t: int,
    content: torch.Tensor,
    nearest: TemporalTerm,
    previous: np.ndarray,
) -> torch.Tensor:
    """init.later for a frame with a finished neighbour (nearest: its warped result and raw c;
    previous: its result unwarped, on the host: copied to the device only when it is the start)."""
    mode = settings.later
    if mode == "previous_warped":
        content_fill = fill_disoccluded == "content"
        fill = caffe_preprocess(content) if content_fill else torch.zeros_like(nearest.warped)
        return nearest.weights * nearest.warped + (1 - nearest.weights) * fill
    if mode == "previous":
        return torch.from_numpy(previous).to(content.device)
    return fresh_start(mode, content, t, settings)


def start_image(
    preset: Preset,
    t: int,
    content: torch.Tensor,
    nearest: TemporalTerm | None,
    previous: np.ndarray | None,
    own_last_pass: torch.Tensor | None,
) -> torch.Tensor:
    """The start of frame t: nearest is its closest finished neighbour warped (None without one),
    previous that neighbour unwarped, own_last_pass the frame's own result of the pass before
    (multi-pass only), which a later pass blends with the warped neighbour."""
    if own_last_pass is not None:
        if nearest is None:
            return own_last_pass
        return blended_init(nearest.warped, nearest.weights, own_last_pass, preset.multipass.blend)
    if nearest is None or previous is None:
        return fresh_start(preset.init.first, content, t, preset.init)
    return later_start(preset.init, preset.temporal.fill_disoccluded, t, content, nearest, previous)
