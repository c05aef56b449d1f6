"""Colour encodings: interop-ID resolution, unclamped round trips, alpha handling, file defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from vst_node.errors import InputError
from vst_node.io.colour import (
    NETWORK_SPACE,
    from_network,
    input_colorspace,
    output_colorspace,
    resolve_colorspace,
    to_network,
    transform_attributes,
)
from vst_node.io.image_io import read_frame


def srgb_encode(x: np.ndarray) -> np.ndarray:
    """The IEC sRGB curve as OCIO extends it: the linear toe continues below 0, the power law above 1."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.abs(x) ** (1 / 2.4) - 0.055)


def write_image(path: Path, pixels: np.ndarray, pixel_type: str, colorspace: str | None = None) -> Path:
    buf = oiio.ImageBuf(np.ascontiguousarray(pixels, dtype=np.float32))
    if colorspace is not None:
        buf.specmod().attribute("oiio:ColorSpace", colorspace)
    assert buf.write(str(path), pixel_type), buf.geterror()
    return path


def test_interop_ids_resolve_to_config_names() -> None:
    linear = resolve_colorspace("lin_rec709_scene")
    assert linear != resolve_colorspace("ACEScg")
    assert "709" in linear
    assert "sRGB" in resolve_colorspace("srgb_rec709_scene")
    assert resolve_colorspace("lin_ap1_scene") == resolve_colorspace("ACEScg")
    assert resolve_colorspace("lin_ap0_scene") == resolve_colorspace("ACES2065-1")
    for interop in ("srgb_ap1_scene", "g22_rec709_scene", "ocio:acescct_ap1_scene"):
        name = resolve_colorspace(interop)
        assert name in oiio.ColorConfig().getColorSpaceNames()


def test_config_names_and_aliases_pass_through() -> None:
    linear = resolve_colorspace("lin_rec709_scene")
    assert resolve_colorspace(linear) == linear
    assert resolve_colorspace(linear.upper()) == linear
    assert resolve_colorspace("lin_srgb") == linear


def test_scene_linear_role_is_refused() -> None:
    scene_linear_space = oiio.ColorConfig().getColorSpaceNameByRole("scene_linear")
    assert resolve_colorspace("lin_rec709_scene") != scene_linear_space
    with pytest.raises(InputError, match="scene_linear role"):
        resolve_colorspace("scene_linear")


def test_unknown_space_lists_alternatives() -> None:
    with pytest.raises(InputError) as info:
        resolve_colorspace("not_a_space")
    message = str(info.value)
    assert "'not_a_space'" in message
    assert "lin_rec709_scene" in message
    assert "srgb_rec709_scene" in message


def test_other_roles_are_named_as_roles() -> None:
    with pytest.raises(InputError, match="OCIO role"):
        resolve_colorspace("compositing_log")


def test_linear_018_encodes_to_srgb_0461() -> None:
    rgb, _ = to_network(np.full((1, 1, 4), [0.18, 0.18, 0.18, 1.0], np.float32), "lin_rec709_scene")
    assert rgb[0, 0] == pytest.approx([0.4614] * 3, abs=2e-4)


def test_known_values_match_the_srgb_curve_both_ways() -> None:
    linear = np.array([0.0, 0.001, 0.0031308, 0.05, 0.18, 0.5, 1.0, 4.0, 16.0, -0.01], np.float32)
    rgba = np.stack([linear, linear, linear, np.ones_like(linear)], -1)[None]
    encoded, _ = to_network(rgba, "lin_rec709_scene")
    # OCIO's toe slope is the exactly continuous 12.9232 rather than IEC's rounded 12.92.
    np.testing.assert_allclose(encoded[0, :, 1], srgb_encode(linear), rtol=3e-4, atol=1e-6)
    assert encoded[0, 6, 0] == pytest.approx(1.0, abs=1e-4)
    assert encoded[0, 7, 0] > 1.5  # HDR is not clamped to 1
    assert encoded[0, 9, 0] < 0  # nor are negatives clamped to 0


