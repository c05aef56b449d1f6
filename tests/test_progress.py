import io

from vst_node.faces.progress import Progress


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(3, stream=stream, tty=False)
    progress.frame_done(1001, "12 it, 0.5s")
    progress.frame_done(1002, skipped=True)
    assert stream.getvalue().splitlines() == [
        "frame 1001 (1/3) 12 it, 0.5s",
        "frame 1002 (2/3) skipped (exists)",
    ]


def test_bar_on_a_terminal():
    stream = io.StringIO()
    progress = Progress(2, stream=stream, tty=True)
    progress.frame_done(1, "3 it, 1.0s")
    assert "1/2" in stream.getvalue() and "frame 1 3 it, 1.0s" in stream.getvalue()
    progress.iterations(2, 50, 200, 1234.5)
    assert "50/200" in stream.getvalue() and "loss 1234" in stream.getvalue()
    progress.frame_done(2)
    assert "2/2" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_iterations_inside_a_frame_as_plain_lines():
    stream = io.StringIO()
    progress = Progress(1, stream=stream, tty=False)
    progress.iterations(1001, 50, 400, 2.5e5)
    assert stream.getvalue() == "frame 1001: 50/400 it, loss 2.5e+05\n"


def test_render_reports_iterations_inside_each_frame(tiny_sequence, tmp_path):
    from vst_node.faces.render import RenderJob, render_sequence
    from vst_node.io.sequence import SequencePattern
    from vst_node.settings import load_preset

    preset = load_preset("default", ["optimiser.iterations_first=4", "optimiser.iterations=4",
                                     "optimiser.tolerance_window=2"])  # fmt: skip
    stream = io.StringIO()
    job = RenderJob(SequencePattern.parse(tiny_sequence), SequencePattern.parse(str(tmp_path / "o.####.exr")),
                    preset, frame_spec="1001-1002")  # fmt: skip
    render_sequence(job, Progress(2, stream=stream, tty=False))
    lines = stream.getvalue().splitlines()
    # the first frame's run-up (frame 1002 rendered for it) reports as frame 1001, then frame 1001 itself
    assert [line.split(" it")[0] for line in lines[:4]] == ["frame 1001: 2/4", "frame 1001: 4/4"] * 2
    assert lines[0].startswith("frame 1001: 2/4 it, loss ")
    assert lines[4].startswith("frame 1001 (1/2)")


def test_terminal_detection_follows_the_stream():
    assert Progress(1, stream=io.StringIO()).tty is False
