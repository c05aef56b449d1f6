"""The optimised frame stays inside the displayable range, so clipping it for display keeps its look."""

import pytest
import torch

from vst_node.engine.stylize import Stylizer
from vst_node.engine.temporal_inputs import image_tensor
from vst_node.engine.vgg import caffe_clamp, caffe_deprocess, caffe_preprocess
from vst_node.settings import load_preset


def _stylize(frame, range_weight: float) -> tuple[float, float, float]:
    """(largest excursion outside [0,1], style loss as optimised, style loss once clipped)."""
    preset = load_preset("mosaic", [f"weights.range={range_weight}"])
    stylizer = Stylizer(preset, torch.device("cpu"))
    content = image_tensor(frame, "cpu")
    image = stylizer.stylize(content, caffe_preprocess(content), None, 60).image
    rgb = caffe_deprocess(image)
    excursion = float(torch.maximum(rgb - 1.0, -rgb).max())
    return (
        excursion,
        stylizer.loss_terms(image, content)["style"],
        stylizer.loss_terms(caffe_clamp(image), content)["style"],
    )


@pytest.fixture(scope="module")
def with_and_without(tiny_frames):
    return _stylize(tiny_frames[0], 1e5), _stylize(tiny_frames[0], 0.0)


def test_clipping_keeps_the_optimised_style_with_the_range_term(with_and_without):
    (excursion, optimised, clipped), _ = with_and_without
    assert excursion < 0.15
    assert clipped < 1.1 * optimised


def test_without_the_range_term_clipping_undoes_the_style(with_and_without):
    """The defect the term fixes: unbounded L-BFGS parks pixels off-range and the clip costs style."""
    (_, optimised_on, clipped_on), (excursion, optimised, clipped) = with_and_without
    assert excursion > 0.25
    assert clipped > 1.3 * optimised
    assert clipped_on < 0.7 * clipped  # what the viewer sees is much closer to the style with it
    assert optimised_on < 1.1 * optimised  # and the optimisation itself gave up little for it
