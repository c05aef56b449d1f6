"""Temporal consistency of a stylized sequence given ground-truth motion: the
mean squared difference of consecutive frames warped along the true flow, outside occlusions."""

from __future__ import annotations

import numpy as np
import torch

from vst_node.ops.warp import leaves_frame, warp


def temporal_error(
    frame_a: np.ndarray, frame_b: np.ndarray, forward_flow: np.ndarray, occluded: np.ndarray
) -> float:
    """Mean squared difference between frame a and frame b warped back along a's forward flow.

    Over pixels of a that are visible in b (not occluded, not leaving the frame), values in [0,1]:
    Ruder et al. 2016, Table 1.
    """
    a = torch.from_numpy(np.clip(frame_a, 0, 1).astype(np.float32)).permute(2, 0, 1)[None]
    b = torch.from_numpy(np.clip(frame_b, 0, 1).astype(np.float32)).permute(2, 0, 1)[None]
    flow = torch.from_numpy(forward_flow.astype(np.float32)).permute(2, 0, 1)[None]
    valid = ~torch.from_numpy(np.asarray(occluded, bool))[None, None] & ~leaves_frame(flow)
    if not bool(valid.any()):
        raise ValueError("no valid pixels to compare")
    diff = (a - warp(b, flow)).square().mean(dim=1, keepdim=True)
    return float(diff[valid].mean())


def mean_temporal_error(
    frames: list[np.ndarray], forward_flows: list[np.ndarray], occluded: list[np.ndarray]
) -> float:
    """Average of temporal_error over consecutive pairs."""
    errors = [
        temporal_error(frames[i], frames[i + 1], forward_flows[i], occluded[i])
        for i in range(len(frames) - 1)
    ]
    return float(np.mean(errors))
