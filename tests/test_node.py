"""The stateful node: order independence, invalidation, identity, state bounds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vst_node.engine.node import StyleTransferNode, independent_preset, processing_size
from vst_node.settings import load_preset

from .conftest import DEVICES, TINY


def render_all(node: StyleTransferNode, frames, order):
    fetch = lambda t: frames[t]  # noqa: E731
    node.begin_sequence(range(len(frames)))
    return {t: node.render(t, fetch) for t in order}


@pytest.mark.parametrize("device", DEVICES)
def test_same_pixels_in_any_order(tiny_preset, tiny_frames, device):
    in_order = render_all(StyleTransferNode(tiny_preset, device=device), tiny_frames, [0, 1, 2, 3])
    jumped = render_all(StyleTransferNode(tiny_preset, device=device), tiny_frames, [3, 1, 0, 2])
    # A node that may keep only one finished frame must re-render chains when scrubbing backwards.
    scrubbing = StyleTransferNode(tiny_preset, device=device, max_cached_frames=1)
    scrubbed = render_all(scrubbing, tiny_frames, [3, 2, 1, 0])
    for t in range(4):
        assert in_order[t].shape == tiny_frames[t].shape
        np.testing.assert_array_equal(in_order[t], jumped[t])
        np.testing.assert_array_equal(in_order[t], scrubbed[t])
    assert not np.array_equal(in_order[0], in_order[1])


def test_frames_needed_follow_the_temporal_terms(tiny_preset):
    node = StyleTransferNode(tiny_preset, device="cpu")
    node.begin_sequence([10, 12, 14])
    assert node.frames_needed(10) == [10, 12, 14]  # the first frame reads its run-up
    assert node.frames_needed(14) == [12, 14]  # the previous frame of the range, not t-1
    node.set_preset(independent_preset(tiny_preset, "content"))
    assert node.frames_needed(14) == [14]
    assert node.frames_needed(10) == [10]  # frames rendered alone have no run-up


def test_render_of_frame_outside_range(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu")
    node.begin_sequence([0, 1])
    with pytest.raises(KeyError, match="not in the sequence"):
        node.render(5, lambda t: tiny_frames[0])


def test_style_change_invalidates_frames_not_flows(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu")
    before = render_all(node, tiny_frames, [0, 1, 2, 3])
    flows_computed = node.flows.computed
    assert flows_computed == 3
    heavier = replace(tiny_preset, weights=replace(tiny_preset.weights, style=1000.0))
    assert node.set_preset(heavier) == ["stylized"]
    assert not node.is_finished(3)
    after = {t: node.render(t, lambda f: tiny_frames[f]) for t in range(4)}
    assert node.flows.computed == flows_computed  # no flow was computed again
    assert not np.array_equal(before[3], after[3])


def test_a_kept_frame_is_returned_without_rendering_the_evicted_frames_before_it(tiny_preset, tiny_frames):
    """Scrubbing back in a host to the oldest kept frame, whose predecessor was evicted: nothing is
    re-optimised (it used to walk back and render the evicted frames again)."""
    node = StyleTransferNode(tiny_preset, device="cpu", max_cached_frames=2)
    frames = tiny_frames * 2
    node.begin_sequence(range(len(frames)))
    for t in range(6):
        node.render(t, lambda f: frames[f])
    oldest = min(t for t in range(6) if node.is_finished(t))
    assert oldest > 1 and not node.is_finished(oldest - 1)
    iterations = {t: node.stats[t].iterations for t in range(6)}
    node.render(oldest, lambda f: frames[f])
    assert {t: node.stats[t].iterations for t in range(6)} == iterations  # no frame optimised again
    assert not node.is_finished(oldest - 1)


def test_another_input_colour_space_refetches_the_sources(tiny_preset, tiny_frames):
    """colour.input changes what a host's fetch returns: the cached sources (and flows) are stale."""
    node = StyleTransferNode(tiny_preset, device="cpu")
    render_all(node, tiny_frames, [0, 1])
    other = replace(tiny_preset, colour=replace(tiny_preset.colour, input="sRGB"))
    assert node.set_preset(other) == ["stylized", "flow"]
    assert not node._sources


