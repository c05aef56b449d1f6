"""A plan's progress read from disk (outputs and task folders), whatever engine ran it and from
any machine that sees the shots' folders: `vst-node farm status PLAN`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from vst_node.farm.plan import FarmPlan, ShotPlan
from vst_node.farm.runner import task_paths
from vst_node.io.sequence import SequencePattern


@dataclass
class ShotProgress:
    name: str
    output: str
    frames: int
    published: int
    tasks: int
    tasks_done: int
    failures: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.published == self.frames:
            return "done"
        if self.failures:
            return "failed"
        return "rendering" if self.published or self.tasks_done else "waiting"


def shot_progress(plan: FarmPlan, shot: ShotPlan) -> ShotProgress:
    output = SequencePattern.parse(shot.output)
    tasks = shot.tasks()
    progress = ShotProgress(
        name=shot.name,
        output=shot.output,
        frames=len(shot.frames),
        published=sum(output.path(f).exists() for f in shot.frames),
        tasks=len(tasks),
        tasks_done=0,
    )
    for task in tasks:
        paths = task_paths(shot, task)
        if paths.done.exists():
            progress.tasks_done += 1
        elif paths.failed.exists():
            try:
                progress.failures.append(json.loads(paths.failed.read_text(encoding="utf-8"))["message"])
            except (OSError, ValueError, KeyError):
                progress.failures.append(f"{task.id}: failed (unreadable {paths.failed})")
    return progress


def plan_progress(plan: FarmPlan) -> list[ShotProgress]:
    return [shot_progress(plan, shot) for shot in plan.shots]


def format_progress(shots: list[ShotProgress]) -> str:
    """A table, one line per shot, then each failure."""
    width = max([len(s.name) for s in shots] + [4])
    lines = [f"{'shot':<{width}}  {'frames':>13}  {'tasks':>9}  state"]
    for s in shots:
        lines.append(
            f"{s.name:<{width}}  {s.published:>6}/{s.frames:<6}  {s.tasks_done:>4}/{s.tasks:<4}  {s.state}"
        )
    for s in shots:
        lines += [f"{s.name}: {message}" for message in s.failures]
    return "\n".join(lines)
