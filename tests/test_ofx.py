"""The OFX-shaped face driven by a Natron-like host: same pixels in any order, invalidation, render
scale, identity, premultiplied alpha, descriptors derived from the preset schema."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vst_node.engine.optimise import Cancelled
from vst_node.io.synthetic import make_shot
from vst_node.ofx import OfxStyleTransferEffect, describe, describe_in_context, frame_ranges
from vst_node.settings import RULES, LossWeights, OptimiserSettings, list_presets
from vst_node.settings.choices import FLOW_BACKENDS

from .conftest import TINY
from .ofx_host import NatronLikeHost, downscale

FIRST = 1001


def make_effect(tmp_path, **kwargs) -> OfxStyleTransferEffect:
    return OfxStyleTransferEffect(overrides=TINY, device="cpu", cache_dir=tmp_path / "cache", **kwargs)


@pytest.fixture(scope="module")
def source(tiny_shot) -> dict[int, np.ndarray]:
    """The tiny shot as a host holds it: linear Rec.709, premultiplied RGBA float32, frames 1001-1004."""
    return {FIRST + i: frame for i, frame in enumerate(tiny_shot.frames)}


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> dict[int, np.ndarray]:
    """A Write node rendering the shot in order: what every other way of asking must reproduce."""
    effect = make_effect(tmp_path_factory.mktemp("reference"))
    try:
        return NatronLikeHost(effect, source).render_sequence(sorted(source))
    finally:
        effect.close()


# -- describe ---------------------------------------------------------------------------------


def test_describe_derives_params_from_the_preset_schema():
    d = describe()
    assert (d.supports_tiles, d.supports_multi_resolution, d.temporal_clip_access) == (False, True, True)
    assert d.sequential_render == 2 and d.supported_pixel_depths == ("float",)
    assert d.contexts == ("filter",)
    strength = d.param("strength")
    assert (strength.type, strength.min, strength.max, strength.default) == ("double", 0.0, 1.0, 1.0)
    assert strength.invalidates == ()  # applied after optimisation: nothing is rendered again
    style = d.param("weights_style")
    assert (style.min, style.max, style.default) == (RULES["weights.style"].ge, None, LossWeights().style)
    assert style.invalidates == ("stylized",)
    iterations = d.param("optimiser_iterations")
    assert (iterations.type, iterations.min, iterations.default) == ("int", 1, OptimiserSettings().iterations)
    flow = d.param("flow_backend")
    assert (flow.type, flow.choices, flow.invalidates) == ("choice", FLOW_BACKENDS, ("stylized", "flow"))
    assert d.param("temporal_offsets").type == "string" and d.param("temporal_offsets").default == "1"
    assert d.param("temporal_enabled").type == "bool"
    preset = d.param("preset")
    assert preset.choices == tuple(name for name, _, _ in list_presets()) and preset.default == "default"
    for p in d.params:
        assert p.label and p.hint and not p.animates
        if p.key is not None:
            assert p.key in RULES and p.key in p.hint  # the hint names the preset key it overrides
    clips = {c.name: c for c in describe_in_context("filter").clips}
    assert clips["Source"].temporal_access and not clips["Source"].optional
    assert clips["Style"].optional and set(clips) == {"Source", "Style", "Output"}
    assert not any(c.supports_tiles for c in clips.values())
    with pytest.raises(ValueError, match="only 'filter'"):
        describe_in_context("general")


def test_declared_invalidation_is_what_the_node_does(tmp_path):
    """Each parameter's `invalidates` is exactly what changing it makes the node drop."""
    effect = make_effect(tmp_path)
    changes = {
        "strength": 0.5,
        "weights_style": 250.0,
        "optimiser_iterations": 9,
        "flow_backend": "farneback",
        "temporal_offsets": "1,2",
        "colour_preserve_colour": True,
    }
    try:
        for name, value in changes.items():
            assert tuple(effect.instance_changed(name, value)) == effect.descriptor.param(name).invalidates
        assert effect.preset.weights.style == 250.0 and effect.preset.temporal.offsets == (1, 2)
        assert effect.preset.optimiser.iterations == 9  # the parameter wins over the base overrides
        with pytest.raises(ValueError, match="from 0 to 1"):
            effect.instance_changed("strength", 1.5)
        with pytest.raises(ValueError, match="one of"):
            effect.instance_changed("flow_backend", "raft")
        assert effect.preset.strength == 0.5 and effect.values["flow_backend"] == "farneback"  # unchanged
    finally:
        effect.close()


