"""Where a frame's optimisation starts: noise or the content for a first frame, and for later
frames the previous result warped along the flow (disoccluded pixels filled), or unwarped."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from vst_node.engine.multipass import blended_init
from vst_node.engine.stylize import TemporalTerm
from vst_node.engine.vgg import caffe_preprocess
from vst_node.settings import InitSettings, Preset

# The preset's trained network: content RGB [0,1] -> its stylization in caffe space.
NetworkStart = Callable[[torch.Tensor], torch.Tensor]


def _network(network: NetworkStart | None) -> NetworkStart:
    if network is None:
        raise ValueError("this start needs the preset's network (network.model)")
    return network


def uses_network(preset: Preset) -> bool:
    """Whether a frame's start may come from the trained network (the optimise/feed-forward hybrid)."""
    return preset.init.first == "network" or preset.temporal.fill_disoccluded == "network"


def fresh_start(
    mode: str, content: torch.Tensor, t: int, settings: InitSettings, network: NetworkStart | None = None
) -> torch.Tensor:
    """A start that needs no other frame: the content frame, the network's output, or noise
    seeded by frame number."""
    if mode == "content":
        return caffe_preprocess(content)
    if mode == "network":
        return _network(network)(content)
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
    network: NetworkStart | None = None,
) -> torch.Tensor:
    """init.later for a frame with a finished neighbour (nearest: its warped result and raw c;
    previous: its result unwarped, on the host: copied to the device only when it is the start)."""
    mode = settings.later
    if mode == "previous_warped":
        if fill_disoccluded == "content":
            fill = caffe_preprocess(content)
        elif fill_disoccluded == "network":
            fill = _network(network)(content)  # newly revealed pixels start already painted
        else:
            fill = torch.zeros_like(nearest.warped)
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
    network: NetworkStart | None = None,
) -> torch.Tensor:
    """The start of frame t: nearest is its closest finished neighbour warped (None without one),
    previous that neighbour unwarped, own_last_pass the frame's own result of the pass before
    (multi-pass only), which a later pass blends with the warped neighbour; network the preset's
    trained network, for the starts that use it."""
    if own_last_pass is not None:
        if nearest is None:
            return own_last_pass
        return blended_init(nearest.warped, nearest.weights, own_last_pass, preset.multipass.blend)
    if nearest is None or previous is None:
        return fresh_start(preset.init.first, content, t, preset.init, network)
    return later_start(preset.init, preset.temporal.fill_disoccluded, t, content, nearest, previous, network)
