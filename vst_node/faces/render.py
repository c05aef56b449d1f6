"""Rendering a whole sequence through the node: the job behind `vst-node render`.

Checks everything it can before the first frame is optimised (preset, frames present, headers
readable, sizes consistent, output not the input), then renders in order. Every frame is written to
a temporary file and renamed into place, so an interrupted render leaves only whole frames, and
`resume` skips them and continues from the exact float state the last one left (a StateStore in the
cache folder), so that a resumed render gives the same pixels as an uninterrupted one.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vst_node import __version__
from vst_node.engine.frame_state import StateStore
from vst_node.engine.multipass import DiskPassStore, fingerprint, last_complete_pass
from vst_node.engine.node import LOW_RELIABILITY, STYLIZED_SECTIONS, FrameStats, StyleTransferNode
from vst_node.engine.optimise import CancelCheck
from vst_node.errors import InputError, RenderError, VstError
from vst_node.faces.progress import Progress
from vst_node.io.colour import (
    from_network,
    input_colorspace,
    output_colorspace,
    to_network,
    transform_attributes,
)
from vst_node.io.image_io import Frame, probe_frame, read_frame, wide_integer_channels, write_frame
from vst_node.io.sequence import SequencePattern, format_frames, resolve_frames
from vst_node.settings import Preset, preset_digest

IMAGE_EXTENSIONS = (".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


def default_cache_dir() -> Path:
    """Flows are keyed by content, so one cache per user serves every shot and preset."""
    if env := os.environ.get("VST_NODE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vst-node"


def output_pattern(output: str, source: SequencePattern) -> SequencePattern:
    """`-o` may be a pattern (`out/shot.####.exr`) or a folder (the source's name, as EXR, goes in it)."""
    pattern = SequencePattern.parse(output)
    if not pattern.is_still:
        return pattern
    path = Path(output)
    if output.endswith(os.sep) or path.is_dir() or not path.suffix:
        name = Path(str(source)).name
        stem = name[: -len(Path(name).suffix)] if Path(name).suffix else name
        if source.is_still:
            stem += ".####"
        return SequencePattern.parse(str(path / f"{stem}.exr"))
    return pattern


@dataclass
class RenderJob:
    source: SequencePattern
    output: SequencePattern
    preset: Preset
    frame_spec: str | None = None
    layer: str | None = None
    device: str = "auto"
    precision: str = "float32"
    resume: bool = False
    cache_dir: Path | None = None
    # The exact float state finished frames leave for the next (None: a folder in cache_dir, keyed
    # by this job's lineage; no cache_dir, no state: resume continues from the written frame).
    state_dir: Path | None = None
    state_key: str | None = None  # a lineage key of the caller's (a farm plan's), else this job's
    keep_states: frozenset[int] = frozenset()  # states others continue from (a farm shot's anchors)
    # (frame after the range, span): steer the last `span` frames into that finished frame, whose
    # state must be in the state store (a farm chunk's next anchor; plans.LeadIn).
    lead_in: tuple[int, int] | None = None
    # Write each frame here first, then rename it into the output (a farm chunk's private folder;
    # it must be on the output's file system). A frame is done once it is in the output.
    work_dir: Path | None = None
    on_published: Callable[[int, Path], None] | None = None  # after a frame is in the output
    full_budget: bool = False  # every frame gets the first frame's iterations (a farm shot's anchors)
    # Write only these frames (None: all); the others are rendered for the frames after them (a farm
    # shot's key frames between its anchors), and count as done once a later written frame is there.
    publish: frozenset[int] | None = None
    # The whole shot when these frames are part of it (a farm chunk): shot-wide network statistics
    # sample the shot, not the part, so that neighbouring chunks agree.
    shot_frames: tuple[int, ...] | None = None


@dataclass
class PhaseTimes:
    """Seconds spent per phase over the whole job (the CPU benchmark reports these)."""

    read: float = 0.0
    colour: float = 0.0
    flow: float = 0.0  # waited for flow on the render thread
    flow_compute: float = 0.0  # spent computing flow, mostly on the worker while optimising
    optimise: float = 0.0
    write: float = 0.0


@dataclass
class RenderReport:
    frames: list[int]
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    times: PhaseTimes = field(default_factory=PhaseTimes)
    iterations: dict[int, int] = field(default_factory=dict)
    flows_computed: int = 0  # flow pairs computed rather than read from the cache
    reliable: dict[int, float] = field(default_factory=dict)  # FrameStats.reliable, latest pass

    @property
    def ok(self) -> bool:
        return not self.failed

    def record(self, stats: FrameStats) -> None:
        """Add one rendered frame (or one pass over it) to the totals."""
        self.times.flow += stats.flow_seconds
        self.times.optimise += stats.optimise_seconds
        self.iterations[stats.frame] = self.iterations.get(stats.frame, 0) + stats.iterations
        if stats.reliable is not None:
            self.reliable[stats.frame] = stats.reliable

    def poorly_tracked(self, below: float = LOW_RELIABILITY) -> dict[int, float]:
        """Frames whose flow is reliable on less than `below` of the picture: they may flicker."""
        return {frame: share for frame, share in sorted(self.reliable.items()) if share < below}


def check_inputs(job: RenderJob) -> list[int]:
    """Every input problem, found before any work starts, in one error."""
    # A single image with --frames: resolve_frames says it has no frame range.
    still = job.source.is_still and job.frame_spec is None
    frames = [1] if still else resolve_frames(job.source, job.frame_spec)
    if job.source.is_still and not job.source.path(1).exists():
        raise InputError(f"{job.source}: no such file")
    sources = {job.source.path(frame).resolve() for frame in frames}
    clash = next((frame for frame in frames if job.output.path(frame).resolve() in sources), None)
    if clash is not None:
        raise InputError(
            f"output {job.output} would overwrite the input ({job.output.path(clash)} is a source"
            " frame): refusing to overwrite the source"
        )
    if job.output.is_still and len(frames) > 1:
        raise InputError(f"output {job.output} has no frame number token (####, @@@@ or %04d)")
    if job.output.path(frames[0]).suffix.lower() not in IMAGE_EXTENSIONS:
        raise InputError(
            f"output {job.output}: unsupported extension (use one of {', '.join(IMAGE_EXTENSIONS)})"
        )
    problems: list[str] = []
    sizes: dict[tuple[int, int], list[int]] = {}
    for frame in frames:
        try:
            spec = probe_frame(job.source.path(frame), job.layer)
        except InputError as exc:
            problems.append(f"frame {frame}: {exc}")
            continue
        sizes.setdefault((spec.full_width, spec.full_height), []).append(frame)
    if len(sizes) > 1:
        listed = "; ".join(f"{w}x{h}: frames {format_frames(fs)}" for (w, h), fs in sizes.items())
        problems.append(f"display windows differ within the sequence ({listed})")
    if problems:
        raise InputError(f"{job.source}: " + "\n  ".join(["cannot render:", *problems]))
    return frames


class SourceReader:
    """fetch(frame) for the node: reads, decodes and encodes each frame once (small LRU)."""

    def __init__(self, job: RenderJob, times: PhaseTimes, keep: int = 4) -> None:
        self.job = job
        self.times = times
        self.keep = keep
        self._cache: OrderedDict[int, tuple[Frame, np.ndarray, np.ndarray, str]] = OrderedDict()

    def decoded(self, frame: int) -> tuple[Frame, np.ndarray, np.ndarray, str]:
        if frame in self._cache:
            self._cache.move_to_end(frame)
            return self._cache[frame]
        started = time.perf_counter()
        image = read_frame(self.job.source.path(frame), self.job.layer)
        self.times.read += time.perf_counter() - started
        started = time.perf_counter()
        space = input_colorspace(image, self.job.preset.colour.input)
        rgb, alpha = to_network(image.rgba, space)
        self.times.colour += time.perf_counter() - started
        self._cache[frame] = (image, rgb, alpha, space)
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return self._cache[frame]

    def __call__(self, frame: int) -> np.ndarray:
        return self.decoded(frame)[1]


def _read_finished(path: Path, out_space: str, layer: str | None) -> np.ndarray:
    """A finished output frame back in network space, to rebuild the temporal state on resume (the
    stylized layer: the file keeps the input's other layers beside it)."""
    image = read_frame(path, layer)
    rgb, _alpha = to_network(image.rgba, out_space)
    return rgb


def _warn_if_other_settings(path: Path, digest: str, progress: Progress) -> None:
    """Resume keeps finished frames; say so when they were made with other settings."""
    try:
        existing = probe_frame(path).get_string_attribute("vst:preset_digest")
    except InputError:
        existing = ""
    if existing and existing != digest:
        progress.message(f"warning: {path} was rendered with other preset settings; kept as it is")


class RenderSession:
    """One render job, steppable: `steps()` yields after every frame (and every pass of a multi-pass
    render), so a host with an event loop (Blender's modal operator) can render a frame per tick and
    cancel between frames; `render_sequence` simply runs it to the end.

    Everything that can be checked is checked when the session is created, before any work.
    """

    def __init__(
        self,
        job: RenderJob,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
        node_factory: Callable[..., StyleTransferNode] = StyleTransferNode,
    ) -> None:
        self.job = job
        self.frames = check_inputs(job)
        self.report = RenderReport(frames=self.frames)
        self.reader = SourceReader(job, self.report.times)
        # max_cached_frames=None: the node keeps exactly the max(J) frames the next frame needs.
        self.node = node_factory(
            job.preset,
            device=job.device,
            precision=job.precision,
            cache_dir=job.cache_dir,
            cancel=cancel,
            max_cached_frames=None,
        )
        self.passes = job.preset.multipass.passes if self.node.multipass else 1
        self.progress = progress or Progress(len(self.frames) * self.passes)
        self.node.begin_sequence(self.frames, shot_frames=job.shot_frames)
        self.node.full_budget = job.full_budget
        self.node.on_iterations = self.progress.iterations
        attributes = {
            "Software": f"vst-node {__version__}",
            "vst:preset": job.preset.name,
            "vst:preset_digest": preset_digest(job.preset, STYLIZED_SECTIONS),
            "vst:precision": job.precision,
            "vst:method": job.preset.method,
        }
        if network := self.node.network_digest:
            attributes["vst:network_digest"] = network  # the trained weights, not just their path
        out_space = output_colorspace(job.output.path(self.frames[0]))
        self.writer = _FrameWriter(job, self.reader, out_space, attributes, self.report)
        self.state = _state_store(job, self.frames, attributes["vst:preset_digest"], self.node)
        self._warn_about_integer_channels()
        multipass = job.preset.multipass
        if self.passes > 1 and multipass.temporal_from >= self.passes:
            self.progress.message(
                f"warning: {self.passes} passes, and the temporal loss starts at pass"
                f" {multipass.temporal_from} (multipass.temporal_from, counting from 0): no pass uses it"
            )
        if job.lead_in is not None:
            self._lead_in(*job.lead_in)
        self._closed = False

    def _warn_about_integer_channels(self) -> None:
        """The output carries the input's other channels; say when some cannot be carried exactly."""
        first = self.job.source.path(self.frames[0])
        if self.job.output.path(self.frames[0]).suffix.lower() != ".exr" or first.suffix.lower() != ".exr":
            return
        if names := wide_integer_channels(first):
            self.progress.message(
                f"warning: {first.name} has 32-bit integer channels ({', '.join(names)}); the output"
                " carries them through 32-bit float, exact up to 16777216: larger IDs may change in"
                " their low bits"
            )

    def _lead_in(self, anchor: int, span: int) -> None:
        result = self.state.load(anchor) if self.state is not None else None
        if result is None:
            raise RenderError(
                f"frame {anchor}: its exact state is not in {self.job.state_dir}; the frames before it"
                " cannot lead into it (render that frame first, with the same plan)"
            )
        self.node.lead_into(anchor, result, span)

    @property
    def total_steps(self) -> int:
        return len(self.frames) * self.passes

    def steps(self) -> Iterator[int]:
        """Render; yields each frame number as it is done (written, skipped, or a pass finished)."""
        try:
            if self.passes > 1:
                yield from self._passes()
            else:
                yield from self._in_order()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the flow worker and fill in the report; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.node.end_sequence()
        self.node.close()
        self.report.flows_computed = self.node.flows.computed
        self.report.times.flow_compute = self.node.flows.compute_seconds

    def _in_order(self) -> Iterator[int]:
        job, node, report, progress = self.job, self.node, self.report, self.progress
        reach = max(node.offsets, default=0)
        digest = self.writer.attributes["vst:preset_digest"]
        for index, frame in enumerate(self.frames):
            out_path = job.output.path(frame)
            if job.resume and self._done(index):
                _warn_if_other_settings(out_path, digest, progress)
                later = range(index + 1, min(len(self.frames), index + 1 + reach))
                if any(not self._done(i) for i in later):  # a term of a frame to do
                    self._continue_from(frame, out_path)
                report.skipped.append(frame)
                progress.frame_done(frame, skipped=True)
                yield frame
                continue
            try:
                stylized = _stylize(node, self.reader, job, frame)
                if reach and self.state is not None:  # before the frame appears: resume finds both
                    self.state.save(frame, node.finished_result(frame))
                self.writer.write(frame, stylized, node.stats.get(frame))
            except VstError as exc:
                report.failed[frame] = str(exc)
                progress.message(f"error: frame {frame}: {exc}")
                return
            if self.state is not None:  # only the frames the next ones read, and the kept ones
                behind = self.frames[: max(0, index + 1 - reach)]
                self.state.discard(f for f in behind if f not in job.keep_states)
            progress.frame_done(frame, _detail(node.stats.get(frame)))
            yield frame
        if self.state is not None and not report.failed and not job.keep_states and job.state_dir is None:
            self.state.remove()  # every frame is in the output: nothing continues from the state

    def _done(self, index: int) -> bool:
        """Frame index's output is there (or, not published, a later published frame's is)."""
        publish = self.job.publish
        frame = self.frames[index]
        if publish is None or frame in publish:
            return self.job.output.path(frame).exists()
        later = [f for f in self.frames[index + 1 :] if f in publish]
        return bool(later) and self.job.output.path(later[0]).exists()

    def _continue_from(self, frame: int, out_path: Path) -> None:
        """A finished frame the next frames read: its exact state, else the written frame."""
        result = self.state.load(frame) if self.state is not None else None
        if result is not None:
            self.node.adopt_finished(frame, result)
            return
        self.progress.message(
            f"note: frame {frame}: no saved state (rendered by another run, or without a cache);"
            " continuing from the written frame, so the next frames may differ slightly from an"
            " uninterrupted render"
        )
        self.node.seed_finished(frame, _read_finished(out_path, self.writer.out_space, self.job.layer))

    def _passes(self) -> Iterator[int]:
        """Multi-pass: every pass over the range, results per pass on disk; the last pass is written.

        With --resume, complete passes are not redone and a pass resumes at its first missing
        frame; without it, earlier intermediate results are discarded.
        """
        job, node, report, progress, frames = self.job, self.node, self.report, self.progress, self.frames
        passes = self.passes
        digest = self.writer.attributes["vst:preset_digest"]
        outputs = [job.output.path(f) for f in frames]
        if job.resume and all(path.exists() for path in outputs):
            progress.done = progress.total - len(frames)
            for frame, path in zip(frames, outputs, strict=True):
                _warn_if_other_settings(path, digest, progress)
                report.skipped.append(frame)
                progress.frame_done(frame, skipped=True)
                yield frame
            return
        store: DiskPassStore | None = None
        if job.cache_dir is not None:
            key = _passes_fingerprint(job, frames, digest)
            root = Path(job.cache_dir) / "passes" / key[:24]
            store = DiskPassStore(root, key, fresh=not job.resume)
            node.pass_store = store
        elif job.resume:
            progress.message(
                "note: --no-cache keeps passes in memory: a multi-pass render restarts at pass 1"
            )
        done = last_complete_pass(node.pass_store, passes) + 1
        if done:
            progress.done += done * len(frames)
            progress.message(f"resuming: pass {'1' if done == 1 else f'1-{done}'} of {passes} done earlier")
        last = passes - 1
        try:
            for pass_index, frame, _position, stats in node.iter_passes(self.reader):
                progress.stage = f"pass {pass_index + 1}/{passes}"
                if stats is not None:
                    report.record(stats)
                if pass_index == last:
                    if job.resume and job.output.path(frame).exists() and stats is None:
                        report.skipped.append(frame)
                        progress.frame_done(frame, skipped=True)
                        yield frame
                        continue
                    self.writer.write(frame, _stylize(node, self.reader, job, frame), None)
                progress.frame_done(frame, _detail(stats) if stats else "done earlier")
                yield frame
        except (RuntimeError, FloatingPointError, VstError) as exc:
            pass_index, frame = node.rendering or (0, frames[0])
            message = f"pass {pass_index + 1}/{passes}: {exc}"
            report.failed[frame] = message
            progress.message(f"error: frame {frame}: {message}")
            return
        if store is not None:
            store.remove()  # everything is in the output now


def render_sequence(
    job: RenderJob,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    node_factory: Callable[..., StyleTransferNode] = StyleTransferNode,
) -> RenderReport:
    """Render job.source to job.output in frame order; stops at the first failed frame."""
    session = RenderSession(job, progress, cancel, node_factory)
    for _ in session.steps():
        pass
    return session.report


def _state_store(
    job: RenderJob, frames: list[int], digest: str, node: StyleTransferNode
) -> StateStore | None:
    """Where finished frames leave their exact state (None: nowhere to keep it, or nothing to keep)."""
    if node.multipass or not node.offsets:
        return None  # multi-pass keeps its passes in a DiskPassStore; feed-forward frames are independent
    if job.state_dir is not None:
        key = job.state_key or fingerprint(digest, job.layer, job.precision, str(node.device), __version__)
        return StateStore(job.state_dir, key)
    if job.cache_dir is None:
        return None
    key = job.state_key or _passes_fingerprint(job, frames, digest, job.precision, str(node.device))
    return StateStore(Path(job.cache_dir) / "state" / key[:24], key, fresh=not job.resume)


def _passes_fingerprint(job: RenderJob, frames: list[int], digest: str, *more: object) -> str:
    """What the intermediate passes (or the temporal state) depend on: settings, the exact source
    files, the range."""
    sources = []
    for frame in frames:
        path = job.source.path(frame)
        stat = path.stat()
        sources.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return fingerprint(digest, job.layer, frames, sources, __version__, *more)


def _detail(stats: FrameStats | None) -> str:
    if stats is None:
        return ""
    if stats.iterations == 0 and stats.reliable is None:  # a network frame: one forward pass
        return f"{stats.optimise_seconds * 1000:.0f} ms"
    detail = f"{stats.iterations} it, {stats.optimise_seconds:.1f}s"
    if stats.run_up:  # a shot's first frame, rendered after a walk back from the frames ahead
        detail += f" with a {stats.run_up}-frame run-up"
    if stats.reliable is None:
        return detail
    detail = f"{detail}, flow reliable on {stats.reliable:.0%}"
    if stats.trust is not None and stats.trust < 1.0:  # give_way: the frame leaned less on the flow
        neighbour = "the next frame" if stats.run_up else "the previous frame"
        detail += f", leaning {stats.trust:.0%} on {neighbour}"
    return detail


def _stylize(node: StyleTransferNode, reader: SourceReader, job: RenderJob, frame: int) -> np.ndarray:
    try:
        return node.render(frame, reader)
    except (RuntimeError, FloatingPointError) as exc:
        raise RenderError(f"{job.source.path(frame)}: stylization failed: {exc}") from exc


class _FrameWriter:
    """Network RGB back to the output colour space, original alpha and header; temp file + rename."""

    def __init__(
        self,
        job: RenderJob,
        reader: SourceReader,
        out_space: str,
        attributes: dict[str, str],
        report: RenderReport,
    ) -> None:
        self.job = job
        self.reader = reader
        self.out_space = out_space
        self.attributes = attributes
        self.report = report

    def write(self, frame: int, stylized: np.ndarray, stats: FrameStats | None) -> None:
        report = self.report
        if self.job.publish is not None and frame not in self.job.publish:
            if stats is not None:
                report.record(stats)
            return
        image, _rgb, alpha, in_space = self.reader.decoded(frame)
        if stats is not None:
            report.record(stats)
        started = time.perf_counter()
        rgba = from_network(stylized, alpha, self.out_space, source=image.rgba)
        report.times.colour += time.perf_counter() - started
        attributes = {**self.attributes, **transform_attributes(in_space, self.out_space)}
        out_path = self.job.output.path(frame)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise RenderError(f"{out_path.parent}: cannot create the output folder ({reason})") from exc
        work = self.job.work_dir
        started = time.perf_counter()
        target = out_path if work is None else work / out_path.name
        write_frame(target, rgba, like=image, attributes=attributes)
        if work is not None:
            os.replace(target, out_path)  # published whole: the same rename as above
        report.times.write += time.perf_counter() - started
        report.written.append(frame)
        if self.job.on_published is not None:
            self.job.on_published(frame, out_path)
