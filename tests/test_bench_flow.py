"""tools/bench_flow.py as a library: the flow section over a tiny synthetic Sintel-like folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vst_node.io.flo import write_flo

W, H = 64, 32
MARGIN = 8


@pytest.fixture(scope="module")
def bench_flow():
    from benchkit import flow as module  # tools/ is on sys.path (pyproject.toml: pythonpath)

    return module


def _texture(seed: int) -> np.ndarray:
    """Smooth random texture with a margin around the frame, so that crops can be shifted."""
    noise = np.random.default_rng(seed).random((H + 2 * MARGIN, W + 2 * MARGIN)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return ((smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255).astype(np.uint8)


def _write_scene(root: Path, name: str, pass_: str, n: int, dx: int, dy: int, seed: int) -> None:
    """Frames N and N+1 with frame_{N+1}(p + (dx, dy)) = frame_N(p), and N's ground truth."""
    scene = root / "sintel" / name
    for folder in (pass_, "flow", "occlusions", "invalid"):
        (scene / folder).mkdir(parents=True)
    big = _texture(seed)
    frame_n = big[MARGIN : MARGIN + H, MARGIN : MARGIN + W]
    frame_next = big[MARGIN - dy : MARGIN - dy + H, MARGIN - dx : MARGIN - dx + W]
    for number, gray in ((n, frame_n), (n + 1, frame_next)):
        cv2.imwrite(str(scene / pass_ / f"frame_{number:04d}.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    write_flo(scene / "flow" / f"frame_{n:04d}.flo", np.broadcast_to(np.float32([dx, dy]), (H, W, 2)))
    ys, xs = np.mgrid[0:H, 0:W]
    leaves = (xs + dx < 0) | (xs + dx > W - 1) | (ys + dy < 0) | (ys + dy > H - 1)  # not in N+1
    cv2.imwrite(str(scene / "occlusions" / f"frame_{n:04d}.png"), leaves.astype(np.uint8) * 255)
    cv2.imwrite(str(scene / "invalid" / f"frame_{n:04d}.png"), np.zeros((H, W), np.uint8))


@pytest.fixture()
def fake_data(tmp_path: Path) -> Path:
    _write_scene(tmp_path, "scene_a", "clean", 1, dx=2, dy=0, seed=1)
    _write_scene(tmp_path, "scene_b", "final", 7, dx=-1, dy=1, seed=2)
    # A clean pass without frames 7 and 8: the pair's frames are in the final pass.
    (tmp_path / "sintel" / "scene_b" / "clean").mkdir()
    cv2.imwrite(str(tmp_path / "sintel" / "scene_b" / "clean" / "frame_0001.png"), _texture(3))
    return tmp_path


def test_flow_section_finds_every_pair_and_measures_a_pure_shift(bench_flow, fake_data: Path) -> None:
    section = bench_flow.run_flow_section(fake_data, repeat=1, backends=["dis-fast"])
    rows = section["rows"]
    assert len(rows) == 2
    assert [(r["sequence"], r["pair"]) for r in rows] == [
        ("scene_a/clean", "1->2"),
        ("scene_b/final", "7->8"),
    ]
    for row in rows:
        assert row["backend"] == "dis-fast"
        assert (row["width"], row["height"]) == (W, H)
        assert row["epe_noc"] < 1.0, row
        assert row["total_s"] >= row["flow_pair_s"] > 0 and row["weights_s"] > 0
        # The occluded strip is where the shift leaves the frame, which c < 0.5 marks.
        assert row["occlusion_recall"] >= 0.9 and 0.0 < row["occlusion_precision"] <= 1.0
    # The targets are defined at 1024x436 only, and neither target backend ran.
    targets = section["targets"]
    assert targets["pairs"] == 0 and targets["median_total_s"] == {"dis-fast": None}
    assert targets["dis_under_0_2s"] is None and targets["deepflow_under_3s"] is None


def test_flow_targets_take_the_median_over_full_size_pairs(bench_flow) -> None:
    def row(pair: str, backend: str, total: float, width: int = 1024, height: int = 436) -> dict:
        return dict(sequence="s/clean", pair=pair, backend=backend, width=width, height=height, total_s=total)

    rows = [
        row("1->2", "dis-medium", 0.1),
        row("2->3", "dis-medium", 0.3),
        row("3->4", "dis-medium", 0.15),
        row("1->2", "deepflow", 3.5),
        row("1->2", "deepflow", 0.01, width=512, height=218),  # other sizes do not count
    ]
    targets = bench_flow.flow_targets(rows)
    assert targets["pairs"] == 3
    assert targets["dis_backend"] == "dis-medium"  # presets/default.yaml flow.dis_preset
    assert targets["median_total_s"] == {"dis-medium": 0.15, "deepflow": 3.5}
    assert targets["dis_under_0_2s"] is True and targets["deepflow_under_3s"] is False


def test_flow_section_rejects_unknown_backends(bench_flow, fake_data: Path) -> None:
    with pytest.raises(ValueError, match="raft"):
        bench_flow.run_flow_section(fake_data, repeat=1, backends=["raft"])


def test_flow_section_scores_the_warp_flow_and_what_the_check_keeps(bench_flow, fake_data: Path) -> None:
    """A pure shift: the N+1 -> N flow is right on N+1's pixels that N saw, and the check keeps them."""
    rows = bench_flow.run_flow_section(fake_data, repeat=1, backends=["dis-medium"])["rows"]
    assert rows, "no pair was scored"
    for row in rows:
        assert row["warp_epe"] < 1.0, row
        assert row["warp_kept_fraction"] > 0.8, row
        assert 0.0 <= row["warp_kept_off_3px"] < 0.05, row


def test_warp_measures_see_a_wrong_flow(bench_flow, tmp_path: Path) -> None:
    """The ground truth says the frame moved 6 px right, the frames do not move: the flow (near zero)
    is 6 px off everywhere, and every pixel the check keeps counts as off."""
    scene = tmp_path / "sintel" / "still"
    for folder in ("clean", "flow", "occlusions", "invalid"):
        (scene / folder).mkdir(parents=True)
    gray = _texture(5)[MARGIN : MARGIN + H, MARGIN : MARGIN + W]
    for number in (1, 2):
        cv2.imwrite(str(scene / "clean" / f"frame_{number:04d}.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    write_flo(scene / "flow" / "frame_0001.flo", np.broadcast_to(np.float32([6, 0]), (H, W, 2)))
    for kind in ("occlusions", "invalid"):
        cv2.imwrite(str(scene / kind / "frame_0001.png"), np.zeros((H, W), np.uint8))
    (row,) = bench_flow.run_flow_section(tmp_path, repeat=1, backends=["dis-medium"])["rows"]
    assert row["warp_epe"] > 5.0, row
    assert row["warp_kept_fraction"] > 0.5 and row["warp_kept_off_3px"] > 0.9, row
