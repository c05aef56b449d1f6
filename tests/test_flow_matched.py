"""The large-displacement backend (matched) and auto: motion DIS loses, seeds OpenCV can take, the choice."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from vst_node.engine import flow_matched
from vst_node.engine.evaluation import evaluate_methods, shot_clip
from vst_node.engine.flow import flow_pair, uses_matches
from vst_node.engine.node import independent_preset
from vst_node.io.synthetic import make_shuffled_shot
from vst_node.settings import FlowSettings, load_preset

H, W = 120, 160


def _pair(dx: int, dy: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two crops of one textured image: src(p) = dst(p + (dx, dy)), the true flow (dx, dy)."""
    rng = np.random.default_rng(seed)
    margin = 64
    noise = rng.random((H + 2 * margin, W + 2 * margin)).astype(np.float32)
    texture = cv2.GaussianBlur(noise, (0, 0), 1.5) + 0.5 * cv2.GaussianBlur(noise, (0, 0), 6.0)
    texture = np.uint8(255 * (texture - texture.min()) / (texture.max() - texture.min()))
    src = texture[margin : margin + H, margin : margin + W]
    dst = texture[margin - dy : margin - dy + H, margin - dx : margin - dx + W]
    return np.ascontiguousarray(src), np.ascontiguousarray(dst)


def _error(flow: np.ndarray, dx: int, dy: int) -> float:
    """Median end-point error over the pixels that stay inside the frame."""
    ys, xs = np.mgrid[0:H, 0:W]
    inside = (xs + dx >= 0) & (xs + dx < W) & (ys + dy >= 0) & (ys + dy < H)
    return float(np.median(np.hypot(flow[..., 0] - dx, flow[..., 1] - dy)[inside]))


def test_matched_follows_a_jump_that_dis_loses() -> None:
    src, dst = _pair(37, -21)
    dis_forward, _ = flow_pair(src, dst, FlowSettings("dis"))
    forward, backward = flow_pair(src, dst, FlowSettings("matched"))
    assert _error(dis_forward, 37, -21) > 5.0  # the case is one DIS cannot do
    assert _error(forward, 37, -21) < 0.5
    assert _error(backward, -37, 21) < 0.5


def test_matched_is_deterministic() -> None:
    src, dst = _pair(30, 12, seed=3)
    first = flow_pair(src, dst, FlowSettings("matched"))
    second = flow_pair(src, dst, FlowSettings("matched"))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_auto_keeps_dis_on_small_motion_and_takes_matches_on_large() -> None:
    small = _pair(2, 1)
    for a, b in zip(
        flow_pair(*small, FlowSettings("auto")), flow_pair(*small, FlowSettings("dis")), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert not uses_matches(*flow_pair(*small, FlowSettings("dis")))
    large = _pair(37, -21)
    assert uses_matches(*flow_pair(*large, FlowSettings("dis")))
    for a, b in zip(
        flow_pair(*large, FlowSettings("auto")), flow_pair(*large, FlowSettings("matched")), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_seeds_are_one_per_pixel_and_the_neighbour_count_fits_few_seeds() -> None:
    src = np.float32([[3.2, 4.4], [3.4, 4.1], [10.0, 2.0], [9.6, 2.2]])
    dst = src + 1
    kept_src, kept_dst = flow_matched.distinct_seeds(src, dst, width=32)
    np.testing.assert_array_equal(kept_src, src[[0, 2]])
    np.testing.assert_array_equal(kept_dst, dst[[0, 2]])
    # Far fewer seeds than the interpolator's 128 neighbours: OpenCV would read past them.
    a, b = _pair(5, 3)
    rng = np.random.default_rng(1)
    seeds = rng.uniform([0, 0], [W - 1, H - 1], (20, 2)).astype(np.float32)
    results = [flow_matched.interpolate(a, b, seeds, seeds + np.float32([5, 3])) for _ in range(5)]
    assert all(r is not None and np.isfinite(r).all() for r in results)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    assert flow_matched.interpolate(a, b, seeds[:4], seeds[:4]) is None  # too few: the caller keeps DIS


def test_flat_frames_fall_back_to_dis() -> None:
    flat = np.full((H, W), 128, np.uint8)
    got = flow_pair(flat, flat, FlowSettings("matched"))
    want = flow_pair(flat, flat, FlowSettings("dis"))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_keys_and_validation_follow_the_dis_part() -> None:
    assert FlowSettings("matched", "fast").key() != FlowSettings("matched", "medium").key()
    assert FlowSettings("auto").key() != FlowSettings("matched").key() != FlowSettings("dis").key()
    with pytest.raises(ValueError, match="DIS preset"):
        FlowSettings("auto", "slow").validate()


def test_shuffled_shot_is_never_worse_than_stylizing_each_frame_alone() -> None:
    """Every 8 px square jumps elsewhere each frame: no flow follows that, and the temporal term
    must then give way rather than drag strokes along a wrong flow."""
    shot = make_shuffled_shot(64, 48, 3, seed=0)
    truth = shot.forward_flow[0]
    assert np.abs(truth).max() >= 16  # squares really jump
    preset = load_preset("default", ["optimiser.iterations_first=30", "optimiser.iterations=15"])
    methods = {
        "per-frame": independent_preset(preset, "random"),
        "dis": preset,
        "auto": replace(preset, flow=replace(preset.flow, backend="auto")),
    }
    results = {r.method: r for r in evaluate_methods(shot_clip(shot), methods, preset, "cpu")}
    assert results["dis"].temporal_error <= results["per-frame"].temporal_error, results
    assert results["auto"].temporal_error <= results["per-frame"].temporal_error, results
