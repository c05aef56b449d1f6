"""The stateful node: one object owns the temporal state of one shot.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from vst_node.engine.device import configure_numerics, resolve_device, resolve_precision
from vst_node.engine.feedforward import FeedForwardStylizer, sample_frames
from vst_node.engine.flow_cache import FlowCache
from vst_node.engine.frame_cache import Fetch, FinishedFrames, SourceCache, stored_result
from vst_node.engine.give_way import GiveWay
from vst_node.engine.multipass import MemoryPassStore, PassStore, last_complete_pass, pass_order
from vst_node.engine.multiscale import stylize_multiscale
from vst_node.engine.optimise import CancelCheck, OptimiseResult, WindowCallback
from vst_node.engine.output import finished_image
from vst_node.engine.plans import FramePlan, LeadIn, pass_plan, run_up, sequential_plan, temporal_offsets
from vst_node.engine.schedule import Schedule
from vst_node.engine.size_weights import weights_at_size
from vst_node.engine.start import fresh_start, start_image, uses_network
from vst_node.engine.stylize import Stylizer, TemporalTerm, clear_style_targets
from vst_node.engine.temporal_inputs import WarpedNeighbours, image_tensor, prefetch_flows, warp_neighbours
from vst_node.engine.vgg import caffe_preprocess, load_vgg19
from vst_node.io.sequence import format_frames
from vst_node.ops.resize import resize
from vst_node.settings import Preset, preset_digest

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
    "method",
    "network",
)
# What the cached source frames and flows depend on: colour.input changes the pixels a host fetches.
FLOW_SECTIONS = ("flow", "temporal", "resolution", "colour.input")
# Everything that changes a written frame: the stylized result and the output step (strength, colour
# preservation, highlights). Output folders and farm plans that must not mix settings key on these.
OUTPUT_SECTIONS = (*STYLIZED_SECTIONS, "colour", "strength")


IterationCallback = Callable[[int, int, int, float], None]
"""(frame, iterations done, the frame's budget, loss at the last stopping check)."""

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
    # How far the frame leaned on that neighbour (give_way: 1 = fully, 0 = rendered as on its own).
    trust: float | None = None
    run_up: int = 0  # frames walked before this one (a shot's first frame: plans.run_up), cost included

    def include(self, walked: list[FrameStats]) -> None:
        """Count the run-up's frames as this frame's work (they are rendered for it alone)."""
        self.run_up = len(walked)
        self.iterations += sum(s.iterations for s in walked)
        self.flow_seconds += sum(s.flow_seconds for s in walked)
        self.optimise_seconds += sum(s.optimise_seconds for s in walked)

    def finished(self, result: OptimiseResult, seconds: float) -> FrameStats:
        self.optimise_seconds = seconds
        self.iterations = result.iterations
        self.stopped_early = result.stopped_early
        self.losses = result.history
        return self


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
        precision: the network's dtype while optimising (settings.PRECISION_CHOICES)."""
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        configure_numerics(self.device)
        self.cancel = cancel
        self.on_iterations: IterationCallback | None = None  # progress inside a long frame
        self.flows = FlowCache(Path(cache_dir) / "flow" if cache_dir else None, device=self.device)
        self._cache_limit = max_cached_frames
        self._lock = threading.RLock()
        self._finished = FinishedFrames()
        self._pinned: set[int] = set()  # finished frames the running render still reads
        self._sources = SourceCache()
        self._schedule = Schedule()
        self._shot_frames: list[int] | None = None  # the whole shot, when the sequence is part of one
        self.render_scale = 1.0
        self.stats: dict[int, FrameStats] = {}
        self.total_iterations = 0  # over every frame (and pass) optimised since creation
        self.pass_store: PassStore = MemoryPassStore()
        self.rendering: tuple[int, int] | None = None  # (pass, frame) being optimised
        self._preset = preset
        self._stylizer: Stylizer | None = None
        self._network: FeedForwardStylizer | None = None
        self._stylized_digest = preset_digest(preset, STYLIZED_SECTIONS)
        self._lead_in: LeadIn | None = None
        # Every frame gets the first frame's budget: for sequences whose frames lie far apart (a
        # farm shot's anchors, each started from the last warped across a whole chunk).
        self.full_budget = False

    # -- parameters ---------------------------------------------------------------------------

    @property
    def preset(self) -> Preset:
        return self._preset

    @property
    def frames(self) -> list[int]:
        return self._schedule.frames

    @property
    def shot_frames(self) -> list[int]:
        """The whole shot's frames: what shot-wide statistics sample (a farm chunk is a part of it)."""
        return self._shot_frames or self.frames

    @property
    def offsets(self) -> tuple[int, ...]:
        """J: how far back a frame reaches (the warped-previous init alone needs only t-1)."""
        return temporal_offsets(self._preset)

    @property
    def max_cached_frames(self) -> int:
        needed = max(self.offsets, default=1)
        return needed if self._cache_limit is None else max(self._cache_limit, needed)

    @property
    def mask_blur_sigma(self) -> float:
        """The preset's blur of c is in full-resolution pixels; scaled to the processing size."""
        return self._preset.temporal.mask_blur_sigma * self._sources.pixel_scale

    @property
    def multipass(self) -> bool:
        return self._preset.multipass.passes > 1 and not self.feedforward

    @property
    def feedforward(self) -> bool:
        """Frames come from a trained network, each on its own (no flow, no neighbours)."""
        return self._preset.method == "feedforward"

    @property
    def network_digest(self) -> str | None:
        """The trained network's digest (feedforward presets), for the frames' metadata."""
        return self._network_ready().digest if self.feedforward else None

    def set_preset(self, preset: Preset) -> list[str]:
        """Apply changed parameters; returns what was invalidated ('stylized', 'flow')."""
        with self._lock:
            invalidated: list[str] = []
            digest = preset_digest(preset, STYLIZED_SECTIONS)
            if digest != self._stylized_digest:
                self._drop_results()
                self._stylizer = None
                self._network = None
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
            self._network = None  # shot statistics were gathered from the old footage

    def purge_caches(self) -> None:
        """Drop what memory can be dropped; results are re-rendered on demand, identically."""
        with self._lock:
            self.source_changed()
            self._stylizer = None
            self._network = None
            clear_style_targets()  # the process-wide caches too: VGG and the style statistics
            load_vgg19.cache_clear()
            self.flows.purge_memory()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _drop_results(self) -> None:
        self._finished.clear()
        self.stats.clear()
        if isinstance(self.pass_store, MemoryPassStore):
            self.pass_store.clear()

    # -- sequence -----------------------------------------------------------------------------

    def begin_sequence(
        self, frames: Sequence[int], render_scale: float = 1.0, shot_frames: Sequence[int] | None = None
    ) -> None:
        """The frames to render; `shot_frames`, when they are part of a longer shot (a farm chunk), so
        that shot-wide network statistics are the same in every part."""
        with self._lock:
            frames = list(frames)
            if not frames:
                raise ValueError("begin_sequence needs at least one frame")
            shot = list(shot_frames) if shot_frames else None
            if render_scale != self.render_scale or frames != self.frames or shot != self._shot_frames:
                self.source_changed()
            self._shot_frames = shot
            self._schedule = Schedule(frames)
            self.render_scale = render_scale
            if self._lead_in is not None:  # a property of one sequence (lead_into): results made
                self._drop_results()  # with it are not what the next sequence asks for
                self._lead_in = None

    def end_sequence(self) -> None:
        """Nothing to flush: finished frames stay cached for the host's next pass."""

    def close(self) -> None:
        self.flows.close()

    def frames_needed(self, t: int) -> list[int]:
        """Source frames that render(t) reads: t and the frames t-j of its temporal terms.

        With multi-pass every frame depends on every other: the whole range.
        """
        if self.multipass:
            return list(self.frames)
        before = [frame for _, frame in self._schedule.neighbours(t, self.offsets)]
        ahead = run_up(self._preset, self._schedule) if t == self.frames[0] else []
        needed = sorted([*before, t, *ahead], key=self._schedule.index.__getitem__)
        if self.feedforward and self._preset.network.statistics == "shot":
            samples = sample_frames(self.shot_frames, self._preset.network.shot_samples)
            needed += [frame for frame in samples if frame not in needed]  # read once, for the statistics
        return needed

    def is_finished(self, t: int) -> bool:
        if self.multipass:
            return self.pass_store.get(self._preset.multipass.passes - 1, t) is not None
        return t in self._finished

    def seed_finished(self, t: int, stylized_rgb: np.ndarray) -> None:
        """Adopt an already rendered frame (e.g. read back from disk on --resume) as finished."""
        with self._lock:
            hw = processing_size(stylized_rgb.shape[:2], self._preset, self.render_scale)
            x = image_tensor(np.ascontiguousarray(stylized_rgb[..., :3], np.float32), self.device)
            self._remember(t, caffe_preprocess(resize(x, hw).clamp(0, 1)))

    def finished_result(self, t: int) -> np.ndarray | None:
        """Frame t's exact result (caffe space, processing size), what later frames continue from:
        a StateStore keeps it so that a resumed render continues bit-identically."""
        return self._finished.get(t)

    def adopt_finished(self, t: int, result: np.ndarray) -> None:
        """Adopt a result saved by finished_result (same preset and lineage) as finished, unchanged."""
        with self._lock:
            self._finished[t] = np.ascontiguousarray(result, np.float32)
            self._finished.move_to_end(t)
            self._evict(t)

    def lead_into(self, anchor: int, result: np.ndarray, span: int) -> None:
        """Steer the sequence's last `span` frames into `anchor`, the finished frame right after the
        last (a farm chunk's next anchor, result as finished_result gives it), so that the boundary
        pair is as steady as the others (plans.LeadIn). Call it after begin_sequence, before the
        frames of the span are rendered."""
        with self._lock:
            if anchor in self._schedule:
                raise ValueError(f"the lead-in anchor {anchor} is inside the sequence")
            self._lead_in = LeadIn(anchor, np.ascontiguousarray(result, np.float32), span) if span else None

    # -- rendering ----------------------------------------------------------------------------

    def render(self, t: int, fetch: Fetch) -> np.ndarray:
        """Stylized frame t as network RGB at the source's size (strength applied)."""
        with self._lock:
            if t not in self._schedule:
                raise KeyError(f"frame {t} is not in the sequence ({self.frames[0]}-{self.frames[-1]})")
            if self.multipass:
                last = self._preset.multipass.passes - 1
                if self.pass_store.get(last, t) is None:
                    self.run_passes(fetch)
                result = self.pass_store.get(last, t)
                assert result is not None
            else:
                reach = max(self.offsets, default=0)
                run, self._pinned = self._schedule.missing_run(t, reach, self._finished)
                try:
                    for frame in run:
                        plan = sequential_plan(self._preset, self._schedule, self._finished, frame,
                                               self._lead_in, self.full_budget)  # fmt: skip
                        walked: list[FrameStats] = []
                        if not plan.neighbours and frame == self.frames[0]:
                            plan, walked = self._after_run_up(plan, fetch)
                        self._remember(frame, self._render_frame(plan, fetch))
                        self.stats[frame].include(walked)
                finally:
                    self._pinned = set()
                result = self._finished[t]
                self._evict(t)
            source = np.asarray(fetch(t), np.float32)
            p = self._preset
            return finished_image(result, source, p.colour, p.strength, self.device)

    def _after_run_up(self, plan: FramePlan, fetch: Fetch) -> tuple[FramePlan, list[FrameStats]]:
        """The first frame's plan continuing from the run-up (plans.run_up), and the run-up's stats.

        The run-up is a sequential walk of its own over (k, ..., 2, first): the same plans, give-way
        and flows as any walk, so a cut right after the first frame makes it give way as usual."""
        walk = run_up(self._preset, self._schedule)
        if not walk:
            return plan, []
        order = Schedule([*walk, plan.t])
        results: dict[int, np.ndarray] = {}
        kept = {f: self.stats[f] for f in walk if f in self.stats}  # frames already rendered for real
        walked: list[FrameStats] = []
        callback = self.on_iterations
        if callback is not None:  # progress: the run-up is the first frame's work
            self.on_iterations = lambda _frame, done, budget, loss: callback(plan.t, done, budget, loss)
        try:
            for frame in walk:
                step = sequential_plan(self._preset, order, results, frame, None, self.full_budget)
                results[frame] = stored_result(self._render_frame(step, fetch))
                walked.append(self.stats.pop(frame))
        finally:
            self.on_iterations = callback
            self.stats.update(kept)
        last = sequential_plan(self._preset, order, results, plan.t, None, self.full_budget)
        return replace(plan, neighbours=last.neighbours, iterations=last.iterations), walked

    def _render_frame(self, plan: FramePlan, fetch: Fetch) -> torch.Tensor:
        """The one path every optimised frame takes: flows, temporal terms, start, optimise, stats."""
        t = plan.t
        self.rendering = (plan.pass_index, t)
        stats = FrameStats(frame=t, pass_index=plan.pass_index)
        content = image_tensor(self._source(t, fetch), self.device)
        if self.feedforward:
            return self._network_frame(content, stats, fetch)
        prefetch_flows(plan.upcoming, lambda f: self._source(f, fetch), self.flows, self._preset.flow,
                       self.mask_blur_sigma)  # fmt: skip
        warped: WarpedNeighbours | None = None
        if plan.neighbours:
            p = self._preset
            warped = warp_neighbours(
                t, plan.neighbours, lambda f: self._source(f, fetch), self.flows, p.flow,
                self.mask_blur_sigma, p.temporal.use_mask, self.device, p.temporal.resampling,
            )  # fmt: skip
            stats.flow_seconds += warped.flow_seconds
            stats.reliable = warped.reliable
        nearest = warped.nearest if warped else None
        own = None if plan.own_last_pass is None else self._on_device(plan.own_last_pass)
        previous = plan.neighbours[0][2] if plan.neighbours else None
        network = self._network_ready().stylize if uses_network(self._preset) else None
        init = start_image(self._preset, t, content, nearest, previous, own, network)
        terms: list[TemporalTerm] = warped.terms if warped and plan.temporal_loss else []
        iterations = plan.iterations
        if warped is not None and own is None:
            give = GiveWay.for_frame(self._preset, warped.reliable)
            stats.trust = give.trust
            if not give.full:  # the flow may be wrong: lean towards the frame on its own
                p = self._preset
                init = give.start(init, fresh_start(p.init.first, content, t, p.init, network))
                terms = give.terms(terms)
                iterations = max(iterations, give.budget(p.optimiser))
        toward = None
        if plan.lead is not None:
            toward = self._warped_anchor(t, plan.lead, fetch)
            init = (1.0 - toward.weights) * init + toward.weights * toward.warped
            if terms:
                terms = [TemporalTerm(term.warped, term.weights * (1.0 - toward.weights)) for term in terms]
                terms.append(toward)
        started = time.perf_counter()
        report = None
        if self.on_iterations is not None:
            callback, budget = self.on_iterations, iterations
            report = lambda done, loss: callback(t, done, budget, loss)  # noqa: E731
        result = self._optimise(content, init, terms, iterations, report)
        self.stats[t] = stats.finished(result, time.perf_counter() - started)
        self.total_iterations += result.iterations
        if toward is not None:
            # The optimisation gives back part of the pull (the style terms re-sharpen the blend);
            # the result is blended once more, so the difference left at the boundary is the share
            # the lead-in plans, whatever the budget (plans.LeadIn).
            return (1.0 - toward.weights) * result.image + toward.weights * toward.warped
        return result.image

    def _warped_anchor(self, t: int, lead: tuple[int, np.ndarray, float], fetch: Fetch) -> TemporalTerm:
        """The lead-in anchor warped onto frame t, weighted by its share times the flow's reliability."""
        anchor, result, share = lead
        p = self._preset
        toward = warp_neighbours(
            t, [(0, anchor, result)], lambda f: self._source(f, fetch), self.flows, p.flow,
            self.mask_blur_sigma, p.temporal.use_mask, self.device, p.temporal.resampling,
        ).nearest  # fmt: skip
        return TemporalTerm(toward.warped, share * toward.weights)

    def _network_frame(self, content: torch.Tensor, stats: FrameStats, fetch: Fetch) -> torch.Tensor:
        """One forward pass of the trained network (after the shot's statistics, when frozen)."""
        network = self._network_ready()
        key = (tuple(self.shot_frames), self.render_scale)
        network.prepare_shot(key, self.shot_frames, lambda f: self._source(f, fetch))
        started = time.perf_counter()
        image = network.stylize(content)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        stats.optimise_seconds = time.perf_counter() - started
        self.stats[stats.frame] = stats
        return image

    def _network_ready(self) -> FeedForwardStylizer:
        if self._network is None:
            self._network = FeedForwardStylizer(self._preset, self.device)
        return self._network

    def _optimise(
        self,
        content: torch.Tensor,
        init: torch.Tensor,
        terms: list[TemporalTerm],
        iterations: int,
        on_window: WindowCallback | None = None,
    ) -> OptimiseResult:
        stylizer = self._stylizer_ready()
        result = stylize_multiscale(
            stylizer, content, init, terms, iterations, self._preset.multiscale, self.cancel,
            weights=weights_at_size(stylizer.weights, tuple(content.shape[-2:]), self._preset.multiscale),
            on_window=on_window,
        )  # fmt: skip
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return result

    def _source(self, t: int, fetch: Fetch) -> np.ndarray:
        """Processing-size network RGB in [0,1] of frame t (each frame is fetched once)."""
        size_of = lambda hw: processing_size(hw, self._preset, self.render_scale)  # noqa: E731
        keep = max(self.offsets, default=1) + 2  # the terms, t and the next
        return self._sources.load(t, fetch, size_of, self.render_scale, keep)

    def _remember(self, t: int, image: torch.Tensor) -> None:
        self._finished.remember(t, image)
        self._evict(t)

    def _evict(self, t: int) -> None:
        """Keep at most max_cached_frames, never the window the next frame needs nor pinned ones."""
        window = self._schedule.window(t, max(self.offsets, default=1)) | self._pinned
        self._finished.evict(self.max_cached_frames, window)

    def _on_device(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).to(self.device)

    def _stylizer_ready(self) -> Stylizer:
        if self._stylizer is None:
            self._stylizer = Stylizer(self._preset, self.device, self.precision)
        return self._stylizer

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
                        plan = pass_plan(self._preset, store, order, position, pass_index)
                        image = self._render_frame(plan, fetch)
                        store.put(pass_index, t, stored_result(image))
                        stats = self.stats[t]
                yield pass_index, t, position, stats
            store.mark_complete(pass_index)
            if pass_index >= 1:
                store.drop(pass_index - 1)  # the next pass reads only this one


def independent_preset(preset: Preset, init: str = "random") -> Preset:
    """The same preset stylizing every frame on its own (the baseline that flickers)."""
    return replace(
        preset,
        init=replace(preset.init, first=init, later=init),
        temporal=replace(preset.temporal, enabled=False),
    )
