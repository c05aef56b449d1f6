"""Resume is lossless: after a `kill -9`, the resumed frames are bit-identical to an uninterrupted
render's, because the next frame continues from the exact float state, not the half-float file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vst_node.engine.frame_state import StateStore
from vst_node.io.image_io import read_frame
from vst_node.io.synthetic import make_shot, write_shot

from .conftest import TINY

pytestmark = pytest.mark.slow
FRAMES = range(1, 7)


def _render(source: str, out: Path, cache: Path, *extra: str) -> subprocess.Popen:
    sets = [arg for item in TINY for arg in ("--set", item)]
    command = [sys.executable, "-m", "vst_node", "render", source, "-o", str(out / "s.####.exr"), *sets,
               "--cache-dir", str(cache), "--device", "cpu", *extra]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _pixels(folder: Path) -> dict[int, np.ndarray]:
    return {f: read_frame(folder / f"s.{f:04d}.exr").rgba for f in FRAMES}


def test_resume_after_kill_9_is_bit_identical(tmp_path):
    shot = make_shot(width=40, height=28, n_frames=6, seed=3)
    source = write_shot(shot, tmp_path / "in", name="shot", first_frame=1)
    reference = _render(source, tmp_path / "whole", tmp_path / "cache-whole")
    assert reference.wait(timeout=300) == 0, reference.stderr.read()

    interrupted = tmp_path / "cut"
    process = _render(source, interrupted, tmp_path / "cache")
    deadline = time.monotonic() + 300
    while not (interrupted / "s.0003.exr").exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "frame 3 never appeared"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    done_before = sorted(int(p.name[2:6]) for p in interrupted.glob("s.*.exr"))
    assert done_before[-1] < 6, "the render finished before it could be killed"

    resumed = _render(source, interrupted, tmp_path / "cache", "--resume")
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "no saved state" not in err  # it continued from the exact state
    whole, cut = _pixels(tmp_path / "whole"), _pixels(interrupted)
    for frame in FRAMES:
        assert np.array_equal(whole[frame], cut[frame]), f"frame {frame} differs after resume"
    assert not list((tmp_path / "cache" / "state").glob("*/*.npy"))  # gone once every frame is written


def test_state_store_keeps_lineages_apart(tmp_path):
    store = StateStore(tmp_path / "s", "plan-a")
    image = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
    store.save(5, image)
    assert np.array_equal(StateStore(tmp_path / "s", "plan-a").load(5), image)
    assert StateStore(tmp_path / "s", "plan-b").load(5) is None  # another lineage: dropped, not mixed
    assert store.load(5) is None  # the first store's key was replaced: it no longer reads the folder
    again = StateStore(tmp_path / "s", "plan-b")
    again.save(1, image)
    again.save(2, image)
    again.discard([1])
    assert again.frames() == [2]
    assert StateStore(tmp_path / "s", "plan-b", fresh=True).frames() == []
