#!/usr/bin/env python
"""Seconds per frame and peak memory, per phase, as resolution and shot length grow (not a test: run
it by hand).

    python tools/bench_cpu.py --sizes 128x54 256x109 512x218 --lengths 10 20 40 --length-size 128x54 \
        --iterations 50 --json docs/benchmarks/scaling.json

Every row renders the built-in synthetic shot through the real render path in its own child
process (benchkit/scaling.py), every frame with the same fixed iteration budget and no early stop:

- resolution rows: a short shot (--frames, 3 by default) at each of --sizes;
- length rows: shots of --lengths frames at --length-size; seconds per frame and peak memory should
  stay flat with length, since the node keeps a bounded number of finished frames.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchkit.machine import describe
from benchkit.options import add_options
from benchkit.scaling import budget_overrides, format_table, run_scaling_section


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "sizes", sizes={"nargs": "*", "default": ["128x54", "256x109", "512x218"]})
    parser.add_argument("--frames", type=int, default=3, help="frames per resolution row (default 3)")
    parser.add_argument("--lengths", nargs="*", type=int, default=[10, 20, 40])
    parser.add_argument("--length-size", default="128x54")
    parser.add_argument("--iterations", type=int, default=50, help="iterations for every frame (default 50)")
    add_options(parser, "preset", "set", "device", "precision", "json")
    args = parser.parse_args()

    section = run_scaling_section(
        args.sizes,
        args.lengths,
        args.length_size,
        args.iterations,
        args.device,
        args.preset,
        resolution_frames=args.frames,
        overrides=args.overrides,
        precision=args.precision,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    extra = " ".join(args.overrides)
    budget = f"{args.iterations} iterations every frame"
    print(f"device {args.device} ({args.precision}), preset {args.preset}, {budget} {extra}")
    if section["resolution_rows"]:
        print(f"\nresolution ({args.frames} frames each)")
        print(format_table(section["resolution_rows"]))
    if section["length_rows"]:
        print(f"\nshot length (at {args.length_size})")
        print(format_table(section["length_rows"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "machine": describe(),
            "device": args.device,
            "precision": args.precision,
            "preset": args.preset,
            "overrides": [*args.overrides, *budget_overrides(args.iterations)],
        }
        args.json.write_text(json.dumps({"meta": meta, **section}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
