"""Shared fixtures: a tiny preset and a tiny generated shot, so engine tests run in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vst_node.engine.evaluation import network_frames
from vst_node.io.synthetic import make_shot, write_shot
from vst_node.settings import load_preset

TINY = (
    "optimiser.iterations_first=8",
    "optimiser.iterations=4",
    "optimiser.tolerance_window=4",
)

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
]


@pytest.fixture(scope="session")
def tiny_preset():
    return load_preset("default", TINY)


@pytest.fixture(scope="session")
def tiny_shot():
    return make_shot(width=48, height=32, n_frames=4, seed=1)


@pytest.fixture(scope="session")
def tiny_frames(tiny_shot) -> list[np.ndarray]:
    return network_frames(tiny_shot)


@pytest.fixture()
def tiny_sequence(tmp_path, tiny_shot) -> str:
    """The tiny shot written as shot.####.exr (frames 1001-1004); returns the pattern."""
    return write_shot(tiny_shot, tmp_path / "in", name="shot")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"../shared/data is absent ({path}); the reference-data tests need it")
    return path
