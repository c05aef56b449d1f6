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

from benchkit.machine import banner, write_results
from benchkit.options import add_options, parse_size
from benchkit.sintel import load_clip

from vst_node.engine.evaluation import Clip, MethodResult, evaluate_methods, shot_clip
from vst_node.engine.node import independent_preset
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset


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
    add_options(parser, "data")
    parser.add_argument("--scene", action="append", default=[], help="Sintel scene(s) (default: alley_2)")
    parser.add_argument("--sintel-scale", type=int, default=4)
    add_options(parser, "preset", "set", "first", "later")
    parser.add_argument("--offsets", type=int, nargs="+", default=[1, 2, 4])
    add_options(
        parser,
        "passes",
        "pass_iterations",
        "temporal_from",
        "device",
        "json",
        passes={"default": 6},
        temporal_from={"default": 3},
    )
    args = parser.parse_args()

    width, height = parse_size(args.size)
    clips = [shot_clip(make_shot(width=width, height=height, n_frames=args.frames, seed=0))]
    for scene in args.scene or ["alley_2"]:
        scene_dir = args.data / "sintel" / scene
        if scene_dir.is_dir():
            clips.append(load_clip(scene_dir, args.sintel_scale))
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
    print(f"\n{banner(args.device)}")
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
