"""The README's first command, at a tiny size: generates a shot and a style, renders, scores."""

from __future__ import annotations

import re

from vst_node.faces.cli import main

from .conftest import TINY


def test_demo_runs_end_to_end(tmp_path, capsys):
    sets = [arg for item in TINY for arg in ("--set", item)]
    code = main(["demo", "-o", str(tmp_path), "--size", "48x32", "--frames", "3", *sets, "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "stylized").glob("*.exr")) == [
        "shot.1001.exr",
        "shot.1002.exr",
        "shot.1003.exr",
    ]
    assert (tmp_path / "preview.png").stat().st_size > 0
    match = re.search(r"temporal error .* ([0-9.]+) \(source itself ([0-9.]+)\)", out)
    assert match, out
    assert float(match.group(1)) > 0


def test_demo_size_is_a_usage_error(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--size", "big"]) == 2
