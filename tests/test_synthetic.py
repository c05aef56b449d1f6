"""The demo shot's ground truth must be exact, or every flow and consistency number built on it lies."""

from __future__ import annotations

import numpy as np
import OpenImageIO as oiio
import pytest

from vst_node.io.synthetic import (
    BACKGROUND_VELOCITY,
    OBJECT_VELOCITY,
    load_ground_truth,
    make_shot,
    write_shot,
)


@pytest.fixture(scope="module")
def shot():
    return make_shot(256, 256, n_frames=6, seed=0)


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    x0 = np.clip(np.floor(x).astype(int), 0, w - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, h - 2)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def warp_back(shot, i: int, flow: np.ndarray) -> np.ndarray:
    """Frame i+1 sampled at p + w(p): should reproduce frame i where p stays visible."""
    h, w = flow.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return bilinear(shot.frames[i + 1].astype(np.float64), x + flow[..., 0], y + flow[..., 1])


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel error relative to brightness, so HDR spots and dark moss count alike."""
    return (np.abs(a - b) / (np.abs(b) + 0.05))[..., :3].max(axis=-1)


def test_shapes_and_dtypes():
    small = make_shot(80, 48, n_frames=4, seed=3)  # non-square catches x/y mix-ups
    assert len(small.frames) == 4 and len(small.forward_flow) == 3 and len(small.occluded) == 3
    for frame in small.frames:
        assert frame.shape == (48, 80, 4) and frame.dtype == np.float32
        assert np.all(np.isfinite(frame)) and frame[..., :3].min() > 0
        assert np.all(frame[..., 3] == 1.0)
    for flow, occ in zip(small.forward_flow, small.occluded, strict=True):
        assert flow.shape == (48, 80, 2) and flow.dtype == np.float32
        assert occ.shape == (48, 80) and occ.dtype == bool


def test_deterministic_for_a_seed():
    a, b, c = make_shot(64, 64, 3, seed=7), make_shot(64, 64, 3, seed=7), make_shot(64, 64, 3, seed=8)
    for fa, fb in zip(a.frames, b.frames, strict=True):
        np.testing.assert_array_equal(fa, fb)
    for oa, ob in zip(a.occluded, b.occluded, strict=True):
        np.testing.assert_array_equal(oa, ob)
    assert not np.allclose(a.frames[0], c.frames[0])


def test_flow_is_sub_pixel_and_two_layered(shot):
    flow = shot.forward_flow[0].reshape(-1, 2)
    vectors = {tuple(v) for v in np.round(flow, 4)}
    expected = {tuple(np.round(np.float32(v), 4)) for v in (BACKGROUND_VELOCITY, OBJECT_VELOCITY)}
    assert vectors == expected
    assert np.all(np.abs(flow - np.round(flow)) > 0.1)  # nothing moves by whole pixels


def test_warping_with_ground_truth_reproduces_previous_frame(shot):
    for i, (flow, occ) in enumerate(zip(shot.forward_flow, shot.occluded, strict=True)):
        err = relative_error(warp_back(shot, i, flow), shot.frames[i])[~occ]
        # Only bilinear interpolation error of the texture is left: ~1 % on average, < 15 % anywhere.
        assert err.mean() < 0.02, (i, err.mean())
        assert err.max() < 0.15, (i, err.max())
        # A wrong (zero) flow must fail the same check by far: the test can tell good from bad flow.
        wrong = relative_error(warp_back(shot, i, np.zeros_like(flow)), shot.frames[i])[~occ]
        assert wrong.mean() > 10 * err.mean()


def test_occlusion_sits_at_the_objects_leading_edge(shot):
    flow, occ = shot.forward_flow[2], shot.occluded[2]
    h, w = occ.shape
    on_object = np.all(np.isclose(flow, np.float32(OBJECT_VELOCITY)), axis=-1)
    y, x = np.mgrid[0:h, 0:w]
    centre = np.array([x[on_object].mean(), y[on_object].mean()])
    relative = np.array(OBJECT_VELOCITY) - np.array(BACKGROUND_VELOCITY)
    inner = np.zeros_like(occ)
    inner[4:-4, 4:-4] = True  # away from pixels that leave the frame
    covered = occ & inner & ~on_object
    ahead = (x - centre[0]) * relative[0] + (y - centre[1]) * relative[1] > 0
    assert covered.sum() > 200
    assert (covered & ahead).sum() > 3 * (covered & ~ahead).sum()
    # Background pans right and up: the last column and first row leave the frame.
    assert occ[:, -1].all() and occ[0, :].all()
    assert not occ[h // 2 :, 0].any()  # ... the left edge stays visible below the object


def test_hdr_highlights_on_the_object(shot):
    frame = shot.frames[0]
    assert 4.0 < frame[..., :3].max() <= 8.5
    bright = frame[..., :3].max(axis=-1) > 1.0
    on_object = np.all(np.isclose(shot.forward_flow[0], np.float32(OBJECT_VELOCITY)), axis=-1)
    assert bright.any() and np.all(on_object[bright])


def test_write_and_load_round_trip(tmp_path):
    small = make_shot(64, 40, n_frames=3, seed=1)
    pattern = write_shot(small, tmp_path, name="demo", first_frame=1001)
    assert pattern == str(tmp_path / "demo.####.exr")
    assert sorted(p.name for p in tmp_path.glob("*.exr")) == [f"demo.{n}.exr" for n in (1001, 1002, 1003)]
    for i, frame in enumerate(small.frames):
        buf = oiio.ImageBuf(str(tmp_path / f"demo.{1001 + i}.exr"))
        spec = buf.spec()
        assert spec.format == oiio.TypeDesc("half")
        assert (spec.width, spec.height, tuple(spec.channelnames)) == (64, 40, ("R", "G", "B", "A"))
        assert spec.get_string_attribute("compression") == "zip"
        assert spec.get_string_attribute("oiio:ColorSpace") == "lin_rec709_scene"
        np.testing.assert_allclose(buf.get_pixels(oiio.FLOAT), frame, rtol=1e-3, atol=1e-4)
    flows, occluded, first = load_ground_truth(tmp_path, name="demo")
    assert first == 1001 and len(flows) == 2 and len(occluded) == 2
    for a, b in zip(flows, small.forward_flow, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(occluded, small.occluded, strict=True):
        np.testing.assert_array_equal(a, b)
