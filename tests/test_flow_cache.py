"""Flow cache: memory and disk hits, keys, corruption, prefetch on the worker thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vst_node.engine import flow_cache as fc
from vst_node.engine.flow_cache import FlowCache, FlowPair, compute_pair
from vst_node.ops.reliability import reliability_weights
from vst_node.settings import FlowSettings

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
H, W = 40, 56


def _frames(shift: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two RGB frames of a smooth texture, the second moved right by `shift` pixels."""
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.random((H, W + 8, 3)).astype(np.float32), (0, 0), 1.5)
    big = (big - big.min()) / (big.max() - big.min())
    return np.ascontiguousarray(big[:, 4 : 4 + W]), np.ascontiguousarray(big[:, 4 - shift : 4 - shift + W])


def _assert_same(a: FlowPair, b: FlowPair) -> None:
    for name in ("forward", "backward", "weights"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_pair_layout_and_weights_match_reliability() -> None:
    prev, cur = _frames()
    with FlowCache(None) as cache:
        pair = cache.get(prev, cur, FlowSettings())
    assert pair.forward.shape == (H, W, 2) and pair.backward.shape == (H, W, 2)
    assert pair.weights.shape == (H, W)
    assert {a.dtype for a in (pair.forward, pair.backward, pair.weights)} == {np.dtype(np.float32)}
    assert np.median(pair.forward[..., 0]) == pytest.approx(2, abs=0.25)
    assert np.median(pair.backward[..., 0]) == pytest.approx(-2, abs=0.25)

    def t(flow: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(flow).permute(2, 0, 1)[None]

    expected = reliability_weights(t(pair.forward), t(pair.backward), 0.8)[0, 0].numpy()
    np.testing.assert_array_equal(pair.weights, expected)
    assert (pair.weights[:, :2] < 0.5).all()  # backward flow -2 leaves the frame on the left


def test_second_get_is_a_hit_in_memory_and_on_disk(tmp_path: Path) -> None:
    prev, cur = _frames()
    with FlowCache(tmp_path) as cache:
        first = cache.get(prev, cur, FlowSettings())
        second = cache.get(prev, cur, FlowSettings())
        assert (cache.computed, cache.hits) == (1, 1)
        _assert_same(first, second)
        key = cache.key(prev, cur, FlowSettings())
        path = cache.path(key)
        assert path == tmp_path / key[:2] / f"{key}.npz" and path.is_file()
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    with FlowCache(tmp_path) as fresh:  # e.g. the next render of the same shot
        _assert_same(fresh.get(prev, cur, FlowSettings()), first)
        assert (fresh.computed, fresh.hits) == (0, 1)


def test_key_depends_on_content_and_flow_settings_only(tmp_path: Path) -> None:
    prev, cur = _frames()
    with FlowCache(tmp_path) as cache:
        cache.get(prev, cur, FlowSettings())
        cache.get(prev, cur, FlowSettings("dis", "fast"))
        cache.get(prev, cur, FlowSettings("farneback"))
        cache.get(prev, cur, FlowSettings(), blur_sigma=0.0)
        cache.get(cur, prev, FlowSettings())  # the opposite direction: its flows are already cached
        cache.get(*_frames(seed=1), FlowSettings())
        assert (cache.computed, cache.hits, cache.reversed) == (5, 0, 1)
        # The key is what OpenCV sees: highlights clipped to the same 8-bit gray share an entry,
        # and the preset of a backend that ignores it shares one too.
        white, highlight = prev.copy(), prev.copy()
        white[:3, :3] = 1.0
        highlight[:3, :3] = (4.0, 7.0, 2.5)
        cache.get(white, cur, FlowSettings())
        cache.get(highlight, cur, FlowSettings())
        cache.get(prev, cur, FlowSettings("farneback", "fast"))
        assert (cache.computed, cache.hits) == (6, 2)
    keys = {
        fc.cache_key(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), FlowSettings(), 0.8),
        fc.cache_key(np.zeros((1, 4), np.uint8), np.zeros((1, 4), np.uint8), FlowSettings(), 0.8),
        fc.cache_key(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), FlowSettings(), 0.8000001),
    }
    assert len(keys) == 3  # same bytes in another shape, or another sigma: another key


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_damaged_file_is_recomputed(tmp_path: Path, damage: str) -> None:
    prev, cur = _frames()
    with FlowCache(tmp_path) as cache:
        good = cache.get(prev, cur, FlowSettings())
        path = cache.path(cache.key(prev, cur, FlowSettings()))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    else:
        np.savez(path, forward=good.forward[:-1], backward=good.backward, weights=good.weights)
    with FlowCache(tmp_path) as cache:
        _assert_same(cache.get(prev, cur, FlowSettings()), good)
        assert (cache.computed, cache.hits) == (1, 0)
    with FlowCache(tmp_path) as cache:  # and the rewritten file is good again
        cache.get(prev, cur, FlowSettings())
        assert (cache.computed, cache.hits) == (0, 1)


