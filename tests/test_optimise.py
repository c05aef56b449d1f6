import pytest
import torch

from vst_node.optimise import Cancelled, optimise_image


def quadratic(target):
    return lambda x: (x - target).square().sum()


@pytest.mark.parametrize("method,lr", [("lbfgs", 1.0), ("adam", 0.1)])
def test_converges_on_a_quadratic(method, lr):
    target = torch.linspace(-1, 1, 12).view(1, 3, 2, 2)
    x0 = torch.zeros_like(target)
    result = optimise_image(
        x0, quadratic(target), method=method, iterations=300, window=10, learning_rate=lr, tolerance=1e-12
    )
    torch.testing.assert_close(result.image, target, atol=1e-3, rtol=0)
    assert x0.abs().sum() == 0  # input untouched


def test_stopping_rule_stops_early_when_loss_stalls():
    target = torch.ones(1, 1, 4, 4)
    result = optimise_image(
        torch.zeros_like(target), quadratic(target), iterations=1000, window=5, tolerance=1e-4
    )
    assert result.stopped_early
    assert result.iterations < 100
    assert len(result.history) >= 2


def test_budget_is_respected_without_early_stop():
    # A loss that keeps falling by a fixed ratio never meets a tiny tolerance.
    target = torch.ones(1, 1, 4, 4)
    result = optimise_image(
        torch.zeros_like(target),
        quadratic(target),
        method="adam",
        iterations=40,
        window=10,
        learning_rate=1e-3,
        tolerance=1e-12,
    )
    assert result.iterations == 40
    assert not result.stopped_early


def test_cancel_raises():
    target = torch.ones(1, 1, 4, 4)
    with pytest.raises(Cancelled):
        optimise_image(torch.zeros_like(target), quadratic(target), iterations=100, cancel=lambda: True)


def test_unknown_method():
    with pytest.raises(ValueError, match="lbfgs"):
        optimise_image(torch.zeros(1, 1, 2, 2), quadratic(torch.ones(1, 1, 2, 2)), method="sgd")


def test_non_finite_loss_is_an_error():
    with pytest.raises(FloatingPointError):
        optimise_image(torch.zeros(1, 1, 2, 2), lambda x: x.sum() * float("nan"), iterations=10, window=2)
