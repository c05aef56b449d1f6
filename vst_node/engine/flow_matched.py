"""Large-displacement flow: descriptor matches, edge-aware interpolation, fused with DIS per pixel.

DIS is coarse-to-fine: a thin or fast object that moves further than its own size between frames
is lost at the coarse scales and never found again (on Sintel's fast pairs DIS is 10-20 px off).
Descriptor matches have no such limit. This backend follows the EpicFlow recipe (Revaud et al.
2015) with OpenCV's parts:

1. SIFT keypoints on both frames, kept where the match is mutual and passes Lowe's ratio test;
2. DIS's own flow on a grid, kept where forward and backward agree (dense seeds where DIS is right);
3. OpenCV's edge-aware interpolator turns those seeds into a dense flow, which its variational
   refinement polishes;
4. per pixel, whichever of that flow and DIS's explains the frames better (colour and gradient
   error over a window, plus forward-backward disagreement) is kept, and the fused field is
   refined once more. Where the matches are wrong (motion blur, few keypoints) DIS's flow wins, so
   the result is seldom worse than DIS alone.

Every OpenCV object is created per call: none is shared between threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

# Chosen on alley_2/clean and market_5/clean (bandage_1 and market_5/final held out): SIFT's
# contrast threshold below OpenCV's 0.04 finds 3-4x the keypoints on low-contrast renders, which
# halved the error on the fast pair; a 15 px fusion window; DIS seeds every 8 px.
SIFT_CONTRAST_THRESHOLD = 0.01
RATIO_TEST = 0.8  # Lowe's ratio: the best match must be clearly better than the second best
SEED_STEP = 8  # px between DIS seeds
SEED_TOLERANCE = 1.0  # px: a DIS seed is kept where forward then backward returns this close
FUSION_WINDOW = 15  # px: the window over which each candidate's error is summed
FUSION_FB_WEIGHT = 0.05  # per px of forward-backward disagreement (capped at 20 px), vs colour error
MIN_SEEDS = 16  # fewer seeds than this cannot be interpolated reliably: DIS's flow is returned
# OpenCV's interpolator fits each pixel from its K nearest seeds (K = 128 by default) and indexes
# seeds with 16-bit integers: K is kept at most the number of distinct seeds (it reads K neighbours
# whether or not that many exist), and the seed count below 32767 by a coarser grid and a cap on
# keypoints on big frames.
INTERPOLATOR_NEIGHBOURS = 128
MAX_KEYPOINTS = 8000
MAX_SEEDS = 30000
# Outside the frame, a candidate's error counts as the worst colour error (so it never wins there
# on a lucky match of the border pixels).
_OUTSIDE_COST = 1.0

Flow = np.ndarray  # (H, W, 2) float32


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """SIFT keypoint positions (N, 2) and descriptors (N, 128), or None when there are none."""
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS, contrastThreshold=SIFT_CONTRAST_THRESHOLD)
    keypoints, descriptors = sift.detectAndCompute(gray, None)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors


Matches = tuple[np.ndarray, np.ndarray]  # (points in the source frame, points in the target), (N, 2) each


def descriptor_matches(first: np.ndarray, second: np.ndarray) -> tuple[Matches, Matches]:
    """(first -> second matches, second -> first matches): mutual best SIFT matches, each set
    passing Lowe's ratio test in its own direction (the test is not symmetric)."""
    (points_a, desc_a), (points_b, desc_b) = _keypoints(first), _keypoints(second)
    empty = (np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32))
    if desc_a is None or desc_b is None or len(points_a) < 2 or len(points_b) < 2:
        return empty, empty
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    knn_ab, knn_ba = matcher.knnMatch(desc_a, desc_b, k=2), matcher.knnMatch(desc_b, desc_a, k=2)
    best_ab = {pair[0].queryIdx: pair[0].trainIdx for pair in knn_ab if pair}
    best_ba = {pair[0].queryIdx: pair[0].trainIdx for pair in knn_ba if pair}

    def passing(knn, reverse_best: dict[int, int], points_q: np.ndarray, points_t: np.ndarray) -> Matches:
        kept = [
            (pair[0].queryIdx, pair[0].trainIdx)
            for pair in knn
            if len(pair) == 2
            and pair[0].distance < RATIO_TEST * pair[1].distance
            and reverse_best.get(pair[0].trainIdx) == pair[0].queryIdx
        ]
        if not kept:
            return empty
        query, train = (np.array(side) for side in zip(*kept, strict=True))
        return points_q[query], points_t[train]

    return passing(knn_ab, best_ba, points_a, points_b), passing(knn_ba, best_ab, points_b, points_a)


