"""Resizing images and masks between the source, processing and pyramid sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-correct resize: antialiased when shrinking so that small processing sizes do not alias."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=shrinking)
