"""Colour preservation: stylize texture and luminance, keep the input's colours.

Gatys et al. 2017 ("Controlling perceptual factors") transfer only luminance and take the chroma
from the content. Done after optimisation on display-encoded RGB, so the temporal state keeps the
stylized colours and the output's chroma is the input's, which is as stable as the footage itself.
"""

from __future__ import annotations

import kornia.color
import torch


def keep_source_colour(stylized: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) RGB: Y of `stylized`, Cb and Cr of `source` (same size, same encoding).

    A dark stroke under a saturated input colour has no RGB in [0,1]; it is clipped there, as
    everything the network produces is (highlights above 1 are carried over separately).
    """
    luma = kornia.color.rgb_to_ycbcr(stylized)[:, :1]
    chroma = kornia.color.rgb_to_ycbcr(source)[:, 1:]
    return kornia.color.ycbcr_to_rgb(torch.cat([luma, chroma], dim=1))
