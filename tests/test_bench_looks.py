"""tools/bench_looks.py as a library: clips, the per-frame measures and the pop ratios."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

FAST = ["optimiser.iterations_first=6", "optimiser.iterations=3"]


@pytest.fixture(scope="module")
def looks():
    import bench_looks as module  # tools/ is on sys.path (pyproject.toml: pythonpath)

    return module


def _video(root: Path, n: int = 5) -> None:
    folder = root / "video" / "pan"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.random((80, 140, 3)).astype(np.float32), (0, 0), 2.0)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.uint8(255 * big[10:70, 2 * i : 2 * i + 100]))


def test_clips_are_resized_to_the_long_side(looks, tmp_path: Path) -> None:
    _video(tmp_path)
    frames = looks.load_clip("pan", 50, 3, tmp_path)
    assert len(frames) == 3 and frames[0].shape == (30, 50, 3) and frames[0].dtype == np.float32
    builtin = looks.load_clip("builtin", 64, 2, tmp_path)
    assert builtin[0].shape == (36, 64, 3)
    with pytest.raises(FileNotFoundError):
        looks.load_clip("missing", 50, 3, tmp_path)


def test_measure_reports_every_frame_and_the_pop_ratios(looks, tmp_path: Path) -> None:
    _video(tmp_path)
    row = looks.measure("pan", "default", 48, 5, FAST, tmp_path)
    assert [f["frame"] for f in row["frames"]] == [1, 2, 3, 4, 5]
    # frame 1 counts its run-up: frame 4 alone (6), frames 3 and 2 (3 each), then itself from frame 2 (3)
    assert row["frames"][0]["iterations"] == 15 and row["frames"][0]["run_up"] == 3
    assert row["frames"][1]["iterations"] == 3 and row["frames"][1]["run_up"] == 0
    first = row["frames"][0]
    expected = first["high_frequency"] / np.mean([f["high_frequency"] for f in row["frames"][1:5]])
    assert row["pop_high_frequency"] == pytest.approx(expected)
    assert -1 <= row["edge_correlation"] <= 1 and row["style_loss"] > 0
    assert row["temporal_error_1_2"] >= 0 and row["temporal_error_2_3"] >= 0
    single = looks.measure("pan", "default", 48, 1, FAST, tmp_path)
    assert single["pop_high_frequency"] is None and single["temporal_error_1_2"] is None
    assert "-" in looks.format_row(single)


def test_main_writes_json(looks, tmp_path: Path) -> None:
    _video(tmp_path, 2)
    out = tmp_path / "looks.json"
    args = ["--clip", "pan", "--size", "40", "--frames", "2", "--data", str(tmp_path), "--json", str(out)]
    assert looks.main(args + [f"--set={s}" for s in FAST]) == 0
    (row,) = json.loads(out.read_text())["looks"]
    assert row["clip"] == "pan" and len(row["frames"]) == 2


def test_save_writes_results_and_sources_as_pngs(looks, tmp_path: Path) -> None:
    _video(tmp_path, 2)
    args = ["--clip", "pan", "--size", "40", "--frames", "2", "--data", str(tmp_path)]
    args += ["--save", str(tmp_path / "png")]
    assert looks.main(args + [f"--set={s}" for s in FAST]) == 0
    names = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert names == ["pan_default_40.00000.png", "pan_default_40.00001.png",
                     "pan_default_40_source.00000.png", "pan_default_40_source.00001.png"]  # fmt: skip
    result = cv2.imread(str(tmp_path / "png" / names[0]))
    source = cv2.imread(str(tmp_path / "png" / names[2]))
    assert result.shape == source.shape == (24, 40, 3) and not np.array_equal(result, source)
