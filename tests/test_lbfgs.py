"""The device-resident L-BFGS: torch's iterates without torch's host reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_speedups import torch_lbfgs  # what optimise_image used before: torch.optim.LBFGS
from benchkit.host_reads import HostReadCounter  # tools/ is on sys.path (pyproject.toml: pythonpath)

from vst_node.engine import optimise
from vst_node.engine.lbfgs import DeviceLBFGS
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.settings import load_preset

from .conftest import DEVICES


def quadratic(device, n=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    hessian = (a @ a.T + 0.5 * torch.eye(n, dtype=torch.float64)).to(device)
    target = torch.randn(n, generator=generator, dtype=torch.float64).to(device)
    return lambda x: 0.5 * (x - target) @ hessian @ (x - target)


def run(make, loss_fn, x0, chunks, chunk, **kwargs):
    x = x0.clone().requires_grad_(True)
    opt = make(x, **kwargs)
    trace = []

    def closure():
        x.grad = None
        loss = loss_fn(x)
        loss.backward()
        return loss

    for _ in range(chunks):
        if isinstance(opt, DeviceLBFGS):
            opt.step(closure, chunk)
        else:
            opt.param_groups[0]["max_iter"] = chunk
            opt.step(closure)
        trace.append(x.detach().clone())
    return trace


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("history", [2, 100])  # 2: the ring of pairs wraps around many times
def test_same_iterates_as_torch_on_a_quadratic(device, history):
    f = quadratic(device)
    x0 = torch.zeros(12, dtype=torch.float64, device=device)
    ours = run(lambda x, **k: DeviceLBFGS(x, history_size=history), f, x0, 6, 5)
    theirs = run(lambda x, **k: torch_lbfgs("lbfgs", x, 1.0, 5, history_size=history), f, x0, 6, 5)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert float(f(ours[-1])) < 1e-3 * float(f(x0))


def test_a_stationary_point_is_kept():
    """Zero gradient: the direction and so the step are zero; nothing moves, nothing breaks."""
    x = torch.ones(4, requires_grad=True)
    opt = DeviceLBFGS(x)

    def closure():
        x.grad = None
        loss = (x * 0).sum()
        loss.backward()
        return loss

    assert opt.step(closure, 3) == 3
    torch.testing.assert_close(x.detach(), torch.ones(4))


def test_rejected_curvature_pairs_change_nothing():
    """A concave stretch (y.s < 0) is stored with rho 0: the recursion is then plain H0 scaling."""
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = DeviceLBFGS(x, history_size=4)

    def closure():
        x.grad = None
        loss = -(x.square().sum())  # concave: every pair has y.s < 0
        loss.backward()
        return loss

    opt.step(closure, 3)
    assert all(float(rho) == 0.0 for rho in opt._rhos) and len(opt._rhos) == 2
    assert torch.isfinite(x).all()


@pytest.mark.slow
def test_stylization_matches_torch_and_reads_the_host_once_per_window(tiny_frames, monkeypatch):
    """The frame optimisation: the images equal the torch.optim.LBFGS ones (bit for bit on this CPU,
    asserted within 1e-4 of the 0-255 range), each loss read is the loss of the image then held, and
    the host reads one number per stopping window (the first window reads the starting loss with its own);
    torch's optimiser read about 150 per iteration at this history length."""
    content = torch.from_numpy(np.clip(tiny_frames[0], 0, 1)).permute(2, 0, 1)[None]
    stylizer = Stylizer(load_preset("default"), torch.device("cpu"))
    loss = stylizer.loss_function(content, None)
    start = caffe_preprocess(content)
    settings = {"iterations": 60, "window": 10, "tolerance": 0.0}
    with HostReadCounter() as reads:
        ours = optimise.optimise_image(start, loss, **settings)
    windows = settings["iterations"] // settings["window"]
    assert reads.count <= windows, reads.by_kind
    monkeypatch.setattr(optimise, "_optimiser", torch_lbfgs)
    with HostReadCounter() as torch_reads:
        theirs = optimise.optimise_image(start, loss, **settings)
    assert torch_reads.count > 20 * settings["iterations"]
    assert ours.iterations == theirs.iterations == 60
    torch.testing.assert_close(ours.image, theirs.image, rtol=0, atol=1e-4 * 255)
    # Each loss read is the loss of the image held then (torch's lags one step: its last iteration of
    # a window is not evaluated), so the final loss is the returned image's.
    with torch.enable_grad():
        assert ours.final_loss == pytest.approx(float(loss(ours.image)), rel=1e-5)
    assert len(ours.history) == len(theirs.history) == windows
