"""The stateful node: one object owns the temporal state of one shot (DESIGN.md, "The stateful node").

Its life follows an OFX image effect: begin_sequence / render(t, fetch) / end_sequence, with
parameter changes that invalidate only what depends on them. Frames are rendered in the order of
the frame list; frame t depends on the frames t-j of the preset's temporal offsets J (t-1 alone
without long-term terms). Asking for t when those are not finished renders the missing run first,
from the nearest point where max(J) finished frames precede it (or the first frame of the range).
Every frame's result is a deterministic function of its source, those frames' results and the
preset, so a host that scrubs or jumps gets the same pixels as one that renders in order.

With multi-pass presets every frame depends on the whole range: the first render() runs all passes
(results per pass in a PassStore), later ones only read the final pass.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .colour_transfer import keep_source_colour
from .device import resolve_device, resolve_precision
from .flow_cache import FlowCache
from .multipass import MemoryPassStore, PassStore, blended_init, last_complete_pass, pass_order
from .multiscale import stylize_multiscale
from .optimise import CancelCheck, OptimiseResult
from .presets import Preset, preset_digest
from .reliability import long_term_weights
from .sequence import format_frames
from .stylize import Stylizer, TemporalTerm, resize
from .vgg import caffe_clamp, caffe_deprocess, caffe_preprocess
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
    "multiscale",
    "multipass",
    "flow",
    "colour.input",  # the rest of `colour` shapes only the output step: no re-optimisation
)
FLOW_SECTIONS = ("flow", "temporal", "resolution")


PassCallback = Callable[[int, int, int, "FrameStats | None"], None]
"""(pass index, frame, position in the pass, stats or None when the store already had it)."""


@dataclass
class FrameStats:
    """What rendering one frame cost; the CLI and the benchmarks report these."""

    frame: int
    pass_index: int = 0
    iterations: int = 0
    flow_seconds: float = 0.0
    optimise_seconds: float = 0.0
    stopped_early: bool = False
    losses: list[float] = field(default_factory=list)
    # Share of the frame where the flow from its nearest finished neighbour is reliable (mean c);
    # None without a neighbour. Where it is low the temporal loss holds little and the frame may
    # flicker, which a user can only learn from here.
    reliable: float | None = None


# Below this share of reliable flow the temporal loss holds too little of a frame to keep it steady
# (on Sintel market_5 the DIS flow is reliable on 23-59 % and the frames flicker nearly as much as
# stylizing each alone); every front end names such frames.
LOW_RELIABILITY = 0.5


def poor_flow_message(poorly_tracked: dict[int, float]) -> str:
    """The warning for frames the flow barely tracks (RenderReport.poorly_tracked), for any front end."""
    worst = min(poorly_tracked, key=poorly_tracked.__getitem__)
    return (
        f"the flow is reliable on under {LOW_RELIABILITY:.0%} of frame(s) {format_frames(poorly_tracked)}"
        f" (least: {poorly_tracked[worst]:.0%} on frame {worst}); the temporal loss cannot hold the rest,"
        " so they may flicker. A cut, fast motion or large occlusions are the usual causes (on Sintel's"
        " fast-moving market_5, flow.backend: deepflow flickered 1.7-1.8x less than dis)."
    )


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
        max_cached_frames: int | None = 32,
        precision: str = "float32",
    ) -> None:
        """max_cached_frames: finished frames kept for scrubbing; None keeps only what the temporal
        terms of the next frame need (max J), the bound a sequential render wants.
        precision: the network's dtype while optimising (device.PRECISION_CHOICES)."""
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.cancel = cancel
        self.flows = FlowCache(Path(cache_dir) / "flow" if cache_dir else None, device=self.device)
        self._cache_limit = max_cached_frames
        self._lock = threading.RLock()
        self._finished: OrderedDict[int, np.ndarray] = OrderedDict()  # frame -> caffe-space result
        self._pinned: set[int] = set()  # finished frames the running render still reads
        self._pixel_scale = 1.0  # processing pixels per full-resolution pixel (see _source)
        self._sources: OrderedDict[int, np.ndarray] = OrderedDict()  # frame -> processing-size rgb
        self.frames: list[int] = []
        self._index: dict[int, int] = {}
        self.render_scale = 1.0
        self.stats: dict[int, FrameStats] = {}
        self.total_iterations = 0  # over every frame (and pass) optimised since creation
        self.pass_store: PassStore = MemoryPassStore()
        self.rendering: tuple[int, int] | None = None  # (pass, frame) of a running multi-pass render
        self._preset = preset
        self._stylizer: Stylizer | None = None
        self._stylized_digest = preset_digest(preset, STYLIZED_SECTIONS)

    # -- parameters ---------------------------------------------------------------------------

    @property
    def preset(self) -> Preset:
        return self._preset

    @property
    def offsets(self) -> tuple[int, ...]:
        """J: how far back a frame reaches (the warped-previous init alone needs only t-1)."""
        if self._preset.temporal.enabled:
            return self._preset.temporal.offsets
        return (1,) if self.uses_previous() else ()

    @property
    def max_cached_frames(self) -> int:
        needed = max(self.offsets, default=1)
        return needed if self._cache_limit is None else max(self._cache_limit, needed)

    @property
    def mask_blur_sigma(self) -> float:
        """The preset's blur of c is in full-resolution pixels; scaled to the processing size."""
        return self._preset.temporal.mask_blur_sigma * self._pixel_scale

    @property
    def multipass(self) -> bool:
        return self._preset.multipass.passes > 1

    def set_preset(self, preset: Preset) -> list[str]:
        """Apply changed parameters; returns what was invalidated ('stylized', 'flow')."""
        with self._lock:
            invalidated: list[str] = []
            digest = preset_digest(preset, STYLIZED_SECTIONS)
            if digest != self._stylized_digest:
                self._drop_results()
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
            self._drop_results()
            self._sources.clear()

    def purge_caches(self) -> None:
        """Drop what memory can be dropped; results are re-rendered on demand, identically."""
        with self._lock:
            self._drop_results()
            self._sources.clear()
            self._stylizer = None
            self.flows.purge_memory()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _drop_results(self) -> None:
        self._finished.clear()
        self.stats.clear()
        if isinstance(self.pass_store, MemoryPassStore):
            self.pass_store.clear()

    # -- sequence -----------------------------------------------------------------------------

    def begin_sequence(self, frames: Sequence[int], render_scale: float = 1.0) -> None:
        with self._lock:
            frames = list(frames)
            if not frames:
                raise ValueError("begin_sequence needs at least one frame")
            if render_scale != self.render_scale or frames != self.frames:
                self._drop_results()
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

    def neighbours(self, t: int) -> list[tuple[int, int]]:
        """(offset j, frame) for each t-j of the range that frame t's temporal terms use."""
        i = self._index[t]
        return [(j, self.frames[i - j]) for j in self.offsets if i - j >= 0]

    def frames_needed(self, t: int) -> list[int]:
        """Source frames that render(t) reads: t and the frames t-j of its temporal terms.

        With multi-pass every frame depends on every other: the whole range.
        """
        if self.multipass:
            return list(self.frames)
        return sorted([frame for _, frame in self.neighbours(t)] + [t], key=self._index.__getitem__)

    def is_finished(self, t: int) -> bool:
        if self.multipass:
            return self.pass_store.get(self._preset.multipass.passes - 1, t) is not None
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
            if self.multipass:
                last = self._preset.multipass.passes - 1
                result = self.pass_store.get(last, t)
                if result is None:
                    self.run_passes(fetch)
                    result = self.pass_store.get(last, t)
                assert result is not None
            else:
                run, self._pinned = self._missing_run(t)
                try:
                    for frame in run:
                        self._render_one(frame, fetch)
                finally:
                    self._pinned = set()
                result = self._finished[t]
                self._evict(t)
            source = np.asarray(fetch(t), np.float32)
            return self._output(result, source)

    def _missing_run(self, t: int) -> tuple[list[int], set[int]]:
        """Unfinished frames from the latest start whose max(J) predecessors are all finished,
        and the finished frames that run reads (they must not be evicted while it renders)."""
        i = self._index[t]
        reach = max(self.offsets, default=0)
        start = i
        while start > 0 and not all(
            self.frames[k] in self._finished for k in range(max(0, start - reach), start)
        ):
            start -= 1
        span = self.frames[max(0, start - reach) : i + 1]
        return [f for f in self.frames[start : i + 1] if f not in self._finished], {
            f for f in span if f in self._finished
        }

    def _output(self, result: np.ndarray, source: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(result).to(self.device, torch.float32)
        rgb = caffe_deprocess(x).clamp(0.0, 1.0)
        rgb = resize(rgb, source.shape[:2])
        if self._preset.colour.preserve_colour:
            original = torch.from_numpy(np.clip(source, 0.0, 1.0)).permute(2, 0, 1)[None].to(self.device)
            rgb = keep_source_colour(rgb, original)
        rgb = rgb[0].permute(1, 2, 0).cpu().numpy()
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
        # NaN/inf pixels (renderer fireflies, broken decodes) would make every loss NaN; the network
        # sees 0 there (inf: 1), and _output carries the original values through unchanged.
        finite = np.nan_to_num(full, nan=0.0, posinf=1.0, neginf=0.0)
        tensor = torch.from_numpy(np.ascontiguousarray(np.clip(finite, 0.0, 1.0))).permute(2, 0, 1)[None]
        small = resize(tensor, hw)[0].permute(1, 2, 0).contiguous().numpy()
        # Processing pixels per full-resolution pixel: a proxy render (render scale 0.5) or a
        # preset scale shrinks the frames, and spatial settings in pixels shrink with them.
        self._pixel_scale = hw[1] * self.render_scale / full.shape[1]
        self._sources[t] = small
        while len(self._sources) > max(self.offsets, default=1) + 2:  # the terms, t and the next
            self._sources.popitem(last=False)
        return small

    def _remember(self, t: int, x: torch.Tensor) -> None:
        """Keep t; evict the least recently used frames outside the window the next frame needs."""
        self._finished[t] = caffe_clamp(x.detach()).cpu().numpy()
        self._finished.move_to_end(t)
        self._evict(t)

    def _evict(self, t: int) -> None:
        limit = self.max_cached_frames
        if len(self._finished) <= limit:
            return
        i = self._index.get(t, 0)
        window = set(self.frames[max(0, i - max(self.offsets, default=1) + 1) : i + 1]) | self._pinned
        for frame in list(self._finished):
            if len(self._finished) <= limit:
                break
            if frame not in window:
                del self._finished[frame]

    def _stylizer_ready(self) -> Stylizer:
        if self._stylizer is None:
            self._stylizer = Stylizer(self._preset, self.device, self.precision)
        return self._stylizer

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None]

    def _temporal_terms(
        self, t: int, neighbours: Sequence[tuple[int, int, np.ndarray]], fetch: Fetch, stats: FrameStats
    ) -> tuple[list[TemporalTerm], TemporalTerm]:
        """Warped neighbour results with their c_long weights, and the nearest one with its raw c.

        neighbours: (offset j, frame, its result in caffe space); the nearest comes first.
        """
        preset = self._preset
        src = self._source(t, fetch)
        warped: dict[int, torch.Tensor] = {}
        weights: dict[int, torch.Tensor] = {}
        started = time.perf_counter()
        sigma = self.mask_blur_sigma
        for offset, frame, result in neighbours:
            pair = self.flows.get(self._source(frame, fetch), src, preset.flow, sigma)
            warped[offset] = warp(torch.from_numpy(result).to(self.device), self._tensor(pair.backward))
            weights[offset] = self._tensor(pair.weights[..., None])
        stats.flow_seconds += time.perf_counter() - started
        nearest = min(warped)
        stats.reliable = float(weights[nearest].mean())
        used = (
            long_term_weights(weights)
            if preset.temporal.use_mask
            else long_term_weights({j: torch.ones_like(c) for j, c in weights.items()})
        )
        terms = [TemporalTerm(warped[j], used[j]) for j in sorted(warped)]
        return terms, TemporalTerm(warped[nearest], weights[nearest])

    def _optimise(
        self, content: torch.Tensor, init: torch.Tensor, terms: list[TemporalTerm], iterations: int
    ) -> OptimiseResult:
        preset = self._preset
        result = stylize_multiscale(
            self._stylizer_ready(), content, init, terms, iterations, preset.multiscale, self.cancel
        )
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return result

    def _render_one(self, t: int, fetch: Fetch) -> None:
        preset = self._preset
        stats = FrameStats(frame=t)
        src = self._source(t, fetch)
        content = self._tensor(src)
        neighbours = [(j, f, self._finished[f]) for j, f in self.neighbours(t)]
        self._prefetch_next_flows(t, fetch)
        terms: list[TemporalTerm] = []
        if neighbours:
            all_terms, nearest = self._temporal_terms(t, neighbours, fetch, stats)
            if preset.temporal.enabled:
                terms = all_terms
            init = self._later_init(t, content, nearest)
        else:
            init = self._simple_init(preset.init.first, content, t)

        iterations = preset.optimiser.iterations if neighbours else preset.optimiser.iterations_first
        started = time.perf_counter()
        result = self._optimise(content, init, terms, iterations)
        self._record(stats, result, started)
        self._remember(t, result.image)

    def _record(self, stats: FrameStats, result: OptimiseResult, started: float) -> None:
        stats.optimise_seconds = time.perf_counter() - started
        stats.iterations = result.iterations
        stats.stopped_early = result.stopped_early
        stats.losses = result.history
        self.stats[stats.frame] = stats
        self.total_iterations += result.iterations

    def _later_init(self, t: int, content: torch.Tensor, nearest: TemporalTerm) -> torch.Tensor:
        mode = self._preset.init.later
        if mode == "previous_warped":
            fill = (
                caffe_preprocess(content)
                if self._preset.temporal.fill_disoccluded == "content"
                else torch.zeros_like(nearest.warped)
            )
            return nearest.weights * nearest.warped + (1 - nearest.weights) * fill
        if mode == "previous":
            prev = self.previous_frame(t)
            return torch.from_numpy(self._finished[prev]).to(self.device)
        return self._simple_init(mode, content, t)

    def _simple_init(self, mode: str, content: torch.Tensor, t: int) -> torch.Tensor:
        if mode == "content":
            return caffe_preprocess(content)
        # Reference code: Gaussian * 0.001 in the network's 0-255 space, i.e. around the ImageNet
        # mean colour. Seeded by frame so that any render order draws the same noise for a frame.
        gen = torch.Generator().manual_seed(self._preset.init.seed * 1_000_003 + t)
        noise = torch.randn(content.shape, generator=gen) * self._preset.init.noise_std
        return noise.to(self.device)

    def _prefetch_next_flows(self, t: int, fetch: Fetch) -> None:
        """Start the next frame's flows on the worker thread while this frame optimises."""
        i = self._index[t]
        if i + 1 >= len(self.frames) or not self.uses_previous():
            return
        nxt = self.frames[i + 1]
        try:
            pairs = [(self._source(f, fetch), self._source(nxt, fetch)) for _, f in self.neighbours(nxt)]
        except Exception:
            # Only an optimisation: a bad next frame must fail when it is rendered, not this one.
            return
        for prev_src, next_src in pairs:
            self.flows.prefetch(prev_src, next_src, self._preset.flow, self.mask_blur_sigma)

    # -- multi-pass ---------------------------------------------------------------------------

    def run_passes(self, fetch: Fetch, on_frame: PassCallback | None = None) -> None:
        """Every pass over the whole range, resuming after the last complete pass in the store."""
        with self._lock:
            for pass_index, t, position, stats in self.iter_passes(fetch):
                if on_frame is not None:
                    on_frame(pass_index, t, position, stats)

    def iter_passes(self, fetch: Fetch) -> Iterator[tuple[int, int, int, FrameStats | None]]:
        """run_passes one frame at a time, for hosts that must return to their event loop
        between frames: yields (pass, frame, position, stats or None when the store had it)."""
        settings = self._preset.multipass
        store = self.pass_store
        for pass_index in range(last_complete_pass(store, settings.passes) + 1, settings.passes):
            order = pass_order(self.frames, pass_index)
            for position, t in enumerate(order):
                stats = None
                if store.get(pass_index, t) is None:
                    with self._lock:
                        stats = self._render_pass_frame(pass_index, order, position, fetch)
                yield pass_index, t, position, stats
            store.mark_complete(pass_index)
            if pass_index >= 1:
                store.drop(pass_index - 1)  # the next pass reads only this one

    def _render_pass_frame(
        self, pass_index: int, order: list[int], position: int, fetch: Fetch
    ) -> FrameStats:
        preset = self._preset
        settings = preset.multipass
        store = self.pass_store
        t = order[position]
        self.rendering = (pass_index, t)
        stats = FrameStats(frame=t, pass_index=pass_index)
        content = self._tensor(self._source(t, fetch))
        terms: list[TemporalTerm] = []
        if pass_index == 0:
            init = self._simple_init(preset.init.first, content, t)
        else:
            own = store.get(pass_index - 1, t)
            if own is None:
                raise RuntimeError(f"pass {pass_index - 1} has no result for frame {t}")
            init = torch.from_numpy(own).to(self.device)
            neighbours = [
                (j, order[position - j], store.get(pass_index, order[position - j]))
                for j in preset.temporal.offsets
                if position - j >= 0
            ]
            if neighbours:
                all_terms, nearest = self._temporal_terms(t, neighbours, fetch, stats)
                init = blended_init(nearest.warped, nearest.weights, init, settings.blend)
                if preset.temporal.enabled and pass_index >= settings.temporal_from:
                    terms = all_terms
        if pass_index >= 1 and position + 1 < len(order):
            self._prefetch_pass_flows(order, position + 1, fetch)
        started = time.perf_counter()
        result = self._optimise(content, init, terms, settings.iterations)
        self._record(stats, result, started)
        store.put(pass_index, t, caffe_clamp(result.image.detach()).cpu().numpy())
        return stats

    def _prefetch_pass_flows(self, order: list[int], position: int, fetch: Fetch) -> None:
        nxt = order[position]
        try:
            nxt_src = self._source(nxt, fetch)
            pairs = [
                (self._source(order[position - j], fetch), nxt_src)
                for j in self._preset.temporal.offsets
                if position - j >= 0
            ]
        except Exception:
            return
        for prev_src, next_src in pairs:
            self.flows.prefetch(prev_src, next_src, self._preset.flow, self.mask_blur_sigma)


def independent_preset(preset: Preset, init: str = "random") -> Preset:
    """The same preset stylizing every frame on its own (the baseline that flickers)."""
    return replace(
        preset,
        init=replace(preset.init, first=init, later=init),
        temporal=replace(preset.temporal, enabled=False),
    )
