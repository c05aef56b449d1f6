"""The farm benchmarks run end to end on tiny inputs and write what they print."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_bench_seams_reports_every_way_of_cutting(tmp_path, capsys):
    import bench_seams

    out = tmp_path / "seams.json"
    args = [
        "--shot-size",
        "40x28",
        "--shot-frames",
        "6",
        "--chunk",
        "3",
        "--lead-in",
        "2",
        "--first",
        "8",
        "--later",
        "4",
        "--scenes",
        "--device",
        "cpu",
        "--json",
        str(out),
    ]
    assert bench_seams.main(args) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())["clips"][0]
    assert result["boundaries"] == [2] and set(result["rows"]) == {
        "uninterrupted",
        "naive cut",
        "anchors, no lead-in",
        "anchors + lead-in",
    }
    for name, row in result["rows"].items():
        assert len(row["pairs"]) == 5 and row["boundary"] > 0, name
        assert name in printed
    # Naive cutting restarts the look at the boundary: it cannot be steadier there than one render.
    assert result["rows"]["naive cut"]["boundary"] > result["rows"]["uninterrupted"]["boundary"]


def test_bench_farm_compares_one_and_two_workers(tmp_path, capsys):
    pytest.importorskip("distributed")
    import bench_farm

    out = tmp_path / "farm.json"
    args = [
        "--size",
        "32x24",
        "--frames",
        "4",
        "--chunk",
        "2",
        "--first",
        "4",
        "--later",
        "2",
        "--json",
        str(out),
    ]
    assert bench_farm.main(args) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["workers"] for r in rows] == [0, 1, 2]
    assert all(r["seconds"] > 0 and r["frames_per_minute"] > 0 for r in rows)
    assert "frames per minute" in capsys.readouterr().out