def test_prefetch_then_get_computes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prev, cur = _frames()
    started, release = threading.Event(), threading.Event()
    worker_threads: list[str] = []

    def slow_compute(*args, **kwargs) -> FlowPair:
        worker_threads.append(threading.current_thread().name)
        started.set()
        assert release.wait(10)
        return compute_pair(*args, **kwargs)

    monkeypatch.setattr(fc, "compute_pair", slow_compute)
    with FlowCache(tmp_path) as cache:
        cache.prefetch(prev, cur, FlowSettings())
        cache.prefetch(prev, cur, FlowSettings())  # already pending: no second job
        assert started.wait(10)
        threading.Timer(0.2, release.set).start()
        pair = cache.get(prev, cur, FlowSettings())  # waits for the worker instead of recomputing
        assert cache.computed == 1 and worker_threads == [worker_threads[0]]
        assert worker_threads[0] != threading.current_thread().name
        assert pair.weights.shape == (H, W)
        cache.get(prev, cur, FlowSettings())
        cache.prefetch(prev, cur, FlowSettings())  # already in memory: nothing to do
        assert (cache.computed, cache.hits) == (1, 1)


def test_finished_prefetch_is_served_from_memory() -> None:
    prev, cur = _frames()
    with FlowCache(None) as cache:
        cache.prefetch(prev, cur, FlowSettings())
        deadline = time.monotonic() + 10
        while cache._pending and time.monotonic() < deadline:  # settled: not pinned as pending
            time.sleep(0.01)
        assert not cache._pending and cache.computed == 1
        cache.get(prev, cur, FlowSettings())
        assert (cache.computed, cache.hits) == (1, 1)


def test_prefetch_error_surfaces_in_get_and_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    prev, cur = _frames()
    calls = []

    def failing(*args, **kwargs) -> FlowPair:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("flow failed")
        return compute_pair(*args, **kwargs)

    monkeypatch.setattr(fc, "compute_pair", failing)
    with FlowCache(None) as cache:
        cache.prefetch(prev, cur, FlowSettings())
        with pytest.raises(RuntimeError, match="flow failed"):
            cache.get(prev, cur, FlowSettings())
        cache.get(prev, cur, FlowSettings())  # retried, not stuck on the failed job
        assert len(calls) == 2


def test_memory_only_mode_is_a_bounded_lru() -> None:
    frames = [_frames(seed=s) for s in range(3)]
    with FlowCache(None, memory_items=2) as cache:
        assert cache.path("ab" * 32) is None
        for prev, cur in frames:
            cache.get(prev, cur, FlowSettings("dis", "ultrafast"))
        cache.get(*frames[2], FlowSettings("dis", "ultrafast"))
        assert (cache.computed, cache.hits) == (3, 1)
        cache.get(*frames[0], FlowSettings("dis", "ultrafast"))  # evicted: computed again
        assert (cache.computed, cache.hits) == (4, 1)
        cache.purge_memory()
        cache.get(*frames[0], FlowSettings("dis", "ultrafast"))
        assert cache.computed == 5


def test_unwritable_root_warns_but_returns(tmp_path: Path) -> None:
    root = tmp_path / "a_file"
    root.write_text("in the way")
    prev, cur = _frames()
    with FlowCache(root) as cache, pytest.warns(RuntimeWarning, match="cannot write"):
        pair = cache.get(prev, cur, FlowSettings())
    assert pair.weights.shape == (H, W)


def test_errors() -> None:
    prev, cur = _frames()
    with FlowCache(None) as cache:
        with pytest.raises(ValueError, match="differ in shape"):
            cache.get(prev, cur[:-1], FlowSettings())
        with pytest.raises(ValueError, match="dis, deepflow, farneback"):
            cache.prefetch(prev, cur, FlowSettings("raft"))
    cache.close()  # closing twice is harmless
    cache.prefetch(prev, cur, FlowSettings())  # after close: no worker, nothing happens
    assert cache.computed == 0
    assert cache.get(prev, cur, FlowSettings()).weights.shape == (H, W)
    assert cache.computed == 1


@pytest.mark.parametrize("device", DEVICES)
def test_weights_computed_on_device(device: str) -> None:
    prev, cur = _frames()
    with FlowCache(None, device=device) as cache:
        pair = cache.get(prev, cur, FlowSettings())
    with FlowCache(None) as cpu:
        reference = cpu.get(prev, cur, FlowSettings())
    assert isinstance(pair.weights, np.ndarray) and pair.weights.dtype == np.float32
    np.testing.assert_allclose(pair.weights, reference.weights, atol=1e-5)


def test_opposite_direction_reuses_both_flows_and_matches_a_fresh_computation(tmp_path: Path) -> None:
    prev, cur = _frames()
    with FlowCache(tmp_path) as cache:
        cache.get(prev, cur, FlowSettings())
        reused = cache.get(cur, prev, FlowSettings())
        assert (cache.computed, cache.reversed) == (1, 1)
    with FlowCache(None) as fresh:
        computed = fresh.get(cur, prev, FlowSettings())
        assert fresh.computed == 1
    _assert_same(reused, computed)


def test_paired_backends_never_reuse_the_reversed_pair(tmp_path: Path) -> None:
    """matched and auto decide from one frame's side: a reversed pair may differ from a direct one, and
    reusing it would make the pixels depend on the render order."""
    prev, cur = _frames()
    with FlowCache(tmp_path) as cache:
        cache.get(prev, cur, FlowSettings("auto"))
        cache.get(cur, prev, FlowSettings("auto"))
        assert (cache.computed, cache.reversed) == (2, 0)