def _positions(flow: Flow) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) = p + flow(p) for every pixel p: where each pixel lands."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp_image(image: np.ndarray, flow: Flow) -> np.ndarray:
    """image sampled at p + flow(p) (bilinear, border replicated): the frame brought back along flow."""
    x, y = _positions(flow)
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _leaves_frame(flow: Flow) -> np.ndarray:
    h, w = flow.shape[:2]
    x, y = _positions(flow)
    return (x < 0) | (x > w - 1) | (y < 0) | (y > h - 1)


def round_trip_distance(flow: Flow, reverse: Flow) -> np.ndarray:
    """(H, W) px between a pixel and where flow then reverse bring it back: 0 where they agree."""
    return np.linalg.norm(flow + warp_image(reverse, flow), axis=2)


def consistent_seeds(forward: Flow, backward: Flow) -> tuple[np.ndarray, np.ndarray]:
    """(points, their targets) on a SEED_STEP grid (coarser on frames beyond ~4 Mpx) where forward
    then backward returns within SEED_TOLERANCE px: where a flow (DIS's) can be trusted as seeds."""
    h, w = forward.shape[:2]
    step = max(SEED_STEP, math.ceil(math.sqrt(h * w / (MAX_SEEDS - MAX_KEYPOINTS))))
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    targets = points + forward[ys.ravel(), xs.ravel()]
    inside = (targets[:, 0] >= 0) & (targets[:, 0] <= w - 1) & (targets[:, 1] >= 0) & (targets[:, 1] <= h - 1)
    back = cv2.remap(backward, targets[:, 0:1], targets[:, 1:2], cv2.INTER_LINEAR).reshape(-1, 2)
    agree = inside & (np.linalg.norm(targets - points + back, axis=1) < SEED_TOLERANCE)
    return points[agree], targets[agree]


def distinct_seeds(seeds_src: np.ndarray, seeds_dst: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first seed on each source pixel (rounded as OpenCV rounds): the interpolator gives each
    pixel one seed, and a second seed there would be one it cannot reach."""
    pixel = np.floor(seeds_src + 0.5).astype(np.int64)
    _, first = np.unique(pixel[:, 1] * width + pixel[:, 0], return_index=True)
    first.sort()
    return seeds_src[first], seeds_dst[first]


def interpolate(
    src: np.ndarray, dst: np.ndarray, seeds_src: np.ndarray, seeds_dst: np.ndarray
) -> Flow | None:
    """Dense src -> dst flow from seed correspondences (edge-aware interpolation + variational
    refinement), or None with fewer than MIN_SEEDS seeds."""
    seeds_src, seeds_dst = (np.asarray(seeds, np.float32).reshape(-1, 2) for seeds in (seeds_src, seeds_dst))
    seeds_src, seeds_dst = distinct_seeds(seeds_src, seeds_dst, src.shape[1])
    if len(seeds_src) < MIN_SEEDS:
        return None
    colour_src, colour_dst = (cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for g in (src, dst))
    interpolator = cv2.ximgproc.createEdgeAwareInterpolator()
    interpolator.setK(min(INTERPOLATOR_NEIGHBOURS, len(seeds_src)))
    flow = interpolator.interpolate(
        colour_src,
        np.ascontiguousarray(seeds_src.reshape(-1, 1, 2)),
        colour_dst,
        np.ascontiguousarray(seeds_dst.reshape(-1, 1, 2)),
    )
    return refine(src, dst, flow)


def refine(src: np.ndarray, dst: np.ndarray, flow: Flow) -> Flow:
    """OpenCV's variational refinement (data + smoothness energy), starting from flow."""
    refined = np.ascontiguousarray(flow, dtype=np.float32).copy()
    cv2.VariationalRefinement_create().calc(src, dst, refined)
    return refined


def _features(gray: np.ndarray) -> np.ndarray:
    """(H, W, 3): intensity and its two gradients in [0, 1] units; gradients make the fusion cost
    robust to the brightness changes that render passes and lighting bring."""
    g = gray.astype(np.float32) / 255.0
    return np.dstack([g, cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)])


