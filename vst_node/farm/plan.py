"""The chunk plan: which shots, which frames per task, and how chunks meet, for any farm engine.

A plan is plain data (JSON) that every engine reads the same way: Dask turns it into a task graph,
OpenCue into an outline. Each shot's frames are cut into chunks of N frames. With a method whose
frames depend on the previous one (the optimisation with its temporal terms), the first frame of
every chunk is an *anchor*, and one task per shot renders the anchors first, as a sequence of its
own: it walks every few frames (`anchor_step`, the key frames), each continuing from the one before
along the flow between them, and publishes the anchors, so that neighbouring anchors already agree
(a flow across a whole chunk would lose most of the picture on a moving shot). Then the chunks
run in parallel: each starts from its anchor's exact state and steers its last frames into the
next anchor (engine.plans.LeadIn), which spreads what difference is left over those frames instead
of one boundary pair. Frames of the fast network are independent: chunks need no anchors. A
multi-pass preset needs the whole range: one chunk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vst_node import __version__
from vst_node.engine.multipass import fingerprint
from vst_node.engine.node import OUTPUT_SECTIONS
from vst_node.engine.plans import temporal_offsets
from vst_node.errors import InputError
from vst_node.faces.render import RenderJob, check_inputs, output_pattern
from vst_node.io.atomic import write_text_atomic
from vst_node.io.sequence import SequencePattern, frame_spec, parse_frame_range
from vst_node.settings import Preset, load_preset, preset_digest
from vst_node.settings.loading import PATH_KEYS, looks_like_path

PLAN_FORMAT = "vst-node-farm-plan/1"
DEFAULT_CHUNK = 25
# Frames steered into the next anchor (None: the whole chunk; each pair gets about 1/(span+1) of the
# gap, and the longer the span, the more alike the two paintings each blend mixes).
DEFAULT_LEAD_IN: int | None = None
DEFAULT_ANCHOR_STEP = 4  # frames between the anchors task's key frames (a serial walk of 1/step of the shot)
FARM_FOLDER = ".vst-farm"  # beside each shot's output: the shot's state, task folders and journal
ANCHORS, CHUNK = "anchors", "chunk"


@dataclass(frozen=True)
class ShotRequest:
    """One shot as the user names it: source, output, optional frames, layer and name."""

    source: str
    output: str
    frames: str | None = None
    layer: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Task:
    """One unit of farm work: a shot's anchors (in order), or a chunk of frames after its anchor."""

    shot: str
    kind: str  # ANCHORS or CHUNK
    first: int  # the task's first frame: its id within the shot (and OpenCue's #IFRAME#)
    frames: tuple[int, ...]
    needs: tuple[int, ...] = ()  # anchor frames this chunk starts from or leads into (the anchors task)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.first}"


@dataclass
class ShotPlan:
    name: str
    source: str  # absolute sequence pattern
    output: str  # absolute sequence pattern
    frames: list[int]
    layer: str | None = None
    chunks: list[list[int]] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)  # empty: chunks are independent
    keyframes: list[int] = field(default_factory=list)  # the anchors task's walk (anchors included)

    @property
    def folder(self) -> Path:
        """The shot's farm folder, beside its output (same file system: frames are renamed in)."""
        return SequencePattern.parse(self.output).path(self.frames[0]).parent / FARM_FOLDER / self.name

    def tasks(self, every_chunk: bool = False) -> list[Task]:
        """The anchors first (chunks need them), then the chunks. A chunk that is its anchor alone
        has nothing left to do: it is left out unless every_chunk (an OpenCue layer runs every chunk)."""
        tasks = [Task(self.name, ANCHORS, self.anchors[0], tuple(self.keyframes))] if self.anchors else []
        for index, chunk in enumerate(self.chunks):
            if self.anchors and len(chunk) == 1 and not every_chunk:
                continue
            needs = self.anchors[index : index + 2] if self.anchors else []
            tasks.append(Task(self.name, CHUNK, chunk[0], tuple(chunk), tuple(needs)))
        return tasks

    def next_anchor(self, chunk_first: int) -> int | None:
        """The anchor after the chunk starting at chunk_first (what its last frames lead into)."""
        if not self.anchors:
            return None
        index = self.anchors.index(chunk_first)
        return self.anchors[index + 1] if index + 1 < len(self.anchors) else None


