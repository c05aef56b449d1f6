"""Farm rendering on a real Dask cluster: a scheduler and workers started by the tests as separate
processes on 127.0.0.1, stopped by them, every wait bounded.

Faults: a worker killed with kill -9 mid-chunk, a frame that cannot be rendered, the scheduler gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="the farm extra (dask distributed) is not installed")

from benchkit.cluster import LocalCluster  # noqa: E402

from vst_node.farm.dask_engine import SchedulerError, submit  # noqa: E402
from vst_node.farm.plan import ShotRequest, make_plan, write_plan  # noqa: E402
from vst_node.farm.runner import read_journal  # noqa: E402
from vst_node.farm.status import plan_progress  # noqa: E402
from vst_node.farm.tasks import task_command  # noqa: E402
from vst_node.io.image_io import read_frame  # noqa: E402
from vst_node.io.synthetic import make_shot, write_shot  # noqa: E402

from .test_farm_run import _alive  # noqa: E402

pytestmark = pytest.mark.slow

# Slow enough per frame that a chunk can be caught mid-way, fast enough for CI.
BUDGET = ["optimiser.iterations_first=12", "optimiser.iterations=24", "optimiser.tolerance_window=24"]


@pytest.fixture()
def cluster(tmp_path):
    folder = tmp_path / "cluster"
    folder.mkdir()
    running = LocalCluster(folder)
    yield running
    running.stop()


def make_plan_file(tmp_path: Path, shots: list[tuple[str, str]], chunk: int = 4) -> tuple[Path, object]:
    requests = [ShotRequest(source, str(tmp_path / "out" / f"{name}.####.exr")) for name, source in shots]
    # One thread per task, as the workers have: bit-identical results need the same arithmetic.
    plan = make_plan(
        requests,
        "default",
        BUDGET,
        chunk=chunk,
        lead_in=3,
        device="cpu",
        cache_dir=tmp_path / "cache",
        threads=1,
    )
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    return path, plan


def shot_on_disk(folder: Path, frames: int, seed: int) -> str:
    return write_shot(
        make_shot(width=40, height=28, n_frames=frames, seed=seed), folder, name="sh", first_frame=1
    )


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def bounded(call, seconds: float = 300.0):
    """call() on a daemon thread: a submit --wait that hangs fails the test instead of stalling CI."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # re-raised below, in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds:.0f} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().split(")")[-1].split()[1])