def fusion_cost(
    features_src: np.ndarray, features_dst: np.ndarray, flow: Flow, reverse: Flow | None
) -> np.ndarray:
    """(H, W) windowed cost of a candidate src -> dst flow: how badly dst brought back along it
    matches src, plus how far its reverse flow fails to bring a pixel home."""
    error = np.abs(features_src - warp_image(features_dst, flow)).sum(axis=2)
    error[_leaves_frame(flow)] = _OUTSIDE_COST
    if reverse is not None:
        error += FUSION_FB_WEIGHT * np.minimum(round_trip_distance(flow, reverse), 20.0)
    return cv2.boxFilter(error, -1, (FUSION_WINDOW, FUSION_WINDOW))


def fuse(src: np.ndarray, dst: np.ndarray, candidates: list[Flow], reverses: list[Flow | None]) -> Flow:
    """Each pixel takes the candidate of lowest fusion cost (the choice median-filtered so no
    candidate wins on isolated pixels), then the fused field is refined."""
    features_src, features_dst = _features(src), _features(dst)
    costs = np.stack(
        [fusion_cost(features_src, features_dst, f, r) for f, r in zip(candidates, reverses, strict=True)]
    )
    labels = cv2.medianBlur(costs.argmin(axis=0).astype(np.uint8), 5)
    stacked = np.stack(candidates)
    fused = np.take_along_axis(stacked, labels[None, ..., None].astype(np.intp).repeat(2, axis=-1), 0)[0]
    return refine(src, dst, fused)


def matched_direction(
    src: np.ndarray,
    dst: np.ndarray,
    matches: Matches,
    dis_flow: Flow,
    dis_reverse: Flow,
) -> Flow | None:
    """Steps 2-3 for one direction: the interpolated src -> dst flow from the descriptor matches
    and DIS's consistent seeds, or None with too few seeds."""
    seeds_src, seeds_dst = consistent_seeds(dis_flow, dis_reverse)
    return interpolate(
        src, dst, np.concatenate([matches[0], seeds_src]), np.concatenate([matches[1], seeds_dst])
    )


def matched_pair(
    first: np.ndarray,
    second: np.ndarray,
    dis_forward: Flow,
    dis_backward: Flow,
    run_concurrently: Callable[[Callable[[], Any], Callable[[], Any]], tuple[Any, Any]],
) -> tuple[Flow, Flow]:
    """(first -> second, second -> first) given DIS's flows of the pair.

    `run_concurrently(f, g)` returns (f(), g()), running them at once where it can: the two
    directions are independent until the fusion.
    """
    matches_forward, matches_backward = descriptor_matches(first, second)
    interp_forward, interp_backward = run_concurrently(
        lambda: matched_direction(first, second, matches_forward, dis_forward, dis_backward),
        lambda: matched_direction(second, first, matches_backward, dis_backward, dis_forward),
    )
    if interp_forward is None or interp_backward is None:
        return dis_forward, dis_backward
    forward, backward = run_concurrently(
        lambda: fuse(first, second, [dis_forward, interp_forward], [dis_backward, interp_backward]),
        lambda: fuse(second, first, [dis_backward, interp_backward], [dis_forward, interp_forward]),
    )
    return forward, backward


# `auto`: DIS's pair is kept where forward and backward agree on almost every pixel. Measured on
# the four Sintel pairs: 1.4-2.0 % of pixels disagree by more than 1 px on the slow pairs,
# 62-70 % on the fast ones; the threshold sits well between.
AUTO_DISAGREE_PX = 1.0
AUTO_MAX_DISAGREEING_SHARE = 0.10


def disagreeing_share(forward: Flow, backward: Flow) -> float:
    """Share of pixels whose forward flow, followed by the backward flow there, lands more than
    AUTO_DISAGREE_PX from where it started: cheap evidence that the flow lost the motion."""
    return float((round_trip_distance(forward, backward) > AUTO_DISAGREE_PX).mean())
