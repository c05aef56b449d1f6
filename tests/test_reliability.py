"""Reliability weights (METHOD.md section 2): analytic cases, exact thresholds, and Sintel ground truth."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vst_node.engine.flow import flow_pair, to_gray_u8
from vst_node.io.flo import read_flo
from vst_node.ops.reliability import (
    blur_kernel_size,
    disocclusion_mask,
    motion_boundary_mask,
    reliability_weights,
    unreliable_mask,
)
from vst_node.settings import FlowSettings

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
DATA = Path(__file__).parents[1].parent / "shared" / "data"


def _constant(n: int, h: int, w: int, u: float, v: float, **kw) -> torch.Tensor:
    flow = torch.zeros(n, 2, h, w, **kw)
    flow[:, 0], flow[:, 1] = u, v
    return flow


# -- analytic cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_constant_motion_is_reliable_except_where_it_leaves_the_frame(
    device: str, dtype: torch.dtype
) -> None:
    n, h, w = 2, 12, 16
    forward = _constant(n, h, w, 2.0, -1.0, device=device, dtype=dtype)  # i-1 -> i
    backward = -forward  # i -> i-1: x - 2 < 0 for x < 2, y + 1 > h-1 on the last row
    c = reliability_weights(forward, backward, blur_sigma=0.0)
    assert c.shape == (n, 1, h, w) and c.dtype == dtype and c.device.type == device
    expected = torch.ones(n, 1, h, w, dtype=dtype, device=device)
    expected[..., :2] = 0
    expected[..., -1, :] = 0
    torch.testing.assert_close(c, expected)
    assert not disocclusion_mask(forward, backward).any()
    assert not motion_boundary_mask(backward).any()
    blurred = reliability_weights(forward, backward)
    assert (blurred[..., 4:-4, 6:-4] == 1).all()  # far from the unreliable border: untouched


def _moving_square(h: int = 20, w: int = 24, d: int = 3) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """A square moves right by d over a static background between frames i-1 and i.

    Forward (i-1 -> i) is d on the square's old position; backward (i -> i-1) is -d on its new one.
    Columns [x0, x0 + d) of frame i show background that the square covered in frame i-1.
    """
    y0, y1, x0, x1 = 6, 14, 5, 13
    forward = torch.zeros(1, 2, h, w, dtype=torch.float64)
    backward = torch.zeros(1, 2, h, w, dtype=torch.float64)
    forward[0, 0, y0:y1, x0:x1] = d
    backward[0, 0, y0:y1, x0 + d : x1 + d] = -d
    return forward, backward, (y0, y1, x0, x1, d)


def test_moving_object_disocclusion_is_detected_exactly() -> None:
    forward, backward, (y0, y1, x0, x1, d) = _moving_square()
    expected = torch.zeros(1, 1, *forward.shape[2:], dtype=torch.bool)
    expected[..., y0:y1, x0 : x0 + d] = True
    assert torch.equal(disocclusion_mask(forward, backward), expected)
    c = reliability_weights(forward, backward, blur_sigma=0.0)
    assert (c[..., y0:y1, x0 : x0 + d] == 0).all()
    assert (c[..., y0 + 2 : y1 - 2, x0 + d + 2 : x1 + d - 2] == 1).all()  # inside the moving square
    assert (c[..., :, -3:] == 1).all() and (c[..., :3, :] == 1).all()  # static background


def test_flow_discontinuity_is_a_motion_boundary() -> None:
    forward, backward, (y0, y1, x0, x1, d) = _moving_square()
    boundary = motion_boundary_mask(backward)[0, 0]
    # central differences see the edge on both neighbouring pixels, on every side of the square
    assert boundary[y0 + 1 : y1 - 1, x0 + d - 1 : x0 + d + 1].all()
    assert boundary[y0 + 1 : y1 - 1, x1 + d - 1 : x1 + d + 1].all()
    assert boundary[y0 - 1 : y0 + 1, x0 + d + 1 : x1 + d - 1].all()
    assert not boundary[y0 + 1 : y1 - 1, x0 + d + 1 : x1 + d - 1].any()  # smooth interior
    assert not boundary[:, : x0 + d - 2].any() and not boundary[: y0 - 2].any()
    assert unreliable_mask(forward, backward)[0, 0, y0 + 2, x1 + d].item()


def test_disocclusion_threshold_is_exact() -> None:
    """With forward (s, 0) and backward 0: s^2 >= 0.01 s^2 + 0.5  <=>  s >= sqrt(0.5 / 0.99)."""
    s0 = math.sqrt(0.5 / 0.99)
    backward = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    for s, expected in [(s0 * (1 + 1e-9), True), (s0 * (1 - 1e-9), False)]:
        forward = _constant(1, 3, 3, s, 0.0, dtype=torch.float64)
        assert disocclusion_mask(forward, backward).all().item() is expected
        assert disocclusion_mask(forward, backward).any().item() is expected
    # the relative term: forward (10, 0), backward (d - 10, 0):
    # d^2 >= 0.01 (100 + (10 - d)^2) + 0.5  <=>  0.99 d^2 + 0.2 d - 2.5 >= 0
    d0 = (-0.2 + math.sqrt(0.04 + 4 * 0.99 * 2.5)) / (2 * 0.99)
    forward = _constant(1, 1, 1, 10.0, 0.0, dtype=torch.float64)
    for d, expected in [(d0 * (1 + 1e-9), True), (d0 * (1 - 1e-9), False)]:
        backward = _constant(1, 1, 1, d - 10.0, 0.0, dtype=torch.float64)
        assert disocclusion_mask(forward, backward).item() is expected


def test_motion_boundary_threshold_is_exact() -> None:
    """A ramp u = g (x - 3): at x = 3 the flow is 0, so the test there is g^2 > 0.002."""
    g0 = math.sqrt(0.002)
    xs = torch.arange(7, dtype=torch.float64)
    for g, expected in [(g0 * (1 + 1e-9), True), (g0 * (1 - 1e-9), False)]:
        backward = torch.zeros(1, 2, 5, 7, dtype=torch.float64)
        backward[0, 0] = g * (xs - 3)
        assert motion_boundary_mask(backward)[0, 0, 2, 3].item() is expected
    # v gradients count too, and at the border the replicated neighbour halves the difference
    backward = torch.zeros(1, 2, 5, 7, dtype=torch.float64)
    backward[0, 1] = 0.1 * torch.arange(5, dtype=torch.float64)[:, None]
    mask = motion_boundary_mask(backward)[0, 0]
    assert mask[0, 0].item()  # |grad v|^2 = 0.0025 > 0.002 at v = 0
    assert not mask[4, 0].item()  # 0.0025 <= 0.01 * 0.16 + 0.002 = 0.0036


@pytest.mark.parametrize("device", DEVICES)
def test_blur_keeps_weights_in_unit_interval(device: str) -> None:
    forward, backward, _ = _moving_square()
    forward = forward.to(device, torch.float32).expand(3, -1, -1, -1)
    backward = backward.to(device, torch.float32).expand(3, -1, -1, -1)
    binary = reliability_weights(forward, backward, blur_sigma=0.0)
    assert set(binary.unique().tolist()) == {0.0, 1.0}
    c = reliability_weights(forward, backward, blur_sigma=2.0)
    assert c.shape == (3, 1, *forward.shape[2:]) and c.device.type == device and c.dtype == torch.float32
    assert c.min() >= 0 and c.max() <= 1
    assert ((c > 0) & (c < 1)).any()  # the blur produces soft transitions
    assert blur_kernel_size(0.8) == 7 and blur_kernel_size(2.0) == 13


def test_batch_elements_are_independent() -> None:
    f1, b1, _ = _moving_square()
    f2 = _constant(1, *f1.shape[2:], 1.5, 0.5, dtype=torch.float64)
    batched = reliability_weights(torch.cat([f1, f2]), torch.cat([b1, -f2]))
    torch.testing.assert_close(batched[:1], reliability_weights(f1, b1))
    torch.testing.assert_close(batched[1:], reliability_weights(f2, -f2))


def test_errors() -> None:
    flow = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="must match"):
        reliability_weights(flow, torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="blur_sigma"):
        reliability_weights(flow, flow, blur_sigma=-1.0)
    with pytest.raises(ValueError, match="N, 2, H, W"):
        motion_boundary_mask(torch.zeros(1, 3, 4, 4))


# -- Sintel ground truth ----------------------------------------------------------------------

# (scene, pass, frame N, lower bounds measured with DIS medium at half resolution, rounded down
# to about half: recall, precision of "c < 0.5" against GT occlusions; EPE bound with margin)
SINTEL_CASES = [
    ("alley_2", "clean", 2, 0.30, 0.05, 0.25),
    ("market_5", "clean", 2, 0.35, 0.08, 15.0),
]


def _rgb(path: Path, size: tuple[int, int]) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _half_mask(path: Path, size: tuple[int, int], threshold: float) -> np.ndarray:
    mask = (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > threshold


@pytest.mark.parametrize(("scene", "pass_", "n", "min_recall", "min_precision", "max_epe"), SINTEL_CASES)
def test_sintel_occlusions_and_flow_error(
    scene: str, pass_: str, n: int, min_recall: float, min_precision: float, max_epe: float
) -> None:
    root = DATA / "sintel" / scene
    if not root.is_dir():
        pytest.skip(f"shared Sintel data not found at {root} (it lives beside the repository)")
    gt = read_flo(root / "flow" / f"frame_{n:04d}.flo")  # true flow N -> N+1
    h, w = gt.shape[:2]
    size = (w // 2, h // 2)
    gt = cv2.resize(gt, size, interpolation=cv2.INTER_AREA) / 2
    occluded = _half_mask(root / "occlusions" / f"frame_{n:04d}.png", size, 0.5)  # on frame N's grid
    valid = ~_half_mask(root / "invalid" / f"frame_{n:04d}.png", size, 0.0)
    frame_n = to_gray_u8(_rgb(root / pass_ / f"frame_{n:04d}.png", size))
    frame_next = to_gray_u8(_rgb(root / pass_ / f"frame_{n + 1:04d}.png", size))

    # GT occlusions live on frame N: pixels of N not visible in N+1. That is our "frame i" = N with
    # "previous" = N+1, so the backward flow (i -> i-1) is the N -> N+1 flow the GT describes.
    forward, backward = flow_pair(frame_next, frame_n, FlowSettings("dis", "medium"))
    c = reliability_weights(
        torch.from_numpy(forward).permute(2, 0, 1)[None], torch.from_numpy(backward).permute(2, 0, 1)[None]
    )[0, 0].numpy()
    unreliable = (c < 0.5) & valid
    hits = (unreliable & occluded).sum()
    recall = hits / (occluded & valid).sum()
    precision = hits / unreliable.sum()
    epe = np.linalg.norm(backward - gt, axis=2)[valid & ~occluded].mean()
    print(
        f"\n{scene}/{pass_} {n}->{n + 1} half res, DIS medium: EPE {epe:.3f} px (non-occluded), "
        f"recall {recall:.3f}, precision {precision:.3f}, unreliable {unreliable.mean():.3f}, "
        f"occluded {occluded.mean():.3f}"
    )
    assert recall >= min_recall
    assert precision >= min_precision
    assert precision > 1.2 * occluded[valid].mean()  # better than marking pixels at random
    assert epe <= max_epe
