"""Style targets are computed once per style image, settings, size and device in the process."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vst_node.engine import stylize
from vst_node.engine.stylize import Stylizer
from vst_node.settings import load_preset

CPU = torch.device("cpu")
HW = (24, 32)


def _write_style(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), (rng.random((40, 40, 3)) * 255).astype(np.uint8))
    return path


@pytest.fixture(autouse=True)
def _empty_cache():
    stylize.clear_style_targets()
    yield
    stylize.clear_style_targets()


def test_a_second_stylizer_on_the_same_look_reuses_the_targets(monkeypatch, tmp_path) -> None:
    preset = load_preset("default", [f"style.image={_write_style(tmp_path / 's.png', 0)}"])
    first = Stylizer(preset, CPU).style_targets(HW)

    def fail(self, content_hw):
        raise AssertionError("style image sent through VGG again")

    monkeypatch.setattr(Stylizer, "compute_style_targets", fail)
    second = Stylizer(preset, CPU)
    assert second.style_targets(HW) is first
    # A changed weight does not change the style statistics either.
    reweighted = load_preset("default", [f"style.image={tmp_path / 's.png'}", "weights.style=7"])
    assert Stylizer(reweighted, CPU).style_targets(HW) is first


def test_what_the_statistics_depend_on_is_in_the_key(tmp_path) -> None:
    path = _write_style(tmp_path / "s.png", 0)
    preset = load_preset("default", [f"style.image={path}"])
    base = Stylizer(preset, CPU).style_targets(HW)
    assert Stylizer(preset, CPU).style_targets((HW[0] * 2, HW[1] * 2)) is not base  # another size
    scaled = load_preset("default", [f"style.image={path}", "style.scale=2.0"])
    assert Stylizer(scaled, CPU).style_targets(HW) is not base
    _write_style(path, 1)  # same path, new pixels
    changed = Stylizer(preset, CPU).style_targets(HW)
    name = next(iter(base))
    assert not torch.equal(changed[name], base[name])
    fresh = Stylizer(preset, CPU).compute_style_targets(HW)
    assert torch.equal(changed[name], fresh[name])


def test_the_cache_is_bounded(tmp_path) -> None:
    preset = load_preset("default", [f"style.image={_write_style(tmp_path / 's.png', 0)}"])
    stylizer = Stylizer(preset, CPU)
    for k in range(stylize.STYLE_TARGETS_KEPT + 3):
        stylizer.style_targets((16 + k, 16))
    assert len(stylize._style_targets) == stylize.STYLE_TARGETS_KEPT
