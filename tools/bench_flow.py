"""Benchmark the flow backends on Sintel pairs: seconds per pair, end-point error, occlusion recall.

For each backend it computes forward + backward flow and the reliability weights (what one frame of
a render costs), then compares with the ground truth: EPE on valid non-occluded pixels, and how well
"c < 0.5" covers the occluded pixels (precision, recall).

    python tools/bench_flow.py --scene alley_2 --json bench_flow.json      # one pair
    python tools/bench_flow.py --all --json flow_section.json              # every ground-truth pair

Library use (the suite driver): `run_flow_section(data)` runs every ground-truth pair under
`data/sintel/*/` at full resolution and returns {"rows": [...], "targets": {...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from machine import synchronize

from vst_node.engine.flow import flow_pair, to_gray_u8
from vst_node.io.flo import read_flo
from vst_node.ops.reliability import reliability_weights
from vst_node.settings import DIS_PRESETS, FlowSettings

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETTINGS = [
    *(FlowSettings("dis", preset) for preset in DIS_PRESETS),
    FlowSettings("deepflow"),
    FlowSettings("farneback"),
]
BACKENDS = [settings.key() for settings in SETTINGS]
PASSES = ("clean", "final")  # Sintel's render passes, in the order they are tried for a pair
TARGET_SIZE = (1024, 436)  # the targets are per pair at full Sintel resolution
DIS_TARGET_S = 0.2  # forward + backward + weights, the shipped DIS preset
DEEPFLOW_TARGET_S = 3.0
HEADER = ("backend", "total_s", "flows_s", "weights", "EPE_noc", "recall", "prec")
WIDTHS = (14, 8, 8, 8, 8, 7, 7)
ALL_HEADER = ("sequence", "pair", "backend", "total_s", "flow_s", "weights_s", "EPE", "precision", "recall")
ALL_WIDTHS = (16, 7, 14, 8, 8, 9, 7, 9, 7)


def _load_rgb(path: Path, scale: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    h, w = image.shape[:2]
    return image if scale == 1 else cv2.resize(image, (w // scale, h // scale), interpolation=cv2.INTER_AREA)


def _load_mask(path: Path, size: tuple[int, int], threshold: float) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    mask = (image > 127).astype(np.float32)
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > threshold


def _settings(backends: Sequence[str] | None) -> list[FlowSettings]:
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
    gt = read_flo(scene_dir / "flow" / f"frame_{frame:04d}.flo")
    h, w = gt.shape[:2]
    size = (w // scale, h // scale)
    gt = cv2.resize(gt, size, interpolation=cv2.INTER_AREA) / scale if scale > 1 else gt
    occluded = _load_mask(scene_dir / "occlusions" / f"frame_{frame:04d}.png", size, 0.5)
    valid = ~_load_mask(scene_dir / "invalid" / f"frame_{frame:04d}.png", size, 0.0)
    frame_n = to_gray_u8(_load_rgb(scene_dir / pass_ / f"frame_{frame:04d}.png", scale))
    frame_next = to_gray_u8(_load_rgb(scene_dir / pass_ / f"frame_{frame + 1:04d}.png", scale))
    if frame_n.shape != (size[1], size[0]) or frame_next.shape != frame_n.shape:
        raise ValueError(
            f"{scene_dir.name}/{pass_} frames {frame}, {frame + 1} are {frame_n.shape[::-1]} and "
            f"{frame_next.shape[::-1]}, the ground truth is {size}"
        )
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
            }
        )
        if on_row is not None:
            on_row(rows[-1])
    return rows


def find_pairs(data: Path) -> list[tuple[Path, str, int]]:
    """(scene folder, pass, N) for every ground-truth flow `data/sintel/<scene>/flow/frame_N.flo`.

    The pass is the first of PASSES whose folder holds both frame N and frame N+1 (Sintel's
    .flo files are shared by the passes; each scene here has its frames in one pass or the other).
    A .flo without its frames, or without its occlusion and invalid masks, is a data error.
    """
    pairs = []
    for scene_dir in sorted(p for p in (data / "sintel").glob("*") if p.is_dir()):
        for flo in sorted((scene_dir / "flow").glob("frame_*.flo")):
            frame = int(flo.stem.split("_")[1])
            names = [f"frame_{n:04d}.png" for n in (frame, frame + 1)]
            pass_ = next((p for p in PASSES if all((scene_dir / p / n).is_file() for n in names)), None)
            if pass_ is None:
                raise FileNotFoundError(
                    f"{flo}: no pass folder ({', '.join(PASSES)}) has {' and '.join(names)}"
                )
            for mask in ("occlusions", "invalid"):
                if not (scene_dir / mask / f"{flo.stem}.png").is_file():
                    raise FileNotFoundError(f"{flo}: {scene_dir / mask / flo.stem}.png is missing")
            pairs.append((scene_dir, pass_, frame))
    return pairs


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
    settings_list = _settings(backends)
    pairs = find_pairs(Path(data))
    if not pairs:
        raise FileNotFoundError(f"no Sintel ground-truth flow under {Path(data) / 'sintel'}/*/flow/")
    rows = []
    for scene_dir, pass_, frame in pairs:
        rows += bench(scene_dir, frame, pass_, 1, repeat, device, settings_list, on_row)
    return {"rows": rows, "targets": flow_targets(rows)}


def _print_row(row: dict) -> None:
    names = ("total_s", "flow_pair_s", "weights_s", "epe_noc", "occlusion_recall", "occlusion_precision")
    cells = [f"{row['backend']:<{WIDTHS[0]}}"]
    cells += [f"{row[name]:>{width}.4f}" for name, width in zip(names, WIDTHS[1:], strict=True)]
    print(" ".join(cells), flush=True)


def _print_all_row(row: dict) -> None:
    names = ("total_s", "flow_pair_s", "weights_s", "epe_noc", "occlusion_precision", "occlusion_recall")
    texts = ("sequence", "pair", "backend")
    cells = [f"{row[name]:<{width}}" for name, width in zip(texts, ALL_WIDTHS[:3], strict=True)]
    cells += [f"{row[name]:>{width}.4f}" for name, width in zip(names, ALL_WIDTHS[3:], strict=True)]
    print(" ".join(cells), flush=True)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument(
        "--all", action="store_true", help="every ground-truth pair at 1024x436, with the targets"
    )
    parser.add_argument("--scene", help="one scene (default alley_2; not with --all)")
    parser.add_argument("--frame", type=int, help="frame N with ground truth N -> N+1 (default: the first)")
    parser.add_argument("--pass", dest="pass_", help="clean or final (default: whichever exists)")
    parser.add_argument("--scale", type=int, default=1, help="downscale factor (1 = 1024x436)")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the median of this many runs")
    parser.add_argument("--device", default="cpu", help="torch device for the weights")
    parser.add_argument("--backends", help=f"comma-separated subset of {','.join(BACKENDS)}")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    backends = args.backends.split(",") if args.backends else None
    try:
        settings_list = _settings(backends)
    except ValueError as exc:
        parser.error(str(exc))
    threads = torch.get_num_threads()
    # Other people's work on the CPU inflates every timing: the JSON records the 1-minute load.
    meta = {"cpu_threads": threads, "opencv": cv2.__version__, "device": args.device}
    meta["load_average_start"] = os.getloadavg()[0]

    if args.all:
        if args.scene or args.frame or args.pass_ or args.scale != 1:
            parser.error("--all runs every pair at full resolution: no --scene, --frame, --pass or --scale")
        print(f"every ground-truth pair under {args.data / 'sintel'}, full resolution, {threads} CPU threads")
        print(
            " ".join(
                f"{h:<{w}}" if i < 3 else f"{h:>{w}}"
                for i, (h, w) in enumerate(zip(ALL_HEADER, ALL_WIDTHS, strict=True))
            )
        )
        section = run_flow_section(args.data, args.repeat, args.device, backends, on_row=_print_all_row)
        for line in target_lines(section["targets"]):
            print(line)
        if args.json:
            meta["load_average_end"] = os.getloadavg()[0]
            args.json.write_text(json.dumps({**meta, **section}, indent=2) + "\n")
        return 0

    scene = args.scene or "alley_2"
    scene_dir = args.data / "sintel" / scene
    if not scene_dir.is_dir():
        parser.error(f"no Sintel scene at {scene_dir}")
    frame = args.frame or int(sorted((scene_dir / "flow").glob("frame_*.flo"))[0].stem.split("_")[1])
    pass_ = args.pass_ or next(p for p in PASSES if (scene_dir / p).is_dir())

    print(f"{scene} {pass_} {frame}->{frame + 1}, scale 1/{args.scale}, {threads} CPU threads")
    print(
        f"{HEADER[0]:<{WIDTHS[0]}} "
        + " ".join(f"{h:>{w}}" for h, w in zip(HEADER[1:], WIDTHS[1:], strict=True))
    )
    rows = bench(scene_dir, frame, pass_, args.scale, args.repeat, args.device, settings_list, _print_row)
    if args.json:
        meta["load_average_end"] = os.getloadavg()[0]
        meta = {"scene": scene, "pass": pass_, "frame": frame, "scale": args.scale} | meta
        args.json.write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
