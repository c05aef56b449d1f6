"""Stylizing image and movie strips end to end through the real bpy module (tiny frames, tiny budgets)."""

from __future__ import annotations

from pathlib import Path

import bpy
import cv2
import numpy as np
import pytest
from helpers import HEIGHT, TINY, WIDTH, card, read_image, render_frame, strips, write_image

# strength 0: the node returns its input, so colour must round-trip exactly.
IDENTITY = TINY + ";strength=0"


def _stylize(scene, overrides: str = TINY) -> set[str]:
    return bpy.ops.sequencer.vst_stylize_strip(extra_overrides=overrides)


def _new_strip(scene, before: set[str]):
    [strip] = [s for s in strips(scene) if s.name not in before]
    return strip


def _files(strip) -> list[Path]:
    folder = Path(bpy.path.abspath(strip.directory))
    return [folder / e.filename for e in strip.elements]


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


@pytest.fixture()
def png_strip(scene, tmp_path):
    """Four 8-bit PNG frames 1-4 as an image strip at frame 11, its first frame trimmed off (12-14 shown)."""
    for n in range(1, 5):
        write_image(tmp_path / "in" / f"card.{n:04d}.png", card(frame=n))
    strip = scene.sequence_editor.strips.new_image("card", str(tmp_path / "in" / "card.0001.png"), 2, 11)
    for n in range(2, 5):
        strip.elements.append(f"card.{n:04d}.png")
    strip.frame_final_start = 12
    scene.sequence_editor.active_strip = strip
    return strip


def test_image_strip_identity_matches_what_blender_shows(scene, png_strip, tmp_path):
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, IDENTITY) == {"FINISHED"}
    out = _new_strip(scene, before)
    assert out.type == "IMAGE" and out.channel == 3
    assert (out.frame_final_start, out.frame_final_end) == (12, 15)
    assert out.colorspace_settings.name == "Linear Rec.709"
    assert out.directory.startswith("//vst_node/card/")  # relative, like the default output folder
    files = _files(out)
    assert [f.name for f in files] == ["card.0002.exr", "card.0003.exr", "card.0004.exr"]
    assert all(f.is_file() for f in files)
    # The file holds linear light (the PNG is sRGB-encoded): decoded once, not twice, not zero times.
    exr = read_image(files[0])
    np.testing.assert_allclose(exr[..., :3], _srgb_to_linear(card(frame=2) / 255.0), atol=2e-3)
    # And Blender shows the new strip exactly as it shows the source.
    for frame in (12, 14):
        shown_source = render_frame(scene, frame, tmp_path / "a.exr", png_strip)
        shown_output = render_frame(scene, frame, tmp_path / "b.exr", out)
        np.testing.assert_allclose(shown_output, shown_source, atol=2e-3)


def test_exr_strip_resumes_and_another_preset_adds_another_strip(scene, tmp_path):
    from vst_node.io.synthetic import make_shot, write_shot

    pattern = write_shot(make_shot(WIDTH, HEIGHT, 3, seed=2), tmp_path / "in", name="plate")
    first = Path(pattern.replace("####", "1001"))
    strip = scene.sequence_editor.strips.new_image("plate", str(first), 1, 1)
    for n in (1002, 1003):
        strip.elements.append(f"plate.{n}.exr")
    scene.sequence_editor.active_strip = strip
    assert strip.colorspace_settings.name == "Linear Rec.709"

    before = {s.name for s in strips(scene)}
    assert _stylize(scene) == {"FINISHED"}
    out = _new_strip(scene, before)
    assert (out.channel, out.frame_final_start, out.frame_final_end) == (2, 1, 4)
    assert out.colorspace_settings.name == "Linear Rec.709"
    mtimes = [f.stat().st_mtime_ns for f in _files(out)]

    # Same settings again: every frame is kept (resume) and no second strip appears.
    scene.sequence_editor.active_strip = strip
    assert _stylize(scene) == {"FINISHED"}
    assert len(strips(scene)) == 2
    assert [f.stat().st_mtime_ns for f in _files(out)] == mtimes

    # Another preset: its own folder and its own strip, one channel higher.
    scene.sequence_editor.active_strip = strip
    scene.vst_node.preset = "ink"
    assert _stylize(scene) == {"FINISHED"}
    ink = _new_strip(scene, before | {out.name})
    assert (ink.channel, ink.frame_final_start, ink.frame_final_end) == (3, 1, 4)
    assert ink.directory != out.directory
    assert all(f.is_file() for f in _files(ink))

    # Another strength changes only the output step, yet other pixels: a folder of its own, not a resume.
    scene.vst_node.preset = "default"
    scene.sequence_editor.active_strip = strip
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, TINY + ";strength=0.5") == {"FINISHED"}
    weaker = _new_strip(scene, before)
    assert weaker.directory not in (out.directory, ink.directory)
    assert all(f.is_file() for f in _files(weaker))
    assert [f.stat().st_mtime_ns for f in _files(out)] == mtimes


