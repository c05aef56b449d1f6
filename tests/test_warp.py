"""Backward warping: pixel-centre convention, exactness, border handling, devices, dtypes, gradients."""

from __future__ import annotations

import pytest
import torch

from vst_node.ops.warp import WARP_MODES, leaves_frame, warp

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _constant_flow(n: int, h: int, w: int, u: float, v: float, **kw) -> torch.Tensor:
    flow = torch.empty(n, 2, h, w, **kw)
    flow[:, 0], flow[:, 1] = u, v
    return flow


@pytest.mark.parametrize("mode", WARP_MODES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_integer_translation_is_exact(device: str, dtype: torch.dtype, mode: str) -> None:
    image = torch.rand(2, 3, 9, 11, device=device, dtype=dtype)
    out = warp(image, _constant_flow(2, 9, 11, 2.0, -1.0, device=device, dtype=dtype), mode)
    assert out.shape == image.shape and out.dtype == dtype and out.device.type == device
    # out(x, y) = image(x + 2, y - 1) wherever that lies inside the frame
    torch.testing.assert_close(out[..., 1:, :-2], image[..., :-1, 2:], atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_subpixel_translation_of_linear_ramp_is_exact(device: str, dtype: torch.dtype) -> None:
    """Bilinear only: torch's bicubic (Keys, a = -0.75) reproduces constants, not ramps."""
    h, w, u, v = 8, 10, 0.3, -0.45
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=dtype, device=device),
        torch.arange(w, dtype=dtype, device=device),
        indexing="ij",
    )
    ramp = (0.7 * xs - 0.2 * ys + 1.0)[None, None]
    out = warp(ramp, _constant_flow(1, h, w, u, v, device=device, dtype=dtype))
    expected = 0.7 * (xs + u) - 0.2 * (ys + v) + 1.0
    # interior: sampled positions x + 0.3 <= W-1 and y - 0.45 >= 0
    torch.testing.assert_close(out[0, 0, 1:, :-1], expected[1:, :-1], atol=TOL[dtype] * 10, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_bicubic_subpixel_translation_of_a_smooth_image_is_close(device: str) -> None:
    h, w, u = 12, 16, 0.4
    xs = torch.arange(w, dtype=torch.float64, device=device).expand(1, 1, h, w)
    wave = torch.sin(0.5 * xs)  # about 12 pixels a period
    flow = _constant_flow(1, h, w, u, 0.0, device=device, dtype=torch.float64)
    expected = torch.sin(0.5 * (xs + u))
    error = {mode: float((warp(wave, flow, mode) - expected)[..., 2:-2].abs().max()) for mode in WARP_MODES}
    assert error["bicubic"] < 0.02 and error["bicubic"] < 0.6 * error["bilinear"]


def test_bicubic_keeps_detail_that_repeated_bilinear_warps_lose() -> None:
    """A shot carries its stylized frame along the flow frame after frame: eight half-pixel warps
    leave a bilinear copy with a fraction of the detail, a bicubic one with most of it."""
    image = torch.rand(1, 1, 32, 48, dtype=torch.float64)
    detail = lambda x: (x[..., 8:-8, 8:-8] - x.mean()).diff(dim=-1).abs().mean()  # noqa: E731
    kept = {}
    for mode in WARP_MODES:
        x = image
        for step in range(8):  # alternate directions: the picture stays in place, only resampled
            x = warp(x, _constant_flow(1, 32, 48, 0.5 if step % 2 else -0.5, 0.0, dtype=torch.float64), mode)
        kept[mode] = float(detail(x) / detail(image))
    assert kept["bilinear"] < 0.2 and kept["bicubic"] > 2.5 * kept["bilinear"]  # white noise: worst case


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="bicubic"):
        warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 4), "nearest-ish")


@pytest.mark.parametrize("device", DEVICES)
def test_zero_flow_is_identity(device: str) -> None:
    image = torch.rand(1, 4, 7, 5, device=device)
    torch.testing.assert_close(warp(image, torch.zeros(1, 2, 7, 5, device=device)), image, atol=1e-6, rtol=0)


def test_outside_samples_replicate_the_border() -> None:
    image = torch.arange(12.0).view(1, 1, 3, 4)
    out = warp(image, _constant_flow(1, 3, 4, 100.0, 0.0))
    torch.testing.assert_close(out, image[..., -1:].expand_as(image))
    out = warp(image, _constant_flow(1, 3, 4, 0.0, -50.0))
    torch.testing.assert_close(out, image[..., :1, :].expand_as(image))


def test_batch_elements_use_their_own_flow() -> None:
    image = torch.rand(2, 1, 6, 6)
    flow = torch.cat([_constant_flow(1, 6, 6, 1.0, 0.0), _constant_flow(1, 6, 6, 0.0, 1.0)])
    out = warp(image, flow)
    torch.testing.assert_close(out[0, :, :, :-1], image[0, :, :, 1:])
    torch.testing.assert_close(out[1, :, :-1, :], image[1, :, 1:, :])


def test_flow_dtype_follows_image() -> None:
    image = torch.rand(1, 3, 5, 5, dtype=torch.float64)
    out = warp(image, torch.zeros(1, 2, 5, 5, dtype=torch.float32))
    assert out.dtype == torch.float64


def test_gradients_reach_the_image() -> None:
    image = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    flow = _constant_flow(1, 5, 6, 0.4, -0.7, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: warp(x, flow), (image,))
    warp(image, flow).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="N, 2, H, W"):
        warp(torch.rand(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="equal N, H, W"):
        warp(torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="equal N, H, W"):
        warp(torch.rand(3, 4, 4), torch.zeros(1, 2, 4, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_leaves_frame(device: str) -> None:
    flow = _constant_flow(1, 3, 6, 1.5, 0.0, device=device)
    out = leaves_frame(flow)
    assert out.shape == (1, 1, 3, 6) and out.dtype == torch.bool and out.device.type == device
    # x + 1.5 > 5 for x >= 4
    assert out[0, 0, :, 4:].all() and not out[0, 0, :, :4].any()
    # landing exactly on the last pixel centre (or the first) is inside
    exact = _constant_flow(1, 3, 6, 0.0, 0.0, device=device)
    exact[0, 0, :, 0] = 5.0
    exact[0, 1, 0, 1] = -0.0
    exact[0, 1, 2, 2] = -2.0
    assert not leaves_frame(exact).any()
    exact[0, 1, 2, 2] = -2.001
    exact[0, 0, 1, 3] = float("nan")
    assert leaves_frame(exact)[0, 0].nonzero().tolist() == [[1, 3], [2, 2]]
