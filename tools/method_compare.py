#!/usr/bin/env python
"""Temporal error and style loss of the method's variants, side by side, on real and built-in clips.

Rows per clip: per-frame random init (the flickering baseline), short-term temporal loss,
short + long-term (offsets J), multi-pass. One table, one JSON file:

    python tools/method_compare.py --json docs/benchmarks/methods.json

Sintel frames are downscaled for the CPU (--sintel-scale) with their ground-truth flow scaled
alike; the error is measured on the pair the dataset gives ground truth for. Iteration budgets are
cut from the paper's (2000/1000, 10+ passes x 100) so that the whole table runs in under an hour on
two cores; they are printed with the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from machine import describe, write_results

from vst_node.engine.evaluation import Clip, MethodResult, evaluate_methods, shot_clip
from vst_node.engine.node import independent_preset
from vst_node.io.flo import read_flo
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def sintel_clip(scene_dir: Path, scale: int, pass_: str = "clean") -> Clip:
    """All frames of a scene folder, downscaled by `scale`, with every ground-truth pair it has."""
    paths = sorted((scene_dir / pass_).glob("frame_*.png"))
    numbers = [int(p.stem.split("_")[1]) for p in paths]

    def load(path: Path) -> np.ndarray:
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        rgb = cv2.resize(rgb, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
        return rgb.astype(np.float32) / 255.0  # sRGB PNG: already the network's display encoding

    frames = [load(p) for p in paths]
    h, w = frames[0].shape[:2]
    pairs = []
    for index, number in enumerate(numbers[:-1]):
        flo = scene_dir / "flow" / f"frame_{number:04d}.flo"
        if not flo.is_file():
            continue
        flow = cv2.resize(read_flo(flo), (w, h), interpolation=cv2.INTER_AREA) / scale
        masks = [scene_dir / kind / f"frame_{number:04d}.png" for kind in ("occlusions", "invalid")]
        hidden = np.zeros((h, w), bool)
        for mask_path in masks:
            if mask_path.is_file():
                mask = (cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
                hidden |= cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA) > 0.0
        pairs.append((index, flow.astype(np.float32), hidden))
    return Clip(f"sintel {scene_dir.name} {w}x{h}", frames, pairs)


def methods_for(args: argparse.Namespace) -> tuple[dict, object]:
    budget = [
        f"optimiser.iterations_first={args.first}",
        f"optimiser.iterations={args.later}",
        *args.overrides,
    ]
    base = load_preset(args.preset, budget)
    offsets = ",".join(str(j) for j in args.offsets)
    multipass = [
        f"multipass.passes={args.passes}",
        f"multipass.iterations={args.pass_iterations}",
        f"multipass.temporal_from={args.temporal_from}",
    ]
    methods = {
        "per-frame random init": independent_preset(base, "random"),
        "short-term (J=1)": base,
        f"short+long-term (J={offsets})": load_preset(
            args.preset, [*budget, f"temporal.offsets=[{offsets}]"]
        ),
        f"multi-pass ({args.passes}x{args.pass_iterations})": load_preset(args.preset, [*budget, *multipass]),
    }
    return methods, base


def format_rows(clip: Clip, results: list[MethodResult]) -> list[str]:
    baseline = results[0]
    lines = []
    for r in results:
        gain = baseline.temporal_error / r.temporal_error
        lines.append(
            f"{clip.name:<26} {r.method:<30} {r.temporal_error:>10.6f} {gain:>6.1f}x {r.style_loss:>11.1f}"
            f" {r.content_loss:>10.0f} {r.iterations_per_frame:>6.0f} {r.seconds_per_frame:>8.1f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="160x96", help="built-in shot size (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=8, help="built-in shot length (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scene", action="append", default=[], help="Sintel scene(s) (default: alley_2)")
    parser.add_argument("--sintel-scale", type=int, default=4)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--first", type=int, default=200, help="iterations, first frame")
    parser.add_argument("--later", type=int, default=100, help="iterations, later frames")
    parser.add_argument("--offsets", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--pass-iterations", type=int, default=40)
    parser.add_argument("--temporal-from", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.split("x"))
    clips = [shot_clip(make_shot(width=width, height=height, n_frames=args.frames, seed=0))]
    for scene in args.scene or ["alley_2"]:
        scene_dir = args.data / "sintel" / scene
        if scene_dir.is_dir():
            clips.append(sintel_clip(scene_dir, args.sintel_scale))
        else:
            print(f"skipping {scene}: {scene_dir} not found", file=sys.stderr)
    methods, base = methods_for(args)
    started = time.perf_counter()
    header = (
        f"{'clip':<26} {'method':<30} {'temp. err':>10} {'gain':>7} {'style loss':>11} {'content':>10}"
        f" {'it/fr':>6} {'s/frame':>8}"
    )
    lines = [header, "-" * len(header)]
    table = []
    for clip in clips:
        results = evaluate_methods(clip, methods, base, args.device)
        lines += format_rows(clip, results)
        print("\n".join(lines[-len(results) :]), flush=True)
        table.append(
            {"clip": clip.name, "frames": len(clip.frames), "results": [r.as_dict() for r in results]}
        )
    print(f"\nmachine: {describe()}, torch threads {torch.get_num_threads()}, device {args.device}")
    print(
        f"budgets: first {args.first} / later {args.later} iterations; multi-pass {args.passes} passes x "
        f"{args.pass_iterations}, temporal loss from pass {args.temporal_from}; long-term J={args.offsets}"
    )
    print("\n".join(lines))
    write_results(
        args.json,
        args.device,
        {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "table": table,
            "wall_seconds": time.perf_counter() - started,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
