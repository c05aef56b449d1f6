"""The loss weights follow the processing size (engine/size_weights.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vst_node.engine.multiscale import level_weights
from vst_node.engine.size_weights import scaled_weights, weights_at_size
from vst_node.settings import LossWeights, MultiScaleSettings, load_preset

RULE = MultiScaleSettings(style_exponent=0.5, temporal_exponent=0.25)


def test_without_a_reference_side_the_weights_hold_at_every_size() -> None:
    weights = LossWeights()
    assert weights_at_size(weights, (180, 320), RULE) is weights
    assert weights_at_size(weights, (2160, 3840), RULE) is weights


@pytest.mark.parametrize(
    ("side", "style", "temporal"), [(256, 50.0, 1000 * 0.5**0.5), (1024, 200.0, 1000 * 2**0.5)]
)
def test_style_and_temporal_follow_the_long_side(side: int, style: float, temporal: float) -> None:
    weights = LossWeights(content=5.0, style=100.0, temporal=1000.0, reference_side=512)
    at = weights_at_size(weights, (side // 2, side), RULE)  # the long side decides, landscape or portrait
    assert at.style == pytest.approx(style) and at.temporal == pytest.approx(temporal)
    assert at.content == 5.0 and at.tv == weights.tv
    assert weights_at_size(weights, (side, side // 3), RULE) == at
    assert weights_at_size(weights, (300, 512), RULE) == weights  # at the reference side: unchanged


def test_multiscale_levels_use_the_same_rule() -> None:
    weights = LossWeights(style=100.0, temporal=1000.0)
    assert level_weights(weights, 0.25, RULE) == scaled_weights(weights, 0.25, RULE)
    assert level_weights(weights, 1.0, RULE) is weights


def test_reference_side_is_a_preset_key() -> None:
    assert load_preset("default", ["weights.reference_side=640"]).weights.reference_side == 640
    assert replace(load_preset("default").weights, reference_side=None).reference_side is None
