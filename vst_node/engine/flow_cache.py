"""Flows and reliability weights, computed once per frame pair and cached in memory and on disk.

The key depends on the frame content (as OpenCV sees it) and the flow settings only, so changing
a style weight and re-rendering costs no flow. One background worker computes the next pair while
the caller optimises the current frame (flow for t+1 overlaps the optimisation of t).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import warnings
import zipfile
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vst_node.engine.flow import PAIRED_BACKENDS, flow_pair, to_gray_u8
from vst_node.ops.reliability import reliability_weights
from vst_node.settings.schema import FlowSettings

# Bump whenever what is stored, or how it is computed, changes: old entries then simply miss.
CACHE_FORMAT_VERSION = 1
_MEMORY_ITEMS = 8  # ~9 MB per 1024x436 pair


@dataclass(frozen=True)
class FlowPair:
    """Both flow directions between two frames and the reliability weights of the later one."""

    forward: np.ndarray  # (H,W,2) float32, prev -> cur
    backward: np.ndarray  # (H,W,2) float32, cur -> prev
    weights: np.ndarray  # (H,W) float32 reliability c for cur


def cache_key(
    prev_gray: np.ndarray,
    cur_gray: np.ndarray,
    settings: FlowSettings,
    blur_sigma: float,
    device_type: str = "cpu",
) -> str:
    """sha256 over exactly what determines the result: OpenCV's inputs, settings, sigma, format,
    and where the weights were computed (a GPU's float results may differ from the CPU's in the
    last bit, so entries made on each are never mixed; CPU keys are those of earlier versions)."""
    digest = hashlib.sha256()
    made_on = "" if device_type == "cpu" else f"|{device_type}"
    digest.update(f"vst-flow-v{CACHE_FORMAT_VERSION}|{settings.key()}|{float(blur_sigma)!r}{made_on}".encode())
    for gray in (prev_gray, cur_gray):
        digest.update(f"|{gray.shape}|{gray.dtype}|".encode())
        digest.update(np.ascontiguousarray(gray).tobytes())
    return digest.hexdigest()


def compute_pair(
    prev_gray: np.ndarray,
    cur_gray: np.ndarray,
    settings: FlowSettings,
    blur_sigma: float = 0.8,
    device: torch.device | str = "cpu",
) -> FlowPair:
    """Flows on the CPU (OpenCV), weights in torch on `device`; no caching."""
    forward, backward = flow_pair(prev_gray, cur_gray, settings)
    return pair_from_flows(forward, backward, blur_sigma, device)


def pair_from_flows(
    forward: np.ndarray, backward: np.ndarray, blur_sigma: float, device: torch.device | str = "cpu"
) -> FlowPair:
    """Both flows plus the reliability weights they imply (computed in torch on `device`)."""

    def to_torch(flow: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(flow).permute(2, 0, 1)[None].to(device)

    weights = reliability_weights(to_torch(forward), to_torch(backward), blur_sigma)
    return FlowPair(forward, backward, weights[0, 0].to("cpu", torch.float32).numpy())


class FlowCache:
    """Memory LRU in front of an optional on-disk store (root None = memory only)."""

    def __init__(
        self, root: Path | None, device: torch.device | str = "cpu", memory_items: int = _MEMORY_ITEMS
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.device = torch.device(device)
        self.memory_items = memory_items
        self.computed = 0
        self.compute_seconds = 0.0  # spent computing (often on the worker, overlapped with optimisation)
        self.hits = 0
        self.reversed = 0  # pairs built from the cached opposite direction
        self._memory: OrderedDict[str, FlowPair] = OrderedDict()
        self._pending: dict[str, Future[FlowPair]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vst-flow")

    # -- public -------------------------------------------------------------------------------

    def get(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> FlowPair:
        """The pair for prev -> cur: from memory, a pending prefetch, disk, or computed now."""
        key, prev_gray, cur_gray = self._key(prev_rgb, cur_rgb, settings, blur_sigma)
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            try:
                return pending.result()
            finally:
                with self._lock:
                    if self._pending.get(key) is pending:
                        del self._pending[key]
        return self._lookup_or_compute(key, prev_gray, cur_gray, settings, blur_sigma)

    def prefetch(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> None:
        """Start computing (or loading) the pair on the worker thread; a later get() waits for it.

        After close() this does nothing: get() still works, computing in the caller's thread.
        """
        key, prev_gray, cur_gray = self._key(prev_rgb, cur_rgb, settings, blur_sigma)
        with self._lock:
            if self._closed or key in self._pending or key in self._memory:
                return
            future = self._worker.submit(
                self._lookup_or_compute, key, prev_gray, cur_gray, settings, blur_sigma
            )
            self._pending[key] = future
        # Once done, a successful result lives in the memory LRU (and on disk), so the pending
        # entry can go: a prefetch nobody asks for must not pin its arrays. A failure stays until a
        # get() reports it.
        future.add_done_callback(lambda done: self._settle(key, done))

    def path(self, key: str) -> Path | None:
        """Where the pair with this key lives on disk (None in memory-only mode)."""
        return None if self.root is None else self.root / key[:2] / f"{key}.npz"

    def key(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float = 0.8
    ) -> str:
        """The cache key of a pair, as get() computes it."""
        return self._key(prev_rgb, cur_rgb, settings, blur_sigma)[0]

    def purge_memory(self) -> None:
        """Drop the in-memory entries (the disk store stays)."""
        with self._lock:
            self._memory.clear()

    def close(self) -> None:
        """Stop the worker (waiting for a running computation; queued ones are cancelled)."""
        with self._lock:
            self._closed = True
        self._worker.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._pending.clear()

    def __enter__(self) -> FlowCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _key(
        self, prev_rgb: np.ndarray, cur_rgb: np.ndarray, settings: FlowSettings, blur_sigma: float
    ) -> tuple[str, np.ndarray, np.ndarray]:
        settings.validate()
        if prev_rgb.shape != cur_rgb.shape:
            raise ValueError(f"frames differ in shape: {prev_rgb.shape} and {cur_rgb.shape}")
        prev_gray, cur_gray = to_gray_u8(prev_rgb), to_gray_u8(cur_rgb)
        key = cache_key(prev_gray, cur_gray, settings, blur_sigma, self.device.type)
        return key, prev_gray, cur_gray

    def _lookup_or_compute(
        self, key: str, prev_gray: np.ndarray, cur_gray: np.ndarray, settings: FlowSettings, blur_sigma: float
    ) -> FlowPair:
        with self._lock:
            pair = self._memory.get(key)
            if pair is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return pair
        pair = self._load(key, prev_gray.shape)
        if pair is not None:
            with self._lock:
                self.hits += 1
        elif (pair := self._from_reverse(prev_gray, cur_gray, settings, blur_sigma)) is not None:
            self._store(key, pair)
        else:
            started = time.perf_counter()
            pair = compute_pair(prev_gray, cur_gray, settings, blur_sigma, self.device)
            with self._lock:
                self.computed += 1
                self.compute_seconds += time.perf_counter() - started
            self._store(key, pair)
        self._remember(key, pair)
        return pair

    def _from_reverse(
        self, prev_gray: np.ndarray, cur_gray: np.ndarray, settings: FlowSettings, blur_sigma: float
    ) -> FlowPair | None:
        """The pair cur -> prev, when cached, holds both flows of prev -> cur: only c is recomputed.

        Backward passes of a multi-pass render walk every pair the other way; this saves their flow.
        Not for the paired backends: matched fuses, and auto chooses, from one frame's side, so the
        reversed pair can differ from a direct computation and the pixels would depend on the order
        frames were rendered in.
        """
        if settings.backend in PAIRED_BACKENDS:
            return None
        reverse_key = cache_key(cur_gray, prev_gray, settings, blur_sigma, self.device.type)
        with self._lock:
            reverse = self._memory.get(reverse_key)
        if reverse is None:
            reverse = self._load(reverse_key, prev_gray.shape)
        if reverse is None:
            return None
        with self._lock:
            self.reversed += 1
        return pair_from_flows(reverse.backward, reverse.forward, blur_sigma, self.device)

    def _settle(self, key: str, future: Future[FlowPair]) -> None:
        if future.cancelled() or future.exception() is None:
            with self._lock:
                if self._pending.get(key) is future:
                    del self._pending[key]

    def _remember(self, key: str, pair: FlowPair) -> None:
        with self._lock:
            self._memory[key] = pair
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)

    def _load(self, key: str, shape: tuple[int, ...]) -> FlowPair | None:
        """The stored pair, or None when absent or unreadable (a damaged file is just recomputed)."""
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                pair = FlowPair(data["forward"], data["backward"], data["weights"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        h, w = shape
        expected = {"forward": (h, w, 2), "backward": (h, w, 2), "weights": (h, w)}
        for name, want in expected.items():
            array = getattr(pair, name)
            if array.shape != want or array.dtype != np.float32:
                return None
        return pair

    def _store(self, key: str, pair: FlowPair) -> None:
        """Write to a temporary file beside the target and rename: readers never see half a file."""
        path = self.path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".tmp", dir=path.parent)
        except OSError as error:
            warnings.warn(f"flow cache: cannot write {path}: {error}", RuntimeWarning, stacklevel=2)
            return
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, forward=pair.forward, backward=pair.backward, weights=pair.weights)
            os.replace(tmp, path)
        except OSError as error:
            # A full or read-only disk costs the cache, not the render.
            Path(tmp).unlink(missing_ok=True)
            warnings.warn(f"flow cache: cannot write {path}: {error}", RuntimeWarning, stacklevel=2)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
