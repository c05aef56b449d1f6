"""Reading and writing frames: windows, layers, parts, pixel types, metadata and safe writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from vst_node.errors import InputError, RenderError
from vst_node.io.image_io import list_layers, probe_frame, read_frame, write_frame

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "exr"
REFERENCE_FILES = [
    "Beachball_singlepart.0001.exr",
    "DisplayWindow_t01.exr",
    "DisplayWindow_t03.exr",
    "DisplayWindow_t07.exr",
    "DisplayWindow_t08.exr",
    "ScanLines_Carrots.exr",
    "TestImages_stripes.exr",
    "Tiles_GoldenGate.exr",
]

AP1 = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)
REC709 = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.329)


def ramp(height: int, width: int, channels: int, seed: int = 0) -> np.ndarray:
    """Values in [0, 4) exact in half even after +2, *2 (so half files compare exactly)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1024, (height, width, channels)) / 256.0).astype(np.float32)


def make_spec(
    pixels: np.ndarray,
    names: Sequence[str] | None = None,
    pixel_type: str = "half",
    origin: tuple[int, int] = (0, 0),
    display: tuple[int, int, int, int] | None = None,
    tile: int = 0,
    compression: str | None = None,
    attributes: dict[str, object] | None = None,
) -> oiio.ImageSpec:
    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, pixel_type)
    spec.x, spec.y = origin
    if display is None:
        display = (origin[0], origin[1], width, height)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    if names is not None:
        spec.channelnames = tuple(names)
        spec.alpha_channel = list(names).index("A") if "A" in names else -1
    if tile:
        spec.tile_width = spec.tile_height = tile
    if compression:
        spec.attribute("compression", compression)
    for key, value in (attributes or {}).items():
        if isinstance(value, tuple):
            kind = "string" if isinstance(value[0], str) else "float"
            spec.attribute(key, oiio.TypeDesc(f"{kind}[{len(value)}]"), value)
        else:
            spec.attribute(key, value)
    return spec


def write_exr(path: Path, pixels: np.ndarray, **kwargs: object) -> Path:
    """Write one or several parts (pixels may be a list of (pixels, kwargs))."""
    spec = make_spec(pixels, **kwargs)  # type: ignore[arg-type]
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()
    return path


def write_parts(path: Path, parts: list[tuple[np.ndarray, dict[str, object]]]) -> Path:
    specs = [make_spec(pixels, **kwargs) for pixels, kwargs in parts]  # type: ignore[arg-type]
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), specs), out.geterror()
    for index, (spec, (pixels, _)) in enumerate(zip(specs, parts, strict=True)):
        if index:
            assert out.open(str(path), spec, "AppendSubimage"), out.geterror()
        assert out.write_image(pixels), out.geterror()
    out.close()
    return path


