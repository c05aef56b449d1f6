#!/usr/bin/env python
"""Farm chunk seams: the temporal error across a chunk boundary next to ordinary frame pairs.

Each clip is rendered four ways: uninterrupted (one render); naive cutting (each chunk an
independent `vst-node render` of its frames); and through the farm's own plan and task runner
(no engine: the tasks run one after another here), with anchors but no lead-in (`--lead-in 0`),
and as shipped (anchors rendered in order first, each chunk's last frames lead into the next
anchor). The temporal error is the mean
squared difference along the ground-truth flow (Ruder et al. 2016, Table 1) of every pair that
has ground truth: on the built-in shot every pair, so a boundary pair is compared with the
ordinary pairs of the same render; on Sintel (4 frames, ground truth for 2->3 only) the chunks are
cut at 2|3, so the boundary pair is compared with the same pair rendered uninterrupted.

    python tools/bench_seams.py --json docs/benchmarks/seams.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import numpy as np
import torch
from benchkit.machine import banner, write_results
from benchkit.options import add_options
from benchkit.sintel import load_clip

from vst_node.engine.evaluation import Clip, shot_clip, style_content_losses
from vst_node.engine.stylize import Stylizer
from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, render_sequence
from vst_node.farm.plan import ShotRequest, make_plan
from vst_node.farm.runner import run_task
from vst_node.io.colour import to_network
from vst_node.io.image_io import read_frame, write_image
from vst_node.io.sequence import SequencePattern
from vst_node.io.synthetic import make_shot
from vst_node.ops.metrics import temporal_error
from vst_node.settings import load_preset

SINTEL_SCENES = ("alley_2", "bandage_1", "market_5")


def write_clip(clip: Clip, folder: Path) -> str:
    """The clip's (sRGB-encoded) frames as 16-bit PNGs, frame 1 first; returns the pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(clip.frames, start=1):
        write_image(folder / f"f.{index:04d}.png", frame, colorspace="sRGB", pixel_type="uint16")
    return str(folder / "f.####.png")


def render_naive(source: str, out: Path, args, chunk: int, n: int) -> tuple[list[np.ndarray], float]:
    """Each chunk a render of its own, from scratch."""
    preset = load_preset(args.preset, args.overrides)
    started = time.perf_counter()
    for first in range(1, n + 1, chunk):
        job = RenderJob(
            source=SequencePattern.parse(source),
            output=SequencePattern.parse(str(out / "s.####.png")),
            preset=preset,
            frame_spec=f"{first}-{min(n, first + chunk - 1)}",
            device=args.device,
            cache_dir=out.parent / "cache",
        )
        render_sequence(job, Progress(chunk, stream=StringIO(), tty=False))
    seconds = time.perf_counter() - started
    return [to_network(read_frame(out / f"s.{f:04d}.png").rgba, "sRGB")[0] for f in range(1, n + 1)], seconds


def render(source: str, out: Path, args, chunk: int, lead_in: int) -> tuple[list[np.ndarray], float]:
    """Every task of a one-shot plan, in order; the stylized frames as the network sees them."""
    plan = make_plan(
        [ShotRequest(source, str(out / "s.####.png"))],
        args.preset,
        args.overrides,
        chunk=chunk,
        lead_in=lead_in,
        anchor_step=args.anchor_step,
        device=args.device,
        cache_dir=out.parent / "cache",
    )
    started = time.perf_counter()
    for task in plan.tasks():
        run_task(plan, task.shot, task.id, Progress(len(task.frames), stream=StringIO(), tty=False))
    seconds = time.perf_counter() - started
    shot = plan.shots[0]
    frames = [to_network(read_frame(out / f"s.{f:04d}.png").rgba, "sRGB")[0] for f in shot.frames]
    return frames, seconds


def pair_errors(clip: Clip, frames: list[np.ndarray]) -> dict[int, float]:
    """index i -> temporal error of the pair i -> i+1 (pairs with ground truth only)."""
    return {i: temporal_error(frames[i], frames[i + 1], flow, hidden) for i, flow, hidden in clip.pairs}


