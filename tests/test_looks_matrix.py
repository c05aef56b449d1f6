"""tools/benchkit/looks_matrix.py: which bench_looks results count as today's presets, and the cells left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vst_node.settings import load_preset


@pytest.fixture(scope="module")
def matrix():
    from benchkit import looks_matrix  # tools/ is on sys.path (pyproject.toml: pythonpath)

    return looks_matrix


def _row(clip: str, preset: str, size: int, frames: int, run_up: int | None, overrides=()) -> dict:
    per_frame = []
    for t in range(frames):
        frame = {"frame": t + 1, "high_frequency": 0.1, "style_loss": 1e3, "edge_correlation": 0.4}
        if run_up is not None:
            frame["run_up"] = run_up if t == 0 else 0
        per_frame.append(frame)
    return {
        "clip": clip,
        "preset": preset,
        "size": size,
        "frame_size": f"{size}x{size * 9 // 16}",
        "overrides": list(overrides),
        "frames": per_frame,
        "edge_correlation": 0.4,
        "style_loss": 1e3,
        "pop_high_frequency": 1.05 if frames > 1 else None,
        "pop_style_loss": 1.02 if frames > 1 else None,
        "temporal_error_1_2": 7e-4 if frames > 1 else None,
        "temporal_error_2_3": 8e-4 if frames > 1 else None,
        "seconds_per_frame": 12.0,
    }


def _write(folder: Path, name: str, *rows: dict, device: str = "cpu") -> Path:
    path = folder / name
    path.write_text(json.dumps({"device": device, "torch_threads": 2, "looks": list(rows)}))
    return path


def test_only_runs_of_the_shipped_presets_count(matrix) -> None:
    run_up = load_preset("mosaic").init.run_up
    assert matrix.is_shipped(_row("bedroom", "mosaic", 320, 5, run_up))
    # An override that restates the shipped value changes nothing; one that changes the preset does.
    assert matrix.is_shipped(_row("bedroom", "mosaic", 320, 5, run_up, [f"init.run_up={run_up}"]))
    assert not matrix.is_shipped(_row("bedroom", "mosaic", 320, 5, run_up, ["weights.style=1"]))
    # Builds before the run-up (no record) or with another run-up are not today's.
    assert not matrix.is_shipped(_row("bedroom", "mosaic", 320, 5, None))
    assert not matrix.is_shipped(_row("bedroom", "mosaic", 320, 5, run_up + 1))
    # A one-frame clip has nothing to walk back from: its frame 1 is rendered without a run-up.
    assert matrix.is_shipped(_row("bedroom", "mosaic", 320, 1, 0))
    assert not matrix.is_shipped(_row("bedroom", "no_such_preset", 320, 1, 0))


def test_the_matrix_takes_pops_from_long_runs_and_lists_the_missing_cells(matrix, tmp_path: Path) -> None:
    run_up = load_preset("default").init.run_up
    files = [
        _write(tmp_path, "a.json", _row("bedroom", "default", 320, 1, 0)),
        _write(
            tmp_path,
            "b.json",
            _row("bedroom", "default", 512, 1, 0),
            _row("bedroom", "default", 512, 5, run_up),
        ),
        _write(tmp_path, "c.json", _row("builtin", "default", 320, 5, run_up, ["weights.style=1"])),
        _write(tmp_path, "d.json", _row("builtin", "default", 1024, 5, run_up), device="cuda"),
    ]
    cells = matrix.build_matrix(
        matrix.read_results(files), ["default"], ("bedroom", "builtin"), (320, 512, 1024)
    )
    by_key = {(c.clip, c.size): c for c in cells}
    assert len(cells) == 6
    assert (
        by_key["bedroom", 320].missing == ["pop"] and by_key["bedroom", 320].structure.file.name == "a.json"
    )
    assert by_key["bedroom", 512].missing == [] and by_key["bedroom", 512].pop.frames == 5
    assert by_key["builtin", 320].missing == ["pop", "structure"]  # its only run changed the preset
    assert by_key["builtin", 1024].pop.device == "cuda"
    record = matrix.cell_record(by_key["builtin", 1024])
    assert record["device"] == "cuda" and record["pop_high_frequency"] == pytest.approx(1.05)
    table = matrix.format_matrix(cells)
    assert table.count("\n") == 2 + len(cells) - 1
    assert "| builtin | default | 320 | - |" in table and "not run" in table
    assert "0.400 (frame 1)" in table  # bedroom 320: structure from a one-frame run, flagged as such


def test_the_built_in_presets_are_the_packaged_ones(matrix, tmp_path: Path, monkeypatch) -> None:
    extra = tmp_path / "presets"
    extra.mkdir()
    (extra / "mine.yaml").write_text("extends: default\n")
    monkeypatch.setenv("VST_NODE_PRESETS", str(extra))
    names = matrix.builtin_preset_names()
    assert "default" in names and "mosaic" in names and "mine" not in names
