"""The function a farm engine's worker calls for one task: run it in a child process and report.

Engine-neutral (no Dask import): the Dask adapter submits `run_task_in_child`; OpenCue runs the same
command line, `vst-node farm run`, directly on its render nodes.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from vst_node.farm.child import spawn_task
from vst_node.farm.plan import read_plan
from vst_node.farm.runner import FarmTaskError, task_paths


def task_command(plan_path: str, shot: str, task_id: str, executable: list[str] | None = None) -> list[str]:
    """The command line that runs one task (executable: how to start vst-node on the render node)."""
    start = executable or [sys.executable, "-m", "vst_node"]
    return [*start, "farm", "run", plan_path, "--shot", shot, "--task", task_id]


def run_task_in_child(plan_path: str, shot: str, task_id: str, *after: object) -> dict:
    """Run one task to the end in a child process; `after`: results of the tasks it depends on
    (the engine passes them only to order the tasks). Raises FarmTaskError with the child's reason."""
    del after
    plan = read_plan(Path(plan_path))
    paths = task_paths(plan.shot(shot), plan.task(shot, task_id))
    command = task_command(plan_path, shot, task_id)
    child = spawn_task(command, paths.log)
    try:
        code = child.wait()
    except BaseException:
        child.kill()  # the task was cancelled or the worker is closing: the render must not go on
        child.wait()
        raise
    if code == 0:
        return json.loads(paths.done.read_text(encoding="utf-8"))
    raise FarmTaskError(_failure(paths, code, command))


def _failure(paths, code: int, command: list[str]) -> str:
    try:
        return json.loads(paths.failed.read_text(encoding="utf-8"))["message"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        tail = paths.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
    except OSError:
        tail = []
    reason = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
    return f"{shlex.join(command)}: {reason}" + ("".join(f"\n  {line}" for line in tail) if tail else "")
