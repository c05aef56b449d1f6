"""Style-loss variants a preset can select: Gram matrices, channel statistics, sliced Wasserstein.

All three compare *distributions* of feature vectors and ignore where the pixels are, so the style
term never asks the frame to copy the style image's layout. Functional core (plain functions on
tensors) plus a small frozen `StyleLoss` wrapper that caches what the style image contributes.
Batch size 1 is what the renderer uses; sliced Wasserstein supports only N=1.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vst_node.losses import gram_matrix

STYLE_LOSS_KINDS: tuple[str, ...] = ("gram", "mean_var", "sliced_wasserstein")


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


@dataclass(frozen=True)
class StyleLoss:
    """A selected style distance; `targets` once per style image and size, then call per iteration."""

    kind: str  # one of STYLE_LOSS_KINDS
    projections: int = 64  # sliced Wasserstein: directions per layer (0 = as many as channels)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in STYLE_LOSS_KINDS:
            raise ValueError(f"unknown style loss {self.kind!r}; valid kinds: {', '.join(STYLE_LOSS_KINDS)}")
        if self.projections < 0:
            raise ValueError(f"projections must be >= 0, got {self.projections}")

    def targets(self, features: Mapping[str, Tensor]) -> dict[str, Any]:
        """What to keep of the style image's features per layer: a Gram matrix, (mean, std), or
        (directions, sorted projections). Computed once per style image and size, under no_grad."""
        with torch.no_grad():
            return {name: self._target(name, f.detach()) for name, f in features.items()}

    def _target(self, name: str, f: Tensor) -> Any:
        if self.kind == "gram":
            return gram_matrix(f)
        if self.kind == "mean_var":
            return mean_std(f)
        count = self.projections or f.shape[1]
        directions = random_directions(f.shape[1], count, layer_seed(self.seed, name), f.device, f.dtype)
        return directions, sorted_projections(f, directions)

    def __call__(self, features: Mapping[str, Tensor], targets: Mapping[str, Any]) -> Tensor:
        """Sum over the layers in `targets` of the per-layer distance (scalar tensor, differentiable
        with respect to `features`)."""
        total = features[next(iter(targets))].new_zeros(())
        for name, target in targets.items():
            total = total + self._distance(features[name], target)
        return total

    def _distance(self, f: Tensor, target: Any) -> Tensor:
        if self.kind == "gram":
            return F.mse_loss(gram_matrix(f), target)
        if self.kind == "mean_var":
            return mean_var_distance(f, *target)
        return sliced_wasserstein_distance(f, *target)


def make_style_loss(kind: str, projections: int = 64, seed: int = 0) -> StyleLoss:
    """Build a style loss from preset fields; raises ValueError naming the valid kinds."""
    return StyleLoss(kind=kind, projections=projections, seed=seed)
