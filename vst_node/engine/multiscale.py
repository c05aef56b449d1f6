"""Coarse-to-fine optimisation of one frame (the loss weights follow the resolution).

Most of a frame's iterations are spent where they are cheap: on a downscaled copy of the problem
(content, initialisation and temporal targets all resized). The result is upsampled and refined at
each finer level with a fraction of the budget, so the fine level starts close to its optimum.

The loss terms are means, so a coarser level sees the same balance of terms by construction, but a
VGG feature covers more of a small image: the paper raises the style and temporal weights with the
resolution (engine/size_weights.py). A coarser level therefore lowers them by (area ratio) **
exponent; the weights the frame was given hold at its full size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vst_node.engine.optimise import CancelCheck, OptimiseResult, WindowCallback
from vst_node.engine.size_weights import scaled_weights
from vst_node.engine.stylize import Stylizer, Temporal, temporal_terms
from vst_node.ops.resize import resize
from vst_node.settings import LossWeights, MultiScaleSettings

MIN_LEVEL_SIDE = 32  # below this VGG's deepest style layers see a handful of pixels


def pyramid_sizes(size: tuple[int, int], settings: MultiScaleSettings) -> list[tuple[int, int]]:
    """Level sizes, coarsest first, ending with `size`; levels too small for VGG are dropped."""
    h, w = size
    sizes = [(h, w)]
    for level in range(1, settings.levels):
        scale = settings.factor**level
        coarse = (round(h * scale), round(w * scale))
        if min(coarse) < MIN_LEVEL_SIDE:
            break
        sizes.append(coarse)
    return sizes[::-1]


def level_weights(weights: LossWeights, area_ratio: float, settings: MultiScaleSettings) -> LossWeights:
    """The preset's weights for a level with `area_ratio` (<= 1) of the full size's pixels."""
    return weights if area_ratio >= 1.0 else scaled_weights(weights, area_ratio, settings)


def level_iterations(iterations: int, levels: int, settings: MultiScaleSettings) -> list[int]:
    """`coarse` of the budget at the coarsest level, `refine` of it at each finer one."""
    if levels == 1:
        return [iterations]
    coarse = max(1, round(iterations * settings.coarse))
    refine = max(1, round(iterations * settings.refine))
    return [coarse] + [refine] * (levels - 1)


def upsample_with_detail(
    coarse: torch.Tensor, init: torch.Tensor, coarse_size: tuple[int, int]
) -> torch.Tensor:
    """The coarse result at the init's size plus the init's detail finer than the coarse level.

    A later frame starts from the warped previous result, whose fine brush strokes a plain upsample
    would erase; adding back what the coarse level cannot represent keeps them on the motion path.
    """
    size = tuple(init.shape[-2:])
    detail = init - resize(resize(init, coarse_size), size)
    return resize(coarse, size) + detail


@dataclass
class MultiScaleResult(OptimiseResult):
    level_sizes: list[tuple[int, int]] = field(default_factory=list)
    level_iterations: list[int] = field(default_factory=list)


def stylize_multiscale(
    stylizer: Stylizer,
    content_rgb: torch.Tensor,
    init: torch.Tensor,
    temporal: Temporal,
    iterations: int,
    settings: MultiScaleSettings,
    cancel: CancelCheck | None = None,
    *,
    weights: LossWeights | None = None,
    on_window: WindowCallback | None = None,
) -> MultiScaleResult:
    """Stylizer.stylize through the pyramid; with one level it is exactly Stylizer.stylize.

    weights: the full-size loss weights (default: the stylizer's own); each coarser level gets them
    lowered by level_weights, and only those level weights reach the stylizer.
    on_window: (iterations done over all levels so far, loss of the current level).
    """
    full_weights = stylizer.weights if weights is None else weights
    full = tuple(content_rgb.shape[-2:])
    sizes = pyramid_sizes(full, settings)
    budgets = level_iterations(iterations, len(sizes), settings)
    terms = temporal_terms(temporal)
    done: list[int] = []
    history: list[float] = []
    result: OptimiseResult | None = None
    for level, (size, budget) in enumerate(zip(sizes, budgets, strict=True)):
        area_ratio = size[0] * size[1] / (full[0] * full[1])
        start = resize(init, size)
        if result is not None:
            start = upsample_with_detail(result.image, start, sizes[level - 1])
        before = sum(done)
        report = None if on_window is None else (lambda n, loss, before=before: on_window(before + n, loss))
        result = stylizer.stylize(
            resize(content_rgb, size),
            start,
            [term.resized(size) for term in terms],
            budget,
            cancel=cancel,
            weights=level_weights(full_weights, area_ratio, settings),
            on_window=report,
        )
        done.append(result.iterations)
        history.extend(result.history)
    assert result is not None
    return MultiScaleResult(
        image=result.image,
        iterations=sum(done),
        final_loss=result.final_loss,
        stopped_early=result.stopped_early,
        history=history,
        level_sizes=sizes,
        level_iterations=done,
    )
