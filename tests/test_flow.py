"""OpenCV flow wrappers: conventions (sign, units, layout), backends, settings, thread safety, .flo I/O."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from vst_node.engine.flow import compute_flow, flow_pair, to_gray_u8
from vst_node.io.flo import read_flo, write_flo
from vst_node.settings import DIS_PRESETS, FLOW_BACKENDS, FlowSettings

H, W = 96, 128
MARGIN = 12


def _texture(seed: int = 0) -> np.ndarray:
    """Smooth random texture larger than the frames so that crops can be shifted."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H + 2 * MARGIN, W + 2 * MARGIN)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 255).astype(np.uint8)


def _shifted_pair(dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """src, dst with src(p) = dst(p + (dx, dy)), i.e. the true flow is (dx, dy) everywhere."""
    big = _texture()
    src = big[MARGIN : MARGIN + H, MARGIN : MARGIN + W]
    dst = big[MARGIN - dy : MARGIN - dy + H, MARGIN - dx : MARGIN - dx + W]
    return np.ascontiguousarray(src), np.ascontiguousarray(dst)


ALL_SETTINGS = [FlowSettings("dis", p) for p in DIS_PRESETS] + [
    FlowSettings("deepflow"),
    FlowSettings("farneback"),
    FlowSettings("matched"),
    FlowSettings("auto"),
]


# -- to_gray_u8 -------------------------------------------------------------------------------


def test_to_gray_clips_and_rounds() -> None:
    rgb = np.zeros((2, 3, 3), np.float32)
    rgb[0, 0] = 0.5
    rgb[0, 1] = 7.0  # scene highlight above 1
    rgb[0, 2] = -1.0
    rgb[1, 0] = np.nan
    rgb[1, 1] = (1.0, 1.0, 1.0)
    gray = to_gray_u8(rgb)
    assert gray.shape == (2, 3) and gray.dtype == np.uint8
    assert gray[0, 0] == 128
    assert gray[0, 1] == 255 and gray[1, 1] == 255
    assert gray[0, 2] == 0 and gray[1, 0] == 0


def test_to_gray_weights_channels_as_luma() -> None:
    rgb = np.eye(3, dtype=np.float32)[None]  # pure red, green, blue
    red, green, blue = to_gray_u8(rgb)[0]
    assert green > red > blue


def test_to_gray_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="H, W, 3"):
        to_gray_u8(np.zeros((4, 4), np.float32))


# -- compute_flow -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: s.key())
def test_translation_sign_and_units(settings: FlowSettings) -> None:
    src, dst = _shifted_pair(3, -2)
    flow = compute_flow(src, dst, settings)
    assert flow.shape == (H, W, 2) and flow.dtype == np.float32 and flow.flags.c_contiguous
    inner = flow[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, axis=0), [3.0, -2.0], atol=0.25)


def test_flow_pair_is_forward_then_backward() -> None:
    src, dst = _shifted_pair(-2, 1)
    forward, backward = flow_pair(src, dst, FlowSettings())
    inner = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    np.testing.assert_allclose(np.median(forward[inner].reshape(-1, 2), axis=0), [-2, 1], atol=0.25)
    np.testing.assert_allclose(np.median(backward[inner].reshape(-1, 2), axis=0), [2, -1], atol=0.25)


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: s.key())
def test_flow_pair_on_two_threads_equals_two_serial_calls(settings: FlowSettings) -> None:
    """The backward direction runs on a helper thread; the pair must not depend on that."""
    src, dst = _shifted_pair(3, -1)
    forward, backward = flow_pair(src, dst, settings)
    np.testing.assert_array_equal(forward, compute_flow(src, dst, settings))
    np.testing.assert_array_equal(backward, compute_flow(dst, src, settings))


def test_unknown_backend_names_the_valid_ones() -> None:
    gray = _texture()[:H, :W]
    with pytest.raises(ValueError) as info:
        compute_flow(gray, gray, FlowSettings(backend="raft"))
    assert "raft" in str(info.value)
    assert all(name in str(info.value) for name in FLOW_BACKENDS)
    with pytest.raises(ValueError, match="ultrafast, fast, medium"):
        compute_flow(gray, gray, FlowSettings(dis_preset="slow"))


def test_rejects_non_gray_inputs() -> None:
    gray = _texture()[:H, :W]
    with pytest.raises(ValueError, match="uint8"):
        compute_flow(gray.astype(np.float32), gray.astype(np.float32), FlowSettings())
    with pytest.raises(ValueError, match="equal shape"):
        compute_flow(gray, gray[:-1], FlowSettings())


@pytest.mark.parametrize("backend", ["dis", "deepflow"])
def test_concurrent_threads_match_serial(backend: str) -> None:
    """OpenCV objects are per thread, so a prefetch thread cannot corrupt the main thread's flow."""
    settings = FlowSettings(backend)
    pairs = [_shifted_pair(dx, dy) for dx, dy in [(1, 0), (0, 2), (-3, 1), (2, -2)]]
    serial = [compute_flow(s, d, settings) for s, d in pairs]
    results: list[np.ndarray | None] = [None] * len(pairs)

    def run(i: int) -> None:
        for _ in range(3):
            results[i] = compute_flow(*pairs[i], settings)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, serial, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)


# -- settings key -----------------------------------------------------------------------------


def test_key_changes_with_every_field_that_matters() -> None:
    keys = {s.key() for s in ALL_SETTINGS}
    assert len(keys) == len(ALL_SETTINGS)
    assert FlowSettings().key() == FlowSettings("dis", "medium").key()
    # The DIS preset does not change a DeepFlow field, so it must not invalidate its cache.
    assert FlowSettings("deepflow", "fast").key() == FlowSettings("deepflow", "medium").key()


# -- .flo -------------------------------------------------------------------------------------


def test_flo_round_trip_and_errors(tmp_path) -> None:
    flow = np.random.default_rng(1).normal(size=(5, 7, 2)).astype(np.float32)
    path = tmp_path / "a.flo"
    write_flo(path, flow)
    assert path.stat().st_size == 12 + 5 * 7 * 2 * 4
    np.testing.assert_array_equal(read_flo(path), flow)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match="expected"):
        read_flo(path)
    path.write_bytes(b"NOPE" + b"\0" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_flo(path)
