#!/usr/bin/env python
"""Farm throughput: frames per minute of one shot through a real local Dask cluster, 1 vs 2 workers.

Same machine, same shot, same plan settings, one run after another: a plain `vst-node render`
(no farm), then the farm with 1 worker (all cores to its task), then with 2 workers (the cores
split between them). On a 2-core machine the cores bound it: 2 workers cannot beat 1 by much, and
each task pays a process start (Python, torch, VGG) that a plain render pays once.

    python tools/bench_farm.py --json docs/benchmarks/farm.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

from benchkit.cluster import LocalCluster
from benchkit.machine import banner, write_results
from benchkit.options import add_options

from vst_node.farm.dask_engine import submit
from vst_node.farm.plan import ShotRequest, make_plan, write_plan
from vst_node.io.synthetic import make_shot, write_shot


def plain_render(source: str, out: Path, overrides: list[str], threads: int) -> float:
    sets = [arg for item in overrides for arg in ("--set", item)]
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vst_node",
            "render",
            source,
            "-o",
            str(out / "s.####.exr"),
            *sets,
            "--device",
            "cpu",
            "--no-cache",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
    )
    return time.perf_counter() - started


def farm_render(source: str, root: Path, args, workers: int, threads: int) -> float:
    plan = make_plan(
        [ShotRequest(source, str(root / "out" / "s.####.exr"))],
        "default",
        args.overrides,
        chunk=args.chunk,
        lead_in=args.lead_in,
        device="cpu",
        threads=threads,
        cache_dir=root / "cache",
    )
    plan_path = root / "plan.json"
    write_plan(plan, plan_path)
    cluster = LocalCluster(root / "cluster", threads_per_worker=threads)
    try:
        address = cluster.start_scheduler()
        cluster.start_workers(workers)
        started = time.perf_counter()
        result = submit(plan, str(plan_path), address, wait=True, stream=StringIO())
        seconds = time.perf_counter() - started
    finally:
        cluster.stop()
    if result.failed:
        raise RuntimeError(f"farm render failed: {result.failed}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "set", "json")
    parser.add_argument("--size", default="96x64", help="built-in shot WxH (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=24, help="frames (default: %(default)s)")
    parser.add_argument("--chunk", type=int, default=6, help="frames per chunk (default: %(default)s)")
    parser.add_argument("--lead-in", type=int, default=5, help="default: %(default)s")
    parser.add_argument("--first", type=int, default=60, help="first-frame iterations (default: %(default)s)")
    parser.add_argument("--later", type=int, default=30, help="later-frame iterations (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="default: this machine's")
    args = parser.parse_args(argv)
    args.overrides = [
        f"optimiser.iterations_first={args.first}",
        f"optimiser.iterations={args.later}",
        *args.overrides,
    ]
    print(banner("cpu"))
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="vst-farm-bench-") as tmp:
        root = Path(tmp)
        source = write_shot(
            make_shot(width=width, height=height, n_frames=args.frames, seed=0),
            root / "in",
            name="sh",
            first_frame=1,
        )
        seconds = plain_render(source, root / "plain", args.overrides, args.cores)
        rows.append(
            {
                "run": "vst-node render (no farm)",
                "workers": 0,
                "threads_per_task": args.cores,
                "seconds": seconds,
            }
        )
        for workers in (1, 2):
            threads = max(1, args.cores // workers)
            seconds = farm_render(source, root / f"farm{workers}", args, workers, threads)
            rows.append(
                {
                    "run": f"farm, {workers} worker(s)",
                    "workers": workers,
                    "threads_per_task": threads,
                    "seconds": seconds,
                }
            )
    for row in rows:
        row["frames_per_minute"] = args.frames / row["seconds"] * 60
    one = next(r for r in rows if r["workers"] == 1)["seconds"]
    print(f"\n{args.frames} frames {args.size}, chunks of {args.chunk}, {args.first}/{args.later} iterations")
    print("| run | threads per task | seconds | frames per minute | vs 1 worker |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['run']} | {row['threads_per_task']} | {row['seconds']:.1f}"
            f" | {row['frames_per_minute']:.1f} | {one / row['seconds']:.2f}x |"
        )
    write_results(
        args.json,
        "cpu",
        {
            "size": args.size,
            "frames": args.frames,
            "chunk": args.chunk,
            "lead_in": args.lead_in,
            "overrides": args.overrides,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
