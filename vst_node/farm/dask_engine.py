"""Submitting a plan to a Dask distributed cluster (`pip install vst-node[farm]`).

Each task of the plan becomes one Dask task (a shot's anchors before the chunks that start from
and lead into them), run by `tasks.run_task_in_child` on a worker. Tasks are fire-and-forget: the cluster
goes on when the submitting command ends or is interrupted; `--wait` only watches. Task keys
come from the plan, so submitting the same plan again never duplicates work that is queued, and
tasks whose frames are all on disk are not submitted at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from tqdm import tqdm

from vst_node.errors import VstError
from vst_node.farm.plan import ANCHORS, FarmPlan, Task
from vst_node.farm.status import format_progress, plan_progress
from vst_node.farm.tasks import run_task_in_child
from vst_node.io.sequence import SequencePattern

try:
    from distributed import Client, fire_and_forget
    from distributed import wait as wait_for
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise VstError("the Dask engine needs the farm extra: pip install 'vst-node[farm]'") from exc


class SchedulerError(VstError):
    """The Dask scheduler cannot be reached, or was lost while watching."""


@dataclass
class Submission:
    submitted: list[str] = field(default_factory=list)  # task keys
    already_done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> message (with --wait)


def task_key(plan: FarmPlan, task: Task) -> str:
    return f"vst-{plan.id}-{task.shot}-{task.kind}-{task.first}"


def submit(
    plan: FarmPlan,
    plan_path: str,
    scheduler: str,
    *,
    retries: int = 2,
    wait: bool = False,
    stream: TextIO | None = None,
    connect_timeout: float = 10.0,
    lost_after: float = 15.0,
    poll: float = 0.5,
    task_function: Callable[..., dict] = run_task_in_child,
) -> Submission:
    """Submit every unfinished task; with wait, watch per-shot progress until all have ended.

    Raises SchedulerError when the scheduler is unreachable or lost (frames already rendered are
    kept; submitting again continues after them)."""
    stream = stream or sys.stderr
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); nothing was submitted."
            " Start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
        ) from exc
    result = Submission()
    try:
        resources = {"GPU": 1} if plan.device == "cuda" else None
        futures = {}
        for task in plan.tasks():
            key = task_key(plan, task)
            shot = plan.shot(task.shot)
            output = SequencePattern.parse(shot.output)
            # The anchors task writes only the anchors (its key frames between them are not published).
            published = shot.anchors if task.kind == ANCHORS else task.frames
            if all(output.path(f).exists() for f in published):
                result.already_done.append(key)
                continue
            first_anchor = plan.shot(task.shot).anchors[:1]
            anchors = f"vst-{plan.id}-{task.shot}-anchors-{first_anchor[0]}" if task.needs else None
            after = [futures[anchors]] if anchors in futures else []  # not submitted: done already
            futures[key] = client.submit(
                task_function,
                plan_path,
                task.shot,
                task.id,
                *after,
                key=key,
                retries=retries,
                resources=resources,
            )
        fire_and_forget(list(futures.values()))  # the cluster renders them whatever happens here
        result.submitted = list(futures)
        stream.write(
            f"vst-node farm: submitted {len(futures)} task(s) of plan {plan.id} to {scheduler}"
            f" ({len(result.already_done)} already done)\n"
        )
        if wait and futures:
            _watch(client, plan, futures, result, stream, lost_after, poll, scheduler)
    finally:
        client.close(timeout=5)
    return result


def _watch(client, plan, futures, result, stream, lost_after, poll, scheduler) -> None:
    """Per-shot bars (plain lines off a terminal) from the frames on disk, until every task ended."""
    tty = stream.isatty()
    bars = {
        shot.name: tqdm(
            total=len(shot.frames), desc=shot.name, unit="frame", file=stream, position=i, dynamic_ncols=True
        )
        if tty
        else None
        for i, shot in enumerate(plan.shots)
    }
    last: dict[str, int] = {}
    away_since: float | None = None
    try:
        while True:
            pending = [f for f in futures.values() if not f.done()]
            for shot in plan_progress(plan):
                bar = bars[shot.name]
                if bar is not None:
                    bar.n = shot.published
                    bar.set_postfix_str(shot.state, refresh=False)
                    bar.refresh()
                elif last.get(shot.name) != shot.published:
                    stream.write(f"{shot.name}: {shot.published}/{shot.frames} frames\n")
                    stream.flush()
                last[shot.name] = shot.published
            # A lost scheduler cancels the futures (or leaves them lost) and the client reconnecting.
            dropped = any(f.status in ("lost", "cancelled") for f in futures.values())
            gone = dropped or client.status != "running"
            if not gone:
                away_since = None
                if not pending:
                    break
            else:
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > lost_after:
                    raise SchedulerError(
                        f"lost the Dask scheduler at {scheduler}; the frames rendered so far are kept."
                        " When it is back, run the same `vst-node farm submit` again: it continues"
                        " after them"
                    )
                time.sleep(poll)
                continue
            try:
                wait_for(pending, timeout=poll, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            except Exception:  # the scheduler went away mid-wait: the check above decides
                time.sleep(poll)
    finally:
        for bar in bars.values():
            if bar is not None:
                bar.close()
    for key, future in futures.items():
        if future.status == "error":
            result.failed[key] = str(future.exception())
    stream.write(format_progress(plan_progress(plan)) + "\n")
