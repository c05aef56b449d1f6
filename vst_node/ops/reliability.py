"""Per-pixel reliability weights c of the temporal loss (Ruder et al. 2016 §4.2).

A pixel of frame i gets c = 0 where the previous frame cannot tell us its colour: it was
disoccluded (forward and backward flow disagree), it lies on a motion boundary (flow there is
unreliable), or its backward-displaced position leaves the frame. Everything is torch, batched
(N, 2, H, W) flows, on the flows' device and dtype.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import kornia.filters
import torch.nn.functional as F
from torch import Tensor

from vst_node.ops.warp import leaves_frame, warp


def _sq_norm(flow: Tensor) -> Tensor:
    """|flow|^2 = u^2 + v^2 as (N, 1, H, W).

    One add of the two squared channels: the same bits as summing over the channel dimension
    (a + b is a single rounding either way), without a reduction kernel over the strided channels.
    """
    squared = flow * flow
    return squared[:, 0:1] + squared[:, 1:2]


def _check_flow(flow: Tensor) -> None:
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"expected a flow of shape (N, 2, H, W), got {tuple(flow.shape)}")


def disocclusion_mask(forward: Tensor, backward: Tensor) -> Tensor:
    """Bool (N,1,H,W): |w~ + w^|^2 >= 0.01 (|w~|^2 + |w^|^2) + 0.5 with w~(x) = w(x + w^(x)).

    forward is w (i-1 -> i), backward is w^ (i -> i-1); going back and forth should return to
    the start, and where it does not the pixel was not visible in frame i-1.
    """
    return _disocclusion(forward, backward, _sq_norm(backward))


def _disocclusion(forward: Tensor, backward: Tensor, backward_sq: Tensor) -> Tensor:
    """disocclusion_mask with |w^|^2 given (it is shared with the motion-boundary test)."""
    forward_at_prev = warp(forward, backward)
    lhs = _sq_norm(forward_at_prev + backward)
    rhs = 0.01 * (_sq_norm(forward_at_prev) + backward_sq) + 0.5
    return lhs >= rhs


def _central_gradients(flow: Tensor) -> tuple[Tensor, Tensor]:
    """d/dx and d/dy of each channel with the kernel [-0.5, 0, 0.5], border replicated."""
    padded = F.pad(flow, (1, 1, 1, 1), mode="replicate")
    dx = 0.5 * (padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2])
    dy = 0.5 * (padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1])
    return dx, dy


def motion_boundary_mask(backward: Tensor) -> Tensor:
    """Bool (N,1,H,W): |grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002.

    Flow estimates smear across object edges, so a strong flow gradient makes a pixel unreliable.
    """
    _check_flow(backward)
    return _motion_boundary(backward, _sq_norm(backward))


def _motion_boundary(backward: Tensor, backward_sq: Tensor) -> Tensor:
    """motion_boundary_mask with |w^|^2 given."""
    dx, dy = _central_gradients(backward)
    gradient = dx * dx + dy * dy  # per channel; the two channels are added as in _sq_norm
    return gradient[:, 0:1] + gradient[:, 1:2] > 0.01 * backward_sq + 0.002


def unreliable_mask(forward: Tensor, backward: Tensor) -> Tensor:
    """Bool (N,1,H,W): disocclusion | motion boundary | backward-displaced position leaves the frame."""
    if forward.shape != backward.shape:
        raise ValueError(
            f"forward {tuple(forward.shape)} and backward {tuple(backward.shape)} flows must match"
        )
    _check_flow(backward)
    backward_sq = _sq_norm(backward)  # both tests need it: computed once
    return (
        _disocclusion(forward, backward, backward_sq)
        | _motion_boundary(backward, backward_sq)
        | leaves_frame(backward)
    )


def blur_kernel_size(sigma: float) -> int:
    """Odd Gaussian support covering ±3 sigma."""
    return 2 * math.ceil(3.0 * sigma) + 1


def reliability_weights(forward: Tensor, backward: Tensor, blur_sigma: float = 0.8) -> Tensor:
    """c in [0, 1] as (N,1,H,W) for frame i, in the flows' dtype/device.

    The binary mask is blurred (sigma 0.8 in the reference) so the temporal loss fades out near
    unreliable regions instead of switching abruptly; sigma 0 keeps it binary.
    """
    if blur_sigma < 0:
        raise ValueError(f"blur_sigma must be >= 0, got {blur_sigma}")
    weights = (~unreliable_mask(forward, backward)).to(forward.dtype)
    if blur_sigma > 0:
        size = blur_kernel_size(blur_sigma)
        weights = kornia.filters.gaussian_blur2d(
            weights, (size, size), (blur_sigma, blur_sigma), border_type="replicate"
        )
    return weights.clamp(0.0, 1.0)


def long_term_weights(weights: Mapping[int, Tensor]) -> dict[int, Tensor]:
    """c_long for each offset j (Ruder et al. 4.3): max(c_j - sum of c_k over k < j, 0).

    A pixel links only to the closest past frame where it was reliably visible, so a long-term term
    never pulls against a short-term one that already covers the pixel.
    """
    out: dict[int, Tensor] = {}
    covered: Tensor | None = None
    for offset in sorted(weights):
        c = weights[offset]
        out[offset] = c if covered is None else (c - covered).clamp_min(0.0)
        covered = c if covered is None else covered + c
    return out