def _movie(path: Path, frames: int) -> list[np.ndarray]:
    """An MJPG .avi of moving test cards (RGB frames returned)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24, (WIDTH, HEIGHT))
    cards = [card(frame=n) for n in range(frames)]
    for rgb in cards:
        writer.write(np.ascontiguousarray(rgb[..., ::-1]))
    writer.release()
    return cards


@pytest.fixture()
def movie_strip(scene, tmp_path):
    """A 5-frame movie at frame 10 with its last frame trimmed (10-13 shown), a colour strip on channel 2."""
    _movie(tmp_path / "in" / "clip.avi", 5)
    strip = scene.sequence_editor.strips.new_movie("clip", str(tmp_path / "in" / "clip.avi"), 1, 10)
    strip.frame_final_end = 14
    scene.sequence_editor.strips.new_effect("blocker", "COLOR", 2, 12, length=3)
    scene.sequence_editor.active_strip = strip
    return strip


def test_movie_strip_is_decoded_by_blender_and_placed_above(scene, movie_strip, tmp_path):
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, IDENTITY) == {"FINISHED"}
    out = _new_strip(scene, before)
    assert out.channel == 3  # channel 2 is taken by the colour strip over these frames
    assert (out.frame_final_start, out.frame_final_end) == (10, 14)
    assert out.colorspace_settings.name == "Linear Rec.709"
    assert [f.name for f in _files(out)] == [f"clip.{n:04d}.exr" for n in range(10, 14)]
    assert ".vst_node_decode" not in bpy.data.scenes
    for frame in (10, 13):
        shown_source = render_frame(scene, frame, tmp_path / "a.exr", movie_strip)
        shown_output = render_frame(scene, frame, tmp_path / "b.exr", out)
        np.testing.assert_allclose(shown_output, shown_source, atol=2e-3)


def test_cancel_keeps_finished_frames_and_adds_no_strip(scene, png_strip):
    from vst_node_blender.stylize import Runner

    runner = Runner(scene, png_strip, scene.vst_node, TINY.split(";"))
    assert runner.total == 3
    assert runner.step()  # one frame, as one timer tick does
    runner.cancel()
    assert not runner.step()
    first, second = (runner.output.path(n) for n in (2, 3))
    assert first.is_file() and not second.exists()
    assert not list(first.parent.glob("*.tmp*"))
    assert [s.name for s in strips(scene)] == ["card"]

    # Running again resumes from the kept frame, then adds the strip.
    again = Runner(scene, png_strip, scene.vst_node, TINY.split(";"))
    again.run()
    assert again.session.report.skipped == [2]
    assert again.session.report.written == [3, 4]
    strip, added = again.finish()
    assert added and strip.channel == 3


def test_cancel_while_decoding_a_movie_leaves_no_temporary_scene(scene, movie_strip):
    from vst_node_blender.stylize import DECODE_SCENE, Runner

    runner = Runner(scene, movie_strip, scene.vst_node, TINY.split(";"))
    assert runner.total == 8  # 4 frames decoded, then 4 stylized
    assert runner.step()
    assert DECODE_SCENE in bpy.data.scenes
    runner.cancel()
    assert DECODE_SCENE not in bpy.data.scenes
    assert sorted(s.name for s in strips(scene)) == ["blocker", "clip"]


def test_a_cut_in_the_strip_is_reported_at_its_timeline_frame(scene, tmp_path):
    from vst_node_blender.stylize import Runner

    from vst_node.io.synthetic import make_shot

    before, after = make_shot(WIDTH, HEIGHT, 4, seed=1), make_shot(WIDTH, HEIGHT, 4, seed=7)
    for n in range(1, 5):
        linear = (before if n < 3 else after).frames[n - 1][..., :3]  # a cut between files 2 and 3
        pixels = (np.clip(linear, 0, 1) * 255).round().astype(np.uint8)
        write_image(tmp_path / "in" / f"cut.{n:04d}.png", pixels)
    strip = scene.sequence_editor.strips.new_image("cut", str(tmp_path / "in" / "cut.0001.png"), 2, 11)
    for n in range(2, 5):
        strip.elements.append(f"cut.{n:04d}.png")
    runner = Runner(scene, strip, scene.vst_node, TINY.split(";"))
    runner.run()
    # file numbers; the first frame's flow is its run-up's (file 2 onto file 1, the same shot)
    assert set(runner.session.report.reliable) == {1, 2, 3, 4}
    warning = runner.flow_warning()
    assert warning is not None and "frame(s) 13 " in warning  # file 3 is shown at timeline frame 13


def test_no_flow_warning_for_a_strip_the_flow_follows(scene, png_strip):
    from vst_node_blender.stylize import Runner

    runner = Runner(scene, png_strip, scene.vst_node, TINY.split(";"))
    runner.run()
    assert runner.session.report.reliable and runner.flow_warning() is None


def test_preview_this_frame(scene, png_strip):
    """The frame under the playhead through the preset's shipped network, into a linear float image."""
    scene.frame_current = 13  # card.0003.png
    assert bpy.ops.sequencer.vst_preview_frame() == {"FINISHED"}
    image = bpy.data.images["vst-node preview"]
    assert tuple(image.size) == (WIDTH, HEIGHT) and image.is_float
    assert image.colorspace_settings.name == "Linear Rec.709"
    pixels = np.array(image.pixels[:], dtype=np.float32).reshape(HEIGHT, WIDTH, 4)[::-1]
    source = _srgb_to_linear(card(frame=3).astype(np.float32) / 255.0)
    assert np.isfinite(pixels).all() and np.allclose(pixels[..., 3], 1.0)
    assert np.abs(pixels[..., :3] - source).mean() > 0.02  # stylized, not the source passed through
    scene.frame_current = 30
    with pytest.raises(RuntimeError, match=r"playhead \(frame 30\) is not over strip"):
        bpy.ops.sequencer.vst_preview_frame()


