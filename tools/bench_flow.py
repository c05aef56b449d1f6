"""Benchmark the flow backends on a Sintel pair: seconds per pair, end-point error, occlusion recall.

For each backend it computes forward + backward flow and the reliability weights (what one frame of
a render costs), then compares with the ground truth: EPE on valid non-occluded pixels, and how well
"c < 0.5" covers the occluded pixels (precision, recall).

    python tools/bench_flow.py --scene alley_2 --json bench_flow.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vst_node.flo import read_flo
from vst_node.flow import DIS_PRESETS, FlowSettings, flow_pair, to_gray_u8
from vst_node.reliability import reliability_weights

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETTINGS = [
    *(FlowSettings("dis", preset) for preset in DIS_PRESETS),
    FlowSettings("deepflow"),
    FlowSettings("farneback"),
]
HEADER = ("backend", "total_s", "flows_s", "weights", "EPE_noc", "recall", "prec")
WIDTHS = (14, 8, 8, 8, 8, 7, 7)


def _load_rgb(path: Path, scale: int) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    h, w = image.shape[:2]
    return image if scale == 1 else cv2.resize(image, (w // scale, h // scale), interpolation=cv2.INTER_AREA)


def _load_mask(path: Path, size: tuple[int, int], threshold: float) -> np.ndarray:
    mask = (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > threshold


def bench(scene_dir: Path, frame: int, pass_: str, scale: int, repeat: int, device: str) -> list[dict]:
    """One row per backend; frame N's ground truth describes N -> N+1 on N's grid."""
    gt = read_flo(scene_dir / "flow" / f"frame_{frame:04d}.flo")
    h, w = gt.shape[:2]
    size = (w // scale, h // scale)
    gt = cv2.resize(gt, size, interpolation=cv2.INTER_AREA) / scale if scale > 1 else gt
    occluded = _load_mask(scene_dir / "occlusions" / f"frame_{frame:04d}.png", size, 0.5)
    valid = ~_load_mask(scene_dir / "invalid" / f"frame_{frame:04d}.png", size, 0.0)
    frame_n = to_gray_u8(_load_rgb(scene_dir / pass_ / f"frame_{frame:04d}.png", scale))
    frame_next = to_gray_u8(_load_rgb(scene_dir / pass_ / f"frame_{frame + 1:04d}.png", scale))

    rows = []
    for settings in SETTINGS:
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
            weight_times.append(time.perf_counter() - flowed)
            flow_times.append(flowed - started)
        unreliable = (c.numpy() < 0.5) & valid
        hits = int((unreliable & occluded).sum())
        rows.append(
            {
                "backend": settings.key(),
                "width": size[0],
                "height": size[1],
                "flow_pair_s": statistics.median(flow_times),
                "weights_s": statistics.median(weight_times),
                "total_s": statistics.median(f + g for f, g in zip(flow_times, weight_times, strict=True)),
                "epe_noc": float(np.linalg.norm(backward - gt, axis=2)[valid & ~occluded].mean()),
                "occlusion_recall": hits / max(int((occluded & valid).sum()), 1),
                "occlusion_precision": hits / max(int(unreliable.sum()), 1),
                "unreliable_fraction": float(unreliable.mean()),
            }
        )
        _print_row(rows[-1])
    return rows


def _print_row(row: dict) -> None:
    names = ("total_s", "flow_pair_s", "weights_s", "epe_noc", "occlusion_recall", "occlusion_precision")
    cells = [f"{row['backend']:<{WIDTHS[0]}}"]
    cells += [f"{row[name]:>{width}.4f}" for name, width in zip(names, WIDTHS[1:], strict=True)]
    print(" ".join(cells), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--scene", default="alley_2")
    parser.add_argument("--frame", type=int, help="frame N with ground truth N -> N+1 (default: the first)")
    parser.add_argument("--pass", dest="pass_", help="clean or final (default: whichever exists)")
    parser.add_argument("--scale", type=int, default=1, help="downscale factor (1 = 1024x436)")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the median of this many runs")
    parser.add_argument("--device", default="cpu", help="torch device for the weights")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    scene_dir = args.data / "sintel" / args.scene
    if not scene_dir.is_dir():
        parser.error(f"no Sintel scene at {scene_dir}")
    frame = args.frame or int(sorted((scene_dir / "flow").glob("frame_*.flo"))[0].stem.split("_")[1])
    pass_ = args.pass_ or next(p for p in ("clean", "final") if (scene_dir / p).is_dir())

    threads = torch.get_num_threads()
    print(f"{args.scene} {pass_} {frame}->{frame + 1}, scale 1/{args.scale}, {threads} CPU threads")
    print(
        f"{HEADER[0]:<{WIDTHS[0]}} "
        + " ".join(f"{h:>{w}}" for h, w in zip(HEADER[1:], WIDTHS[1:], strict=True))
    )
    rows = bench(scene_dir, frame, pass_, args.scale, args.repeat, args.device)
    if args.json:
        meta = {"scene": args.scene, "pass": pass_, "frame": frame, "scale": args.scale}
        meta |= {"cpu_threads": threads, "opencv": cv2.__version__}
        args.json.write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
