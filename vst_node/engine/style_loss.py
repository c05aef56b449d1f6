"""The style loss a preset selects by name: its targets once per style image and size, then a distance.

Built on the functional distances of ops.style_losses; the names come from settings.choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vst_node.ops.losses import gram_matrix
from vst_node.ops.style_losses import (
    layer_seed,
    mean_std,
    mean_var_distance,
    random_directions,
    sliced_wasserstein_distance,
    sorted_projections,
)
from vst_node.settings.choices import STYLE_LOSSES


@dataclass(frozen=True)
class StyleLoss:
    """A selected style distance; `targets` once per style image and size, then call per iteration."""

    kind: str  # one of settings.choices.STYLE_LOSSES
    projections: int = 64  # sliced Wasserstein: directions per layer (0 = as many as channels)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in STYLE_LOSSES:
            raise ValueError(f"unknown style loss {self.kind!r}; valid kinds: {', '.join(STYLE_LOSSES)}")
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