def test_a_worker_killed_mid_chunk_the_chunk_reruns_elsewhere(cluster, tmp_path):
    source = shot_on_disk(tmp_path / "in", frames=8, seed=7)
    plan_path, plan = make_plan_file(tmp_path, [("a", source)])
    address = cluster.start_scheduler()
    cluster.start_workers(2)
    submission = submit(plan, str(plan_path), address, retries=2, stream=StringIO())
    assert len(submission.submitted) == 3  # the anchors, two chunks
    shot = plan.shots[0]
    attempts = shot.folder / "tasks" / "chunk-1" / "attempts.log"
    # Catch chunk 1 after it has published a frame and before its last.
    wait_until(lambda: any(e["task"] == "chunk:1" for e in read_journal(shot)), 180, "chunk 1's first frame")
    child = json.loads(attempts.read_text().splitlines()[0])["pid"]
    worker = _parent(child)
    assert worker in [w.pid for w in cluster.workers]
    published_before = {e["frame"] for e in read_journal(shot)}
    assert 4 not in published_before, "chunk 1 finished before the worker could be killed"
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: not _alive(child), 10, "the render child to die with its worker")
    wait_until(lambda: plan_progress(plan)[0].tasks_done == 3, 240, "the plan to finish on the other worker")
    frames = [e["frame"] for e in read_journal(shot)]
    assert sorted(frames) == list(range(1, 9)), frames  # every frame exactly once
    assert len((shot.folder / "tasks" / "chunk-1" / "attempts.log").read_text().splitlines()) == 2
    # Bit-identical to the same plan run without interruption (here, without an engine).
    # Each task in a process of its own, as on the farm (a process's caches carry its arithmetic).
    twin_path, twin = make_plan_file(tmp_path / "twin", [("a", source)])
    for task in twin.tasks():
        command = task_command(str(twin_path), "a", task.id)
        subprocess.run(
            command, check=True, capture_output=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
    for frame in range(1, 9):
        ours = read_frame(tmp_path / "out" / f"a.{frame:04d}.exr").rgba
        reference = read_frame(tmp_path / "twin" / "out" / f"a.{frame:04d}.exr").rgba
        assert np.array_equal(ours, reference), f"frame {frame} differs from the uninterrupted render"


def test_a_frame_that_fails_fails_its_shot_and_the_others_go_on(cluster, tmp_path):
    good = shot_on_disk(tmp_path / "good", frames=5, seed=1)
    bad = shot_on_disk(tmp_path / "bad", frames=5, seed=2)
    plan_path, plan = make_plan_file(tmp_path, [("good", good), ("bad", bad)])
    Path(bad.replace("####", "0003")).write_bytes(b"not an EXR any more")  # damaged after planning
    address = cluster.start_scheduler()
    cluster.start_workers(2)
    stream = StringIO()
    result = bounded(lambda: submit(plan, str(plan_path), address, retries=0, wait=True, stream=stream))
    assert list(result.failed) == [f"vst-{plan.id}-bad-chunk-1"], result.failed
    message = result.failed[f"vst-{plan.id}-bad-chunk-1"]
    assert "shot bad, chunk:1" in message and "sh.0003.exr" in message
    good_progress, bad_progress = plan_progress(plan)
    assert good_progress.state == "done" and good_progress.published == 5
    assert bad_progress.state == "failed" and bad_progress.published == 2  # its anchors, 1 and 5
    assert "sh.0003.exr" in bad_progress.failures[0]
    report = stream.getvalue()
    assert "bad" in report and "failed" in report
    assert (
        subprocess.run(
            [sys.executable, "-m", "vst_node", "farm", "status", str(plan_path)],
            capture_output=True,
            timeout=60,
        ).returncode
        == 1
    )


def test_the_scheduler_gone_is_a_clear_error_and_submitting_again_resumes(cluster, tmp_path):
    source = shot_on_disk(tmp_path / "in", frames=8, seed=3)
    plan_path, plan = make_plan_file(tmp_path, [("a", source)])
    with pytest.raises(SchedulerError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        submit(plan, str(plan_path), "tcp://127.0.0.1:9", connect_timeout=2, stream=StringIO())
    address = cluster.start_scheduler()
    cluster.start_workers(1)
    outcome: dict = {}

    def watch() -> None:
        try:
            submit(plan, str(plan_path), address, wait=True, lost_after=3, stream=StringIO())
        except SchedulerError as exc:
            outcome["error"] = exc

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    shot = plan.shots[0]
    wait_until(lambda: len(read_journal(shot)) >= 3, 180, "a few frames")
    os.kill(cluster.scheduler.pid, signal.SIGKILL)
    watcher.join(timeout=90)
    assert not watcher.is_alive(), "submit --wait did not notice the scheduler was gone"
    assert "lost the Dask scheduler" in str(outcome.get("error")) and "again" in str(outcome["error"])
    kept = {e["frame"] for e in read_journal(shot)}
    for frame in kept:  # nothing lost: every published frame is whole
        assert read_frame(tmp_path / "out" / f"a.{frame:04d}.exr").rgba.shape == (28, 40, 4)
    address = cluster.start_scheduler()
    cluster.start_workers(1)
    result = bounded(lambda: submit(plan, str(plan_path), address, wait=True, stream=StringIO()))
    assert not result.failed
    frames = sorted(e["frame"] for e in read_journal(shot))
    assert frames == list(range(1, 9)), frames  # resumed: each frame written once


def test_a_cuda_plan_asks_dask_for_a_gpu(cluster, tmp_path):
    source = shot_on_disk(tmp_path / "in", frames=2, seed=5)
    requests = [ShotRequest(source, str(tmp_path / "out" / "a.####.exr"))]
    plan = make_plan(requests, "default", BUDGET, chunk=2, device="cuda")
    plan_path = tmp_path / "plan.json"
    write_plan(plan, plan_path)
    address = cluster.start_scheduler()
    cluster.start_workers(1)  # started without --resources GPU=1: it must not take the task
    submission = submit(plan, str(plan_path), address, stream=StringIO())
    with distributed.Client(address, timeout=30) as client:

        def tasks() -> dict:
            def states(dask_scheduler) -> dict:
                tasks = dask_scheduler.tasks.items()
                return {key: (t.state, dict(t.resource_restrictions or {})) for key, t in tasks}

            return client.run_on_scheduler(states)

        # The scheduler parks a task no worker can take as "no-worker"; wait for it to get there.
        wait_until(lambda: tasks().get(submission.submitted[0], ("",))[0] == "no-worker", 60, "no-worker")
        time.sleep(1)  # and it stays there: the worker without a GPU never takes it
        info = tasks()
    assert info[submission.submitted[0]] == ("no-worker", {"GPU": 1}), info
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.exr"))
