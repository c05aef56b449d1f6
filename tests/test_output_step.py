"""engine/output.py and the atomic write: what reaches the file from an extreme source or a failing disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vst_node.engine.output import finished_image
from vst_node.engine.vgg import caffe_preprocess
from vst_node.errors import RenderError
from vst_node.io.image_io import write_image
from vst_node.settings import ColourSettings


def test_infinite_source_values_survive_a_partial_strength() -> None:
    source = np.full((6, 8, 3), 0.5, np.float32)
    source[1, 2] = [np.inf, 0.5, 0.5]
    source[3, 4] = [2.0, 0.5, 0.5]  # a finite highlight is mixed as usual
    grey = torch.full((1, 3, 6, 8), 0.3)
    result = caffe_preprocess(grey).numpy()
    out = finished_image(result, source, ColourSettings(), 0.5, torch.device("cpu"))
    assert not np.isnan(out).any()
    assert out[1, 2, 0] == np.inf
    np.testing.assert_allclose(out[0, 0], 0.5 + 0.5 * (0.3 - 0.5), atol=1e-2)
    np.testing.assert_allclose(out[3, 4, 0], 2.0 + 0.5 * (0.3 + 1.0 - 2.0), atol=1e-2)


def test_a_write_the_disk_refuses_is_a_render_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(RenderError, match="cannot write"):
        write_image(blocker / "out.exr", np.zeros((4, 4, 3), np.float32), colorspace="lin_rec709_scene")
