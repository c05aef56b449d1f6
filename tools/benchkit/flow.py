"""The flow section: every flow backend on Sintel pairs, timed and scored against the ground truth.

For each backend it computes forward + backward flow and the reliability weights (what one frame of
a render costs), then compares with the ground truth: EPE on valid non-occluded pixels, and how well
"c < 0.5" covers the occluded pixels (precision, recall). The warp side too: the render brings frame
N's result into N+1 along the flow N+1 -> N and trusts N+1's pixels where c >= 0.5 on N+1's grid,
so that flow is scored against the ground truth inverted onto N+1 (benchkit/oracle.py), with the
share of N+1's trusted pixels that the check keeps although they are more than 3 px off (those
drag strokes the wrong way). `run_flow_section(data)` runs every
ground-truth pair under `data/sintel/*/` at full resolution and returns {"rows": [...], "targets": {...}}.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from benchkit.machine import synchronize
from benchkit.oracle import invert_forward_flow
from benchkit.sintel import discover, frame_path, ground_truth, load_mask, load_rgb, mask_path, scaled_size
from vst_node.engine.flow import flow_pair, to_gray_u8
from vst_node.ops.reliability import reliability_weights
from vst_node.settings import DIS_PRESETS, FlowSettings

SETTINGS = [
    *(FlowSettings("dis", preset) for preset in DIS_PRESETS),
    FlowSettings("deepflow"),
    FlowSettings("farneback"),
    FlowSettings("matched"),
    FlowSettings("auto"),
]
BACKENDS = [settings.key() for settings in SETTINGS]
TARGET_SIZE = (1024, 436)  # the targets are per pair at full Sintel resolution
DIS_TARGET_S = 0.2  # forward + backward + weights, the shipped DIS preset
DEEPFLOW_TARGET_S = 3.0
WARP_OFF_PX = 3.0  # a kept pixel whose warp flow is further off than this drags a stroke visibly


def select_settings(backends: Sequence[str] | None) -> list[FlowSettings]:
    """The SETTINGS entries named in `backends` (all when None), in SETTINGS order."""
    if backends is None:
        return list(SETTINGS)
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}; expected some of {', '.join(BACKENDS)}")
    return [settings for settings in SETTINGS if settings.key() in backends]


def bench(
    scene_dir: Path,
    frame: int,
    pass_: str,
    scale: int,
    repeat: int,
    device: str,
    settings_list: Sequence[FlowSettings] = SETTINGS,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """One row per backend; frame N's ground truth describes N -> N+1 on N's grid.

    Timings are the median of `repeat` runs; the weights (host-to-device copy, computation and the
    copy back) run on `device`. `on_row` is called with each row as soon as it is measured.
    """
    gt, hidden = ground_truth(scene_dir, frame, scale)
    gt_warp, trusted = invert_forward_flow(gt, hidden)  # N+1 -> N on N+1's grid, and where it is known
    trusted = trusted > 0.5
    size = (gt.shape[1], gt.shape[0])
    occluded = load_mask(mask_path(scene_dir, "occlusions", frame), size, 0.5)
    valid = ~load_mask(mask_path(scene_dir, "invalid", frame), size, 0.0)
    paths = [frame_path(scene_dir, pass_, n) for n in (frame, frame + 1)]
    sizes = [scaled_size(path, scale) for path in paths]
    if sizes != [size, size]:
        raise ValueError(
            f"{scene_dir.name}/{pass_} frames {frame}, {frame + 1} are {sizes[0]} and {sizes[1]} "
            f"at 1/{scale}, the ground truth is {size}"
        )
    frame_n, frame_next = (to_gray_u8(load_rgb(path, size)) for path in paths)
    # The first call pays for lazy initialisation (on CUDA: context and kernel loading), which is no
    # pair's cost: with repeat=1 it would land on the first backend's row.
    zeros = torch.zeros(1, 2, *frame_n.shape, device=device)
    reliability_weights(zeros, zeros)
    synchronize(device)

    rows = []
    for settings in settings_list:
        flow_times, weight_times = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            # "cur" = N, "prev" = N+1: the backward flow is N -> N+1 and c lives on N's grid, as the GT.
            forward, backward = flow_pair(frame_next, frame_n, settings)
            flowed = time.perf_counter()
            c = reliability_weights(
                torch.from_numpy(forward).permute(2, 0, 1)[None].to(device),
                torch.from_numpy(backward).permute(2, 0, 1)[None].to(device),
            )[0, 0].cpu()
            synchronize(device)
            weight_times.append(time.perf_counter() - flowed)
            flow_times.append(flowed - started)
        unreliable = (c.numpy() < 0.5) & valid
        hits = int((unreliable & occluded).sum())
        # The render's orientation: `forward` here is N+1 -> N, the warp flow; c on N+1's grid.
        warp_pair = (torch.from_numpy(f).permute(2, 0, 1)[None] for f in (backward, forward))
        c_next = reliability_weights(*warp_pair)
        kept = (c_next[0, 0].numpy() >= 0.5) & trusted
        warp_error = np.linalg.norm(forward - gt_warp, axis=2)
        rows.append(
            {
                "sequence": f"{scene_dir.name}/{pass_}",
                "pair": f"{frame}->{frame + 1}",
                "backend": settings.key(),
                "width": size[0],
                "height": size[1],
                "flow_pair_s": statistics.median(flow_times),
                "weights_s": statistics.median(weight_times),
                "total_s": statistics.median(f + g for f, g in zip(flow_times, weight_times, strict=True)),
                "epe_noc": float(np.linalg.norm(backward - gt, axis=2)[valid & ~occluded].mean()),
                "occlusion_precision": hits / max(int(unreliable.sum()), 1),
                "occlusion_recall": hits / max(int((occluded & valid).sum()), 1),
                "unreliable_fraction": float(unreliable.mean()),
                "warp_epe": float(warp_error[trusted].mean()) if trusted.any() else float("nan"),
                "warp_kept_fraction": float(kept.sum() / max(int(trusted.sum()), 1)),
                "warp_kept_off_3px": float((warp_error[kept] > WARP_OFF_PX).mean()) if kept.any() else 0.0,
            }
        )
        if on_row is not None:
            on_row(rows[-1])
    return rows


def shipped_dis_backend() -> str:
    """The DIS backend key the shipped `default` preset uses (flow.dis_preset): the DIS target's."""
    from vst_node.settings import load_preset

    return FlowSettings("dis", load_preset("default").flow.dis_preset).key()


