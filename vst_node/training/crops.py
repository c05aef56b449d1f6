"""Random square views of the training photographs: position, size (scale) and mirror.

Every draw comes from a generator seeded by (seed, step), so step k sees the same batch whether
training ran straight through or was resumed from a checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from vst_node.training.content import TrainingImage

# Crops are cut at up to this many times the training size, then shrunk: the network sees the
# same content at several scales (a frame at 1024 px shows details a 256 px crop never does).
LARGEST_VIEW = 2.5


def step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step) & 0x7FFF_FFFF_FFFF_FFFF)


def prepared(images: Sequence[TrainingImage], crop: int) -> list[torch.Tensor]:
    """(1,3,H,W) tensors, shrunk once so the short side is at most LARGEST_VIEW x crop (big
    photographs would otherwise give only tiny-detail views), grown when smaller than crop."""
    out = []
    for image in images:
        x = torch.from_numpy(image.rgb).permute(2, 0, 1)[None]
        short = min(x.shape[-2:])
        target = min(max(short, crop), round(LARGEST_VIEW * crop))
        if target != short:
            size = (
                max(crop, round(x.shape[-2] * target / short)),
                max(crop, round(x.shape[-1] * target / short)),
            )
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        out.append(x.contiguous())
    return out


def random_batch(
    images: Sequence[torch.Tensor], crop: int, batch: int, generator: torch.Generator
) -> torch.Tensor:
    """(batch, 3, crop, crop) random views: an image, a square of random side, a random flip."""
    views = []
    for _ in range(batch):
        image = images[int(torch.randint(len(images), (1,), generator=generator))]
        h, w = image.shape[-2:]
        largest = min(h, w)
        side = int(torch.randint(crop, largest + 1, (1,), generator=generator)) if largest > crop else crop
        top = int(torch.randint(h - side + 1, (1,), generator=generator))
        left = int(torch.randint(w - side + 1, (1,), generator=generator))
        view = image[..., top : top + side, left : left + side]
        if side != crop:
            view = F.interpolate(
                view, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False
            )
        if bool(torch.rand((), generator=generator) < 0.5):
            view = view.flip(-1)
        views.append(view)
    return torch.cat(views)
