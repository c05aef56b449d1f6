import pytest
import torch

from vst_node.ops import losses

from .conftest import DEVICES


def test_gram_is_normalised_by_size():
    f = torch.ones(1, 4, 8, 8)
    g = losses.gram_matrix(f)
    assert g.shape == (1, 4, 4)
    torch.testing.assert_close(g, torch.full((1, 4, 4), 1.0 / 4))
    # Tiling the same texture twice as large keeps the Gram matrix: the style term is size-independent.
    t = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(losses.gram_matrix(t), losses.gram_matrix(t.repeat(1, 1, 2, 2)))


def test_style_loss_zero_for_own_targets_and_positive_otherwise():
    feats = {"a": torch.rand(1, 3, 6, 6), "b": torch.rand(1, 5, 3, 3)}
    targets = {k: losses.gram_matrix(v) for k, v in feats.items()}
    assert float(losses.style_loss(feats, targets)) == 0.0
    other = {k: v * 2 for k, v in feats.items()}
    assert float(losses.style_loss(other, targets)) > 0.0


def test_style_loss_ignores_pixel_permutation():
    """Gram matrices pool over positions: shuffling pixels must not change the style loss."""
    f = torch.rand(1, 4, 5, 5)
    perm = torch.randperm(25)
    shuffled = f.reshape(1, 4, 25)[:, :, perm].reshape(1, 4, 5, 5)
    target = {"x": losses.gram_matrix(f)}
    assert float(losses.style_loss({"x": shuffled}, target)) < 1e-10


def test_total_variation():
    assert float(losses.total_variation(torch.full((1, 3, 4, 4), 7.0))) == 0.0
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    assert float(losses.total_variation(ramp)) == 1.0  # dx = 1 everywhere, dy = 0


def test_temporal_loss_respects_weights():
    x = torch.zeros(1, 3, 2, 2)
    warped = torch.ones(1, 3, 2, 2)
    assert float(losses.temporal_loss(x, warped, torch.ones(1, 1, 2, 2))) == 1.0
    assert float(losses.temporal_loss(x, warped, torch.zeros(1, 1, 2, 2))) == 0.0
    half = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert float(losses.temporal_loss(x, warped, half)) == 0.25  # (1/D) sum c (x - w)^2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 3, 1, 1)])
def test_range_penalty_is_zero_inside_and_quadratic_outside(shape, device):
    low = torch.tensor([-1.0, 0.0, 2.0], device=device).view(1, 3, 1, 1)
    high = low + 10.0
    inside = low + 10.0 * torch.rand(shape, device=device)
    assert float(losses.range_penalty(inside, low, high)) == 0.0
    above = inside.clone()
    above[:, 1] = high[:, 1] + 3.0  # one channel 3 over its own bound: 9 on a third of the components
    torch.testing.assert_close(losses.range_penalty(above, low, high), torch.tensor(3.0, device=device))
    below = inside.clone()
    below[:, 2] = low[:, 2] - 3.0
    torch.testing.assert_close(losses.range_penalty(below, low, high), torch.tensor(3.0, device=device))


def test_range_penalty_gradient_points_back_into_the_range():
    x = torch.tensor([[-2.0, 0.5, 3.0]], requires_grad=True)
    losses.range_penalty(x, 0.0, 1.0).backward()
    assert x.grad[0, 0] < 0 and x.grad[0, 1] == 0 and x.grad[0, 2] > 0  # descent moves both ends inward
