#!/usr/bin/env python
"""Temporal error and style loss of a preset against per-frame random init, on the built-in shot.

    python tools/temporal_compare.py --size 256x256 --frames 8 --json docs/benchmarks/temporal.json

Prints a table, writes JSON, and exits 1 when the issue's targets do not hold (temporal error at
least `--min-ratio` times lower, style loss within `--max-style-ratio` of the per-frame result).
"""

from __future__ import annotations

import argparse
import sys
import time

from benchkit.machine import describe, write_results
from benchkit.options import add_options, parse_size

from vst_node.engine.evaluation import compare_methods, format_table
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--frames", type=int, default=8)
    add_options(parser, "preset", "set", "device")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-ratio", type=float, default=5.0)
    parser.add_argument("--max-style-ratio", type=float, default=1.5)
    add_options(parser, "json")
    args = parser.parse_args()

    width, height = parse_size(args.size)
    preset = load_preset(args.preset, args.overrides)
    shot = make_shot(width=width, height=height, n_frames=args.frames, seed=args.seed)
    started = time.perf_counter()
    results = compare_methods(shot, preset, args.device)
    ours, baseline = results
    ratio = baseline.temporal_error / ours.temporal_error
    style_ratio = ours.style_loss / baseline.style_loss
    ok = ratio >= args.min_ratio and style_ratio <= args.max_style_ratio
    print(f"built-in shot {width}x{height}, {args.frames} frames, preset {preset.name}, device {args.device}")
    print(f"machine: {describe()}")
    print(format_table(results))
    print(f"temporal error ratio (per-frame / preset): {ratio:.1f}x  (target >= {args.min_ratio}x)")
    print(f"style loss ratio (preset / per-frame): {style_ratio:.2f}  (target <= {args.max_style_ratio})")
    print("PASS" if ok else "FAIL")
    write_results(
        args.json,
        args.device,
        {
            "shot": {"width": width, "height": height, "frames": args.frames, "seed": args.seed},
            "preset": preset.name,
            "overrides": args.overrides,
            "results": [r.as_dict() for r in results],
            "temporal_ratio": ratio,
            "style_ratio": style_ratio,
            "pass": ok,
            "wall_seconds": time.perf_counter() - started,
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
