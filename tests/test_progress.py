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
    progress = Progress(2, stream=stream, tty=True, width=10)
    progress.frame_done(1)
    assert stream.getvalue().startswith("\r[#####-----] 1/2 frame 1")
    progress.frame_done(2)
    assert "[##########] 2/2" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_terminal_detection_follows_the_stream():
    assert Progress(1, stream=io.StringIO()).tty is False