@dataclass
class FarmPlan:
    preset: str  # name or absolute path, as the workers will load it
    overrides: list[str]
    preset_digest: str
    method: str
    device: str = "auto"
    precision: str = "float32"
    chunk: int = DEFAULT_CHUNK
    lead_in: int = 0
    anchor_step: int = DEFAULT_ANCHOR_STEP
    cache_dir: str | None = None  # flows; None: each worker's own cache
    # CPU threads per task (None: torch's choice, the machine's cores). Bit-identical retries need
    # the same arithmetic, so the same thread count (and the same kind of CPU or GPU) everywhere.
    threads: int | None = None
    shots: list[ShotPlan] = field(default_factory=list)
    version: str = __version__
    id: str = ""

    def shot(self, name: str) -> ShotPlan:
        for shot in self.shots:
            if shot.name == name:
                return shot
        raise InputError(f"the plan has no shot {name!r} (it has {', '.join(s.name for s in self.shots)})")

    def tasks(self) -> list[Task]:
        return [task for shot in self.shots for task in shot.tasks()]

    def task(self, shot: str, task_id: str) -> Task:
        for task in self.shot(shot).tasks(every_chunk=True):
            if task.id == task_id:
                return task
        raise InputError(f"shot {shot!r} has no task {task_id!r} (expected anchors:FRAME or chunk:FRAME)")

    def load_preset(self) -> Preset:
        """The plan's preset as this machine resolves it; refuses one that differs from the plan's."""
        preset = load_preset(self.preset, self.overrides)
        digest = preset_digest(preset, OUTPUT_SECTIONS)
        if digest != self.preset_digest:
            raise InputError(
                f"preset {self.preset!r} resolves to other settings here than when the plan was made"
                f" (digest {digest[:12]} vs {self.preset_digest[:12]}): every machine must see the same"
                " preset and style files"
            )
        return preset

    def to_json(self) -> str:
        data = asdict(self)
        for shot in data["shots"]:
            shot["frames"] = frame_spec(shot["frames"])
            shot["chunks"] = [frame_spec(chunk) for chunk in shot["chunks"]]
            shot["keyframes"] = frame_spec(shot["keyframes"])
        return json.dumps({"format": PLAN_FORMAT, **data}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str = "plan") -> FarmPlan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}: not a farm plan (invalid JSON: {exc})") from exc
        if not isinstance(data, dict) or data.pop("format", None) != PLAN_FORMAT:
            raise InputError(f"{origin}: not a vst-node farm plan ({PLAN_FORMAT})")
        try:
            shots = [
                ShotPlan(
                    **{
                        **shot,
                        "frames": parse_frame_range(shot["frames"]),
                        "chunks": [parse_frame_range(c) for c in shot["chunks"]],
                        "keyframes": parse_frame_range(shot["keyframes"]) if shot.get("keyframes") else [],
                    }
                )
                for shot in data.pop("shots")
            ]
            return cls(**data, shots=shots)
        except (TypeError, KeyError) as exc:
            raise InputError(f"{origin}: a farm plan of another version or damaged ({exc})") from exc


def read_plan(path: Path) -> FarmPlan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the plan ({exc.strerror})") from exc
    return FarmPlan.from_json(text, str(path))


def write_plan(plan: FarmPlan, path: Path) -> None:
    write_text_atomic(Path(path), plan.to_json())


