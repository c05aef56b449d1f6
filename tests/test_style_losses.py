import math

import pytest
import torch
import torch.nn.functional as F

from vst_node.engine.style_loss import StyleLoss, make_style_loss
from vst_node.ops import losses
from vst_node.ops.style_losses import (
    mean_std,
    mean_var_distance,
    random_directions,
    sliced_wasserstein_distance,
    sorted_projections,
)
from vst_node.settings.choices import STYLE_LOSSES as STYLE_LOSS_KINDS

NO_GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
DEVICES = ["cpu", pytest.param("cuda", marks=NO_GPU)]


def _features(seed: int = 0, scale: float = 1.0, shift: float = 0.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "relu1_1": torch.rand(1, 4, 8, 8, generator=g) * scale + shift,
        "relu2_1": torch.rand(1, 6, 4, 4, generator=g) * scale + shift,
    }


def _shuffle_pixels(f: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    n, c, h, w = f.shape
    return f.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w)


@pytest.mark.parametrize("kind", STYLE_LOSS_KINDS)
def test_zero_for_own_targets_and_positive_otherwise(kind):
    loss = make_style_loss(kind, projections=16)
    feats = _features()
    targets = loss.targets(feats)
    assert abs(float(loss(feats, targets))) < 1e-6
    # Brighter and wider features: every statistic differs.
    assert float(loss(_features(seed=1, scale=3.0, shift=1.0), targets)) > 1e-3


@pytest.mark.parametrize("kind", STYLE_LOSS_KINDS)
def test_invariant_to_pixel_permutation(kind):
    loss = make_style_loss(kind, projections=16)
    feats = _features()
    perms = {name: torch.randperm(f.shape[2] * f.shape[3]) for name, f in feats.items()}
    shuffled = {name: _shuffle_pixels(f, perms[name]) for name, f in feats.items()}
    assert abs(float(loss(shuffled, loss.targets(feats)))) < 1e-6
    # The permutation did move pixels: a content-style per-pixel comparison sees it.
    assert float(sum(F.mse_loss(shuffled[n], feats[n]) for n in feats)) > 1e-2


def test_sliced_wasserstein_resamples_target_quantiles():
    """A nearest-neighbour 2x upsample has the same quantile function, so the distance is ~0."""
    f = torch.rand(1, 5, 8, 8)
    style = F.interpolate(f, scale_factor=2, mode="nearest")
    directions = random_directions(5, 12, seed=3, device="cpu", dtype=torch.float32)
    target = sorted_projections(style, directions)
    assert target.shape == (12, 256)
    assert float(sliced_wasserstein_distance(f, directions, target)) < 1e-10
    # A different distribution at the other size is still seen.
    other = sorted_projections(style * 2 + 1, directions)
    assert float(sliced_wasserstein_distance(f, directions, other)) > 1e-2
    # Linear, end-aligned quantile interpolation: 3 sorted values stretched to 5 pixels.
    ramp = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]).reshape(1, 1, 1, 5)
    one = torch.ones(1, 1)
    assert float(sliced_wasserstein_distance(ramp, one, torch.tensor([[0.0, 1.0, 2.0]]))) < 1e-12


def test_sliced_wasserstein_rejects_batches():
    directions = random_directions(3, 4, seed=0, device="cpu", dtype=torch.float32)
    with pytest.raises(ValueError, match="batch size 1"):
        sorted_projections(torch.rand(2, 3, 4, 4), directions)


def test_mean_var_distance_by_hand():
    # channel 0: [1, 3] -> mean 2, var 1; channel 1: [0, 0] -> mean 0, var 0.
    f = torch.tensor([[[[1.0, 3.0]], [[0.0, 0.0]]]])
    mean, std = mean_std(f)
    eps = 1e-5
    torch.testing.assert_close(mean, torch.tensor([[2.0, 0.0]]))
    torch.testing.assert_close(std, torch.tensor([[math.sqrt(1 + eps), math.sqrt(eps)]]))
    got = mean_var_distance(f, torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]))
    expected = (2.0**2 + 0.0) / 2 + ((math.sqrt(1 + eps) - 1) ** 2 + (math.sqrt(eps) - 1) ** 2) / 2
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_gram_kind_is_the_existing_style_loss():
    loss = make_style_loss("gram")
    style, frame = _features(seed=0), _features(seed=1, scale=2.0)
    targets = loss.targets(style)
    expected = losses.style_loss(frame, {n: losses.gram_matrix(f) for n, f in style.items()})
    torch.testing.assert_close(loss(frame, targets), expected, rtol=0, atol=0)


@pytest.mark.parametrize("kind", STYLE_LOSS_KINDS)
def test_gradients_reach_the_features(kind):
    loss = make_style_loss(kind, projections=16)
    targets = loss.targets(_features(seed=0))
    frame = {n: f.requires_grad_() for n, f in _features(seed=1, scale=2.0).items()}
    loss(frame, targets).backward()
    for f in frame.values():
        assert f.grad is not None and torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_directions_are_deterministic_unit_and_per_layer():
    feats = {"a": torch.rand(1, 6, 4, 4), "b": torch.rand(1, 6, 4, 4)}
    first = StyleLoss("sliced_wasserstein", projections=8, seed=7).targets(feats)
    again = StyleLoss("sliced_wasserstein", projections=8, seed=7).targets(feats)
    other = StyleLoss("sliced_wasserstein", projections=8, seed=8).targets(feats)
    for name in feats:
        assert torch.equal(first[name][0], again[name][0]) and torch.equal(first[name][1], again[name][1])
        assert not torch.equal(first[name][0], other[name][0])
        torch.testing.assert_close(first[name][0].norm(dim=0), torch.ones(8))
    assert not torch.equal(first["a"][0], first["b"][0])
    # projections=0 means one direction per channel.
    assert StyleLoss("sliced_wasserstein", projections=0).targets(feats)["a"][0].shape == (6, 6)


def test_unknown_kind_lists_valid_kinds():
    with pytest.raises(ValueError, match="gram, mean_var, sliced_wasserstein"):
        make_style_loss("histogram")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", STYLE_LOSS_KINDS)
def test_runs_on_the_features_device(kind, device):
    loss = make_style_loss(kind, projections=8)
    feats = {n: f.to(device) for n, f in _features().items()}
    frame = {n: f.to(device).requires_grad_() for n, f in _features(seed=1).items()}
    value = loss(frame, loss.targets(feats))
    assert value.shape == () and value.device.type == device
    value.backward()
    assert all(f.grad.device.type == device for f in frame.values())
    # Directions come from a CPU generator: the same on every device (only a check off the CPU).
    if device == "cpu":
        return
    cpu_dirs = random_directions(4, 8, seed=1, device="cpu", dtype=torch.float32)
    dev_dirs = random_directions(4, 8, seed=1, device=device, dtype=torch.float32)
    torch.testing.assert_close(dev_dirs.cpu(), cpu_dirs, rtol=0, atol=0)
