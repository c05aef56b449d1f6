#!/usr/bin/env python
"""The whole benchmark suite in one run: Sintel Table 1 + peer + convergence, flow, scaling.

    python tools/bench_suite.py --out docs/benchmarks/suite            # CPU, about an hour on 2 cores
    python tools/bench_suite.py --device cuda --out docs/benchmarks/suite-cuda
    python tools/bench_suite.py --device cuda --precision bfloat16 --out docs/benchmarks/suite-cuda-bf16

Writes OUT/suite.json (everything measured, with the machine, commit and command) and, from it,
OUT/report.md with PNG charts (benchkit/report/; needs the `bench` extra: matplotlib).
Sections run one after the other in this process (scaling in child processes, for peak memory),
so that every ratio in the report comes from one run on one machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch
from benchkit.machine import describe, device_name
from benchkit.options import add_options
from benchkit.table1 import add_arguments, section_from_args

SECTIONS = ("sintel", "flow", "scaling")


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _commit() -> str:
    try:
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return _git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/suite"))
    add_options(parser, "device")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--keep-other-sections",
        action="store_true",
        help="with --only: keep the other sections of OUT/suite.json (each records its own run)",
    )
    add_arguments(parser)
    parser.add_argument("--flow-repeat", type=int, default=3, help="flow timings: median of this many")
    parser.add_argument("--scaling-sizes", nargs="+", default=["128x54", "256x109", "512x218"])
    parser.add_argument("--scaling-lengths", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--scaling-length-size", default="128x54")
    parser.add_argument("--scaling-iterations", type=int, default=20)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")

    started = time.perf_counter()
    suite: dict = {
        "machine": describe(),
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "device_name": device_name(args.device),
        "precision": args.precision,
        "torch": torch.__version__,
        "commit": _commit(),
        "command": "python tools/bench_suite.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sections": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "suite.json"
    run = {key: suite[key] for key in ("commit", "command", "started")}
    if args.keep_other_sections and path.is_file():
        # Sections not re-run stay, each with the run it came from; ratios never mix runs.
        earlier = json.loads(path.read_text())
        same = ("machine", "device", "precision")
        if any(earlier.get(key, "float32" if key == "precision" else None) != suite[key] for key in same):
            parser.error(f"{path} was measured on another machine, device or precision; not merging")
        kept = {k: v for k, v in earlier.get("sections", {}).items() if k not in args.only}
        for section in kept.values():
            section.setdefault("run", {key: earlier.get(key) for key in run})
        suite["sections"].update(kept)

    def save() -> None:
        suite["wall_seconds"] = time.perf_counter() - started
        path.write_text(json.dumps(suite, indent=2) + "\n")

    if "flow" in args.only:
        from benchkit.flow import run_flow_section, target_list

        print("== flow (1024x436, every ground-truth pair, every backend)", flush=True)
        flow = run_flow_section(args.data, repeat=args.flow_repeat, device=args.device)
        flow["summary"], flow["targets"] = flow["targets"], target_list(flow["targets"])
        suite["sections"]["flow"] = {**flow, "run": run}
        save()
    if "scaling" in args.only:
        from benchkit.scaling import run_scaling_section

        print("== scaling (sizes, shot lengths)", flush=True)
        scaling = run_scaling_section(
            args.scaling_sizes,
            args.scaling_lengths,
            args.scaling_length_size,
            args.scaling_iterations,
            device=args.device,
            preset=args.preset,
            precision=args.precision,
        )
        suite["sections"]["scaling"] = {**scaling, "run": run}
        save()
    if "sintel" in args.only:
        print(f"== Sintel Table 1, peer, convergence (1/{args.scale} size)", flush=True)
        sections = section_from_args(args, args.device)
        suite["sections"].update({name: {**section, "run": run} for name, section in sections.items()})
        save()

    for name, section in suite["sections"].items():
        targets = section.get("targets")
        for t in targets if isinstance(targets, list) else []:
            verdict = "PASS" if t["passed"] else "FAIL"
            print(f"{verdict}  [{name}] {t['name']}: {t['value']:.3g}  ({t['detail']})")
    from benchkit.report import write_report  # without matplotlib: report.md without charts (it says so)

    for written in write_report(suite, args.out):
        print(f"wrote {written}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
