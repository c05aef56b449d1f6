"""The benchmark's ground-truth flow stand-in: the backward flow and trust derived from Sintel's
forward flow and occlusions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from benchkit.block_matching import block_matches, mutual  # tools/ is on sys.path
from benchkit.oracle import GroundTruthFlows, best_candidate, consensus, invert_forward_flow
from benchkit.sintel import DEFAULT_DATA

from vst_node.ops.warp import warp
from vst_node.settings.schema import FlowSettings


def test_a_translation_inverts_exactly_and_distrusts_the_revealed_strip() -> None:
    h, w = 12, 16
    forward = np.zeros((h, w, 2), np.float32)
    forward[..., 0], forward[..., 1] = 3.0, 1.0  # everything moves 3 px right, 1 px down
    backward, trusted = invert_forward_flow(forward, np.zeros((h, w), bool))
    assert np.allclose(backward, [-3.0, -1.0])  # trusted and filled pixels alike
    assert trusted[1:, 3:].all()  # seen in N
    assert not trusted[0].any() and not trusted[:, :3].any()  # revealed by the motion


def test_hidden_pixels_leave_holes_that_are_not_trusted() -> None:
    h, w = 10, 10
    forward = np.zeros((h, w, 2), np.float32)
    hidden = np.zeros((h, w), bool)
    hidden[4:6, 4:6] = True  # occluded in N+1: nothing of N lands there
    _, trusted = invert_forward_flow(forward, hidden)
    assert not trusted[4:6, 4:6].any()
    assert trusted.sum() == h * w - 4


def test_a_subpixel_shift_warps_frame_n_onto_frame_n_plus_1() -> None:
    h, w = 24, 32
    xs = np.arange(w, dtype=np.float32)
    frame_n = np.broadcast_to(np.sin(xs / 3.0), (h, w)).astype(np.float32)
    frame_next = np.broadcast_to(np.sin((xs - 1.5) / 3.0), (h, w)).astype(np.float32)  # moved 1.5 px right
    forward = np.zeros((h, w, 2), np.float32)
    forward[..., 0] = 1.5
    backward, trusted = invert_forward_flow(forward, np.zeros((h, w), bool))
    warped = warp(
        torch.from_numpy(frame_n)[None, None], torch.from_numpy(backward).permute(2, 0, 1)[None], "bilinear"
    )[0, 0].numpy()
    inside = trusted.astype(bool)
    assert not inside[:, :2].any() and inside[:, 2:].all()  # column 1 is only half covered
    assert np.abs(warped - frame_next)[inside].max() < 0.02


def test_the_cache_stand_in_answers_with_the_pair_and_checks_the_size() -> None:
    forward = np.zeros((6, 8, 2), np.float32)
    flows = GroundTruthFlows(forward, np.zeros((6, 8), bool))
    try:
        frame = np.zeros((6, 8, 3), np.float32)
        settings = FlowSettings()
        flows.prefetch(frame, frame, settings)  # nothing to compute
        pair = flows.get(frame, frame, settings)
        assert pair.weights.shape == (6, 8) and pair.backward.shape == (6, 8, 2)
        with pytest.raises(ValueError, match="ground truth"):
            flows.get(np.zeros((5, 8, 3), np.float32), frame, settings)
    finally:
        flows.close()


def test_the_best_candidate_is_chosen_per_pixel_and_trusted_only_where_it_follows() -> None:
    truth = np.zeros((4, 6, 2), np.float32)
    truth[:, 3:] = [10.0, 0.0]  # the right half moves 10 px
    still = np.zeros_like(truth)
    moving = np.full_like(truth, 10.0)
    moving[..., 1] = 0.0
    trusted = np.ones((4, 6), bool)
    trusted[0, 0] = False
    candidates = {"still": still, "moving": moving, "wrong": np.full_like(truth, -50.0)}
    flow, trust, shares = best_candidate(candidates, truth, trusted)
    assert np.array_equal(flow, truth)
    assert trust[0, 0] == 0 and trust.sum() == trusted.sum()
    assert shares["wrong"] == 0 and shares["followed"] == 1.0

    far = {"still": still, "wrong": candidates["wrong"]}  # nothing follows the right half
    flow, trust, shares = best_candidate(far, truth, trusted)
    assert not trust[:, 3:].any() and trust[1:, :3].all()
    assert shares["followed"] == pytest.approx(11 / 23)


def test_block_matching_follows_a_shift_beyond_its_block_size() -> None:
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (220, 360)).astype(np.float32), (0, 0), 3.0)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    src, dst = texture[40:168, 20:276], texture[22:150, 60:316]  # src's content moved by (-40, +18)
    points, targets = block_matches(src, dst)
    kept = mutual((points, targets), block_matches(dst, src), 4.0)
    assert len(kept[0]) > 20
    assert np.median(np.abs(kept[1] - kept[0] - [-40.0, 18.0]), axis=0).max() < 1.0


def test_consensus_takes_the_candidate_the_others_agree_with() -> None:
    right = np.zeros((20, 30, 2), np.float32)
    right[..., 0] = 12.0
    near = right + 1.0  # within 3 px of `right`
    wrong = -right
    fused = consensus({"wrong": wrong, "right": right, "near": near}, window=5)
    assert np.allclose(fused, right)  # `right` and `near` tie on votes; the first of them wins
    alone = consensus({"wrong": wrong, "right": right}, window=5)  # no agreement anywhere: the first
    assert np.allclose(alone, wrong)


@pytest.mark.slow
def test_the_candidate_benchmark_scores_every_flow_on_a_real_pair() -> None:
    from bench_flow_candidates import bench_pair

    data = DEFAULT_DATA
    if not (data / "sintel" / "alley_2").is_dir():
        pytest.skip(f"shared data not found at {data}")
    row = bench_pair(data / "sintel" / "alley_2", "clean", 2, 8)
    assert row["size"] == "128x54" and {"dis", "matched", "consensus fusion"} <= set(row["flows"])
    candidates = [s["followed"] for name, s in row["flows"].items() if "fusion" not in name]
    assert 0.5 < row["ceiling_followed"] <= 1.0 and row["ceiling_followed"] >= max(candidates)
