"""Style-loss variants a preset can select: Gram matrices, channel statistics, sliced Wasserstein.

All three compare *distributions* of feature vectors and ignore where the pixels are, so the style
term never asks the frame to copy the style image's layout. Plain functions on tensors; the
`StyleLoss` wrapper that selects one by name lives in engine.style_loss.
Batch size 1 is what the renderer uses; sliced Wasserstein supports only N=1.
"""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F
from torch import Tensor


def mean_std(features: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """(N,C,H,W) -> per-channel mean (N,C) and std (N,C) over pixels (population variance).

    `eps` is added under the square root so a constant channel has a finite gradient.
    """
    flat = features.flatten(2)
    var, mean = torch.var_mean(flat, dim=2, correction=0)
    return mean, (var + eps).sqrt()


def mean_var_distance(features: Tensor, target_mean: Tensor, target_std: Tensor) -> Tensor:
    """MSE of channel means + MSE of channel stds (Wang et al. 2020 eq. 7, normalised by C)."""
    mean, std = mean_std(features)
    return F.mse_loss(mean, target_mean) + F.mse_loss(std, target_std)


def random_directions(channels: int, count: int, seed: int, device, dtype) -> Tensor:
    """(channels, count) unit columns, drawn from a CPU torch.Generator seeded with `seed` so the
    objective is deterministic (L-BFGS needs a fixed objective) and identical on every device."""
    generator = torch.Generator(device="cpu").manual_seed(seed & 0xFFFF_FFFF_FFFF_FFFF)
    directions = torch.randn(channels, count, generator=generator, dtype=torch.float64)
    directions = directions / directions.norm(dim=0, keepdim=True)
    return directions.to(device=device, dtype=dtype)


def sorted_projections(features: Tensor, directions: Tensor) -> Tensor:
    """(1,C,H,W) features projected on the directions -> (count, H*W) each row sorted ascending."""
    if features.shape[0] != 1:
        raise ValueError(f"sliced Wasserstein supports batch size 1, got {features.shape[0]}")
    flat = features.reshape(features.shape[1], -1)  # (C, H*W)
    return torch.sort(directions.transpose(0, 1) @ flat, dim=1).values


def sliced_wasserstein_distance(features: Tensor, directions: Tensor, target_sorted: Tensor) -> Tensor:
    """Mean squared difference between the sorted projections of `features` and `target_sorted`.
    When the pixel counts differ (the style image is never exactly the frame's size), the target's
    sorted values are resampled to the feature's count by linear interpolation of the quantile
    function (F.interpolate, mode='linear', align_corners=True) before comparison."""
    projected = sorted_projections(features, directions)
    if target_sorted.shape[1] != projected.shape[1]:
        target_sorted = F.interpolate(
            target_sorted.unsqueeze(0), size=projected.shape[1], mode="linear", align_corners=True
        ).squeeze(0)
    return F.mse_loss(projected, target_sorted)


def layer_seed(seed: int, name: str) -> int:
    """Different but reproducible directions per layer (Python's hash() is salted per process)."""
    return seed + zlib.crc32(name.encode("utf-8"))
