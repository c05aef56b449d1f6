#!/usr/bin/env python
"""Seconds per frame and peak memory, per phase, at several resolutions (not a test: run it by hand).

    python tools/bench_cpu.py --sizes 256x256 512x218 --frames 4 --json docs/benchmarks/cpu.json

Each resolution runs in its own process so that peak memory (max RSS) is that resolution's own.
Frames go through the real render path (EXR read, colour, flow, optimisation, EXR write) on the
built-in shot; the preset's iteration counts apply unless overridden with --set.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe


def run_one(size: str, frames: int, preset: str, overrides: list[str], device: str) -> dict:
    """Runs in the child process."""
    import torch

    from vst_node.presets import load_preset
    from vst_node.progress import Progress
    from vst_node.render import RenderJob, render_sequence
    from vst_node.sequence import SequencePattern
    from vst_node.synthetic import make_shot, write_shot

    width, height = (int(v) for v in size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        pattern = write_shot(make_shot(width=width, height=height, n_frames=frames), Path(tmp) / "in")
        job = RenderJob(
            source=SequencePattern.parse(pattern),
            output=SequencePattern.parse(str(Path(tmp) / "out" / "shot.####.exr")),
            preset=load_preset(preset, overrides),
            device=device,
            cache_dir=Path(tmp) / "cache",
        )
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            report = render_sequence(job, Progress(frames, stream=quiet))
        wall = time.perf_counter() - started
    t = report.times
    n = len(report.written)
    later = [it for f, it in report.iterations.items() if f != report.frames[0]]
    return {
        "size": size,
        "frames": n,
        "wall_s_per_frame": wall / n,
        "read_s_per_frame": t.read / n,
        "colour_s_per_frame": t.colour / n,
        "flow_wait_s_per_pair": t.flow / max(n - 1, 1),
        "flow_compute_s_per_pair": t.flow_compute / max(report.flows_computed, 1),
        "optimise_s_per_frame": t.optimise / n,
        "write_s_per_frame": t.write / n,
        "iterations_first": report.iterations[report.frames[0]],
        "iterations_later_mean": sum(later) / max(len(later), 1),
        "optimise_s_per_iteration": t.optimise / max(sum(report.iterations.values()), 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["256x256", "512x218"])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_one(args.child, args.frames, args.preset, args.overrides, args.device)))
        return 0
    rows = []
    for size in args.sizes:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            size,
            "--frames",
            str(args.frames),
            "--preset",
            args.preset,
            "--device",
            args.device,
        ]
        for item in args.overrides:
            cmd += ["--set", item]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    cols = [
        "size",
        "wall_s_per_frame",
        "read_s_per_frame",
        "colour_s_per_frame",
        "flow_compute_s_per_pair",
        "flow_wait_s_per_pair",
        "optimise_s_per_frame",
        "write_s_per_frame",
        "optimise_s_per_iteration",
        "iterations_first",
        "iterations_later_mean",
        "peak_rss_mib",
    ]
    short = [
        "size",
        "wall s/f",
        "read",
        "colour",
        "flow/pair",
        "flow wait",
        "optimise",
        "write",
        "s/iter",
        "it 1st",
        "it later",
        "peak MiB",
    ]
    print(f"device {args.device}, {args.frames} frames, preset {args.preset} {' '.join(args.overrides)}")
    print(" ".join(f"{h:>10}" for h in short))
    for row in rows:
        print(" ".join(f"{row[c]:>10.3f}" if isinstance(row[c], float) else f"{row[c]:>10}" for c in cols))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "machine": describe(),
            "device": args.device,
            "preset": args.preset,
            "overrides": args.overrides,
        }
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
