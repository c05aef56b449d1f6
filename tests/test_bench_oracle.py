"""The benchmark's ground-truth flow stand-in: the backward flow and trust derived from Sintel's
forward flow and occlusions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from benchkit.oracle import GroundTruthFlows, invert_forward_flow  # tools/ is on sys.path

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
