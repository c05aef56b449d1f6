"""Rendering a whole sequence through the node: the job behind `vst-node render`.

Checks everything it can before the first frame is optimised (preset, frames present, headers
readable, sizes consistent, output not the input), then renders in order. Every frame is written to
a temporary file and renamed into place, so an interrupted render leaves only whole frames, and
`resume` skips them and rebuilds the temporal state from the last one.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .colour import from_network, input_colorspace, output_colorspace, to_network, transform_attributes
from .errors import InputError, RenderError, VstError
from .image_io import Frame, probe_frame, read_frame, write_frame
from .node import STYLIZED_SECTIONS, StyleTransferNode
from .optimise import CancelCheck
from .presets import Preset, preset_digest
from .progress import Progress
from .sequence import SequencePattern, format_frames, resolve_frames

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
    resume: bool = False
    cache_dir: Path | None = None


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

    @property
    def ok(self) -> bool:
        return not self.failed


def check_inputs(job: RenderJob) -> list[int]:
    """Every input problem, found before any work starts, in one error."""
    frames = resolve_frames(job.source, job.frame_spec) if not job.source.is_still else [1]
    if job.source.is_still and not job.source.path(1).exists():
        raise InputError(f"{job.source}: no such file")
    if not job.output.is_still and str(job.output) == str(job.source):
        raise InputError(f"output {job.output} is the input sequence: refusing to overwrite the source")
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


def _read_finished(path: Path, out_space: str) -> np.ndarray:
    """A finished output frame back in network space, to rebuild the temporal state on resume."""
    image = read_frame(path)
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


def render_sequence(
    job: RenderJob,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
    node_factory: Callable[..., StyleTransferNode] = StyleTransferNode,
) -> RenderReport:
    """Render job.source to job.output in frame order; stops at the first failed frame."""
    frames = check_inputs(job)
    report = RenderReport(frames=frames)
    out_space = output_colorspace(job.output.path(frames[0]))
    reader = SourceReader(job, report.times)
    node = node_factory(job.preset, device=job.device, cache_dir=job.cache_dir, cancel=cancel)
    node.begin_sequence(frames)
    progress = progress or Progress(len(frames))
    attributes_base = {
        "Software": f"vst-node {__version__}",
        "vst:preset": job.preset.name,
        "vst:preset_digest": preset_digest(job.preset, STYLIZED_SECTIONS),
    }
    try:
        for index, frame in enumerate(frames):
            out_path = job.output.path(frame)
            if job.resume and out_path.exists():
                _warn_if_other_settings(out_path, attributes_base["vst:preset_digest"], progress)
                nxt = frames[index + 1] if index + 1 < len(frames) else None
                if nxt is not None and not job.output.path(nxt).exists():
                    node.seed_finished(frame, _read_finished(out_path, out_space))
                report.skipped.append(frame)
                progress.frame_done(frame, skipped=True)
                continue
            try:
                _render_frame(node, reader, job, frame, out_path, out_space, attributes_base, report)
            except VstError as exc:
                report.failed[frame] = str(exc)
                progress.message(f"error: frame {frame}: {exc}")
                break
            stats = node.stats.get(frame)
            detail = f"{stats.iterations} it, {stats.optimise_seconds:.1f}s" if stats else ""
            progress.frame_done(frame, detail)
    finally:
        node.end_sequence()
        node.close()
        report.flows_computed = node.flows.computed
        report.times.flow_compute = node.flows.compute_seconds
    return report


def _render_frame(
    node: StyleTransferNode,
    reader: SourceReader,
    job: RenderJob,
    frame: int,
    out_path: Path,
    out_space: str,
    attributes_base: dict[str, str],
    report: RenderReport,
) -> None:
    image, _rgb, alpha, in_space = reader.decoded(frame)
    try:
        stylized = node.render(frame, reader)
    except (RuntimeError, FloatingPointError) as exc:
        raise RenderError(f"{job.source.path(frame)}: stylization failed: {exc}") from exc
    stats = node.stats.get(frame)
    if stats is not None:
        report.times.flow += stats.flow_seconds
        report.times.optimise += stats.optimise_seconds
        report.iterations[frame] = stats.iterations
    started = time.perf_counter()
    rgba = from_network(stylized, alpha, out_space)
    report.times.colour += time.perf_counter() - started
    attributes = {**attributes_base, **transform_attributes(in_space, out_space)}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_frame(out_path, rgba, like=image, attributes=attributes)
    report.times.write += time.perf_counter() - started
    report.written.append(frame)