def make_plan(
    requests: list[ShotRequest],
    preset_name: str,
    overrides: list[str],
    *,
    chunk: int = DEFAULT_CHUNK,
    lead_in: int | None = DEFAULT_LEAD_IN,
    anchor_step: int = DEFAULT_ANCHOR_STEP,
    device: str = "auto",
    precision: str = "float32",
    cache_dir: Path | None = None,
    threads: int | None = None,
) -> FarmPlan:
    """Check every shot as `vst-node render` would (frames present, headers, sizes), then cut them."""
    lead_in = chunk - 1 if lead_in is None else lead_in
    if min(chunk, anchor_step, threads or 1) < 1 or lead_in < 0:
        raise InputError(
            "--chunk, --anchor-step and --threads must be >= 1, --lead-in >= 0"
            f" (got {chunk}, {anchor_step}, {threads}, {lead_in})"
        )
    if not requests:
        raise InputError("no shots: give IN -o OUT pairs or --shots FILE")
    preset = load_preset(preset_name, overrides)
    plan = FarmPlan(
        preset=_portable_reference(preset_name),
        overrides=_portable_overrides(overrides, preset),
        preset_digest=preset_digest(preset, OUTPUT_SECTIONS),
        method=preset.method,
        device=device,
        precision=precision,
        chunk=chunk,
        lead_in=lead_in,
        anchor_step=anchor_step,
        cache_dir=os.path.abspath(cache_dir) if cache_dir else None,
        threads=threads,
    )
    whole_range = preset.multipass.passes > 1 and preset.method != "feedforward"
    anchored = bool(temporal_offsets(preset)) and not whole_range
    names: set[str] = set()
    outputs: dict[str, str] = {}
    problems: list[str] = []
    for request in requests:
        try:
            shot = _shot(request, preset, names)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if shot.output in outputs:
            problems.append(f"{shot.output}: the output of both {outputs[shot.output]} and {shot.name}")
            continue
        outputs[shot.output] = shot.name
        size = len(shot.frames) if whole_range else chunk
        shot.chunks = [shot.frames[i : i + size] for i in range(0, len(shot.frames), size)]
        # One chunk needs no anchors: it renders the shot from its first frame, run-up included.
        anchored_shot = anchored and len(shot.chunks) > 1
        shot.anchors = [c[0] for c in shot.chunks] if anchored_shot else []
        if anchored_shot:
            # Every step-th frame of each chunk from its anchor on, up to the last anchor.
            walk = [f for c in shot.chunks[:-1] for f in c[::anchor_step]]
            shot.keyframes = [*walk, shot.anchors[-1]]
        plan.shots.append(shot)
    if problems:
        raise InputError("cannot plan:\n  " + "\n  ".join(problems))
    plan.id = fingerprint(plan.to_json())[:12]
    return plan


def _portable_reference(preset_name: str) -> str:
    """The preset as every machine must find it: a name, or an absolute path (not through symlinks,
    which another machine may mount elsewhere). `ink.yaml` that is no file here is the preset `ink`."""
    if not looks_like_path(preset_name):
        return preset_name
    path = Path(preset_name).expanduser()
    if not path.is_file() and path.name == preset_name:
        return path.stem
    return os.path.abspath(path)


def _portable_overrides(overrides: Sequence[str], preset: Preset) -> list[str]:
    """`--set` items with relative file paths made absolute as resolved here: a worker resolves a
    relative one against its own current folder."""
    resolved = {f"{section}.{key}": getattr(getattr(preset, section), key) for section, key in PATH_KEYS}
    portable = []
    for item in overrides:
        key, _, value = item.partition("=")
        path = resolved.get(key.strip())
        portable.append(f"{key}={path}" if path is not None and value.strip() else item)
    return portable


def _shot(request: ShotRequest, preset: Preset, names: set[str]) -> ShotPlan:
    source = SequencePattern.parse(os.path.abspath(request.source))
    output = output_pattern(os.path.abspath(request.output), source)
    if output.is_still:
        raise InputError(f"{request.output}: a farm output needs a frame number token (####)")
    job = RenderJob(
        source=source, output=output, preset=preset, frame_spec=request.frames, layer=request.layer
    )
    frames = check_inputs(job)
    name = _unique(_safe_name(request.name or _stem(output)), names)
    return ShotPlan(name=name, source=str(source), output=str(output), frames=frames, layer=request.layer)


def _stem(pattern: SequencePattern) -> str:
    name = Path(str(pattern)).name
    return re.split(r"[._]?(#+|@+|%0?\d*d)", name)[0] or "shot"


def _safe_name(name: str) -> str:
    """Shot names become folder names and OpenCue layer names: letters, digits, `-` and `_`."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "shot"


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate

