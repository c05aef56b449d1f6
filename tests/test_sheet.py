"""Contact sheets: frames spread over the range, source over each stylized sequence, one PNG."""

from __future__ import annotations

import numpy as np
import pytest

from vst_node.errors import InputError
from vst_node.faces.cli import main
from vst_node.faces.sheet import contact_sheet, pick_frames
from vst_node.io.image_io import read_frame
from vst_node.io.sequence import SequencePattern

from .conftest import TINY


def test_pick_frames_spreads_over_the_range():
    assert pick_frames(range(1, 11), 4) == [1, 4, 7, 10]
    assert pick_frames([5, 6], 4) == [5, 6]
    assert pick_frames(range(1, 11), 1) == [1]
    with pytest.raises(ValueError):
        pick_frames([], 2)


def test_render_writes_a_contact_sheet_and_sheet_compares_looks(tiny_sequence, tmp_path, capsys):
    out = tmp_path / "a" / "s.####.exr"
    sets = [arg for item in TINY for arg in ("--set", item)]
    sheet = tmp_path / "sheet.png"
    assert (
        main(["render", tiny_sequence, "-o", str(out), *sets, "--no-cache", "--contact-sheet", str(sheet)])
        == 0
    )
    image = read_frame(sheet)
    # 4 frames of 48x32 at the default 320 px tile width: 2 rows of (label + 213 px) by 4 x 320 px.
    assert image.rgba.shape[:2] == (2 * (18 + 213), 4 * 320)
    rows = image.rgba[..., :3]
    assert not np.allclose(rows[18:231], rows[249:462])  # the stylized row is not the source
    other = tmp_path / "b" / "s.####.exr"
    assert (
        main(["render", tiny_sequence, "-o", str(other), *sets, "--no-cache", "--set", "weights.style=10"])
        == 0
    )
    compare = tmp_path / "compare.png"
    capsys.readouterr()
    code = main(
        ["sheet", tiny_sequence, str(out), str(other), "-o", str(compare), "--count", "2", "--width", "96"]
    )
    assert code == 0 and "frames 1001, 1004" in capsys.readouterr().err
    assert read_frame(compare).rgba.shape[:2] == (3 * (18 + 64), 2 * 96)
    with pytest.raises(InputError, match="missing frame"):
        contact_sheet(
            SequencePattern.parse(tiny_sequence),
            [SequencePattern.parse(str(tmp_path / "c.####.exr"))],
            [1001, 1004],
            tmp_path / "x.png",
        )
