"""tools/gpu_check.sh: without CUDA it fails, loudly, and never skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "gpu_check.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    # No GPU visible, even on a machine that has one: the check must refuse, not skip.
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_fails_clearly_without_cuda(tmp_path: Path) -> None:
    done = _run(str(tmp_path / "out"))
    assert done.returncode != 0
    assert "CUDA is not available" in done.stderr
    assert "==" not in done.stdout  # no step ran
    assert not (tmp_path / "out" / "summary.md").exists()


def test_needs_an_output_folder() -> None:
    done = _run()
    assert done.returncode != 0
    assert "usage: tools/gpu_check.sh OUTDIR" in done.stderr
