"""Temporal stability learnt from still images: the network must not amplify small changes.

- Noise loss (Element AI 2018): a few pixels get uniform noise; the two stylizations must agree.
  Small input changes (sensor noise, compression, a flickering light) then change little.
- Compound loss (Wang et al. 2020): ||F(W(x) + d) - W(F(x))||, W a random smooth flow and d small
  Gaussian noise: stylizing a moved frame must give the moved stylization, which is what a video's
  consecutive frames ask of the network. No video and no optical flow are needed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vst_node.ops.warp import leaves_frame, warp


def add_sparse_noise(x: Tensor, share: float, amplitude: float, generator: torch.Generator) -> Tensor:
    """x (N,3,H,W) in [0,1] with uniform noise in +-amplitude (0-1 scale) on `share` of the pixels."""
    n, _, h, w = x.shape
    chosen = (torch.rand((n, 1, h, w), generator=generator) < share).to(x.dtype)
    noise = (torch.rand((n, 3, h, w), generator=generator) * 2.0 - 1.0) * amplitude
    return (x + chosen.to(x.device) * noise.to(x.device)).clamp(0.0, 1.0)


def random_smooth_flow(n: int, h: int, w: int, largest: float, generator: torch.Generator) -> Tensor:
    """(n,2,h,w) flow: a random translation plus a smooth random field (a 4x4 grid of displacements
    upsampled bicubically), the largest displacement about `largest` pixels. Camera pans, small
    rotations and zooms, and objects moving against each other look locally like this."""
    translation = (torch.rand((n, 2, 1, 1), generator=generator) * 2.0 - 1.0) * largest * 0.5
    grid = (torch.rand((n, 2, 4, 4), generator=generator) * 2.0 - 1.0) * largest * 0.5
    field = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=True)
    return translation + field


def noise_loss(net, x: Tensor, styled: Tensor, share: float, amplitude: float,
               generator: torch.Generator) -> Tensor:  # fmt: skip
    """Mean squared change of the output when `share` of the input pixels get noise."""
    return F.mse_loss(net(add_sparse_noise(x, share, amplitude, generator)), styled)


def compound_loss(net, x: Tensor, styled: Tensor, largest: float, sigma: float,
                  generator: torch.Generator) -> Tensor:  # fmt: skip
    """Mean squared ||F(W(x) + d) - W(F(x))|| over the pixels the flow keeps inside the frame."""
    n, _, h, w = x.shape
    flow = random_smooth_flow(n, h, w, largest, generator).to(x.device, x.dtype)
    noise = (torch.randn(x.shape, generator=generator) * sigma).to(x.device, x.dtype)
    moved = (warp(x, flow) + noise).clamp(0.0, 1.0)
    inside = (~leaves_frame(flow)).to(x.dtype)
    difference = (net(moved) - warp(styled, flow)).square() * inside
    return difference.sum() / (inside.sum() * 3).clamp_min(1.0)
