"""Farm tasks without an engine: the runner, its journal and state, seams, kill -9 and the child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from vst_node.errors import VstError
from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, render_sequence
from vst_node.farm.plan import ShotRequest, make_plan
from vst_node.farm.runner import FarmTaskError, read_journal, run_task, state_store, task_paths
from vst_node.farm.tasks import task_command
from vst_node.io.image_io import read_frame
from vst_node.io.sequence import SequencePattern
from vst_node.io.synthetic import make_shot, write_shot
from vst_node.ops.metrics import temporal_error
from vst_node.settings import load_preset

from .conftest import TINY

pytestmark = pytest.mark.slow


def quiet(n: int = 1) -> Progress:
    return Progress(n, stream=StringIO(), tty=False)


@pytest.fixture(scope="module")
def shot_source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("farm-in")
    shot = make_shot(width=40, height=28, n_frames=8, seed=4)
    return write_shot(shot, folder, name="sh", first_frame=1), shot


def plan_for(source: str, out: Path, *, chunk: int = 4, lead_in: int = 3, overrides=TINY, cache=None, step=4):
    return make_plan(
        [ShotRequest(source, str(out / "s.####.exr"))],
        "default",
        list(overrides),
        chunk=chunk,
        lead_in=lead_in,
        anchor_step=step,
        device="cpu",
        cache_dir=cache or out.parent / "cache",
    )


def run_all(plan) -> None:
    for task in plan.tasks():
        run_task(plan, task.shot, task.id, quiet(len(task.frames)))


def pixels(out: Path, frames) -> dict[int, np.ndarray]:
    return {f: read_frame(out / f"s.{f:04d}.exr").rgba for f in frames}


def test_tasks_publish_every_frame_once_and_keep_only_the_anchor_states(shot_source, tmp_path):
    source, _shot = shot_source
    plan = plan_for(source, tmp_path / "out", step=2)
    shot = plan.shots[0]
    assert shot.keyframes == [1, 3, 5]  # the anchors task walks 1, 3, 5 and publishes 1 and 5
    with pytest.raises(FarmTaskError, match="anchor frame 1 is not finished"):
        run_task(plan, "s", "chunk:1", quiet())  # the anchors come first
    assert (
        "anchor frame 1"
        in json.loads(task_paths(shot, plan.task("s", "chunk:1")).failed.read_text())["message"]
    )
    run_all(plan)
    journal = read_journal(shot)
    assert sorted(entry["frame"] for entry in journal) == list(range(1, 9))  # each exactly once
    assert [(e["task"], e["frame"]) for e in journal[:3]] == [
        ("anchors:1", 1),
        ("anchors:1", 5),
        ("chunk:1", 2),
    ]
    assert state_store(plan, shot).frames() == [1, 5]  # the chunks' own states are gone
    assert not list((tmp_path / "out").glob(".*.tmp*"))  # nothing half-written left beside the frames
    summary = run_task(plan, "s", "chunk:5", quiet())  # a rerun of a finished chunk writes nothing
    assert summary["written"] == [] and summary["skipped"] == [5, 6, 7, 8]
    assert len(read_journal(shot)) == 8


def test_a_chunk_killed_and_rerun_gives_the_same_pixels(shot_source, tmp_path):
    source, _shot = shot_source
    whole = plan_for(source, tmp_path / "whole", cache=tmp_path / "cache-whole")
    run_all(whole)
    plan = plan_for(source, tmp_path / "cut", cache=tmp_path / "cache-cut")
    run_task(plan, "s", "anchors:1", quiet(2))
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan.to_json())
    command = task_command(str(plan_path), "s", "chunk:1")
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "cut" / "s.0002.exr").exists():
        assert child.poll() is None, child.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert not (tmp_path / "cut" / "s.0004.exr").exists(), "the chunk ended before it was killed"
    run_task(plan, "s", "chunk:1", quiet(4))  # the retry
    run_task(plan, "s", "chunk:5", quiet(4))
    expected, got = pixels(tmp_path / "whole", range(1, 9)), pixels(tmp_path / "cut", range(1, 9))
    for frame in range(1, 9):
        assert np.array_equal(expected[frame], got[frame]), f"frame {frame} differs after the retry"
    assert sorted(e["frame"] for e in read_journal(plan.shots[0])) == list(range(1, 9))


def _boundary_error(out: Path, shot, frames=range(1, 9), boundary=4) -> float:
    from vst_node.io.colour import to_network

    rgb = [to_network(read_frame(out / f"s.{f:04d}.exr").rgba, "lin_rec709_scene")[0] for f in frames]
    i = boundary - 1  # pair 4 -> 5, frame indices 3 -> 4
    return temporal_error(rgb[i], rgb[i + 1], shot.forward_flow[i], shot.occluded[i])


def test_the_lead_in_steers_the_chunk_into_the_next_anchor(shot_source, tmp_path):
    source, shot = shot_source
    budget = ("optimiser.iterations_first=30", "optimiser.iterations=15", "optimiser.tolerance_window=15")
    for lead_in in (0, 3):
        run_all(plan_for(source, tmp_path / f"lead{lead_in}", lead_in=lead_in, overrides=budget))
    without = pixels(tmp_path / "lead0", range(1, 9))
    with_lead = pixels(tmp_path / "lead3", range(1, 9))
    for frame in (1, 5, 6, 7, 8):  # anchors and the last chunk (nothing after it): the same
        assert np.array_equal(without[frame], with_lead[frame]), frame
    for frame in (2, 3, 4):  # the lead-in frames moved
        assert not np.array_equal(without[frame], with_lead[frame]), frame
    plain, steered = _boundary_error(tmp_path / "lead0", shot), _boundary_error(tmp_path / "lead3", shot)
    assert steered < 0.7 * plain, (steered, plain)


def test_independent_frames_render_in_chunks_in_any_order(tmp_path):
    source = write_shot(
        make_shot(width=40, height=28, n_frames=5, seed=6), tmp_path / "in", name="sh", first_frame=1
    )
    plan = plan_for(source, tmp_path / "farm", chunk=2, overrides=["method=feedforward"])
    for task in reversed(plan.tasks()):
        run_task(plan, task.shot, task.id, quiet(2))
    job = RenderJob(
        SequencePattern.parse(source),
        SequencePattern.parse(str(tmp_path / "one" / "s.####.exr")),
        load_preset("default", ["method=feedforward"]),
        device="cpu",
    )
    render_sequence(job, quiet(5))
    one, farm = pixels(tmp_path / "one", range(1, 6)), pixels(tmp_path / "farm", range(1, 6))
    assert all(np.array_equal(one[f], farm[f]) for f in range(1, 6))


def test_the_child_dies_with_its_parent(tmp_path):
    parent_script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from vst_node.farm.child import spawn_task
        code = "import time; from vst_node.farm.child import die_with_parent as d; d(); time.sleep(99)"
        child = spawn_task([sys.executable, "-c", code], Path({str(tmp_path / "log.txt")!r}))
        print(child.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_script], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    time.sleep(1.0)  # the child has started and asked to die with its parent
    assert _alive(child_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid), "the child outlived its parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has finished
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - not Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_a_task_of_another_plan_is_refused(shot_source, tmp_path):
    source, _shot = shot_source
    plan = plan_for(source, tmp_path / "out")
    with pytest.raises(VstError, match="no shot 'nope'"):
        run_task(plan, "nope", "chunk:1", quiet())


def test_the_shot_journal_merges_each_tasks_own_file_and_leaves_out_a_cut_line(tmp_path):
    from types import SimpleNamespace

    shot = SimpleNamespace(folder=tmp_path)
    chunk, anchors = tmp_path / "tasks" / "chunk-2", tmp_path / "tasks" / "anchors-1"
    chunk.mkdir(parents=True)
    anchors.mkdir(parents=True)
    line = lambda frame, task, t: json.dumps({"frame": frame, "task": task, "time": t}) + "\n"  # noqa: E731
    (anchors / "published.log").write_text(line(1, "anchors:1", 10.0) + line(5, "anchors:1", 11.0))
    # The chunk's writer was killed half way through its third line.
    cut = '{"frame": 4, "ta'
    (chunk / "published.log").write_text(line(2, "chunk:2", 12.0) + line(3, "chunk:2", 13.0) + cut)
    journal = read_journal(shot)
    assert [(e["task"], e["frame"]) for e in journal] == [
        ("anchors:1", 1),
        ("anchors:1", 5),
        ("chunk:2", 2),
        ("chunk:2", 3),
    ]
