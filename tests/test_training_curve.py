"""tools/training_curve.py reads a real training checkpoint and draws its loss curve."""

from __future__ import annotations

import json

import pytest
import torch
import training_curve  # tools/ is on sys.path (pyproject.toml: pythonpath)

from vst_node.settings import load_preset

from .test_feedforward import TINY_TRAINING, train_tiny


def test_curve_of_a_tiny_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model = tmp_path / "tiny.pt"
    trainer = train_tiny(load_preset("default", TINY_TRAINING), model)
    png, summary = tmp_path / "curve.png", tmp_path / "curve.json"
    arguments = [f"{model}.ckpt", "-o", str(png), "--json", str(summary), "--blocks", "2"]
    assert training_curve.main(arguments) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = json.loads(summary.read_text())
    assert figures["steps"] == trainer.step == 4
    assert [block["to_step"] for block in figures["blocks"]] == [2, 4]
    first_two = [row["total"] for row in trainer.history[:2]]
    assert figures["blocks"][0]["total"] == pytest.approx(sum(first_two) / 2)
    assert figures["seconds_per_step"] > 0
    assert "s per step" in capsys.readouterr().out


def test_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"format": "something else"}, path)
    with pytest.raises(SystemExit, match="not a vst-node training checkpoint"):
        training_curve.read_history(path)