def test_frames_needed_include_the_temporal_neighbours(tmp_path):
    assert frame_ranges([5, 1, 2, 3, 7]) == [(1, 3), (5, 5), (7, 7)]
    effect = make_effect(tmp_path)
    try:
        effect.set_source_range(1001, 1010)
        assert effect.get_frames_needed(1001) == [(1001, 1004)]  # the first frame and its run-up (3)
        assert effect.get_frames_needed(1005.0) == [(1004, 1005)]
        effect.instance_changed("temporal_offsets", "1,2")
        assert effect.get_frames_needed(1005) == [(1003, 1005)]
        assert effect.get_frames_needed(1002) == [(1001, 1002)]  # t-2 is before the clip
        effect.instance_changed("temporal_offsets", "1,4")
        assert effect.get_frames_needed(1006) == [(1002, 1002), (1005, 1006)]
        effect.instance_changed("multipass_passes", 3)
        assert effect.get_frames_needed(1004) == [(1001, 1010)]  # every pass spans the range
        with pytest.raises(ValueError, match="whole frame"):
            effect.get_frames_needed(1004.5)
    finally:
        effect.close()


# -- order, threads, parameters, scale --------------------------------------------------------


def test_same_pixels_in_any_order_and_from_any_thread(source, reference, tmp_path):
    assert not np.array_equal(reference[1001], reference[1002])
    # Scrubbing backwards with room for two finished frames: chains are rendered again.
    effect = make_effect(tmp_path / "scrub", max_cached_frames=2)
    host = NatronLikeHost(effect, source)
    backwards = host.scrub([1004, 1003, 1002, 1001])
    assert any(frame < 1004 for frame, _ in host.fetches[:4])  # 1004 fetched its predecessors first
    effect.close()
    # Jumping around, with the host purging caches under memory pressure in between.
    effect = make_effect(tmp_path / "jump")
    host = NatronLikeHost(effect, source)
    jumped = host.scrub([1003, 1001])
    effect.purge_caches()
    jumped |= host.scrub([1004, 1002])
    effect.close()
    # Four render threads asking for every frame at once, each in its own order.
    effect = make_effect(tmp_path / "threads")
    threaded = NatronLikeHost(effect, source).concurrent(sorted(source), threads=4)
    effect.close()
    for t in sorted(source):
        np.testing.assert_array_equal(backwards[t], reference[t])
        np.testing.assert_array_equal(jumped[t], reference[t])
        np.testing.assert_array_equal(threaded[t], reference[t])


def test_parameter_change_mid_sequence(source, reference, tmp_path):
    effect = make_effect(tmp_path)
    host = NatronLikeHost(effect, source)
    try:
        effect.begin_sequence_render((1001, 1004), 1.0)
        first = [host._render_frame(t, 1.0) for t in (1001, 1002)]
        assert host.set_param("weights_style", 1000.0) == ["stylized"]
        assert not effect.node.is_finished(1002)
        heavier = host._render_frame(1003, 1.0)
        effect.end_sequence_render()
        np.testing.assert_array_equal(first[1], reference[1002])
        assert not np.array_equal(heavier, reference[1003])
        # Strength is applied to finished frames: no optimisation runs again.
        iterations = effect.node.total_iterations
        assert host.set_param("strength", 0.5) == []
        half = host.view(1003)
        assert effect.node.total_iterations == iterations
        assert not np.array_equal(half, heavier)
        assert np.abs(half - source[1003]).mean() < np.abs(heavier - source[1003]).mean()
        # Back to the defaults: the chain is rendered again, from cached flows, to the same pixels.
        assert host.set_param("strength", 1.0) == []
        assert host.set_param("weights_style", LossWeights().style) == ["stylized"]
        flows = effect.node.flows.computed
        np.testing.assert_array_equal(host.view(1003), reference[1003])
        assert effect.node.flows.computed == flows
    finally:
        effect.close()