def test_round_trip_is_identity_including_hdr_negative_and_alpha() -> None:
    values = np.array([0.0, 0.18, 1.0, 4.0, 16.0, -0.01], np.float32)
    alphas = np.array([0.0, 0.5, 1.0], np.float32)
    straight = np.stack([values, values[::-1], np.roll(values, 2)], -1)  # (6, 3) colours
    rgba = np.zeros((len(alphas), len(values), 4), np.float32)
    for row, alpha in enumerate(alphas):
        # Stored premultiplied; the alpha-0 row still holds colour (emissive pixels).
        rgba[row, :, :3] = straight * (alpha if alpha > 0 else 1.0)
        rgba[row, :, 3] = alpha
    rgb, alpha = to_network(rgba, "lin_rec709_scene")
    assert rgb.dtype == np.float32 and rgb.shape == (3, 6, 3)
    assert alpha.shape == (3, 6, 1)
    back = from_network(rgb, alpha, "lin_rec709_scene")
    assert back.dtype == np.float32 and back.shape == rgba.shape
    np.testing.assert_allclose(back, rgba, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(back[0, :, :3], straight, rtol=2e-4, atol=1e-6)  # alpha 0 kept colour
    assert back.max() > 15.9 and back.min() < 0


def test_unpremultiply_sees_straight_colour() -> None:
    half_covered = np.array([[[0.09, 0.09, 0.09, 0.5]]], np.float32)  # straight colour 0.18
    rgb, alpha = to_network(half_covered, "lin_rec709_scene")
    assert rgb[0, 0, 0] == pytest.approx(0.4614, abs=2e-4)
    assert alpha[0, 0, 0] == 0.5


def test_round_trip_through_other_spaces() -> None:
    rng = np.random.default_rng(1)
    rgba = np.concatenate([rng.uniform(-0.05, 8.0, (4, 5, 3)), rng.uniform(0.2, 1.0, (4, 5, 1))], -1)
    rgba = rgba.astype(np.float32)
    for space in ("lin_ap1_scene", "lin_ap0_scene", "srgb_rec709_scene", "g22_rec709_scene"):
        rgb, alpha = to_network(rgba, space)
        np.testing.assert_allclose(from_network(rgb, alpha, space), rgba, rtol=5e-4, atol=1e-5)


def test_network_space_input_is_untouched() -> None:
    rgba = np.array([[[0.25, 1.5, -0.1, 1.0]]], np.float32)
    rgb, _ = to_network(rgba, NETWORK_SPACE)
    np.testing.assert_array_equal(rgb, rgba[..., :3])


def test_input_colorspace_by_file_type_tag_and_override(tmp_path: Path) -> None:
    pixels = np.full((2, 2, 3), 0.5, np.float32)
    exr = read_frame(write_image(tmp_path / "a.exr", pixels, "half"))
    png = read_frame(write_image(tmp_path / "a.png", pixels, "uint8"))
    tif16 = read_frame(write_image(tmp_path / "a.tif", pixels, "uint16"))
    tagged = read_frame(write_image(tmp_path / "b.exr", pixels, "half", "lin_ap1_scene"))
    assert exr.colorspace is None
    assert input_colorspace(exr) == resolve_colorspace("lin_rec709_scene")
    assert input_colorspace(png) == resolve_colorspace("srgb_rec709_scene")
    assert input_colorspace(tif16) == resolve_colorspace("srgb_rec709_scene")
    assert input_colorspace(tagged) == resolve_colorspace("lin_ap1_scene")
    assert input_colorspace(tagged, "lin_rec709_scene") == resolve_colorspace("lin_rec709_scene")
    assert input_colorspace(png, "g22_rec709_scene") == resolve_colorspace("g22_rec709_scene")


def test_unresolvable_file_tag_names_the_file(tmp_path: Path) -> None:
    frame = read_frame(write_image(tmp_path / "odd.exr", np.zeros((2, 2, 3)), "half"))
    frame.colorspace = "scene_linear"
    with pytest.raises(InputError, match=r"odd\.exr.*scene_linear"):
        input_colorspace(frame)


def test_output_colorspace() -> None:
    assert output_colorspace(Path("out/x.0001.exr")) == resolve_colorspace("lin_rec709_scene")
    assert output_colorspace(Path("out/x.0001.PNG")) == resolve_colorspace("srgb_rec709_scene")
    assert output_colorspace(Path("x.jpg")) == resolve_colorspace("srgb_rec709_scene")
    assert output_colorspace(Path("x.tiff")) == resolve_colorspace("srgb_rec709_scene")
    with pytest.raises(InputError, match=r"x\.mov"):
        output_colorspace(Path("x.mov"))


def test_transform_attributes_record_the_path_and_tag_the_output() -> None:
    attributes = transform_attributes("lin_ap1_scene", "lin_rec709_scene")
    assert attributes["vst:input_colorspace"] == resolve_colorspace("lin_ap1_scene")
    assert attributes["vst:network_colorspace"] == resolve_colorspace(NETWORK_SPACE)
    assert attributes["vst:output_colorspace"] == resolve_colorspace("lin_rec709_scene")
    assert attributes["vst:ocio_config"]
    assert attributes["oiio:ColorSpace"] == "lin_rec709_scene"
    assert all(isinstance(value, str) for value in attributes.values())


def test_interop_ids_without_the_query_of_openimageio_3_1():
    """OpenImageIO 3.0 (Blender 5.0's bindings) has no get_color_interop_id: aliases give the same IDs."""
    from vst_node.io import colour

    config = colour._config()

    class Older:
        def __getattr__(self, name):
            if name == "get_color_interop_id":
                raise AttributeError(name)
            return getattr(config, name)

    older = Older()
    for name in ("lin_rec709_scene", "srgb_rec709_scene", "ACEScg", "lin_ap0_scene"):
        space = colour.resolve_colorspace(name)
        assert colour._interop_id(older, space) == colour._interop_id(config, space) != ""


@pytest.mark.parametrize(
    ("primaries", "space"),
    [
        ((0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767), "lin_ap1_scene"),  # ACEScg
        ((0.7347, 0.2653, 0.0, 1.0, 0.0, -0.077, 0.32168, 0.33767), "lin_ap0_scene"),  # ACES2065-1
        ((0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.329), "lin_rec709_scene"),
        ((0.6, 0.3, 0.3, 0.6, 0.2, 0.1, 0.3127, 0.329), None),  # primaries no known space has: refused
    ],
)
def test_an_untagged_exr_is_read_in_the_primaries_it_names(tmp_path: Path, primaries, space) -> None:
    spec = oiio.ImageSpec(4, 4, 3, "half")
    spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), primaries)
    path = tmp_path / "plate.exr"
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(np.full((4, 4, 3), 0.3, np.float32)) and out.close()
    frame = read_frame(path)
    if space is None:
        with pytest.raises(InputError, match=r"chromaticities .* match none"):
            input_colorspace(frame)
        assert input_colorspace(frame, "lin_ap1_scene")  # the explicit space is taken as given
    else:
        assert input_colorspace(frame) == resolve_colorspace(space)
