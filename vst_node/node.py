"""The stateful node: one object owns the temporal state of one shot (DESIGN.md, "The stateful node").

Its life follows an OFX image effect: begin_sequence / render(t, fetch) / end_sequence, with
parameter changes that invalidate only what depends on them. Frames are rendered in the order of
the frame list; asking for frame t when its predecessor is not finished renders the missing chain
first, from the nearest finished frame (or the first frame of the range). Every frame's result is a
deterministic function of its source, its predecessor's result and the preset, so a host that
scrubs or jumps gets the same pixels as one that renders in order.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .device import resolve_device
from .flow_cache import FlowCache
from .optimise import CancelCheck
from .presets import Preset, preset_digest
from .stylize import Stylizer, TemporalTerm, resize
from .vgg import caffe_deprocess, caffe_preprocess
from .warp import warp

Fetch = Callable[[int], np.ndarray]
"""frame -> source image as network RGB (H, W, 3) float32, display-like (values outside [0,1] allowed)."""

# Which preset sections each kind of derived data depends on.
STYLIZED_SECTIONS = (
    "style",
    "weights",
    "layers",
    "style_loss",
    "optimiser",
    "init",
    "temporal",
    "resolution",
    "flow",
    "colour",
)
FLOW_SECTIONS = ("flow", "temporal", "resolution")


@dataclass
class FrameStats:
    """What rendering one frame cost; the CLI and the benchmarks report these."""

    frame: int
    iterations: int = 0
    flow_seconds: float = 0.0
    optimise_seconds: float = 0.0
    stopped_early: bool = False
    losses: list[float] = field(default_factory=list)


def processing_size(hw: tuple[int, int], preset: Preset, render_scale: float) -> tuple[int, int]:
    """The size the optimisation runs at: source size x preset scale, capped by max_side.

    The host's render scale is already applied to the source it hands us (proxy renders), so only
    the preset's own scale and cap apply here; max_side is scaled by the render scale so that a
    half-resolution proxy does not get a full-size cap.
    """
    h, w = hw
    scale = preset.resolution.scale
    cap = preset.resolution.max_side
    if cap is not None:
        cap_scaled = max(16, round(cap * render_scale))
        scale = min(scale, cap_scaled / max(h * scale, w * scale) * scale)
    return max(16, round(h * scale)), max(16, round(w * scale))


class StyleTransferNode:
    """Temporal state, flows and finished frames of one shot for one preset."""

    def __init__(
        self,
        preset: Preset,
        *,
        device: str | torch.device = "auto",
        cache_dir: Path | None = None,
        cancel: CancelCheck | None = None,
        max_cached_frames: int = 32,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.cancel = cancel
        self.flows = FlowCache(Path(cache_dir) / "flow" if cache_dir else None, device=self.device)
        self.max_cached_frames = max(1, max_cached_frames)  # the predecessor must stay
        self._lock = threading.RLock()
        self._finished: OrderedDict[int, np.ndarray] = OrderedDict()  # frame -> caffe-space result
        self._sources: OrderedDict[int, np.ndarray] = OrderedDict()  # frame -> processing-size rgb
        self.frames: list[int] = []
        self.render_scale = 1.0
        self.stats: dict[int, FrameStats] = {}
        self._preset = preset
        self._stylizer: Stylizer | None = None
        self._stylized_digest = preset_digest(preset, STYLIZED_SECTIONS)

    # -- parameters ---------------------------------------------------------------------------

    @property
    def preset(self) -> Preset:
        return self._preset

    def set_preset(self, preset: Preset) -> list[str]:
        """Apply changed parameters; returns what was invalidated ('stylized', 'flow')."""
        with self._lock:
            invalidated: list[str] = []
            digest = preset_digest(preset, STYLIZED_SECTIONS)
            if digest != self._stylized_digest:
                self._finished.clear()
                self.stats.clear()
                self._stylizer = None
                invalidated.append("stylized")
            if preset_digest(preset, FLOW_SECTIONS) != preset_digest(self._preset, FLOW_SECTIONS):
                self._sources.clear()  # flow inputs depend on the processing size
                invalidated.append("flow")
            self._preset = preset
            self._stylized_digest = digest
            return invalidated

    def source_changed(self) -> None:
        """The host's input changed (new footage, colour transform): everything derived is stale."""
        with self._lock:
            self._finished.clear()
            self._sources.clear()
            self.stats.clear()

    def purge_caches(self) -> None:
        """Drop what memory can be dropped; results are re-rendered on demand, identically."""
        with self._lock:
            self._finished.clear()
            self._sources.clear()
            self._stylizer = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    # -- sequence -----------------------------------------------------------------------------

    def begin_sequence(self, frames: Sequence[int], render_scale: float = 1.0) -> None:
        with self._lock:
            frames = list(frames)
            if not frames:
                raise ValueError("begin_sequence needs at least one frame")
            if render_scale != self.render_scale or frames != self.frames:
                self._finished.clear()
                self._sources.clear()
            self.frames = frames
            self.render_scale = render_scale
            self._index = {f: i for i, f in enumerate(frames)}

    def end_sequence(self) -> None:
        """Nothing to flush: finished frames stay cached for the host's next pass."""

    def close(self) -> None:
        self.flows.close()

    def previous_frame(self, t: int) -> int | None:
        i = self._index[t]
        return self.frames[i - 1] if i > 0 else None

    def uses_previous(self) -> bool:
        p = self._preset
        return p.temporal.enabled or p.init.later in ("previous", "previous_warped")

    def frames_needed(self, t: int) -> list[int]:
        """Source frames that render(t) reads: t and, with temporal terms, its predecessor."""
        prev = self.previous_frame(t)
        return [prev, t] if prev is not None and self.uses_previous() else [t]

    def is_finished(self, t: int) -> bool:
        return t in self._finished

    def seed_finished(self, t: int, stylized_rgb: np.ndarray) -> None:
        """Adopt an already rendered frame (e.g. read back from disk on --resume) as finished."""
        with self._lock:
            hw = processing_size(stylized_rgb.shape[:2], self._preset, self.render_scale)
            x = self._tensor(np.ascontiguousarray(stylized_rgb[..., :3], np.float32))
            x = caffe_preprocess(resize(x, hw).clamp(0, 1))
            self._remember(t, x)

    # -- rendering ----------------------------------------------------------------------------

    def render(self, t: int, fetch: Fetch) -> np.ndarray:
        """Stylized frame t as network RGB at the source's size (strength applied)."""
        with self._lock:
            if t not in self._index:
                raise KeyError(f"frame {t} is not in the sequence ({self.frames[0]}-{self.frames[-1]})")
            chain = [t]
            if self.uses_previous():
                while (prev := self.previous_frame(chain[-1])) is not None and prev not in self._finished:
                    chain.append(prev)
            for frame in reversed(chain):
                if frame not in self._finished:
                    self._render_one(frame, fetch)
            source = np.asarray(fetch(t), np.float32)
            return self._output(t, source)

    def _output(self, t: int, source: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self._finished[t]).to(self.device, torch.float32)
        rgb = caffe_deprocess(x).clamp(0.0, 1.0)
        rgb = resize(rgb, source.shape[:2])[0].permute(1, 2, 0).cpu().numpy()
        if self._preset.colour.preserve_highlights:
            # The network only sees [0,1]; carry what lies outside (HDR highlights, negative
            # lobes) over the stylized result so that no value is silently clamped.
            rgb = rgb + (source - np.clip(source, 0.0, 1.0))
        strength = self._preset.strength
        if strength >= 1.0:
            return rgb
        return source + strength * (rgb - source)

    def _source(self, t: int, fetch: Fetch) -> np.ndarray:
        """Processing-size network RGB in [0,1] of frame t (small LRU: each frame is fetched once)."""
        if t in self._sources:
            self._sources.move_to_end(t)
            return self._sources[t]
        full = np.asarray(fetch(t), np.float32)
        hw = processing_size(full.shape[:2], self._preset, self.render_scale)
        tensor = torch.from_numpy(np.ascontiguousarray(np.clip(full, 0.0, 1.0))).permute(2, 0, 1)[None]
        small = resize(tensor, hw)[0].permute(1, 2, 0).contiguous().numpy()
        self._sources[t] = small
        while len(self._sources) > 3:
            self._sources.popitem(last=False)
        return small

    def _remember(self, t: int, x: torch.Tensor) -> None:
        self._finished[t] = x.detach().cpu().numpy()
        self._finished.move_to_end(t)
        while len(self._finished) > self.max_cached_frames:
            self._finished.popitem(last=False)

    def _stylizer_ready(self) -> Stylizer:
        if self._stylizer is None:
            self._stylizer = Stylizer(self._preset, self.device)
        return self._stylizer

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None]

    def _render_one(self, t: int, fetch: Fetch) -> None:
        preset = self._preset
        stylizer = self._stylizer_ready()
        stats = FrameStats(frame=t)
        src = self._source(t, fetch)
        content = self._tensor(src)
        prev = self.previous_frame(t) if self.uses_previous() else None
        first = prev is None

        temporal: TemporalTerm | None = None
        init_mode = preset.init.first if first else preset.init.later
        if not first:
            prev_x = torch.from_numpy(self._finished[prev]).to(self.device)
            started = time.perf_counter()
            pair = self.flows.get(
                self._source(prev, fetch), src, preset.flow, preset.temporal.mask_blur_sigma
            )
            stats.flow_seconds = time.perf_counter() - started
            self._prefetch_next_flow(t, src, fetch)
            backward = self._tensor(pair.backward)
            weights = self._tensor(pair.weights[..., None])
            warped = warp(prev_x, backward)
            if preset.temporal.enabled:
                mask = weights if preset.temporal.use_mask else torch.ones_like(weights)
                temporal = TemporalTerm(warped=warped, weights=mask)
            if init_mode == "previous_warped":
                fill = (
                    caffe_preprocess(content) if preset.temporal.fill_disoccluded == "content" else 0 * warped
                )
                init = weights * warped + (1 - weights) * fill
            elif init_mode == "previous":
                init = prev_x
            else:
                init = self._simple_init(init_mode, content, t)
        else:
            self._prefetch_next_flow(t, src, fetch)
            init = self._simple_init(init_mode, content, t)

        iterations = preset.optimiser.iterations_first if first else preset.optimiser.iterations
        started = time.perf_counter()
        result = stylizer.stylize(content, init, temporal, iterations, cancel=self.cancel)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        stats.optimise_seconds = time.perf_counter() - started
        stats.iterations = result.iterations
        stats.stopped_early = result.stopped_early
        stats.losses = result.history
        self.stats[t] = stats
        self._remember(t, result.image)

    def _simple_init(self, mode: str, content: torch.Tensor, t: int) -> torch.Tensor:
        if mode == "content":
            return caffe_preprocess(content)
        # Reference code: Gaussian * 0.001 in the network's 0-255 space, i.e. around the ImageNet
        # mean colour. Seeded by frame so that any render order draws the same noise for a frame.
        gen = torch.Generator().manual_seed(self._preset.init.seed * 1_000_003 + t)
        noise = torch.randn(content.shape, generator=gen) * self._preset.init.noise_std
        return noise.to(self.device)

    def _prefetch_next_flow(self, t: int, src: np.ndarray, fetch: Fetch) -> None:
        """Start the next pair's flow on a worker thread while this frame optimises."""
        i = self._index[t]
        if i + 1 >= len(self.frames) or not self.uses_previous():
            return
        try:
            nxt = self._source(self.frames[i + 1], fetch)
        except Exception:
            # Only an optimisation: a bad next frame must fail when it is rendered, not this one.
            return
        self.flows.prefetch(src, nxt, self._preset.flow, self._preset.temporal.mask_blur_sigma)


def independent_preset(preset: Preset, init: str = "random") -> Preset:
    """The same preset stylizing every frame on its own (the baseline that flickers)."""
    return replace(
        preset,
        init=replace(preset.init, first=init, later=init),
        temporal=replace(preset.temporal, enabled=False),
    )
