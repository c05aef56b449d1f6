"""The ground-truth flow as the node's flow: how steady a method could be if the flow were right.

Sintel gives the forward flow N -> N+1 and the pixels of N hidden in N+1. The node warps frame N's
result into N+1 with the backward flow N+1 -> N and trusts the pixels of N+1 that were visible in
N, so both are derived here: every visible pixel of N is splatted bilinearly to where it lands in
N+1, carrying its flow negated; the pixels of N+1 that received more than half a pixel's weight are
the trusted ones (weight 1, else 0), and the rest take the backward flow of the nearest trusted
pixel (they only seed the warped start there, the temporal loss skips them).

A diagnostic for the benchmark, not a product backend: it measures the ceiling a better flow could
reach, at the same style weights, against the error of the flows the product computes.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from vst_node.engine.flow_cache import FlowCache, FlowPair
from vst_node.settings.schema import FlowSettings

TRUSTED_SPLAT_WEIGHT = 0.5  # a pixel of N+1 covered by more than half a visible pixel of N


def invert_forward_flow(forward: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(backward flow N+1 -> N, (H,W) float32 trust of N+1's pixels) from the forward flow of N's
    pixels and N's pixels hidden in N+1."""
    h, w = hidden.shape
    ys, xs = np.nonzero(~hidden)
    tx = xs + forward[ys, xs, 0]
    ty = ys + forward[ys, xs, 1]
    x0, y0 = np.floor(tx).astype(np.int64), np.floor(ty).astype(np.int64)
    fx, fy = tx - x0, ty - y0
    weight_sum = np.zeros((h, w), np.float64)
    flow_sum = np.zeros((h, w, 2), np.float64)
    carried = -forward[ys, xs].astype(np.float64)  # each visible pixel's flow, pointing back
    corners = ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy))
    for dx, dy, wgt in corners:
        cx, cy = x0 + dx, y0 + dy
        inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h) & (wgt > 0)
        at = (cy[inside], cx[inside])
        np.add.at(weight_sum, at, wgt[inside])
        for c in range(2):
            np.add.at(flow_sum[..., c], at, carried[inside, c] * wgt[inside])
    trusted = weight_sum > TRUSTED_SPLAT_WEIGHT
    backward = np.zeros((h, w, 2), np.float32)
    if trusted.any():
        backward[trusted] = flow_sum[trusted] / weight_sum[trusted, None]
        nearest = ndimage.distance_transform_edt(~trusted, return_distances=False, return_indices=True)
        backward = backward[nearest[0], nearest[1]]
    return backward.astype(np.float32), trusted.astype(np.float32)


class GroundTruthFlows(FlowCache):
    """A flow cache that answers every request with one ground-truth pair (the benchmark's N -> N+1)."""

    def __init__(self, forward: np.ndarray, hidden: np.ndarray, device: torch.device | str = "cpu") -> None:
        super().__init__(None, device)
        backward, trusted = invert_forward_flow(forward, hidden)
        self._pair = FlowPair(forward.astype(np.float32), backward, trusted)

    def get(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> FlowPair:
        if prev_rgb.shape[:2] != self._pair.weights.shape:
            raise ValueError(f"ground truth is {self._pair.weights.shape}, frames are {prev_rgb.shape[:2]}")
        return self._pair

    def prefetch(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> None:
        """Nothing to compute."""