def test_strips_of_one_name_in_two_scenes_do_not_share_frames(scene, png_strip, tmp_path):
    """Scene > Full Copy gives two strips called 'card'; pointed at other media they must render to
    folders of their own, not resume into each other's."""
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, IDENTITY) == {"FINISHED"}
    first = _new_strip(scene, before)
    other = bpy.data.scenes.new("other")
    other.sequence_editor_create()
    other.render.resolution_x, other.render.resolution_y = WIDTH, HEIGHT
    for n in range(1, 5):
        write_image(tmp_path / "in2" / f"card.{n:04d}.png", card(frame=n + 7))
    twin = other.sequence_editor.strips.new_image("card", str(tmp_path / "in2" / "card.0002.png"), 2, 12)
    for n in (3, 4):
        twin.elements.append(f"card.{n:04d}.png")
    other.sequence_editor.active_strip = twin
    with bpy.context.temp_override(scene=other):
        assert bpy.ops.sequencer.vst_stylize_strip(extra_overrides=IDENTITY) == {"FINISHED"}
    [second] = [s for s in strips(other) if s.name != "card"]
    assert second.name.startswith("card") and second.directory != first.directory


def test_the_new_strip_composites_like_its_source(scene, png_strip):
    png_strip.blend_type = "ADD"
    png_strip.blend_alpha = 0.5
    png_strip.color_saturation = 0.7
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, IDENTITY) == {"FINISHED"}
    out = _new_strip(scene, before)
    assert (out.blend_type, out.blend_alpha, out.color_saturation) == ("ADD", 0.5, pytest.approx(0.7))


@pytest.mark.parametrize("decode", [False, True])
def test_a_hard_cut_strip_is_stylized_from_the_frames_it_shows(scene, tmp_path, decode):
    """A hard split leaves animation_offset_start: the strip shows later elements than its first. Read
    as files, or decoded by Blender (a strobe forces that path), the output matches what Blender shows."""
    for n in range(1, 6):
        write_image(tmp_path / "in" / f"cut.{n:04d}.png", card(frame=7 * n))
    strip = scene.sequence_editor.strips.new_image("cut", str(tmp_path / "in" / "cut.0001.png"), 2, 1)
    for n in range(2, 6):
        strip.elements.append(f"cut.{n:04d}.png")
    strip.animation_offset_start = 2
    if decode:
        strip.strobe = 1.5  # no hold at these frames, but not a plain file read any more
    scene.sequence_editor.active_strip = strip
    before = {s.name for s in strips(scene)}
    assert _stylize(scene, IDENTITY) == {"FINISHED"}
    out = _new_strip(scene, before)
    for frame in range(int(strip.frame_final_start), int(strip.frame_final_end)):
        shown_source = render_frame(scene, frame, tmp_path / "a.exr", strip)
        shown_output = render_frame(scene, frame, tmp_path / "b.exr", out)
        np.testing.assert_allclose(shown_output, shown_source, atol=2e-3)


def test_an_undo_between_ticks_while_decoding_is_survived(scene, movie_strip):
    """Ctrl+Z between two timer ticks takes the file back to before the temporary scene was made
    (Blender's own undo here); every reference the runner held from before is then dead."""
    from vst_node_blender.stylize import DECODE_SCENE, Runner

    runner = Runner(scene, movie_strip, scene.vst_node, TINY.split(";"))
    bpy.ops.ed.undo_push(message="before stylize")
    assert runner.step()
    assert DECODE_SCENE in bpy.data.scenes
    bpy.ops.ed.undo_push(message="decoding")
    bpy.ops.ed.undo()
    assert DECODE_SCENE not in bpy.data.scenes  # the undo took it away
    runner.run()
    strip, added = runner.finish()
    assert added and (strip.frame_final_start, strip.frame_final_end) == (10, 14)
    assert DECODE_SCENE not in bpy.data.scenes
    assert all(runner.output.path(n).is_file() for n in runner.source.numbers)
