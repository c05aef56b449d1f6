"""The ground-truth flow as the node's flow: how steady a method could be if the flow were right.

Sintel gives the forward flow N -> N+1 and the pixels of N hidden in N+1. The node warps frame N's
result into N+1 with the backward flow N+1 -> N and trusts the pixels of N+1 that were visible in
N, so both are derived here: every visible pixel of N is splatted bilinearly to where it lands in
N+1, carrying its flow negated; the pixels of N+1 that received more than half a pixel's weight are
the trusted ones (weight 1, else 0), and the rest take the backward flow of the nearest trusted
pixel (they only seed the warped start there, the temporal loss skips them).

A diagnostic for the benchmark, not a product backend: it measures the ceiling a better flow could
reach, at the same style weights, against the error of the flows the product computes. A second
ceiling, BestCandidateFlows, is that of the classical flows: per pixel the candidate closest to the
truth, i.e. what a perfect fusion of DIS, matched and block matching could give.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from scipy import ndimage

from benchkit.block_matching import mutual_block_matches
from vst_node.engine import flow_matched
from vst_node.engine.flow import flow_pair, to_gray_u8
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


WITHIN_PX = 3.0  # a candidate this close to the truth counts as following the motion


def _pick(stacked: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """(H, W, 2): at each pixel the flow of candidate choice[y, x] from (N, H, W, 2)."""
    return np.take_along_axis(stacked, choice[None, ..., None].repeat(2, axis=-1), 0)[0]


def candidate_warp_flows(prev_gray: np.ndarray, cur_gray: np.ndarray) -> dict[str, np.ndarray]:
    """Every cur -> prev flow the classical tools here produce for a pair: the shipped backends (DIS
    medium, matched), their forward flows inverted, and block matching at 1/4 and 1/2 size with and
    without DIS's consistent seeds (benchkit.block_matching)."""
    candidates: dict[str, np.ndarray] = {}
    for backend in ("dis", "matched"):
        forward, backward = flow_pair(prev_gray, cur_gray, FlowSettings(backend))
        candidates[backend] = backward
        lost = flow_matched.round_trip_distance(forward, backward) > WITHIN_PX
        candidates[f"{backend} forward, inverted"] = invert_forward_flow(forward, lost)[0]
        if backend == "dis":
            dis_seeds = flow_matched.consistent_seeds(backward, forward)
    sift = flow_matched.descriptor_matches(cur_gray, prev_gray)[0]
    for scale in (4, 2):
        blocks = mutual_block_matches(cur_gray, prev_gray, scale)
        for label, seeds in (("", [blocks, sift]), (" + DIS seeds", [blocks, sift, dis_seeds])):
            points, targets = (np.concatenate([pair[side] for pair in seeds]) for side in (0, 1))
            flow = flow_matched.interpolate(cur_gray, prev_gray, points, targets)
            if flow is not None:
                candidates[f"blocks 1/{scale}{label}"] = flow
    return candidates


def best_candidate(
    candidates: dict[str, np.ndarray], truth: np.ndarray, trusted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(flow, trust, shares): per pixel the candidate closest to `truth`, trusted where `trusted`
    and that candidate is within WITHIN_PX; `shares` says how much of the trusted area each
    candidate won and how much of it is followed. Untrusted pixels take the first candidate."""
    names = list(candidates)
    stacked = np.stack([candidates[n] for n in names])
    error = np.linalg.norm(stacked - truth[None], axis=-1)
    choice = np.where(trusted, error.argmin(axis=0), 0)
    flow = _pick(stacked, choice)
    best_error = np.take_along_axis(error, choice[None], 0)[0]
    followed = trusted & (best_error < WITHIN_PX)
    shares = {n: float((choice[trusted] == i).mean()) for i, n in enumerate(names)}
    shares["followed"] = float(followed.sum() / max(int(trusted.sum()), 1))
    return flow.astype(np.float32), followed.astype(np.float32), shares


class BestCandidateFlows(FlowCache):
    """A flow cache that answers with the ceiling of the classical flows: per pixel, the candidate
    (candidate_warp_flows) closest to the ground truth, and the reliability check replaced by
    "within WITHIN_PX of the truth". How steady the product could be if a fusion chose perfectly
    among what these tools find."""

    def __init__(self, forward: np.ndarray, hidden: np.ndarray, device: torch.device | str = "cpu") -> None:
        super().__init__(None, device)
        self._forward = forward.astype(np.float32)
        self._truth, trusted = invert_forward_flow(forward, hidden)
        self._trusted = trusted > 0.5
        self._pair: FlowPair | None = None
        self.shares: dict[str, float] = {}

    def get(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> FlowPair:
        if prev_rgb.shape[:2] != self._trusted.shape:
            raise ValueError(f"ground truth is {self._trusted.shape}, frames are {prev_rgb.shape[:2]}")
        if self._pair is None:
            candidates = candidate_warp_flows(to_gray_u8(prev_rgb), to_gray_u8(cur_rgb))
            backward, trust, self.shares = best_candidate(candidates, self._truth, self._trusted)
            self._pair = FlowPair(self._forward, backward, trust)
        return self._pair

    def prefetch(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> None:
        """Computed on first use."""


def consensus(candidates: dict[str, np.ndarray], window: int = 15) -> np.ndarray:
    """Per pixel, the candidate that most others agree with (within WITHIN_PX), votes summed over
    a `window`-px box: a fusion that needs no colour cost, which motion blur misleads. Ties go to
    the first candidate."""
    stacked = np.stack(list(candidates.values()))
    votes = np.zeros(stacked.shape[:3], np.float32)
    for i in range(len(stacked)):
        for j in range(i + 1, len(stacked)):
            agree = (np.linalg.norm(stacked[i] - stacked[j], axis=-1) < WITHIN_PX).astype(np.float32)
            votes[i] += agree
            votes[j] += agree
    summed = np.stack([cv2.boxFilter(v, -1, (window, window)) for v in votes])
    return _pick(stacked, summed.argmax(axis=0))