def raw(path: Path, subimage: int = 0) -> tuple[oiio.ImageSpec, np.ndarray]:
    """Every channel of one part's data window, straight from the file."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    assert inp.seek_subimage(subimage, 0)
    spec = oiio.ImageSpec(inp.spec())
    pixels = inp.read_image(subimage, 0, 0, spec.nchannels, oiio.FLOAT)
    inp.close()
    return spec, np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)


def windows(spec: oiio.ImageSpec) -> tuple[int, ...]:
    return (
        spec.x,
        spec.y,
        spec.width,
        spec.height,
        spec.full_x,
        spec.full_y,
        spec.full_width,
        spec.full_height,
    )


def siblings(path: Path) -> list[str]:
    return sorted(os.listdir(path.parent))


# ---------------------------------------------------------------- pixel types, channels, tiles


@pytest.mark.parametrize("pixel_type", ["half", "float"])
@pytest.mark.parametrize("channels", [3, 4])
def test_round_trip_types_and_channels(tmp_path: Path, pixel_type: str, channels: int) -> None:
    pixels = ramp(5, 7, channels)
    source = write_exr(tmp_path / "in.exr", pixels, pixel_type=pixel_type)
    frame = read_frame(source)
    assert frame.rgba.dtype == np.float32 and frame.rgba.shape == (5, 7, 4)
    np.testing.assert_array_equal(frame.rgba[..., :channels], pixels)
    assert frame.has_alpha == (channels == 4)
    if channels == 3:
        assert np.all(frame.rgba[..., 3] == 1.0)
    assert frame.layer is None and frame.colorspace is None
    assert frame.path == source

    new = frame.rgba.copy()
    new[..., :3] = ramp(5, 7, 3, seed=1)
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert spec.format == oiio.TypeDesc(pixel_type)
    assert spec.nchannels == channels
    np.testing.assert_array_equal(data, new[..., :channels])
    assert siblings(tmp_path / "out.exr") == ["in.exr", "out.exr"]


def test_tiled_source_stays_tiled(tmp_path: Path) -> None:
    pixels = ramp(40, 36, 4)
    frame = read_frame(write_exr(tmp_path / "tiled.exr", pixels, tile=16, compression="piz"))
    np.testing.assert_array_equal(frame.rgba, pixels)
    new = frame.rgba * 2
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert (spec.tile_width, spec.tile_height) == (16, 16)
    assert spec.get_string_attribute("compression") == "piz"
    np.testing.assert_array_equal(data, new)


def test_mixed_channel_types_are_kept(tmp_path: Path) -> None:
    pixels = ramp(3, 4, 5)
    spec = make_spec(pixels, names=["R", "G", "B", "A", "Z"])
    spec.channelformats = (oiio.TypeDesc("half"),) * 4 + (oiio.TypeDesc("float"),)
    out = oiio.ImageOutput.create(str(tmp_path / "in.exr"))
    assert out.open(str(tmp_path / "in.exr"), spec)
    out.write_image(pixels)
    out.close()
    frame = read_frame(tmp_path / "in.exr")
    write_frame(tmp_path / "out.exr", frame.rgba, frame)
    written, data = raw(tmp_path / "out.exr")
    assert [str(t) for t in written.channelformats] == ["half"] * 4 + ["float"]
    np.testing.assert_array_equal(data, pixels)


def test_grey_exr_reads_as_grey_and_writes_colour(tmp_path: Path) -> None:
    pixels = ramp(4, 4, 1)
    frame = read_frame(write_exr(tmp_path / "y.exr", pixels, names=["Y"]))
    for c in range(3):
        np.testing.assert_array_equal(frame.rgba[..., c], pixels[..., 0])
    new = frame.rgba.copy()
    new[..., 0] += 1
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert tuple(spec.channelnames) == ("R", "G", "B")
    np.testing.assert_array_equal(data, new[..., :3])


# ---------------------------------------------------------------- layers, views, parts


def layered(tmp_path: Path) -> tuple[Path, np.ndarray]:
    # Listed in the order OpenImageIO reads them back (plain channels, then layers alphabetically).
    names = ["R", "G", "B", "A", "Z", "N.x", "N.y", "diffuse.R", "diffuse.G", "diffuse.B", "diffuse.A"]
    pixels = ramp(4, 5, len(names))
    path = write_exr(tmp_path / "layers.exr", pixels, names=names)
    assert list(probe_frame(path).channelnames) == names
    return path, pixels


def test_layer_selects_prefixed_channels(tmp_path: Path) -> None:
    path, pixels = layered(tmp_path)
    assert list_layers(probe_frame(path)) == ["diffuse"]
    plain = read_frame(path)
    np.testing.assert_array_equal(plain.rgba, pixels[..., :4])
    diffuse = read_frame(path, "diffuse")
    assert diffuse.layer == "diffuse" and diffuse.has_alpha
    np.testing.assert_array_equal(diffuse.rgba, pixels[..., 7:])


def test_writing_a_layer_keeps_every_other_channel(tmp_path: Path) -> None:
    path, pixels = layered(tmp_path)
    frame = read_frame(path, "diffuse")
    new = frame.rgba + 0.5
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert tuple(spec.channelnames) == tuple(probe_frame(path).channelnames)
    np.testing.assert_array_equal(data[..., 7:], new)
    np.testing.assert_array_equal(data[..., :7], pixels[..., :7])


def test_missing_plain_rgb_lists_layers(tmp_path: Path) -> None:
    names = ["diffuse.R", "diffuse.G", "diffuse.B", "spec.R", "spec.G", "spec.B"]
    path = write_exr(tmp_path / "aovs.exr", ramp(2, 2, 6), names=names)
    with pytest.raises(
        InputError, match=r"aovs\.exr: no plain R,G,B channels; choose a layer: diffuse, spec"
    ):
        read_frame(path)


def test_unknown_layer_lists_layers(tmp_path: Path) -> None:
    path, _ = layered(tmp_path)
    with pytest.raises(InputError, match=r"layers\.exr: no layer 'specular'.*available layers: diffuse"):
        read_frame(path, "specular")
    with pytest.raises(InputError, match="'N'"):
        probe_frame(path, "N")  # N.x/N.y are not colour


def test_no_colour_channels_names_what_was_found(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "depth.exr", ramp(2, 2, 2), names=["Z", "mask.v"])
    with pytest.raises(InputError, match=r"depth\.exr: no colour channels .*found: Z, mask\.v"):
        read_frame(path)
    with pytest.raises(InputError, match="no colour channels"):
        probe_frame(path)


def test_multi_view_names_the_default_view(tmp_path: Path) -> None:
    names = [
        "R",
        "G",
        "B",
        "A",
        "diffuse.R",
        "diffuse.G",
        "diffuse.B",
        "left.R",
        "left.G",
        "left.B",
        "left.A",
    ]
    pixels = ramp(3, 3, len(names))
    path = write_exr(
        tmp_path / "stereo.exr", pixels, names=names, attributes={"multiView": ("right", "left")}
    )
    assert list(probe_frame(path).channelnames) == names
    assert list_layers(probe_frame(path)) == ["right", "diffuse", "left"]
    np.testing.assert_array_equal(read_frame(path, "right").rgba, pixels[..., :4])
    np.testing.assert_array_equal(read_frame(path, "left").rgba, pixels[..., 7:])
    np.testing.assert_array_equal(read_frame(path, "diffuse.right").rgba[..., :3], pixels[..., 4:7])
    frame = read_frame(path, "right")
    write_frame(tmp_path / "out.exr", frame.rgba * 0, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert spec.getattribute("multiView") == ("right", "left")
    assert np.all(data[..., :4] == 0)
    np.testing.assert_array_equal(data[..., 4:], pixels[..., 4:])


def test_multi_part_layer_in_another_part(tmp_path: Path) -> None:
    beauty, diffuse = ramp(3, 4, 4, seed=1), ramp(3, 4, 3, seed=2)
    path = write_parts(
        tmp_path / "parts.exr",
        [
            (beauty, {"attributes": {"oiio:subimagename": "beauty"}}),
            (
                diffuse,
                {
                    "names": ["diffuse.R", "diffuse.G", "diffuse.B"],
                    "pixel_type": "float",
                    "attributes": {"oiio:subimagename": "diff"},
                },
            ),
        ],
    )
    np.testing.assert_array_equal(read_frame(path).rgba, beauty)
    np.testing.assert_array_equal(read_frame(path, "beauty").rgba, beauty)  # a part's name
    frame = read_frame(path, "diffuse")
    assert frame.subimage == 1 and not frame.has_alpha
    np.testing.assert_array_equal(frame.rgba[..., :3], diffuse)
    new = frame.rgba + 1
    write_frame(tmp_path / "out.exr", new, frame, {"vst:test": "yes"})
    spec0, data0 = raw(tmp_path / "out.exr", 0)
    spec1, data1 = raw(tmp_path / "out.exr", 1)
    np.testing.assert_array_equal(data0, beauty)
    np.testing.assert_array_equal(data1, new[..., :3])
    assert spec1.format == oiio.TypeDesc("float")
    assert spec1.get_string_attribute("vst:test") == "yes"
    assert (spec0.get_string_attribute("name"), spec1.get_string_attribute("name")) == ("beauty", "diff")
    with pytest.raises(InputError, match="available layers: beauty, diffuse"):
        read_frame(path, "nope")


# ---------------------------------------------------------------- data and display windows


def test_overscan_with_negative_origin(tmp_path: Path) -> None:
    pixels = ramp(8, 10, 4)
    path = write_exr(tmp_path / "over.exr", pixels, origin=(-3, -2), display=(0, 0, 6, 5))
    frame = read_frame(path)
    assert frame.rgba.shape == (5, 6, 4)
    np.testing.assert_array_equal(frame.rgba, pixels[2:7, 3:9])
    new = frame.rgba + 1
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert windows(spec) == (-3, -2, 10, 8, 0, 0, 6, 5)
    np.testing.assert_array_equal(data[2:7, 3:9], new)
    expected_overscan = pixels.copy()
    expected_overscan[2:7, 3:9] = new
    np.testing.assert_array_equal(data, expected_overscan)  # outside the display: unchanged


def test_crop_data_window_inside_display(tmp_path: Path) -> None:
    pixels = ramp(2, 3, 3)
    path = write_exr(tmp_path / "crop.exr", pixels, origin=(2, 1), display=(0, 0, 6, 5))
    frame = read_frame(path)
    assert frame.rgba.shape == (5, 6, 4)
    np.testing.assert_array_equal(frame.rgba[1:3, 2:5, :3], pixels)
    assert np.all(frame.rgba[1:3, 2:5, 3] == 1)
    outside = np.ones((5, 6), bool)
    outside[1:3, 2:5] = False
    assert np.all(frame.rgba[outside] == 0)
    new = frame.rgba + 2
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert windows(spec) == (2, 1, 3, 2, 0, 0, 6, 5)
    np.testing.assert_array_equal(data, new[1:3, 2:5, :3])


def test_negative_display_origin_and_partial_overlap(tmp_path: Path) -> None:
    pixels = ramp(6, 6, 4)
    path = write_exr(tmp_path / "shift.exr", pixels, origin=(1, 2), display=(-4, -3, 8, 7))
    frame = read_frame(path)
    assert frame.rgba.shape == (7, 8, 4)
    # data x 1..6 meets display x -4..3 at 1..3; data y 2..7 meets display y -3..3 at 2..3
    np.testing.assert_array_equal(frame.rgba[5:7, 5:8], pixels[0:2, 0:3])
    assert frame.rgba[:5].sum() == 0 and frame.rgba[:, :5].sum() == 0
    new = frame.rgba * 0 - 1
    write_frame(tmp_path / "out.exr", new, frame)
    spec, data = raw(tmp_path / "out.exr")
    assert windows(spec) == (1, 2, 6, 6, -4, -3, 8, 7)
    expected = pixels.copy()
    expected[0:2, 0:3] = -1
    np.testing.assert_array_equal(data, expected)


def test_data_window_outside_display(tmp_path: Path) -> None:
    pixels = ramp(2, 2, 3)
    path = write_exr(tmp_path / "away.exr", pixels, origin=(50, 50), display=(0, 0, 4, 4))
    frame = read_frame(path)
    assert not frame.rgba.any()
    write_frame(tmp_path / "out.exr", frame.rgba + 1, frame)
    np.testing.assert_array_equal(raw(tmp_path / "out.exr")[1], pixels)


# ---------------------------------------------------------------- metadata


def test_metadata_and_compression_are_kept_and_extended(tmp_path: Path) -> None:
    attributes = {
        "Software": "Blender 4.2",
        "studio:shot": "sh010",
        "Copyright": "studio",
        "framesPerSecond": 24.0,
        "oiio:ColorSpace": "lin_ap1_scene",
        "chromaticities": AP1,
    }
    path = write_exr(tmp_path / "meta.exr", ramp(3, 3, 4), compression="dwaa", attributes=attributes)
    frame = read_frame(path)
    assert frame.colorspace == "lin_ap1_scene"
    write_frame(tmp_path / "kept.exr", frame.rgba, frame, {"vst:note": "stylized"})
    spec, _ = raw(tmp_path / "kept.exr")
    assert spec.get_string_attribute("compression") == "dwaa"
    assert spec.get_string_attribute("Software") == "Blender 4.2"
    assert spec.get_string_attribute("studio:shot") == "sh010"
    assert spec.get_string_attribute("Copyright") == "studio"
    assert spec.get_float_attribute("framesPerSecond") == 24.0
    assert spec.get_string_attribute("vst:note") == "stylized"
    assert spec.get_string_attribute("oiio:ColorSpace") == "lin_ap1_scene"
    assert spec.getattribute("chromaticities") == pytest.approx(AP1)
    assert spec.get_int_attribute("openexr:chunkCount", -7) in (-7, 1)  # not copied blindly

    write_frame(tmp_path / "retagged.exr", frame.rgba, frame, {"oiio:ColorSpace": "lin_rec709_scene"})
    spec, _ = raw(tmp_path / "retagged.exr")
    assert spec.get_string_attribute("oiio:ColorSpace") == "lin_rec709_scene"
    assert spec.get_string_attribute("colorInteropID") == "lin_rec709_scene"
    assert spec.getattribute("chromaticities") == pytest.approx(REC709)  # the new space's primaries


# ---------------------------------------------------------------- other formats


@pytest.mark.parametrize(("channels", "alpha"), [(1, False), (2, True), (3, False), (4, True)])
def test_png_reads_as_rgba(tmp_path: Path, channels: int, alpha: bool) -> None:
    pixels = (np.arange(4 * 3 * channels).reshape(4, 3, channels) % 255 / 255).astype(np.float32)
    if alpha:
        pixels[..., -1] = 1.0  # opaque, so premultiplication does not change the colour
    buf = oiio.ImageBuf(pixels)
    assert buf.write(str(tmp_path / "in.png"), "uint8")
    frame = read_frame(tmp_path / "in.png")
    assert frame.has_alpha == alpha
    assert frame.colorspace == "srgb_rec709_scene"
    colour = 1 if channels <= 2 else 3
    expected = np.repeat(pixels[..., :1], 3, -1) if colour == 1 else pixels[..., :3]
    np.testing.assert_allclose(frame.rgba[..., :3], expected, atol=1 / 510)
    assert np.all(frame.rgba[..., 3] == 1)


def test_png_source_written_as_exr_becomes_half(tmp_path: Path) -> None:
    pixels = np.full((3, 5, 3), 0.5, np.float32)
    assert oiio.ImageBuf(pixels).write(str(tmp_path / "in.png"), "uint8")
    frame = read_frame(tmp_path / "in.png")
    write_frame(tmp_path / "out.exr", frame.rgba * 3, frame, {"vst:note": "x"})
    spec, data = raw(tmp_path / "out.exr")
    assert spec.format == oiio.TypeDesc("half")
    assert (spec.width, spec.height, tuple(spec.channelnames)) == (5, 3, ("R", "G", "B"))
    assert spec.get_string_attribute("vst:note") == "x"
    assert not spec.get_string_attribute("oiio:ColorSpace")  # the PNG's sRGB tag would now lie
    np.testing.assert_allclose(data, frame.rgba[..., :3] * 3, rtol=1e-3)


@pytest.mark.parametrize(
    ("name", "alpha", "channels", "pixel_type"),
    [("o.png", True, 4, "uint16"), ("o.tif", False, 3, "uint16"), ("o.jpg", True, 3, "uint8")],
)
def test_exr_source_written_as_display_formats(
    tmp_path: Path, name: str, alpha: bool, channels: int, pixel_type: str
) -> None:
    pixels = np.linspace(0, 1, 4 * 6 * 4, dtype=np.float32).reshape(4, 6, 4)
    pixels[..., 3] = 1
    source = write_exr(
        tmp_path / "in.exr", pixels[..., : 4 if alpha else 3], origin=(1, 1), display=(0, 0, 8, 6)
    )
    frame = read_frame(source)
    write_frame(tmp_path / name, frame.rgba, frame)
    spec, data = raw(tmp_path / name)
    assert (spec.width, spec.height, spec.nchannels) == (8, 6, channels)
    assert spec.format == oiio.TypeDesc(pixel_type)
    tolerance = 0.03 if name.endswith("jpg") else 1 / 500
    np.testing.assert_allclose(data[1:5, 1:7, :3], pixels[..., :3], atol=tolerance)


def test_unsupported_output_extension(tmp_path: Path) -> None:
    frame = read_frame(write_exr(tmp_path / "in.exr", ramp(2, 2, 3)))
    with pytest.raises(InputError, match=r"out\.mov.*\.exr"):
        write_frame(tmp_path / "out.mov", frame.rgba, frame)


def test_wrong_pixel_shape_is_a_bug(tmp_path: Path) -> None:
    frame = read_frame(write_exr(tmp_path / "in.exr", ramp(2, 2, 3)))
    with pytest.raises(ValueError, match="display window"):
        write_frame(tmp_path / "out.exr", frame.rgba[:1], frame)


# ---------------------------------------------------------------- safe writes


def test_failed_write_leaves_old_frame_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = read_frame(write_exr(tmp_path / "in.exr", ramp(2, 2, 3)))
    target = tmp_path / "out.exr"
    target.write_bytes(b"previous frame")

    def crash(src: object, dst: object) -> None:
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(RenderError, match="disk vanished"):  # a failed frame, not a traceback
        write_frame(target, frame.rgba, frame)
    assert target.read_bytes() == b"previous frame"
    assert siblings(target) == ["in.exr", "out.exr"]


def test_write_replaces_in_place_and_creates_folders(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "in.exr", ramp(2, 2, 4))
    frame = read_frame(path)
    write_frame(path, frame.rgba + 1, frame)  # overwrite the source itself
    np.testing.assert_array_equal(read_frame(path).rgba, frame.rgba + 1)
    write_frame(tmp_path / "a" / "b" / "out.exr", frame.rgba, frame)
    assert siblings(tmp_path / "a" / "b" / "out.exr") == ["out.exr"]


def test_exr_source_gone_or_changed_before_write(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "in.exr", ramp(2, 2, 3))
    frame = read_frame(path)
    write_exr(path, ramp(3, 3, 3))  # re-rendered with another size meanwhile
    with pytest.raises(InputError, match=r"in\.exr changed since it was read"):
        write_frame(tmp_path / "out.exr", frame.rgba, frame)
    path.unlink()
    with pytest.raises(InputError, match=r"in\.exr: file does not exist"):
        write_frame(tmp_path / "out.exr", frame.rgba, frame)
    assert siblings(tmp_path / "out.exr") == []


# ---------------------------------------------------------------- bad media


def test_deep_exr_is_refused(tmp_path: Path) -> None:
    spec = oiio.ImageSpec(2, 2, 4, "float")
    spec.deep = True
    path = tmp_path / "deep.exr"
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    if not out.supports("deepdata"):
        pytest.skip("this OpenImageIO build cannot write deep EXR files")
    assert out.open(str(path), spec), out.geterror()
    deep = oiio.DeepData()
    deep.init(spec)
    for pixel in range(4):
        deep.set_samples(pixel, 1)
    assert out.write_deep_image(deep), out.geterror()
    out.close()
    with pytest.raises(InputError, match=r"deep\.exr is a deep EXR"):
        read_frame(path)
    with pytest.raises(InputError, match="deep EXR"):
        probe_frame(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "whole.exr", ramp(64, 64, 3), compression="zip")
    blob = path.read_bytes()
    cut = tmp_path / "cut.exr"
    cut.write_bytes(blob[: len(blob) // 2])
    probe_frame(cut)  # the header is intact
    with pytest.raises(InputError, match=r"cut\.exr: cannot read pixels: .+"):
        read_frame(cut)
    header_cut = tmp_path / "header.exr"
    header_cut.write_bytes(blob[:40])
    with pytest.raises(InputError, match=r"header\.exr: cannot read image: .*EXR"):
        read_frame(header_cut)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.exr: file does not exist"):
        read_frame(tmp_path / "nope.exr")
    with pytest.raises(InputError, match="does not exist"):
        probe_frame(tmp_path / "nope.exr")
    garbage = tmp_path / "junk.exr"
    garbage.write_bytes(b"not an image at all" * 10)
    with pytest.raises(InputError, match=r"junk\.exr: cannot read image"):
        read_frame(garbage)


def test_probe_returns_the_spec_without_pixels(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "p.exr", ramp(3, 4, 4), origin=(-1, 0), display=(0, 0, 2, 2))
    spec = probe_frame(path)
    assert windows(spec) == (-1, 0, 4, 3, 0, 0, 2, 2)
    assert isinstance(spec, oiio.ImageSpec)  # the header alone: no pixels were read into a Frame


# ---------------------------------------------------------------- reference images


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_files_round_trip(tmp_path: Path, name: str) -> None:
    if not DATA.is_dir():
        pytest.skip(f"reference EXRs not available ({DATA} is absent)")
    source = DATA / name
    frame = read_frame(source)
    original = frame.spec
    assert frame.rgba.shape == (original.full_height, original.full_width, 4)
    assert np.isfinite(frame.rgba).all()
    write_frame(tmp_path / name, frame.rgba, frame)
    spec, data = raw(tmp_path / name)
    assert windows(spec) == windows(original)
    assert tuple(spec.channelnames) == tuple(original.channelnames)
    assert spec.get_string_attribute("compression") == original.get_string_attribute("compression")
    np.testing.assert_array_equal(data, raw(source)[1])  # every channel, overscan included
    np.testing.assert_array_equal(read_frame(tmp_path / name).rgba, frame.rgba)


def test_reference_beachball_views(tmp_path: Path) -> None:
    if not DATA.is_dir():
        pytest.skip(f"reference EXRs not available ({DATA} is absent)")
    source = DATA / "Beachball_singlepart.0001.exr"
    assert list_layers(probe_frame(source)) == ["right", "left"]
    left = read_frame(source, "left")
    assert left.has_alpha and left.rgba.shape == (1556, 2048, 4)
    write_frame(tmp_path / "b.exr", left.rgba * 0.5, left)
    spec, data = raw(tmp_path / "b.exr")
    original = raw(source)[1]
    names = list(spec.channelnames)
    changed = [names.index(f"left.{c}") for c in "RGBA"]
    kept = [i for i in range(len(names)) if i not in changed]
    np.testing.assert_array_equal(data[..., kept], original[..., kept])
    halved = (left.rgba * 0.5).astype(np.float16).astype(np.float32)  # half subnormals round
    np.testing.assert_array_equal(read_frame(tmp_path / "b.exr", "left").rgba, halved)


def test_luminance_chroma_exr_is_refused_not_read_as_grey(tmp_path: Path) -> None:
    spec = oiio.ImageSpec(4, 4, 3, "half")
    spec.channelnames = ("Y", "RY", "BY")
    path = tmp_path / "yc.exr"
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(np.full((4, 4, 3), 0.3, np.float32)) and out.close()
    with pytest.raises(InputError, match="luminance-chroma"):
        read_frame(path)
    with pytest.raises(InputError, match="luminance-chroma"):
        probe_frame(path)