def test_proxy_render_scale_is_honoured(tmp_path):
    shot = make_shot(width=96, height=64, n_frames=2, seed=1)
    source = {FIRST + i: frame for i, frame in enumerate(shot.frames)}
    effect = make_effect(tmp_path / "full")
    reference = NatronLikeHost(effect, source).render_sequence([1001, 1002])
    effect.close()
    effect = make_effect(tmp_path / "proxy")
    host = NatronLikeHost(effect, source)
    try:
        proxy = host.render_sequence([1001, 1002], scale=0.5)
        assert proxy[1002].shape == (32, 48, 4)  # half of 64x96
        assert effect.node.mask_blur_sigma == pytest.approx(0.4)  # 0.8 full-resolution pixels
        assert {scale for _, scale in host.fetches} == {0.5}  # every Source image at the proxy scale
        np.testing.assert_array_equal(proxy[1002][..., 3], downscale(source[1002], 0.5)[..., 3])
        full = host.render_sequence([1001, 1002], scale=1.0)  # the scale change drops proxy results
        assert effect.node.mask_blur_sigma == pytest.approx(0.8)
        np.testing.assert_array_equal(full[1002], reference[1002])
        with pytest.raises(ValueError, match="render scale"):
            effect.begin_sequence_render((1001, 1002), (0.5, 1.0))
    finally:
        effect.close()


def test_tiny_proxy_does_not_change_later_full_size_frames(source, reference, tmp_path):
    effect = make_effect(tmp_path)
    host = NatronLikeHost(effect, source)
    try:
        host.render_sequence([1001, 1002], scale=0.5)  # 16x24: a reused DIS object adapted to it
        full = host.render_sequence([1001, 1002], scale=1.0)
        np.testing.assert_array_equal(full[1002], reference[1002])
    finally:
        effect.close()


# -- identity, alpha, style, abort ------------------------------------------------------------


def test_identity_at_strength_zero(source, tmp_path):
    effect = make_effect(tmp_path)
    host = NatronLikeHost(effect, source)
    try:
        assert not effect.is_identity(1002)
        assert host.set_param("strength", 0.0) == []
        assert effect.is_identity(1002)
        np.testing.assert_array_equal(host.view(1002), source[1002])
        direct = effect.render(1002, 1.0, lambda t: source[t])  # a host that renders anyway
        np.testing.assert_array_equal(direct, source[1002])
        assert effect.node.total_iterations == 0
    finally:
        effect.close()


def test_premultiplied_alpha_round_trip(source, reference, tmp_path):
    half, holes = {}, {}
    for t in sorted(source):  # the whole range: the first frame's run-up reads the frames after it
        rgba = source[t].copy()
        rgba[:, 24:] *= 0.5  # alpha 0.5, colour premultiplied with it: the network sees the same colour
        half[t] = rgba
        rgba = source[t].copy()
        rgba[:, :10] = 0.0  # transparent, no light
        rgba[:, 10:12, :3] = 0.25  # transparent but emissive (additive light)
        rgba[:, 10:12, 3] = 0.0
        holes[t] = rgba
    effect = make_effect(tmp_path / "half")
    out = NatronLikeHost(effect, half).render_sequence(sorted(half))
    effect.close()
    for t, rgba in half.items():
        np.testing.assert_array_equal(out[t][..., 3], rgba[..., 3])  # alpha bit-exact
        np.testing.assert_array_equal(out[t][:, :24], reference[t][:, :24])
        np.testing.assert_array_equal(out[t][:, 24:, :3], 0.5 * reference[t][:, 24:, :3])  # premultiplied
    effect = make_effect(tmp_path / "holes")
    out = NatronLikeHost(effect, holes).render_sequence(sorted(holes))
    effect.close()
    for t, rgba in holes.items():
        np.testing.assert_array_equal(out[t][..., 3], rgba[..., 3])
        np.testing.assert_array_equal(out[t][:, :10], rgba[:, :10])  # alpha 0, colour 0: stays empty
        assert not np.allclose(out[t][:, 10:12, :3], 0.25, atol=1e-3)  # emissive light is stylized too
        assert np.isfinite(out[t]).all() and (out[t][:, 10:12, :3] >= 0).all()
        assert not np.allclose(out[t][:, 12:], rgba[:, 12:], atol=1e-3)  # the covered part is stylized


def test_style_clip_replaces_the_preset_style_image(source, reference, tmp_path):
    effect = make_effect(tmp_path)
    style = np.ascontiguousarray(source[1004][::-1, ::-1])  # any image will do: the shot upside down
    host = NatronLikeHost(effect, source, style=style)
    try:
        out = host.view(1001)
        assert effect.preset.style.image.parent == tmp_path / "cache" / "style"
        assert not np.array_equal(out, reference[1001])
        assert effect.instance_changed("Style") == ["stylized"]  # disconnected or changed upstream
        assert effect.preset.style.image.name == "swirls.png"
    finally:
        effect.close()


