"""Where the flow tracks little of a frame, the frame leans less on its neighbour (engine/give_way.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vst_node.engine.give_way import GiveWay, trust, trusted_budget
from vst_node.engine.node import StyleTransferNode, independent_preset
from vst_node.engine.stylize import TemporalTerm
from vst_node.errors import PresetError
from vst_node.io.colour import LINEAR_SPACE, to_network
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset

BUDGET = ["optimiser.iterations_first=12", "optimiser.iterations=5"]


def test_trust_is_zero_below_one_above_and_linear_between() -> None:
    assert trust(0.2, 0.3, 0.7) == 0.0
    assert trust(0.3, 0.3, 0.7) == 0.0
    assert trust(0.5, 0.3, 0.7) == pytest.approx(0.5)
    assert trust(0.7, 0.3, 0.7) == 1.0
    assert trust(0.9, 0.3, 0.7) == 1.0
    assert trust(0.49, 0.5, 0.5) == 0.0 and trust(0.5, 0.5, 0.5) == 1.0  # equal bounds: a step
    assert trust(0.0, 0.0, 0.0) == 1.0  # the settings off: always trusted


def test_budget_runs_from_the_later_to_the_first_frame_budget() -> None:
    assert trusted_budget(200, 400, 1.0) == 200
    assert trusted_budget(200, 400, 0.0) == 400
    assert trusted_budget(200, 400, 0.25) == 350
    assert trusted_budget(200, 100, 0.0) == 200  # never below the later budget


def test_partial_trust_blends_the_start_and_scales_every_term() -> None:
    warped, fresh = torch.full((1, 3, 2, 2), 10.0), torch.zeros(1, 3, 2, 2)
    give = GiveWay(0.25)
    assert torch.allclose(give.start(warped, fresh), torch.full_like(warped, 2.5))
    term = TemporalTerm(warped, torch.full((1, 1, 2, 2), 0.8))
    (scaled,) = give.terms([term])
    assert torch.allclose(scaled.weights, torch.full((1, 1, 2, 2), 0.2))
    assert scaled.warped is warped
    assert GiveWay(0.0).terms([term]) == []


def test_trust_bounds_are_validated() -> None:
    with pytest.raises(PresetError, match="trust_full"):
        load_preset("default", ["temporal.trust_from=0.8", "temporal.trust_full=0.5"])
    with pytest.raises(PresetError, match="trust_from"):
        load_preset("default", ["temporal.trust_from=1.5"])


def _frames(shot) -> list[np.ndarray]:
    return [to_network(f, LINEAR_SPACE)[0] for f in shot.frames]


def _render(
    preset, frames: list[np.ndarray], order: list[int]
) -> tuple[dict[int, np.ndarray], StyleTransferNode]:
    node = StyleTransferNode(preset, cache_dir=None)
    node.begin_sequence(order)
    out = {t: node.render(t, frames.__getitem__) for t in order}
    node.close()
    return out, node


def test_a_cut_is_rendered_exactly_as_a_frame_on_its_own() -> None:
    """Frame 1 is another shot: the flow finds little, trust is 0, and the frame equals a render of
    it with no neighbour at all (same start, budget and loss), not a drag of frame 0's strokes."""
    frames = [_frames(make_shot(48, 32, 2, seed=0))[0], _frames(make_shot(48, 32, 2, seed=5))[1]]
    preset = load_preset("default", [*BUDGET, "temporal.trust_from=0.9", "temporal.trust_full=0.95"])
    out, node = _render(preset, frames, [0, 1])
    assert node.stats[1].reliable is not None and node.stats[1].reliable < 0.9  # the case is a cut
    assert node.stats[1].trust == 0.0
    assert node.stats[1].iterations == 12  # the first frame's budget
    alone, _ = _render(independent_preset(preset, preset.init.first), frames, [1])
    np.testing.assert_array_equal(out[1], alone[1])


def test_a_tracked_frame_is_untouched_by_the_give_way() -> None:
    """Where the flow is reliable above trust_full the frame renders bit for bit as with the
    give-way off."""
    frames = _frames(make_shot(48, 32, 2, seed=0))
    on = load_preset("default", [*BUDGET, "temporal.trust_from=0.05", "temporal.trust_full=0.1"])
    off = load_preset("default", [*BUDGET, "temporal.trust_from=0", "temporal.trust_full=0"])
    with_give_way, node = _render(on, frames, [0, 1])
    assert node.stats[1].reliable > 0.1 and node.stats[1].trust == 1.0
    without, _ = _render(off, frames, [0, 1])
    np.testing.assert_array_equal(with_give_way[1], without[1])
