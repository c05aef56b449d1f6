"""Real OpenEXR reference files (../shared/data/exr) through the whole render path."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vst_node.faces.cli import main
from vst_node.io.image_io import read_frame

from .conftest import TINY

SMALL = [arg for item in (*TINY, "resolution.max_side=48") for arg in ("--set", item)]

FILES = [
    "DisplayWindow_t03.exr",  # display window smaller than the data window
    "DisplayWindow_t07.exr",  # negative display origin
    "DisplayWindow_t08.exr",  # data window offset inside the display window
    "Tiles_GoldenGate.exr",  # tiled
    "ScanLines_Carrots.exr",  # RGBA scanline
]


def two_frame_sequence(source, tmp_path):
    """The same reference image as frames 1 and 2 (links, the data is never copied)."""
    for frame in (1, 2):
        os.symlink(source, tmp_path / f"ref.{frame:04d}.exr")
    return str(tmp_path / "ref.####.exr")


@pytest.mark.parametrize("name", FILES)
def test_reference_file_renders_with_windows_and_metadata(shared_data, tmp_path, capsys, name):
    source = shared_data / "exr" / name
    pattern = two_frame_sequence(source, tmp_path)
    code = main(["render", pattern, "-o", str(tmp_path / "out" / "ref.####.exr"), *SMALL, "--no-cache"])
    assert code == 0, capsys.readouterr().err
    original = read_frame(source)
    result = read_frame(tmp_path / "out" / "ref.0002.exr")
    for attr in ("x", "y", "width", "height", "full_x", "full_y", "full_width", "full_height", "nchannels"):
        assert getattr(result.spec, attr) == getattr(original.spec, attr), attr
    assert result.spec.get_string_attribute("compression") == original.spec.get_string_attribute(
        "compression"
    )
    assert result.rgba.shape == original.rgba.shape
    assert np.isfinite(result.rgba).all()
    assert not np.allclose(result.rgba[..., :3], original.rgba[..., :3], atol=1e-3)  # it was stylized


def test_named_layer_of_a_multilayer_file(shared_data, tmp_path, capsys):
    source = shared_data / "exr" / "Beachball_singlepart.0001.exr"
    pattern = two_frame_sequence(source, tmp_path)
    code = main(
        [
            "render",
            pattern,
            "-o",
            str(tmp_path / "out" / "b.####.exr"),
            "--layer",
            "left",
            *SMALL,
            "--no-cache",
        ]
    )
    assert code == 0, capsys.readouterr().err
    original = read_frame(source, "left")
    result = read_frame(tmp_path / "out" / "b.0001.exr", "left")
    assert list(result.spec.channelnames) == list(original.spec.channelnames)  # every layer kept
    assert not np.allclose(result.rgba[..., :3], original.rgba[..., :3], atol=1e-3)
    # The other view's colour is carried unchanged.
    np.testing.assert_array_equal(read_frame(tmp_path / "out" / "b.0001.exr").rgba, read_frame(source).rgba)


def test_unknown_layer_lists_the_available_ones(shared_data, tmp_path, capsys):
    pattern = two_frame_sequence(shared_data / "exr" / "Beachball_singlepart.0001.exr", tmp_path)
    code = main(["render", pattern, "-o", str(tmp_path / "o.####.exr"), "--layer", "diffuse", *SMALL])
    err = capsys.readouterr().err
    assert code == 1
    assert "diffuse" in err and "left" in err