def test_flow_change_invalidates_both(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu")
    render_all(node, tiny_frames, [0, 1])
    before = node.flows.computed
    other = replace(tiny_preset, flow=replace(tiny_preset.flow, backend="farneback"))
    assert node.set_preset(other) == ["stylized", "flow"]
    node.render(1, lambda f: tiny_frames[f])
    assert node.flows.computed > before  # the new backend's flow is computed, not reused


def test_strength_is_applied_without_rerendering(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu")
    full = render_all(node, tiny_frames, [0, 1])
    assert node.set_preset(replace(tiny_preset, strength=0.0)) == []
    assert node.is_finished(1)
    np.testing.assert_array_equal(node.render(1, lambda f: tiny_frames[f]), tiny_frames[1])
    node.set_preset(replace(tiny_preset, strength=0.5))
    half = node.render(1, lambda f: tiny_frames[f])
    np.testing.assert_allclose(half, 0.5 * (tiny_frames[1] + full[1]), atol=1e-5)


def test_highlights_survive(tiny_preset, tiny_frames):
    bright = [f.copy() for f in tiny_frames[:2]]
    for f in bright:
        f[5, 7] = [3.0, 2.5, 6.0]  # display-encoded values far above 1
        f[9, 9] = [-0.2, 0.1, 0.1]
    out = render_all(StyleTransferNode(tiny_preset, device="cpu"), bright, [0, 1])
    for t in (0, 1):
        assert (out[t][5, 7] > 1.5).all()
        assert out[t][9, 9, 0] < 0.8  # the negative excess is carried too
    plain = render_all(
        StyleTransferNode(
            replace(tiny_preset, colour=replace(tiny_preset.colour, preserve_highlights=False)), device="cpu"
        ),
        bright,
        [0],
    )
    assert plain[0].max() <= 1.0


def test_state_is_bounded(tiny_preset, tiny_frames):
    node = StyleTransferNode(tiny_preset, device="cpu", max_cached_frames=2)
    render_all(node, tiny_frames * 2, range(8))
    assert len(node._finished) <= 2
    assert len(node._sources) <= 3


def test_seeded_frame_continues_the_chain(tiny_preset, tiny_frames):
    """Resume: a finished frame adopted from disk stands in for rendering it again."""
    full = render_all(StyleTransferNode(tiny_preset, device="cpu"), tiny_frames, [0, 1, 2])
    resumed = StyleTransferNode(tiny_preset, device="cpu")
    resumed.begin_sequence(range(3))
    resumed.seed_finished(1, full[1])
    out = resumed.render(2, lambda f: tiny_frames[f])
    assert resumed.stats.keys() == {2}  # frames 0 and 1 were not rendered again
    assert np.abs(out - full[2]).mean() < 0.02


def test_processing_size():
    preset = load_preset("default", TINY)
    assert processing_size((100, 200), preset, 1.0) == (100, 200)
    capped = replace(preset, resolution=replace(preset.resolution, max_side=100))
    assert processing_size((100, 200), capped, 1.0) == (50, 100)
    assert processing_size((50, 100), capped, 0.5) == (25, 50)  # proxy render: cap scales too
    halved = replace(preset, resolution=replace(preset.resolution, scale=0.5))
    assert processing_size((100, 200), halved, 1.0) == (50, 100)


def test_mask_blur_is_in_full_resolution_pixels(tiny_preset, tiny_frames):
    """A proxy render (render scale 0.5) and a preset scale both shrink the blur of c with the frame."""
    fetch = lambda t: tiny_frames[t]  # noqa: E731
    proxy = StyleTransferNode(tiny_preset, device="cpu")
    proxy.begin_sequence(range(2), render_scale=0.5)  # the host hands half-size frames
    proxy.render(1, fetch)
    assert proxy.mask_blur_sigma == pytest.approx(0.4)
    small = StyleTransferNode(replace(tiny_preset, resolution=replace(tiny_preset.resolution, scale=0.5)))
    small.begin_sequence(range(2))
    small.render(1, fetch)
    assert small.mask_blur_sigma == pytest.approx(0.4)
    full = StyleTransferNode(tiny_preset, device="cpu")
    full.begin_sequence(range(2))
    full.render(1, fetch)
    assert full.mask_blur_sigma == pytest.approx(0.8)


def test_non_finite_pixels_do_not_poison_the_frame(tiny_preset, tiny_frames):
    frames = [f.copy() for f in tiny_frames[:2]]
    frames[1][3, 4] = np.nan
    frames[1][5, 6] = np.inf
    node = StyleTransferNode(tiny_preset, device="cpu")
    node.begin_sequence(range(2))
    out = node.render(1, lambda t: frames[t])
    bad = ~np.isfinite(frames[1])
    assert np.isfinite(out[~bad]).all()  # one NaN pixel would otherwise make every loss NaN
    assert np.isnan(out[3, 4]).all() and np.isinf(out[5, 6]).all()  # carried through, not invented