def flow_targets(rows: Sequence[dict]) -> dict:
    """The issue's targets, per pair at 1024x436: medians over pairs of total_s, and the verdicts.

    Rows at other sizes are ignored; a backend with no full-size rows gets None (as do the
    verdicts whose backend was not run).
    """
    full = [r for r in rows if (r["width"], r["height"]) == TARGET_SIZE]
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    medians = {
        b: (statistics.median(ts) if (ts := [r["total_s"] for r in full if r["backend"] == b]) else None)
        for b in backends
    }
    dis = shipped_dis_backend()
    dis_s, deepflow_s = medians.get(dis), medians.get("deepflow")
    return {
        "size": f"{TARGET_SIZE[0]}x{TARGET_SIZE[1]}",
        "pairs": len({(r["sequence"], r["pair"]) for r in full}),
        "median_total_s": medians,
        "dis_backend": dis,
        "dis_median_total_s": dis_s,
        "dis_threshold_s": DIS_TARGET_S,
        "dis_under_0_2s": None if dis_s is None else dis_s < DIS_TARGET_S,
        "deepflow_median_total_s": deepflow_s,
        "deepflow_threshold_s": DEEPFLOW_TARGET_S,
        "deepflow_under_3s": None if deepflow_s is None else deepflow_s < DEEPFLOW_TARGET_S,
    }


def run_flow_section(
    data: Path,
    repeat: int = 3,
    device: str = "cpu",
    backends: list[str] | None = None,
    *,
    on_row: Callable[[dict], None] | None = None,
) -> dict:
    """Every ground-truth pair under data/sintel/*/ x every backend, at full resolution.

    Returns {"rows": [...], "targets": {...}}: one row per (pair, backend) as bench() makes them,
    and flow_targets(rows). `backends` are SETTINGS keys (default: all); `on_row` sees each row
    as soon as it is measured.
    """
    settings_list = select_settings(backends)
    pairs = discover(Path(data), strict=True)
    if not pairs:
        raise FileNotFoundError(f"no Sintel ground-truth flow under {Path(data) / 'sintel'}/*/flow/")
    rows = []
    for scene_dir, pass_, frame in pairs:
        rows += bench(scene_dir, frame, pass_, 1, repeat, device, settings_list, on_row)
    return {"rows": rows, "targets": flow_targets(rows)}


def _verdicts(targets: dict):
    """(name, backend, threshold, median seconds or None, verdict or None) per target."""
    for name, backend, threshold in (
        ("dis_under_0_2s", targets["dis_backend"], targets["dis_threshold_s"]),
        ("deepflow_under_3s", "deepflow", targets["deepflow_threshold_s"]),
    ):
        yield name, backend, threshold, targets["median_total_s"].get(backend), targets[name]


def target_lines(targets: dict) -> list[str]:
    """One line per target: the measured median, the threshold and the verdict."""
    lines = []
    for name, backend, threshold, value, passed in _verdicts(targets):
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[passed]
        measured = "-" if value is None else f"{value:.3f} s"
        lines.append(
            f"target {name}: {backend} median total over {targets['pairs']} pairs at {targets['size']} "
            f"= {measured} (< {threshold:g} s): {verdict}"
        )
    return lines


def target_list(targets: dict) -> list[dict]:
    """The measured targets in the suite's form (name, value, threshold, passed, detail)."""
    return [
        {
            "name": f"{backend}: forward + backward flow + weights per pair at {targets['size']} (s)",
            "value": value,
            "threshold": threshold,
            "passed": bool(passed),
            "detail": f"median over {targets['pairs']} pairs, under {threshold:g} s passes",
        }
        for _, backend, threshold, value, passed in _verdicts(targets)
        if value is not None
    ]
