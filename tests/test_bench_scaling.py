"""The scaling section of the benchmark suite (tools/bench_cpu.py), on a tiny configuration."""

from __future__ import annotations

from benchkit import scaling as bench_cpu  # tools/ is on sys.path (pyproject.toml: pythonpath)


def test_scaling_section_rows():
    section = bench_cpu.run_scaling_section(["48x32"], [2, 3], "48x32", iterations=2)

    assert section["iterations"] == 2
    resolution, length = section["resolution_rows"], section["length_rows"]
    assert [row["kind"] for row in resolution] == ["resolution"]
    assert [row["kind"] for row in length] == ["length", "length"]
    assert resolution[0]["size"] == "48x32"
    assert resolution[0]["frames"] == 3
    assert [row["frames"] for row in length] == [2, 3]
    assert all(row["size"] == "48x32" for row in length)
    for row in resolution + length:
        assert row["wall_s_per_frame"] > 0
        assert row["optimise_s_per_frame"] > 0
        assert row["wall_s_per_later_frame"] > 0
        assert row["peak_rss_mib"] > 0
        # the fixed budget held: no frame stopped early
        assert row["iterations_first"] == 2
        assert row["iterations_min"] == 2