def measure(clip: Clip, args, root: Path) -> dict:
    n = len(clip.frames)
    chunk = args.chunk if n > 4 else 2  # Sintel's 4 frames: the boundary at the ground-truth pair 2->3
    source = write_clip(clip, root / "in")
    boundaries = set(range(chunk - 1, n - 1, chunk))  # pair i -> i+1 with i+1 a chunk's first frame
    rows = {}
    stylizer = Stylizer(load_preset(args.preset, args.overrides), torch.device(args.device))
    ways = (
        ("uninterrupted", n, 0),
        ("naive cut", chunk, None),
        ("anchors, no lead-in", chunk, 0),
        ("anchors + lead-in", chunk, args.lead_in),
    )
    for index, (name, size, lead) in enumerate(ways):
        out = root / f"way{index}"
        if lead is None:
            frames, seconds = render_naive(source, out, args, size, n)
            lead = 0
        else:
            frames, seconds = render(source, out, args, size, lead)
        errors = pair_errors(clip, frames)
        span = min(lead, chunk - 1)
        leading = {i for b in boundaries for i in range(b - span, b)} if size < n else set()
        shipped = min(args.lead_in, chunk - 1)  # the same frames in every row, for comparison
        lead_frames = {f for b in boundaries for f in range(b - shipped + 1, b + 1)}  # led into an anchor
        style = [
            style_content_losses(stylizer, [frame], [clip.frames[i]])[0] for i, frame in enumerate(frames)
        ]
        rows[name] = {
            "style_lead_in_frames": _mean([v for i, v in enumerate(style) if i in lead_frames]),
            "style_other_frames": _mean([v for i, v in enumerate(style) if i not in lead_frames]),
            "pairs": {str(i): e for i, e in errors.items()},
            "boundary": _mean([e for i, e in errors.items() if i in boundaries]),
            # the first pair inside the next chunk: the anchor settles as a first frame does
            "after_boundary": _mean([e for i, e in errors.items() if i - 1 in boundaries]),
            "lead_in_pairs": _mean([e for i, e in errors.items() if i in leading]),
            "ordinary": _mean(
                [
                    e
                    for i, e in errors.items()
                    if i not in boundaries and i not in leading and i - 1 not in boundaries
                ]
            ),
            "seconds": round(seconds, 2),
        }
    whole = rows["uninterrupted"]["pairs"]
    same_pairs = _mean([whole[str(i)] for i in boundaries if str(i) in whole])
    for row in rows.values():
        ordinary = row["ordinary"] if row["ordinary"] is not None else same_pairs
        row["reference"] = (
            "ordinary pairs of this render"
            if row["ordinary"] is not None
            else ("the same pair, uninterrupted")
        )
        row["ratio"] = None if row["boundary"] is None or not ordinary else row["boundary"] / ordinary
    return {
        "anchor_step": args.anchor_step,
        "clip": clip.name,
        "frames": n,
        "chunk": chunk,
        "lead_in": min(args.lead_in, chunk - 1),
        "boundaries": sorted(boundaries),
        "rows": rows,
    }


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def format_table(results: list[dict]) -> str:
    def cell(value):
        return "-" if value is None else f"{value:.5f}"

    lines = [
        "| clip | chunking | boundary pair | the pair after | lead-in pairs | ordinary pairs"
        " | boundary / ordinary | style loss, lead-in frames / others | s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, row in result["rows"].items():
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
            lead, other = row["style_lead_in_frames"], row["style_other_frames"]
            style = "-" if lead is None or not other else f"{lead / other:.2f}x"
            label = name if name == "uninterrupted" else f"{name} ({result['chunk']}-frame chunks)"
            lines.append(
                f"| {result['clip']} | {label} | {cell(row['boundary'])} | {cell(row['after_boundary'])}"
                f" | {cell(row['lead_in_pairs'])}"
                f" | {cell(row['ordinary'])} | {ratio} | {style} | {row['seconds']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "preset", "set", "device", "json", "data")
    parser.add_argument("--shot-size", default="128x96", help="built-in shot WxH (default: %(default)s)")
    parser.add_argument(
        "--shot-frames", type=int, default=16, help="built-in shot frames (default: %(default)s)"
    )
    parser.add_argument(
        "--chunk", type=int, default=8, help="built-in shot chunk size (default: %(default)s)"
    )
    parser.add_argument("--lead-in", type=int, default=8, help="the seam's lead-in (default: %(default)s)")
    parser.add_argument("--anchor-step", type=int, default=4, help="key frames of the anchors (default: 4)")
    parser.add_argument("--scale", type=int, default=4, help="Sintel downscale (default: 4, 256x109)")
    parser.add_argument("--scenes", nargs="*", default=list(SINTEL_SCENES), help="Sintel scenes (none: skip)")
    parser.add_argument(
        "--first", type=int, default=200, help="first-frame iterations (default: %(default)s)"
    )
    parser.add_argument(
        "--later", type=int, default=100, help="later-frame iterations (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    args.overrides = [
        f"optimiser.iterations_first={args.first}",
        f"optimiser.iterations={args.later}",
        *args.overrides,
    ]
    print(banner(args.device))
    width, height = (int(v) for v in args.shot_size.split("x"))
    clips = [
        shot_clip(
            make_shot(width=width, height=height, n_frames=args.shot_frames, seed=0),
            f"built-in shot {width}x{height}",
        )
    ]
    for scene in args.scenes:
        folder = Path(args.data) / "sintel" / scene
        passes = [p for p in ("clean", "final") if (folder / p).is_dir()]
        if passes:
            clips.append(load_clip(folder, args.scale, passes[0]))
    results = []
    with tempfile.TemporaryDirectory(prefix="vst-seams-") as tmp:
        for index, clip in enumerate(clips):
            results.append(measure(clip, args, Path(tmp) / str(index)))
            print(format_table(results[-1:]), flush=True)
    print()
    print(format_table(results))
    write_results(
        args.json, args.device, {"preset": args.preset, "overrides": args.overrides, "clips": results}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
