#!/usr/bin/env python
"""Benchmark the flow backends on Sintel pairs: seconds per pair, end-point error, occlusion recall.

For each backend it computes forward + backward flow and the reliability weights (what one frame of
a render costs), then compares with the ground truth (benchkit/flow.py): EPE on valid non-occluded
pixels, and how well "c < 0.5" covers the occluded pixels (precision, recall); with --all also the
warp side: the N+1 -> N flow's EPE on N+1's pixels visible in N, the share of those the reliability
check keeps, and the share of the kept ones more than 3 px off.

    python tools/bench_flow.py --scene alley_2 --json bench_flow.json      # one pair
    python tools/bench_flow.py --all --json flow_section.json              # every ground-truth pair
"""

from __future__ import annotations

import argparse
import json
import os

import cv2
import torch
from benchkit.flow import BACKENDS, bench, run_flow_section, select_settings, target_lines
from benchkit.options import add_options
from benchkit.sintel import PASSES

HEADER = ("backend", "total_s", "flows_s", "weights", "EPE_noc", "recall", "prec")
WIDTHS = (14, 8, 8, 8, 8, 7, 7)
ALL_HEADER = (
    "sequence", "pair", "backend", "total_s", "flow_s", "weights_s", "EPE", "precision", "recall",
    "warp_EPE", "kept", "kept>3px",
)  # fmt: skip
ALL_WIDTHS = (16, 7, 14, 8, 8, 9, 7, 9, 7, 8, 7, 8)


def _print_row(row: dict) -> None:
    names = ("total_s", "flow_pair_s", "weights_s", "epe_noc", "occlusion_recall", "occlusion_precision")
    cells = [f"{row['backend']:<{WIDTHS[0]}}"]
    cells += [f"{row[name]:>{width}.4f}" for name, width in zip(names, WIDTHS[1:], strict=True)]
    print(" ".join(cells), flush=True)


def _print_all_row(row: dict) -> None:
    names = (
        "total_s", "flow_pair_s", "weights_s", "epe_noc", "occlusion_precision", "occlusion_recall",
        "warp_epe", "warp_kept_fraction", "warp_kept_off_3px",
    )  # fmt: skip
    texts = ("sequence", "pair", "backend")
    cells = [f"{row[name]:<{width}}" for name, width in zip(texts, ALL_WIDTHS[:3], strict=True)]
    cells += [f"{row[name]:>{width}.4f}" for name, width in zip(names, ALL_WIDTHS[3:], strict=True)]
    print(" ".join(cells), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, "data")
    parser.add_argument(
        "--all", action="store_true", help="every ground-truth pair at 1024x436, with the targets"
    )
    parser.add_argument("--scene", help="one scene (default alley_2; not with --all)")
    parser.add_argument("--frame", type=int, help="frame N with ground truth N -> N+1 (default: the first)")
    parser.add_argument("--pass", dest="pass_", help="clean or final (default: whichever exists)")
    parser.add_argument("--scale", type=int, default=1, help="downscale factor (1 = 1024x436)")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the median of this many runs")
    parser.add_argument("--backends", help=f"comma-separated subset of {','.join(BACKENDS)}")
    add_options(parser, "device", "json", device={"help": "torch device for the weights"})
    args = parser.parse_args(argv)
    backends = args.backends.split(",") if args.backends else None
    try:
        settings_list = select_settings(backends)
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
