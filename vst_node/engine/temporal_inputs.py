"""What the temporal terms of one frame pull towards: finished neighbours warped along the flow,
with their reliability weights (c, or c_long with long-term offsets)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vst_node.engine.flow_cache import FlowCache
from vst_node.engine.stylize import TemporalTerm
from vst_node.ops.reliability import long_term_weights
from vst_node.ops.warp import warp
from vst_node.settings import FlowSettings


@dataclass
class WarpedNeighbours:
    terms: list[TemporalTerm]  # one per neighbour, by offset, weighted by c_long (or 1 without the mask)
    nearest: TemporalTerm  # the nearest neighbour with its raw c: the start image's source
    reliable: float  # mean c of the nearest neighbour: how much of the frame the flow tracks
    flow_seconds: float


def image_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, C) host array -> (1, C, H, W) on the device."""
    return torch.from_numpy(image).to(device).permute(2, 0, 1)[None]


def warp_neighbours(
    t: int,
    neighbours: Sequence[tuple[int, int, np.ndarray]],
    source: Callable[[int], np.ndarray],
    flows: FlowCache,
    flow: FlowSettings,
    blur_sigma: float,
    use_mask: bool,
    device: torch.device,
    resampling: str,
) -> WarpedNeighbours:
    """neighbours: (offset j, frame, its result in caffe space), nearest first; source(frame) gives
    the processing-size image the flows are computed on; resampling: ops.warp's interpolation."""
    target = source(t)
    warped: dict[int, torch.Tensor] = {}
    weights: dict[int, torch.Tensor] = {}
    started = time.perf_counter()
    for offset, frame, result in neighbours:
        pair = flows.get(source(frame), target, flow, blur_sigma)
        backward = image_tensor(pair.backward, device)
        warped[offset] = warp(torch.from_numpy(result).to(device), backward, resampling)
        weights[offset] = image_tensor(pair.weights[..., None], device)
    seconds = time.perf_counter() - started
    nearest = min(warped)
    used = long_term_weights(weights if use_mask else {j: torch.ones_like(c) for j, c in weights.items()})
    return WarpedNeighbours(
        terms=[TemporalTerm(warped[j], used[j]) for j in sorted(warped)],
        nearest=TemporalTerm(warped[nearest], weights[nearest]),
        reliable=float(weights[nearest].mean()),
        flow_seconds=seconds,
    )


def prefetch_flows(
    upcoming: tuple[int, list[int]] | None,
    source: Callable[[int], np.ndarray],
    flows: FlowCache,
    flow: FlowSettings,
    blur_sigma: float,
) -> None:
    """Start the next frame's flows (next frame, its neighbours) on the worker thread while this
    frame optimises."""
    if upcoming is None:
        return
    nxt, neighbours = upcoming
    try:
        for f in neighbours:
            flows.prefetch(source(f), source(nxt), flow, blur_sigma)
    except Exception:
        # Only an optimisation: a bad next frame (unreadable, another size) must fail when it is
        # rendered, not this one.
        return
