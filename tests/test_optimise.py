import pytest
import torch

from vst_node.engine.optimise import Cancelled, optimise_image


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


def _blowing_up(target, bad_calls, jump=1e12):
    """The quadratic, except that chosen evaluations return a diverged value (as an overshooting
    L-BFGS step without line search does on rare frames)."""
    calls = {"n": 0}

    def loss(x):
        calls["n"] += 1
        value = (x - target).square().sum()
        return value + jump if calls["n"] in bad_calls else value

    return loss


@pytest.mark.parametrize("jump", [float("nan"), float("inf"), 1e12])
def test_lbfgs_recovers_from_a_diverged_window_with_a_line_search(jump):
    target = torch.linspace(-1, 1, 12).view(1, 3, 2, 2)
    loss = _blowing_up(target, bad_calls={3}, jump=jump)
    result = optimise_image(torch.zeros_like(target), loss, iterations=60, window=3, tolerance=1e-12)
    assert all(v == v and v < 1e6 for v in result.history)  # no NaN, no blown-up value reported
    torch.testing.assert_close(result.image, target, atol=1e-3, rtol=0)  # it went on and converged


def test_a_second_divergence_ends_the_frame_with_the_best_image():
    target = torch.ones(1, 1, 2, 2)
    for method in ("lbfgs", "adam"):  # Adam has no fallback: it stops at the first divergence
        result = optimise_image(
            torch.zeros_like(target), _blowing_up(target, set(range(3, 999))), method=method, iterations=60,
            window=3, learning_rate=0.1,
        )  # fmt: skip
        assert result.stopped_early and result.final_loss <= 4.0  # never worse than the start (4)
        assert result.iterations < 60


def test_a_loss_that_is_not_finite_at_the_start_is_an_error():
    target = torch.ones(1, 1, 2, 2)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        optimise_image(torch.zeros_like(target), lambda x: x.sum() * float("nan"), iterations=6, window=3)


def test_result_is_never_worse_than_the_start():
    target = torch.ones(1, 1, 2, 2)
    # Already optimal, and every later evaluation is worse: the start must come back.
    result = optimise_image(
        target.clone(), _blowing_up(target, set(range(2, 99)), jump=5.0), iterations=4, window=2
    )
    assert result.final_loss == 0.0
    torch.testing.assert_close(result.image, target)
