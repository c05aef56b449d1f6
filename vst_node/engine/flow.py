"""Optical flow between two frames through OpenCV (DIS, DeepFlow, Farneback, matched, auto).

This module and engine.flow_matched (the large-displacement backend) are the only ones that touch
OpenCV's flow code; everything per-pixel after the flow
(warping, reliability weights) is torch. The flow runs on the CPU, often in a background thread
while the main thread optimises the previous frame, so OpenCV objects are kept per thread
(they are not thread safe).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import cv2
import numpy as np

from vst_node.engine import flow_matched
from vst_node.settings.schema import FlowSettings

_DIS_PRESET_IDS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
# OpenCV's ultrafast preset switches variational refinement off; the method wants it on everywhere
# (it removes the patch artefacts that the consistency check would otherwise flag as unreliable).
_DIS_MIN_VARIATIONAL_ITERATIONS = 5

# Rec.709 luma: the frames handed to us are display-encoded Rec.709 primaries.
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


# Farneback with OpenCV's published example parameters (pyr_scale 0.5, winsize 15, 3 iterations,
# poly_n 5, poly_sigma 1.2) and a deeper pyramid for large motions; OpenCV itself stops adding levels
# once one is smaller than 32 px, so on small frames this equals the example's 3 levels. Measured on
# Sintel, neither levels nor winsize moves the end-point error much, so they are not settings.
_FARNEBACK = {"pyr_scale": 0.5, "levels": 5, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2}


def to_gray_u8(rgb: np.ndarray) -> np.ndarray:
    """(H,W,3) display-like float RGB -> (H,W) uint8 luma, the input all OpenCV flows expect.

    Values outside [0, 1] (scene highlights survive the encoding) and NaNs are clipped, since flow
    only needs the visible structure.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
    luma = np.asarray(rgb, dtype=np.float32) @ _LUMA
    luma = np.nan_to_num(luma, nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(luma, 0.0, 1.0) * 255.0).astype(np.uint8)


_local = threading.local()
T = TypeVar("T")
U = TypeVar("U")


def _dis(preset: str) -> cv2.DISOpticalFlow:
    """A fresh DIS object per call (microseconds): a reused one lowers its finest scale for good
    after a very small image, so later flows, and pixels, would depend on what it saw before."""
    dis = cv2.DISOpticalFlow_create(_DIS_PRESET_IDS[preset])
    if dis.getVariationalRefinementIterations() < _DIS_MIN_VARIATIONAL_ITERATIONS:
        dis.setVariationalRefinementIterations(_DIS_MIN_VARIATIONAL_ITERATIONS)
    return dis


def _deepflow() -> cv2.DenseOpticalFlow:
    """The calling thread's DeepFlow object."""
    if not hasattr(_local, "deepflow"):
        _local.deepflow = cv2.optflow.createOptFlow_DeepFlow()
    return _local.deepflow


def _check_inputs(src: np.ndarray, dst: np.ndarray, settings: FlowSettings) -> None:
    settings.validate()
    if src.shape != dst.shape or src.ndim != 2 or src.dtype != np.uint8 or dst.dtype != np.uint8:
        raise ValueError(
            f"expected two (H, W) uint8 gray images of equal shape, got {src.shape} {src.dtype} "
            f"and {dst.shape} {dst.dtype}"
        )


def compute_flow(src: np.ndarray, dst: np.ndarray, settings: FlowSettings) -> np.ndarray:
    """Dense flow (H,W,2) float32, (u, v) = (x, y) in pixels, with src(p) ≈ dst(p + flow(p)).

    `matched` and `auto` need both directions whatever is asked: they compute the pair.
    """
    _check_inputs(src, dst, settings)
    if settings.backend in PAIRED_BACKENDS:
        return flow_pair(src, dst, settings)[0]
    src = np.ascontiguousarray(src)
    dst = np.ascontiguousarray(dst)
    if settings.backend == "dis":
        flow = _dis(settings.dis_preset).calc(src, dst, None)
    elif settings.backend == "deepflow":
        flow = _deepflow().calc(src, dst, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(src, dst, None, flags=0, **_FARNEBACK)
    return np.ascontiguousarray(flow, dtype=np.float32)


# The backward flow of a pair runs on a helper thread while the caller computes the forward one:
# DeepFlow and Farneback are mostly single-threaded inside OpenCV, so a pair then takes about the
# time of one direction where a second core is free. Each direction is the same computation on its
# own OpenCV object as when run serially, so the flows are bit-identical. Several helpers, so that
# concurrent callers (a prefetch worker and the render thread) never queue behind each other.
_PAIR_HELPERS = 4
_pair_pool: ThreadPoolExecutor | None = None
_pair_pool_lock = threading.Lock()


def _helpers() -> ThreadPoolExecutor:
    """The helper pool, created on first use."""
    global _pair_pool
    with _pair_pool_lock:
        if _pair_pool is None:
            _pair_pool = ThreadPoolExecutor(max_workers=_PAIR_HELPERS, thread_name_prefix="vst-flow-pair")
        return _pair_pool


def _forget_helpers_after_fork() -> None:
    """A forked child has none of the parent's threads: it starts its own pool when it needs one."""
    global _pair_pool, _pair_pool_lock
    _pair_pool, _pair_pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers_after_fork)


def flow_pair(
    prev_gray: np.ndarray, cur_gray: np.ndarray, settings: FlowSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(forward prev -> cur, backward cur -> prev): both directions feed the consistency check.

    The two directions are computed concurrently (backward on a helper thread) when the machine
    has more than one CPU; the result is the same as computing them one after the other.
    """
    _check_inputs(prev_gray, cur_gray, settings)  # errors surface here, not on the helper thread
    if settings.backend in PAIRED_BACKENDS:
        return _paired(prev_gray, cur_gray, settings)
    return _both_directions(prev_gray, cur_gray, settings)


def _run_concurrently(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """(first(), second()), the second on a helper thread where there is a second CPU."""
    if (os.cpu_count() or 1) < 2:
        return first(), second()
    later = _helpers().submit(second)
    try:
        result = first()
    except BaseException:
        later.cancel()
        raise
    return result, later.result()


def _both_directions(
    prev_gray: np.ndarray, cur_gray: np.ndarray, settings: FlowSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Each direction on its own with a single-direction backend (backward on a helper)."""
    return _run_concurrently(
        lambda: compute_flow(prev_gray, cur_gray, settings),
        lambda: compute_flow(cur_gray, prev_gray, settings),
    )


# Backends that need both directions of a pair before either is final.
PAIRED_BACKENDS = ("matched", "auto")


def uses_matches(forward: np.ndarray, backward: np.ndarray) -> bool:
    """auto's choice: whether DIS's pair lost the motion (too many pixels where forward and
    backward disagree) and the matched backend should take over."""
    return flow_matched.disagreeing_share(forward, backward) > flow_matched.AUTO_MAX_DISAGREEING_SHARE


def _paired(
    prev_gray: np.ndarray, cur_gray: np.ndarray, settings: FlowSettings
) -> tuple[np.ndarray, np.ndarray]:
    """matched: DIS's pair, then matches fused with it; auto: the same, only where DIS's pair
    disagrees with itself (slow shots keep DIS's speed)."""
    dis_settings = FlowSettings("dis", settings.dis_preset)
    forward, backward = _both_directions(prev_gray, cur_gray, dis_settings)
    if settings.backend == "auto" and not uses_matches(forward, backward):
        return forward, backward
    return flow_matched.matched_pair(prev_gray, cur_gray, forward, backward, _run_concurrently)
