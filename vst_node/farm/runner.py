"""One farm task on one machine: `vst-node farm run PLAN --shot S --task chunk:26`.

The task runs the normal render path (faces.render) for its frames, writing each frame in the
task's own folder and renaming it into the shot's output, which is what makes a frame done. A task
that is retried or resubmitted skips the frames already in the output and continues from the exact
float state the last one left in the shot's state store, so it gives the same pixels as a task that
was never interrupted. Every publish is one line in the task's journal (published.log); the
shot's journal is all of its tasks' journals (read_journal).

A task holds a lock on its folder while it runs: a second run of the same task (the engine lost
track of the first, or two submissions overlap) waits until the first has stopped, then skips what
it published, so that no frame is written twice.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no task lock
    fcntl = None  # type: ignore[assignment]

import torch

from vst_node.engine.frame_state import StateStore
from vst_node.engine.multipass import fingerprint
from vst_node.errors import RenderError, VstError
from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, default_cache_dir, render_sequence
from vst_node.farm.plan import ANCHORS, CHUNK, FarmPlan, ShotPlan, Task, frame_spec
from vst_node.io.atomic import write_text_atomic
from vst_node.io.sequence import SequencePattern

JOURNAL = "published.log"


class FarmTaskError(VstError):
    """A farm task failed; the message says which shot, task and frame, and why."""


@dataclass(frozen=True)
class TaskPaths:
    """Where one task keeps its files (all inside the shot's farm folder)."""

    folder: Path  # the task's private work folder

    @property
    def done(self) -> Path:
        return self.folder / "done.json"

    @property
    def failed(self) -> Path:
        return self.folder / "failed.json"

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"

    @property
    def attempts(self) -> Path:
        return self.folder / "attempts.log"

    @property
    def lock(self) -> Path:
        return self.folder / "lock"

    @property
    def journal(self) -> Path:
        """The frames this task published, a JSON line each. One file per task, written only under
        the task's lock: no two hosts ever append to one file, which O_APPEND does not make safe
        on NFS."""
        return self.folder / JOURNAL


def task_paths(shot: ShotPlan, task: Task) -> TaskPaths:
    return TaskPaths(shot.folder / "tasks" / f"{task.kind}-{task.first}")


def state_store(plan: FarmPlan, shot: ShotPlan) -> StateStore:
    """The shot's exact states: anchors (kept), and each chunk's latest frames (while it runs)."""
    return StateStore(shot.folder / "state", _state_key(plan, shot))


def _state_key(plan: FarmPlan, shot: ShotPlan) -> str:
    """What the shot's states descend from. Not the plan's id: a plan made again (another shot added,
    other threads or cache folder) must keep the published anchors' states, or every chunk would
    wait for anchors that are already in the output."""
    frames = (frame_spec(shot.frames), frame_spec(shot.keyframes), frame_spec(shot.anchors))
    return fingerprint(
        plan.preset_digest, plan.method, plan.device, plan.precision, plan.chunk, plan.lead_in,
        shot.source, shot.layer, *frames,
    )  # fmt: skip


def run_task(plan: FarmPlan, shot_name: str, task_id: str, progress: Progress | None = None) -> dict:
    """Render one task to the end; returns its summary (also written to done.json).

    Raises FarmTaskError when a frame fails or a frame the task needs is not finished."""
    shot = plan.shot(shot_name)
    task = plan.task(shot_name, task_id)
    paths = task_paths(shot, task)
    paths.folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(paths.lock, progress):
        paths.failed.unlink(missing_ok=True)
        paths.done.unlink(missing_ok=True)  # rendering again (frames deleted, resubmitted): not done
        _append(paths.attempts, {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()})
        try:
            summary = _render(plan, shot, task, paths, progress)
        except VstError as exc:
            message = f"shot {shot.name}, {task.id}: {exc}"
            _write_json(paths.failed, {"message": message, "time": time.time()})
            raise FarmTaskError(message) from exc
        _write_json(paths.done, summary)
    return summary


@contextmanager
def _exclusive(path: Path, progress: Progress | None) -> Iterator[None]:
    """Hold the task's lock (released by the kernel if this process dies)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            note = f"{path.parent.name}: another run of this task is still going; waiting for it to stop"
            (progress.message if progress else print)(note)
            fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def _render(plan: FarmPlan, shot: ShotPlan, task: Task, paths: TaskPaths, progress: Progress | None) -> dict:
    preset = plan.load_preset()
    output = SequencePattern.parse(shot.output)
    store = state_store(plan, shot)
    for anchor in task.needs:
        if not output.path(anchor).exists() or store.load(anchor) is None:
            raise RenderError(
                f"anchor frame {anchor} is not finished (its output and exact state are needed first:"
                f" the engine must run anchors:{shot.anchors[0]} before this task)"
            )
    lead_in = None
    if task.kind == CHUNK and (following := shot.next_anchor(task.first)) is not None:
        span = min(plan.lead_in, len(task.frames) - 1)
        lead_in = (following, span) if span > 0 else None

    def published(frame: int, path: Path) -> None:
        record = {"frame": frame, "task": task.id, "host": socket.gethostname(), "pid": os.getpid()}
        _append(paths.journal, {**record, "time": time.time()})

    job = RenderJob(
        source=SequencePattern.parse(shot.source),
        output=output,
        preset=preset,
        frame_spec=frame_spec(list(task.frames)),
        layer=shot.layer,
        device=plan.device,
        precision=plan.precision,
        resume=True,  # what is in the output is done; a retry continues after it
        cache_dir=Path(plan.cache_dir) if plan.cache_dir else default_cache_dir(),
        state_dir=store.root,
        state_key=store.key,
        keep_states=frozenset(shot.anchors),
        lead_in=lead_in,
        work_dir=paths.folder,
        on_published=published,
        full_budget=task.kind == ANCHORS,  # each key frame starts from one warped across several
        publish=frozenset(shot.anchors) if task.kind == ANCHORS else None,
        shot_frames=tuple(shot.frames),
    )
    started = time.perf_counter()
    threads = torch.get_num_threads()
    if plan.threads:
        torch.set_num_threads(plan.threads)
    try:
        report = render_sequence(job, progress or Progress(len(task.frames)))
    finally:
        torch.set_num_threads(threads)
    if report.failed:
        frame, message = next(iter(report.failed.items()))
        raise RenderError(f"frame {frame}: {message}")
    store.discard(f for f in task.frames if f not in shot.anchors)  # nothing continues from them now
    return {
        "shot": shot.name,
        "task": task.id,
        "written": report.written,
        "skipped": report.skipped,
        "seconds": round(time.perf_counter() - started, 3),
        "host": socket.gethostname(),
    }


def read_journal(shot: ShotPlan) -> list[dict]:
    """Every publish of the shot, by the time each was recorded (a frame published twice shows
    twice). A task's own publishes keep their order; across hosts the order is as good as their
    clocks. A last line cut short (its writer killed mid-write) is left out."""
    entries = []
    for order, path in enumerate(sorted((shot.folder / "tasks").glob(f"*/{JOURNAL}"))):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        lines = text.split("\n")
        if lines[-1]:  # no newline after it: the write never finished
            lines = lines[:-1]
        entries += [(order, number, json.loads(line)) for number, line in enumerate(lines) if line.strip()]
    entries.sort(key=lambda e: (e[2].get("time", 0.0), e[0], e[1]))
    return [entry for _, _, entry in entries]


def _append(path: Path, record: dict) -> None:
    """One JSON line, appended in a single write (each file has one writer at a time: the task
    holding its lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)



def _write_json(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=1))
