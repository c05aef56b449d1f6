"""`vst-node render` end to end on tiny EXR sequences: outputs, errors, exit codes, resume, cache."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from vst_node.engine.node import FrameStats
from vst_node.faces.cli import main
from vst_node.faces.render import RenderJob, RenderReport, render_sequence
from vst_node.io.colour import LINEAR_SPACE
from vst_node.io.image_io import read_frame
from vst_node.io.sequence import SequencePattern
from vst_node.io.synthetic import make_shot, write_shot
from vst_node.settings import load_preset

from .conftest import TINY

SETS = [arg for item in TINY for arg in ("--set", item)]


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_exr(path: Path, pixels: np.ndarray, **attrs) -> None:
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], "half")
    spec.channelnames = ("R", "G", "B", "A")[: pixels.shape[2]]
    for key, value in attrs.items():
        if key == "data_origin":
            spec.x, spec.y = value
        elif key == "display":
            spec.full_x, spec.full_y, spec.full_width, spec.full_height = value
        else:
            spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    out.write_image(pixels.astype(np.float32))
    out.close()


def test_render_writes_every_frame_with_metadata(tiny_sequence, tmp_path, capsys):
    out = tmp_path / "out" / "styl.%04d.exr"
    code, _out, err = run(
        ["render", tiny_sequence, "-o", out, *SETS, "--no-cache", "--device", "cpu"], capsys
    )
    assert code == 0, err
    for frame in range(1001, 1005):
        assert f"frame {frame} (" in err  # plain progress lines when not on a terminal
        image = read_frame(tmp_path / "out" / f"styl.{frame:04d}.exr")
        assert image.rgba.shape == (32, 48, 4)
        assert image.spec.format == oiio.TypeDesc("half")
        assert image.spec.get_string_attribute("vst:preset") == "default"
        assert "Rec.709" in image.spec.get_string_attribute("vst:network_colorspace")
        assert image.spec.get_string_attribute("compression") == "zip"
    assert not [p for p in (tmp_path / "out").iterdir() if "tmp" in p.name]


def test_output_folder_and_frame_subset(tiny_sequence, tmp_path, capsys):
    code, _, err = run(
        [
            "render",
            tiny_sequence,
            "-o",
            f"{tmp_path}/folder/",
            "--frames",
            "1001-1003x2",
            *SETS,
            "--no-cache",
        ],
        capsys,
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == ["shot.1001.exr", "shot.1003.exr"]


def test_missing_frames_are_named_before_any_work(tiny_sequence, tmp_path, capsys):
    Path(tiny_sequence.replace("####", "1002")).unlink()
    Path(tiny_sequence.replace("####", "1003")).unlink()
    code, _, err = run(
        ["render", tiny_sequence, "-o", tmp_path / "o" / "x.####.exr", "--frames", "1001-1004", *SETS], capsys
    )
    assert code == 1
    assert "1002-1003" in err and "shot.####.exr" in err
    assert not (tmp_path / "o").exists()


def test_unreadable_frame_is_named(tiny_sequence, tmp_path, capsys):
    Path(tiny_sequence.replace("####", "1002")).write_bytes(b"not an exr at all")
    code, _, err = run(["render", tiny_sequence, "-o", tmp_path / "o" / "x.####.exr", *SETS], capsys)
    assert code == 1
    assert "frame 1002" in err and "shot.1002.exr" in err


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--set", "weights.style"], "KEY=VALUE"),
        (["--set", "=5"], "KEY=VALUE"),
        (["--set", "weights..style=5"], "KEY=VALUE"),
        (["--frames", "5-1"], "--frames"),
        (["--device", "tpu"], "--device"),
        (["--resume", "--bogus"], "--bogus"),
    ],
)
def test_argument_errors_exit_2(tiny_sequence, tmp_path, capsys, args, needle):
    with pytest.raises(SystemExit) as exc:
        main(["render", tiny_sequence, "-o", str(tmp_path / "o.####.exr"), *args])
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["sheet", "{seq}", "{seq}", "-o", "{tmp}/s.png"],
        ["farm", "plan", "{seq}", "-o", "{tmp}/o.####.exr", "--json", "{tmp}/p.json"],
    ],
)
def test_bad_frames_syntax_exits_2_in_every_command(tiny_sequence, tmp_path, capsys, command):
    args = [a.format(seq=tiny_sequence, tmp=tmp_path) for a in command]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--frames", "1-x"])
    assert exc.value.code == 2
    assert "--frames" in capsys.readouterr().err


def test_preset_typo_names_key_and_suggestion(tiny_sequence, tmp_path, capsys):
    code, _, err = run(
        ["render", tiny_sequence, "-o", tmp_path / "o.####.exr", "--set", "wieghts.style=1"], capsys
    )
    assert code == 1
    assert "wieghts" in err and "weights" in err


def test_refuses_to_overwrite_the_source(tiny_sequence, capsys):
    code, _, err = run(["render", tiny_sequence, "-o", tiny_sequence, *SETS], capsys)
    assert code == 1 and "overwrite" in err


def test_resume_skips_finished_frames_and_rebuilds_state(tiny_sequence, tmp_path, capsys):
    out = tmp_path / "out" / "shot.####.exr"
    args = ["render", tiny_sequence, "-o", out, *SETS, "--cache-dir", tmp_path / "cache"]
    assert run(args, capsys)[0] == 0
    finished = {f: (tmp_path / "out" / f"shot.{f}.exr") for f in range(1001, 1005)}
    stamps = {f: p.stat().st_mtime_ns for f, p in finished.items()}
    reference = read_frame(finished[1004]).rgba
    finished[1004].unlink()
    code, _, err = run([*args, "--resume"], capsys)
    assert code == 0, err
    assert "frame 1001 (1/4) skipped" in err
    assert "1 written, 3 skipped" in err
    for f in (1001, 1002, 1003):
        assert finished[f].stat().st_mtime_ns == stamps[f]  # untouched
    # Frame 1004 continued from the finished 1003 read back from disk, not from scratch.
    assert np.abs(read_frame(finished[1004]).rgba - reference).mean() < 0.02


def test_resume_of_a_layer_reads_that_layer_back(tiny_shot, tmp_path, capsys):
    """Files with only a `diffuse` layer: resuming without saved state reads the finished layer back."""
    for i, frame in enumerate(tiny_shot.frames[:3]):
        pixels = np.ascontiguousarray(frame[..., :3], dtype=np.float32)
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], 3, "half")
        spec.channelnames = ("diffuse.R", "diffuse.G", "diffuse.B")
        path = tmp_path / "in" / f"l.{i + 1:04d}.exr"
        path.parent.mkdir(exist_ok=True)
        out = oiio.ImageOutput.create(str(path))
        assert out.open(str(path), spec) and out.write_image(pixels) and out.close()
    out = tmp_path / "out" / "l.####.exr"
    args = ["render", tmp_path / "in" / "l.####.exr", "-o", out, "--layer", "diffuse", *SETS, "--no-cache"]
    assert run(args, capsys)[0] == 0
    (tmp_path / "out" / "l.0003.exr").unlink()
    code, _, err = run([*args, "--resume"], capsys)
    assert code == 0, err
    assert "continuing from the written frame" in err
    assert list(read_frame(tmp_path / "out" / "l.0003.exr", "diffuse").spec.channelnames) == [
        "diffuse.R", "diffuse.G", "diffuse.B"
    ]  # fmt: skip


@pytest.mark.parametrize("spelling", ["in/shot.%04d.exr", "in/./shot.@@@@.exr", "in/"])
def test_an_output_that_is_the_input_spelled_otherwise_is_refused(tiny_sequence, tmp_path, capsys, spelling):
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "in").glob("*.exr")}
    code, _, err = run(["render", tiny_sequence, "-o", f"{tmp_path}/{spelling}", *SETS], capsys)
    assert code == 1 and "overwrite" in err, err
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "in").glob("*.exr")} == before


def test_32_bit_integer_channels_are_named_in_a_warning(tiny_shot, tmp_path, capsys):
    """An ID AOV beside the colour: carried through float32 (OpenImageIO), so the render says so."""
    for i, frame in enumerate(tiny_shot.frames[:2]):
        h, w = frame.shape[:2]
        spec = oiio.ImageSpec(w, h, 4, "half")
        spec.channelnames = ("R", "G", "B", "ID")
        spec.channelformats = (oiio.TypeHalf,) * 3 + (oiio.TypeUInt,)
        path = tmp_path / "in" / f"i.{i + 1:04d}.exr"
        path.parent.mkdir(exist_ok=True)
        out = oiio.ImageOutput.create(str(path))
        pixels = np.concatenate([frame[..., :3], np.full((h, w, 1), 0.25)], axis=-1).astype(np.float32)
        assert out.open(str(path), spec) and out.write_image(pixels) and out.close()
    source = tmp_path / "in" / "i.####.exr"
    code, _, err = run(["render", source, "-o", tmp_path / "o" / "i.####.exr", *SETS], capsys)
    assert code == 0, err
    assert "32-bit integer channels (ID)" in err
    code, _, err = run(["render", source, "-o", tmp_path / "p" / "i.####.png", *SETS], capsys)
    assert code == 0 and "integer channels" not in err  # a PNG carries no other channels


def test_second_render_with_other_style_weights_computes_no_flow(tiny_sequence, tmp_path):
    source = SequencePattern.parse(tiny_sequence)

    def job(style_weight: str, out: str) -> RenderJob:
        preset = load_preset("default", [*TINY, f"weights.style={style_weight}"])
        return RenderJob(
            source=source,
            output=SequencePattern.parse(str(tmp_path / out / "s.####.exr")),
            preset=preset,
            device="cpu",
            cache_dir=tmp_path / "cache",
        )

    first = render_sequence(job("100", "a"), progress=_quiet(4))
    second = render_sequence(job("300", "b"), progress=_quiet(4))
    assert first.flows_computed == 3
    assert second.flows_computed == 0
    a = read_frame(tmp_path / "a" / "s.1004.exr").rgba
    b = read_frame(tmp_path / "b" / "s.1004.exr").rgba
    assert not np.array_equal(a, b)


def _quiet(n):
    from vst_node.faces.progress import Progress

    return Progress(n, stream=open(os.devnull, "w"))


def test_failed_frame_gives_nonzero_exit_and_keeps_earlier_frames(
    tiny_sequence, tmp_path, capsys, monkeypatch
):
    import vst_node.faces.render as render_module

    real = render_module.read_frame

    def flaky(path, layer=None):
        if "1004" in str(path):  # after the first frame's two-frame run-up (1002, 1003), which reads ahead
            from vst_node.errors import InputError

            raise InputError(f"{path}: simulated read failure")
        return real(path, layer)

    monkeypatch.setattr(render_module, "read_frame", flaky)
    code, _, err = run(
        ["render", tiny_sequence, "-o", tmp_path / "o" / "x.####.exr", *SETS, "--set", "init.run_up=2",
         "--no-cache"], capsys,  # a run-up short enough that frame 1004 is first read for itself
    )  # fmt: skip
    assert code == 1
    assert "frame 1004" in err and "simulated" in err
    assert (tmp_path / "o" / "x.1003.exr").exists()
    assert not (tmp_path / "o" / "x.1004.exr").exists()


def test_windows_alpha_and_highlights_carried(tmp_path, capsys):
    """Data window inside a larger display window, alpha, values above 1: all survive the render."""
    rng = np.random.default_rng(0)
    for f in (1, 2):
        px = np.concatenate([rng.uniform(0, 1, (24, 40, 3)), np.ones((24, 40, 1))], axis=2)
        px[:, :8, 3] = 0.0  # transparent strip with colour kept (unpremultiplied as is)
        px[5, 20, :3] = 12.0
        write_exr(tmp_path / f"p.{f:04d}.exr", px, data_origin=(10, 6), display=(0, 0, 64, 40))
    code, _, err = run(
        ["render", tmp_path / "p.####.exr", "-o", tmp_path / "o" / "p.####.exr", *SETS, "--no-cache"], capsys
    )
    assert code == 0, err
    spec = read_frame(tmp_path / "o" / "p.0002.exr").spec
    assert (spec.x, spec.y, spec.width, spec.height) == (10, 6, 40, 24)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 64, 40)
    out = read_frame(tmp_path / "o" / "p.0002.exr").rgba
    assert out[6 + 5, 10 + 20, :3].min() > 4.0  # the highlight is not clamped
    np.testing.assert_array_equal(out[6:30, 10:18, 3], 0.0)  # alpha kept
    assert np.abs(out[6:30, 10:18, :3]).max() > 0  # colour at alpha 0 not zeroed


def test_png_input_renders_to_exr(tmp_path, capsys):
    for f in (1, 2):
        img = (np.random.default_rng(f).uniform(0, 255, (32, 32, 3))).astype(np.uint8)
        out = oiio.ImageOutput.create(str(tmp_path / f"c.{f}.png"))
        out.open(str(tmp_path / f"c.{f}.png"), oiio.ImageSpec(32, 32, 3, oiio.UINT8))
        out.write_image(img)
        out.close()
    code, _, err = run(
        ["render", tmp_path / "c.#.png", "-o", tmp_path / "o" / "c.####.exr", *SETS, "--no-cache"], capsys
    )
    assert code == 0, err
    spec = read_frame(tmp_path / "o" / "c.0002.exr").spec
    assert spec.get_string_attribute("oiio:ColorSpace") == LINEAR_SPACE
    # At strength 0 the EXR holds the PNG's sRGB values decoded to linear light: once, not twice or never.
    code, _, err = run(
        ["render", tmp_path / "c.#.png", "-o", tmp_path / "id" / "c.####.exr", *SETS, "--set", "strength=0",
         "--no-cache"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    srgb = np.random.default_rng(2).uniform(0, 255, (32, 32, 3)).astype(np.uint8) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    out = read_frame(tmp_path / "id" / "c.0002.exr").rgba[..., :3]
    np.testing.assert_allclose(out, linear, atol=2e-3)


def test_presets_commands(capsys, tmp_path):
    code, out, _ = run(["presets", "list"], capsys)
    assert code == 0 and "default" in out and "mosaic" in out
    code, out, _ = run(["presets", "show", "ink", "--set", "weights.style=7"], capsys)
    assert code == 0 and "style: 7" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: default\nweights:\n  style: lots\n")
    code, out, err = run(["presets", "validate", bad], capsys)
    assert code == 1 and "weights.style" in err and str(bad) in err


def test_resume_warns_about_frames_made_with_other_settings(tiny_sequence, tmp_path, capsys):
    out = tmp_path / "out" / "shot.####.exr"
    assert (
        run(["render", tiny_sequence, "-o", out, *SETS, "--no-cache", "--frames", "1001-1002"], capsys)[0]
        == 0
    )
    code, _, err = run(
        [
            "render",
            tiny_sequence,
            "-o",
            out,
            *SETS,
            "--no-cache",
            "--frames",
            "1001-1003",
            "--resume",
            "--set",
            "weights.style=5",
        ],
        capsys,
    )
    assert code == 0
    assert "shot.1001.exr was rendered with other preset settings" in err
    assert "1 written, 2 skipped" in err


def test_session_steps_one_frame_at_a_time_and_stops_cleanly(tiny_sequence, tmp_path):
    from vst_node.faces.render import RenderSession

    job = RenderJob(
        source=SequencePattern.parse(tiny_sequence),
        output=SequencePattern.parse(str(tmp_path / "o" / "s.####.exr")),
        preset=load_preset("default", TINY),
        device="cpu",
    )
    session = RenderSession(job, progress=_quiet(4))
    steps = session.steps()
    assert session.total_steps == 4
    assert next(steps) == 1001 and next(steps) == 1002
    steps.close()  # a host cancelling between frames (Blender: Esc between timer ticks)
    assert session.report.written == [1001, 1002]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["s.1001.exr", "s.1002.exr"]
    assert session.node.flows._closed  # the flow worker was stopped


def test_empty_pixels_stay_empty_and_emissive_ones_are_stylized(tmp_path):
    """Premultiplied EXR: alpha 0 and colour 0 is empty and must stay 0 (stylized colour there would
    add light); alpha 0 with colour is emissive light the viewer shows, stylized like the rest."""
    from vst_node.io.synthetic import make_shot

    shot = make_shot(width=48, height=32, n_frames=2, seed=3)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, frame in enumerate(shot.frames):
        rgba = np.concatenate([frame[..., :3], np.ones_like(frame[..., :1])], axis=-1).astype(np.float32)
        rgba[:8, :8] = 0.0  # empty
        rgba[8:16, :8, :3] = (2.0, 0.5, 0.1)  # emissive: colour without coverage
        rgba[8:16, :8, 3] = 0.0
        out = oiio.ImageOutput.create("exr")
        out.open(str(folder / f"a.{1001 + i}.exr"), oiio.ImageSpec(48, 32, 4, oiio.FLOAT))
        out.write_image(rgba)
        out.close()
    job = RenderJob(
        source=SequencePattern.parse(str(folder / "a.####.exr")),
        output=SequencePattern.parse(str(tmp_path / "o" / "a.####.exr")),
        preset=load_preset("default", TINY),
        device="cpu",
    )
    assert render_sequence(job, progress=_quiet(2)).ok
    out = read_frame(tmp_path / "o" / "a.1002.exr").rgba
    np.testing.assert_array_equal(out[:8, :8], 0.0)
    assert not np.allclose(out[8:16, :8, :3], np.broadcast_to([2.0, 0.5, 0.1], (8, 8, 3)), rtol=1e-2)
    np.testing.assert_array_equal(out[8:16, :8, 3], 0.0)
    assert np.abs(out[16:, :, :3] - read_frame(folder / "a.1002.exr").rgba[16:, :, :3]).max() > 0.05


def test_report_collects_reliability_per_frame_from_the_latest_pass():
    report = RenderReport(frames=[1, 2, 3])
    report.record(FrameStats(frame=1, iterations=8))  # first frame: no neighbour, nothing to track
    report.record(FrameStats(frame=2, iterations=4, reliable=0.3, pass_index=0))
    report.record(FrameStats(frame=2, iterations=4, reliable=0.9, pass_index=1))
    report.record(FrameStats(frame=3, iterations=4, reliable=0.2))
    assert report.iterations == {1: 8, 2: 8, 3: 4}
    assert report.reliable == {2: 0.9, 3: 0.2}
    assert report.poorly_tracked() == {3: 0.2}
    assert report.poorly_tracked(below=0.95) == {2: 0.9, 3: 0.2}


def test_a_cut_is_named_as_a_frame_the_flow_cannot_track(tiny_shot, tmp_path, capsys):
    other = make_shot(width=48, height=32, n_frames=4, seed=7)
    cut = replace(tiny_shot, frames=[*tiny_shot.frames[:2], *other.frames[2:]])  # a cut before 1003
    pattern = write_shot(cut, tmp_path / "in")
    code, _, err = run(
        ["render", pattern, "-o", tmp_path / "o" / "x.####.exr", *SETS, "--no-cache", "--device", "cpu"],
        capsys,
    )
    assert code == 0, err
    lines = {f: next(line for line in err.splitlines() if f"frame {f} (" in line) for f in range(1001, 1005)}
    # the first frame continues from its run-up (1004 -> 1003 -> 1002 -> 1001; 1002 gave way at the cut)
    assert "with a 3-frame run-up, flow reliable on" in lines[1001]
    shares = {f: int(re.search(r"flow reliable on (\d+)%", lines[f]).group(1)) for f in (1002, 1003, 1004)}
    assert shares[1003] < 50 <= min(shares[1002], shares[1004]), shares
    # The give-way: the cut is rendered as a frame on its own, the tracked frames lean fully.
    assert lines[1003].endswith("leaning 0% on the previous frame"), lines[1003]
    assert "leaning" not in lines[1002] and "leaning" not in lines[1004]
    warning = next(line for line in err.splitlines() if "warning: the flow is reliable" in line)
    assert "frame(s) 1003 " in warning and f"least: {shares[1003]}% on frame 1003" in warning


def test_no_reliability_warning_on_a_shot_the_flow_follows(tiny_sequence, tmp_path, capsys):
    code, _, err = run(
        ["render", tiny_sequence, "-o", tmp_path / "o" / "x.####.exr", *SETS, "--no-cache"], capsys
    )
    assert code == 0, err
    assert "flow reliable on" in err and "vst-node: warning" not in err


def test_setup_mistakes_are_messages_not_tracebacks(tiny_sequence, tmp_path, capsys):
    """A cache folder that cannot be made, a contact sheet that is no PNG (caught before rendering),
    a demo too small to measure: each a one-line error with the right exit code."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run(["render", tiny_sequence, "-o", tmp_path / "o" / "x.####.exr", *SETS,
                        "--cache-dir", blocker / "cache"], capsys)  # fmt: skip
    assert code == 1 and "cache folder" in err and "Traceback" not in err
    sheet = ["--contact-sheet", "s.jpg"]
    code, _, err = run(["render", tiny_sequence, "-o", tmp_path / "p" / "x.####.exr", *sheet], capsys)
    assert code == 2 and "PNG" in err
    assert not (tmp_path / "p").exists()  # nothing was rendered
    for args in (["--size", "8x8"], ["--frames", "1"]):
        code, _, err = run(["demo", "-o", tmp_path / "demo", *args], capsys)
        assert code == 2 and args[0] in err
    assert not (tmp_path / "demo").exists()


def test_frames_on_a_single_image_is_an_error_not_ignored(tmp_path, capsys):
    from vst_node.io.image_io import write_image

    still = tmp_path / "still.exr"
    write_image(still, np.full((24, 32, 3), 0.3, np.float32), colorspace="lin_rec709_scene")
    code, _, err = run(["render", still, "-o", tmp_path / "o.exr", "--frames", "1-3", *SETS], capsys)
    assert code == 1 and "single image" in err


def test_passes_that_never_reach_the_temporal_loss_are_named(tiny_sequence, tmp_path, capsys):
    out = tmp_path / "o" / "x.####.exr"
    args = ["render", tiny_sequence, "-o", out, *SETS, "--no-cache", "--passes", "2"]
    code, _, err = run([*args, "--frames", "1001-1002"], capsys)
    assert code == 0 and "no pass uses it" in err
    code, _, err = run([*args, "--frames", "1001-1002", "--set", "multipass.temporal_from=1"], capsys)
    assert code == 0 and "no pass uses it" not in err