def test_abort_keeps_nothing_partial(source, reference, tmp_path):
    effect = make_effect(tmp_path)
    try:
        effect.set_source_range(1001, 1004)
        with pytest.raises(Cancelled):
            effect.render(1001, 1.0, lambda t: source[t], abort=lambda: True)
        assert not effect.node.is_finished(1001)
        np.testing.assert_array_equal(effect.render(1001, 1.0, lambda t: source[t]), reference[1001])
    finally:
        effect.close()


def test_regions_and_clip_preferences(tmp_path):
    effect = make_effect(tmp_path)
    try:
        rod = (0.0, 0.0, 1920.0, 1080.0)
        assert effect.get_region_of_definition(7, 0.5, rod) == rod  # canonical: independent of scale
        assert effect.get_regions_of_interest(7, 1.0, (0, 0, 10, 10), rod) == {"Source": rod}
        prefs = effect.get_clip_preferences("unpremultiplied", "RGB")
        assert (prefs.output_premultiplication, prefs.output_components) == ("unpremultiplied", "RGB")
        assert dataclasses.asdict(prefs)["pixel_depth"] == "float"
        effect.set_source_range(1, 10)
        with pytest.raises(ValueError, match="outside the Source range"):
            effect.begin_sequence_render((5, 12), 1.0)
    finally:
        effect.close()


def test_a_frame_the_flow_cannot_follow_gets_a_persistent_warning(source, tmp_path):
    """A cut before 1003: the host shows a warning on the node while that frame is viewed, none after."""
    other = make_shot(width=48, height=32, n_frames=4, seed=7).frames
    cut = {t: (image if t < FIRST + 2 else other[t - FIRST]) for t, image in source.items()}
    effect = make_effect(tmp_path)
    host = NatronLikeHost(effect, cut)
    try:
        messages = {}
        for t in sorted(cut):  # the user steps through the frames in the viewer
            host.view(t)
            messages[t] = effect.persistent_message
    finally:
        effect.close()
    assert messages[FIRST] is None and messages[FIRST + 1] is None and messages[FIRST + 3] is None
    assert messages[FIRST + 2] is not None and f"frame(s) {FIRST + 2} " in messages[FIRST + 2]


def test_feedforward_needs_no_other_frames(tmp_path):
    """With the trained network a frame reads only itself: the host is told so."""
    from vst_node.engine.network_file import save_network
    from vst_node.engine.transformer import Architecture, TransformerNet
    from vst_node.ofx import OfxStyleTransferEffect
    from vst_node.settings import load_preset

    model = tmp_path / "look.pt"
    save_network(model, TransformerNet(Architecture(4, 1)), load_preset("default"), {})
    effect = OfxStyleTransferEffect(device="cpu", overrides=[f"network.model={model}"])
    effect.set_source_range(1001, 1010)
    assert effect.get_frames_needed(1005) == [(1004, 1005)]
    effect.instance_changed("method", "feedforward")
    assert effect.get_frames_needed(1005) == [(1005, 1005)]
    effect.close()


def test_a_change_upstream_is_noticed_without_an_action(tmp_path):
    """A grade above the node: the host renders again and the effect must not serve the old look."""
    shot = make_shot(width=48, height=32, n_frames=2, seed=0)
    source = {FIRST + i: frame for i, frame in enumerate(shot.frames)}
    effect = make_effect(tmp_path / "a")
    host = NatronLikeHost(effect, source)
    fresh = make_effect(tmp_path / "b")
    try:
        host.render_sequence([1001, 1002])
        swap = lambda f: np.ascontiguousarray(f[..., [2, 1, 0, 3]])  # noqa: E731 - a colour change upstream
        host.change_upstream(swap)
        graded = host.render_sequence([1001, 1002])[1002]  # the same range again: the effect's frames
        swapped = {t: swap(f) for t, f in source.items()}
        expected = NatronLikeHost(fresh, swapped).render_sequence([1001, 1002])[1002]
        np.testing.assert_array_equal(graded, expected)
    finally:
        effect.close()
        fresh.close()


def test_the_style_clip_is_captured_again_at_full_size_after_a_proxy(source, tmp_path):
    effect = make_effect(tmp_path)
    style = np.ascontiguousarray(source[1004][::-1, ::-1])
    host = NatronLikeHost(effect, source, style=style)
    try:
        host.view(1001, scale=0.5)
        proxy_style = effect.preset.style.image
        host.view(1001, scale=1.0)
        assert effect.preset.style.image != proxy_style  # the full-size Style image, not the proxy's
    finally:
        effect.close()
