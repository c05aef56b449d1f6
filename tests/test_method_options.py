"""Preset options of the complete method: style-loss kind, robust temporal penalty, colour, keys."""

from __future__ import annotations

import kornia.color
import numpy as np
import pytest
import torch

from vst_node.engine.node import StyleTransferNode
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.ops.colour_transfer import keep_source_colour
from vst_node.ops.losses import temporal_loss
from vst_node.settings import load_preset, preset_digest

from .conftest import TINY


@pytest.mark.parametrize("kind", ["gram", "mean_var", "sliced_wasserstein"])
def test_each_style_loss_drives_the_optimisation(kind, tiny_frames):
    preset = load_preset("default", (*TINY, f"style_loss={kind}"))
    stylizer = Stylizer(preset, torch.device("cpu"))
    content = torch.from_numpy(tiny_frames[0]).permute(2, 0, 1)[None]
    before = float(stylizer.style_loss(stylizer.net(caffe_preprocess(content), preset.layers.style),
                                       stylizer.style_targets((32, 48))))  # fmt: skip
    result = stylizer.stylize(content, caffe_preprocess(content), None, 8)
    after = stylizer.loss_terms(result.image, content)["style"]
    assert stylizer.style_loss.kind == kind
    assert 0 <= after < before  # the selected distance, not the Gram one, went down


def test_style_loss_kind_and_projections_invalidate_stylized_frames(tiny_preset):
    sliced = load_preset("default", (*TINY, "style_loss=sliced_wasserstein"))
    more = load_preset("default", (*TINY, "style_loss=sliced_wasserstein", "style.projections=8"))
    digests = {preset_digest(p, ["style", "style_loss"]) for p in (tiny_preset, sliced, more)}
    assert len(digests) == 3
    node = StyleTransferNode(tiny_preset, device="cpu")
    assert node.set_preset(sliced) == ["stylized"]


def test_robust_temporal_penalty_is_the_mean_absolute_error():
    x = torch.tensor([[[[1.0, -3.0], [0.0, 10.0]]]])
    target = torch.zeros_like(x)
    c = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]])
    assert float(temporal_loss(x, target, c, "absolute")) == pytest.approx((1 + 3 + 0 + 0) / 4)
    assert float(temporal_loss(x, target, c, "squared")) == pytest.approx((1 + 9 + 0 + 0) / 4)
    # the robust penalty lets an outlier cost linearly: 10x the error, 10x (not 100x) the loss
    big = temporal_loss(x * 10, target, c, "absolute") / temporal_loss(x, target, c, "absolute")
    assert float(big) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="squared, absolute"):
        temporal_loss(x, target, c, "huber")


def test_absolute_penalty_renders(tiny_frames):
    preset = load_preset("default", (*TINY, "temporal.penalty=absolute"))
    node = StyleTransferNode(preset, device="cpu")
    node.begin_sequence(range(2))
    square = StyleTransferNode(load_preset("default", TINY), device="cpu")
    square.begin_sequence(range(2))
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    assert not np.array_equal(node.render(1, fetch), square.render(1, fetch))


def test_keep_source_colour_takes_luma_from_the_style_and_chroma_from_the_source():
    gen = torch.Generator().manual_seed(3)
    stylized = torch.rand(1, 3, 8, 8, generator=gen) * 0.2 + 0.4  # in gamut whatever the mix
    source = torch.rand(1, 3, 8, 8, generator=gen) * 0.2 + 0.4
    out = kornia.color.rgb_to_ycbcr(keep_source_colour(stylized, source))
    torch.testing.assert_close(out[:, :1], kornia.color.rgb_to_ycbcr(stylized)[:, :1], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[:, 1:], kornia.color.rgb_to_ycbcr(source)[:, 1:], atol=1e-5, rtol=0)


def test_out_of_gamut_mixes_are_clipped_to_the_network_range():
    dark_grey, saturated = torch.full((1, 3, 2, 2), 0.05), torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    out = keep_source_colour(dark_grey, saturated.expand(1, 3, 2, 2))
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_node_preserves_the_input_colours_only_when_asked(tiny_frames):
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    plain = StyleTransferNode(load_preset("default", TINY), device="cpu")
    plain.begin_sequence([0])
    kept = StyleTransferNode(load_preset("default", (*TINY, "colour.preserve_colour=true")), device="cpu")
    kept.begin_sequence([0])

    def chroma(rgb: np.ndarray) -> torch.Tensor:
        return kornia.color.rgb_to_ycbcr(torch.from_numpy(np.clip(rgb, 0, 1)).permute(2, 0, 1)[None])[:, 1:]

    source = chroma(tiny_frames[0])
    kept_error = float((chroma(kept.render(0, fetch)) - source).abs().mean())
    plain_error = float((chroma(plain.render(0, fetch)) - source).abs().mean())
    assert kept_error < 0.01 < plain_error


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("style_loss=wasserstein", "did you mean 'sliced_wasserstein'"),
        ("temporal.penalty=abs", "one of 'squared', 'absolute'"),
        ("multipass.blend=2", "a number from 0 to 1"),
        ("multipass.passes=0", "an integer >= 1"),
        ("multiscale.factor=1", "a number from 0.1 to 0.9"),
        ("multiscale.refine=0", "a number > 0 and <= 1"),
        ("style.projections=-1", "an integer >= 0"),
        ("multiscale.level=2", "did you mean 'levels'"),
    ],
)
def test_new_keys_are_validated(override, expected):
    with pytest.raises(Exception, match=expected.replace("(", r"\(")):
        load_preset("default", [override])


def test_shipped_presets_keep_the_single_pass_short_term_defaults():
    preset = load_preset("default")
    assert preset.temporal.offsets == (1,) and preset.temporal.penalty == "squared"
    assert preset.multipass.passes == 1 and preset.multiscale.levels == 1
    assert preset.style_loss == "gram" and not preset.colour.preserve_colour


def test_output_only_colour_keys_do_not_re_optimise(tiny_preset, tiny_frames):
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    node = StyleTransferNode(tiny_preset, device="cpu")
    node.begin_sequence([0])
    plain = node.render(0, fetch)
    kept = load_preset("default", (*TINY, "colour.preserve_colour=true"))
    assert node.set_preset(kept) == []  # only the output step changes
    iterations = node.total_iterations
    assert not np.array_equal(node.render(0, fetch), plain)
    assert node.total_iterations == iterations
    srgb = load_preset("default", (*TINY, "colour.input=srgb_rec709_scene"))
    assert node.set_preset(srgb) == ["stylized", "flow"]  # the cached sources were converted otherwise
