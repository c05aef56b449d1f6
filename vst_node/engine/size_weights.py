"""The loss weights follow the resolution.

The loss terms are means, so a frame of any size sees the same balance of terms by construction,
but a VGG feature covers more of a small image than of a large one: at a small size the style
terms overwhelm the picture (the subject disappears), at a large size they fade. Ruder et al. 2016
therefore raise the style and temporal weights with the resolution (alpha:beta:gamma 1:20:200,
1:40:200, 1:100:400 for three increasing sizes). vst-node applies one rule for both uses: a preset's
weights hold at `weights.reference_side` (the long side they were set on); at another size, and at
the coarser levels of a multi-scale frame, style and temporal weight are multiplied by
(area ratio) ** `multiscale.style_exponent` / `multiscale.temporal_exponent`.
"""

from __future__ import annotations

from dataclasses import replace

from vst_node.settings import LossWeights, MultiScaleSettings


def scaled_weights(weights: LossWeights, area_ratio: float, settings: MultiScaleSettings) -> LossWeights:
    """weights for a frame with `area_ratio` times the pixels of the one they were set for."""
    if area_ratio == 1.0:
        return weights
    return replace(
        weights,
        style=weights.style * area_ratio**settings.style_exponent,
        temporal=weights.temporal * area_ratio**settings.temporal_exponent,
    )


def weights_at_size(weights: LossWeights, hw: tuple[int, int], settings: MultiScaleSettings) -> LossWeights:
    """The preset's weights for a processing size (H, W); unchanged without a reference side."""
    if weights.reference_side is None:
        return weights
    side_ratio = max(hw) / weights.reference_side
    return scaled_weights(weights, side_ratio * side_ratio, settings)
