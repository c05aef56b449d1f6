"""Coarse-to-fine optimisation: pyramid, weights that follow the resolution, detail kept."""

from __future__ import annotations

import pytest
import torch

from vst_node.engine.multiscale import (
    level_iterations,
    level_weights,
    pyramid_sizes,
    stylize_multiscale,
    upsample_with_detail,
)
from vst_node.engine.stylize import Stylizer, TemporalTerm
from vst_node.engine.vgg import caffe_preprocess
from vst_node.ops.resize import resize
from vst_node.settings import LossWeights, MultiScaleSettings, load_preset

from .conftest import DEVICES, TINY


def test_pyramid_sizes_coarsest_first_and_never_too_small():
    settings = MultiScaleSettings(levels=3, factor=0.5)
    assert pyramid_sizes((218, 512), settings) == [(54, 128), (109, 256), (218, 512)]
    assert pyramid_sizes((64, 96), settings) == [(32, 48), (64, 96)]  # 16x24 would starve relu5_1
    assert pyramid_sizes((218, 512), MultiScaleSettings(levels=1)) == [(218, 512)]


def test_weights_follow_the_resolution():
    weights = LossWeights(content=5, style=100, temporal=1000, tv=1e-3)
    settings = MultiScaleSettings(style_exponent=0.5, temporal_exponent=0.25)
    quarter = level_weights(weights, 0.25, settings)
    assert quarter.content == 5 and quarter.tv == 1e-3
    assert quarter.style == pytest.approx(50.0) and quarter.temporal == pytest.approx(1000 * 0.25**0.25)
    assert level_weights(weights, 1.0, settings) is weights  # the preset's weights hold at full size
    # Same direction as the paper's sets: more style and temporal weight at higher resolution.
    assert quarter.style / quarter.content < weights.style / weights.content


def test_iteration_split():
    settings = MultiScaleSettings(refine=0.25)
    assert level_iterations(200, 1, settings) == [200]
    assert level_iterations(200, 3, settings) == [200, 50, 50]
    assert level_iterations(2, 2, settings) == [2, 1]
    assert level_iterations(200, 2, MultiScaleSettings(coarse=0.25, refine=0.75)) == [50, 150]


def test_upsampling_keeps_the_detail_of_the_init():
    gen = torch.Generator().manual_seed(0)
    init = torch.randn(1, 3, 32, 48, generator=gen) * 50
    coarse = resize(init, (16, 24))
    # A coarse level that changed nothing gives the init back, fine strokes included ...
    torch.testing.assert_close(upsample_with_detail(coarse, init, (16, 24)), init)
    # ... and what it changed arrives upsampled on top of them.
    shifted = upsample_with_detail(coarse + 7.0, init, (16, 24))
    torch.testing.assert_close(shifted, init + 7.0)


@pytest.mark.parametrize("device", DEVICES)
def test_one_level_is_exactly_the_single_scale_optimisation(tiny_frames, device):
    preset = load_preset("default", TINY)
    stylizer = Stylizer(preset, torch.device(device))
    content = torch.from_numpy(tiny_frames[0]).permute(2, 0, 1)[None].to(device)
    init = caffe_preprocess(content)
    term = TemporalTerm(init.flip(-1), torch.ones_like(init[:, :1]))
    single = stylizer.stylize(content, init, term, 4)
    multi = stylize_multiscale(stylizer, content, init, [term], 4, preset.multiscale)
    torch.testing.assert_close(multi.image, single.image, rtol=0, atol=0)
    assert multi.level_sizes == [(32, 48)]


def test_two_levels_optimise_coarse_then_refine(tiny_frames):
    preset = load_preset("default", (*TINY, "multiscale.levels=2", "multiscale.refine=0.5"))
    stylizer = Stylizer(preset, torch.device("cpu"))
    frame = torch.from_numpy(tiny_frames[0]).permute(2, 0, 1)[None]
    content = resize(frame, (64, 96))
    # 16 iterations: L-BFGS's first few steps at full size overshoot (4 would return the start itself)
    result = stylize_multiscale(stylizer, content, caffe_preprocess(content), None, 16, preset.multiscale)
    assert result.level_sizes == [(32, 48), (64, 96)]
    assert result.level_iterations[0] <= 16 and result.level_iterations[1] <= 8
    assert result.iterations == sum(result.level_iterations)
    assert result.image.shape == (1, 3, 64, 96)
    # The coarse level ran with the weights of its size; refining its upsampled result lowers the
    # full-size loss.
    coarse_weights = level_weights(preset.weights, 0.25, preset.multiscale)
    coarse = stylizer.stylize(
        resize(content, (32, 48)),
        caffe_preprocess(resize(content, (32, 48))),
        None,
        16,
        weights=coarse_weights,
    )
    start = upsample_with_detail(coarse.image, caffe_preprocess(content), (32, 48))
    loss = stylizer.loss_function(content, None)
    assert float(loss(result.image)) < 0.9 * float(loss(start))
