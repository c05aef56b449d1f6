"""Loss terms of Gatys et al. 2016 and Ruder et al. 2016, functional and device-agnostic.

Normalisations follow the reference code the published weights were tuned for (neural-style and
artistic-videos): content and temporal terms are means, Gram matrices are divided by C*H*W and
compared by mean squared error, so content 5 : style 100 : temporal 1000 keeps its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) -> (N,C,C), divided by C*H*W so that the style term does not grow with resolution."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(features, target)


def style_loss(
    features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """Gram style loss summed over layers."""
    total = features[next(iter(target_grams))].new_zeros(())
    for name, target in target_grams.items():
        total = total + F.mse_loss(gram_matrix(features[name]), target)
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbours: smooths the pixel-level noise L-BFGS leaves behind."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.square().mean() + dy.square().mean()


def range_penalty(image: torch.Tensor, low: torch.Tensor | float, high: torch.Tensor | float) -> torch.Tensor:
    """Mean squared excursion of the pixels outside [low, high] (bounds broadcast per channel).

    L-BFGS on unbounded pixels parks a share of them far outside what a display shows (the style
    terms are cheapest there); clipping them afterwards undoes much of the optimisation. A smooth
    penalty keeps the iterate inside the range and costs nothing where it already is.
    """
    return ((image - high).clamp_min(0.0).square() + (low - image).clamp_min(0.0).square()).mean()


def temporal_loss(
    image: torch.Tensor, warped_previous: torch.Tensor, weights: torch.Tensor, penalty: str = "squared"
) -> torch.Tensor:
    """(1/D) sum_k c_k rho(x_k - warped_k), D the number of pixel components (Ruder eq. 7).

    rho is the square, or the absolute value: the robust penalty of Ruder's appendix, which lets a
    few badly warped pixels (flow errors the mask missed) differ without dominating the loss.
    """
    difference = image - warped_previous
    if penalty == "squared":
        return (weights * difference.square()).mean()
    if penalty == "absolute":
        return (weights * difference.abs()).mean()
    # the names a preset may choose are settings.choices.TEMPORAL_PENALTIES, validated there first
    raise ValueError(f"unknown temporal penalty {penalty!r}; expected squared, absolute")
