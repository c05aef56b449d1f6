"""A shot's first frame is rendered after a short walk back from the frames ahead (plans.run_up), so
it is carried along the flow like every later frame instead of popping out of the shot."""

from __future__ import annotations

import numpy as np
import pytest

from vst_node.engine.node import StyleTransferNode
from vst_node.engine.plans import run_up
from vst_node.engine.schedule import Schedule
from vst_node.errors import PresetError
from vst_node.settings import load_preset

from .conftest import TINY


def _render(preset, frames, schedule, order=None, on_iterations=None):
    node = StyleTransferNode(preset, cache_dir=None)
    node.on_iterations = on_iterations
    node.begin_sequence(schedule)
    out = {t: node.render(t, frames.__getitem__) for t in (order or schedule)}
    node.close()
    return out, node


def test_the_walk_is_the_next_frames_farthest_first() -> None:
    preset = load_preset("default", ["init.run_up=2"])
    assert run_up(preset, Schedule([10, 11, 12, 13])) == [12, 11]
    assert run_up(preset, Schedule([10, 12, 14])) == [14, 12]  # the schedule's frames (--frames 10-14x2)
    assert run_up(preset, Schedule([10, 11])) == [11]  # a short shot walks what it has
    assert run_up(preset, Schedule([10])) == []
    assert run_up(load_preset("default", ["init.run_up=0"]), Schedule([10, 11, 12])) == []
    assert run_up(load_preset("default", ["method=feedforward"]), Schedule([10, 11, 12])) == []
    assert run_up(load_preset("default", ["multipass.passes=3"]), Schedule([10, 11, 12])) == []
    alone = load_preset("default", ["temporal.enabled=false", "init.later=content"])
    assert run_up(alone, Schedule([1, 2])) == []  # frames that never read their predecessor
    with pytest.raises(PresetError, match="run_up"):
        load_preset("default", ["init.run_up=-1"])


def test_the_first_frame_is_the_last_frame_of_a_walk_back(tiny_frames) -> None:
    """Bit for bit what a render of the head in reverse gives for the first frame: the run-up is an
    ordinary walk, with the same plans, flows, budgets and give-way."""
    preset = load_preset("default", [*TINY, "init.run_up=2"])
    out, node = _render(preset, tiny_frames, [0, 1, 2, 3], order=[0])
    backwards, reference = _render(load_preset("default", [*TINY, "init.run_up=0"]), tiny_frames, [2, 1, 0])
    np.testing.assert_array_equal(out[0], backwards[0])
    stats = node.stats[0]
    assert stats.run_up == 2
    assert stats.iterations == sum(s.iterations for s in reference.stats.values())  # the walk's cost counted
    assert stats.reliable is not None  # it continued from frame 1 along the flow
    assert set(node.stats) == {0}  # the run-up's frames are not reported as rendered


def test_without_a_run_up_the_first_frame_starts_alone(tiny_frames) -> None:
    preset = load_preset("default", [*TINY, "init.run_up=0"])
    out, node = _render(preset, tiny_frames, [0, 1, 2], order=[0])
    alone, _ = _render(preset, tiny_frames, [0], order=[0])
    np.testing.assert_array_equal(out[0], alone[0])
    assert node.stats[0].run_up == 0 and node.stats[0].reliable is None


def test_any_order_gives_the_same_frames_and_progress_names_the_first_frame(tiny_frames) -> None:
    preset = load_preset("default", [*TINY, "init.run_up=2"])
    seen: list[int] = []
    in_order, node = _render(preset, tiny_frames, [0, 1, 2, 3], on_iterations=lambda t, *_: seen.append(t))
    assert seen and seen[0] == 0 and seen.count(0) > seen.count(1)  # the run-up reports as frame 0
    jumped, _ = _render(preset, tiny_frames, [0, 1, 2, 3], order=[3, 1, 0, 2])
    for t in range(4):
        np.testing.assert_array_equal(in_order[t], jumped[t])
    assert node.stats[1].run_up == 0 and node.stats[1].iterations <= 4


def test_frames_needed_by_the_first_frame_include_the_run_up(tiny_preset) -> None:
    node = StyleTransferNode(load_preset("default", [*TINY, "init.run_up=2"]), cache_dir=None)
    node.begin_sequence([5, 6, 7, 8])
    assert node.frames_needed(5) == [5, 6, 7]
    assert node.frames_needed(7) == [6, 7]
