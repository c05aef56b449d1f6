"""The fast-mode benchmark's bookkeeping (its figures come from tools/bench_feedforward.py runs)."""

from __future__ import annotations

from pathlib import Path

import bench_feedforward as bench  # tools/ is on sys.path (pyproject.toml: pythonpath)

from vst_node.settings import load_preset


def test_rows_compare_the_network_with_the_optimisation():
    preset = load_preset("default")
    methods = bench.sintel_methods(preset, [Path("/tmp/none_trained.pt")], optimise=True)
    assert list(methods) == ["optimise (preset)", "optimise per frame", "network, frame stats",
                             "network, shot stats", "network none_trained"]  # fmt: skip
    assert methods["optimise (preset)"] is preset
    assert methods["optimise per frame"].temporal.enabled is False
    assert methods["network, shot stats"].method == "feedforward"
    assert methods["network, shot stats"].network.statistics == "shot"
    assert methods["network none_trained"].network.model == Path("/tmp/none_trained.pt")
    assert "optimise (preset)" not in bench.sintel_methods(preset, [], optimise=False)


def test_scenes_are_the_shared_ground_truth_pairs(shared_data):
    for scene, render_pass in bench.SCENES:
        assert (shared_data / "sintel" / scene / render_pass).is_dir(), (scene, render_pass)
        assert any((shared_data / "sintel" / scene / "flow").glob("*.flo")), scene


def test_speed_rows_time_both_layouts_of_every_shipped_network(shared_data):
    rows = bench.speed_rows(shared_data, ["64x32"], repeats=1, device="cpu")
    assert [row["preset"] for row in rows] == list(bench.BUILTIN)
    for row in rows:
        assert row["64x32"] > 0 and row["64x32 default layout"] > 0
        assert len(row["digest"]) >= 16


def test_long_term_rows_include_the_extra_networks(tmp_path):
    from vst_node.engine.evaluation import network_frames
    from vst_node.io.synthetic import make_shot

    preset = load_preset("default")
    copy = tmp_path / "same_weights.pt"
    copy.write_bytes(preset.network.model.read_bytes())
    frames = network_frames(make_shot(width=48, height=32, n_frames=18, seed=0))
    rows = bench.long_term_rows({"shot": frames}, preset, optimise=False, device="cpu", extra=[copy])
    by_method = {row["method"]: row for row in rows}
    assert list(by_method) == ["network, frame stats", "network, shot stats", "network same_weights"]
    assert set(by_method["network same_weights"]["errors"]) == set(bench.LONG_TERM_OFFSETS)
    # the same weights through --extra give the shipped network's figures exactly
    assert by_method["network same_weights"]["errors"] == by_method["network, frame stats"]["errors"]
