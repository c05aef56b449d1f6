#!/usr/bin/env python
"""float32 against bfloat16 (mixed precision) side by side: is it faster, and does it change the result?

    python tools/bench_precision.py --device cuda --sizes 512x218 1024x436 \
        --json docs/benchmarks/precision-cuda.json

One frame (Sintel alley_2 frame 1 resized, or the built-in shot without the shared data) is
stylized from the content image with the preset's first-frame budget, once per precision, plus a
float32 run from a start perturbed by 0.01 (of 255): the spread any run-to-run difference should be
judged against. Every result is scored in float32. Then, unless --no-sintel, the Sintel pair of
--sequence through the product's method (warped previous + temporal loss, DIS) in each precision,
plus float32 from another random first frame (init.seed=1, the spread): temporal error and style
loss of frame N+1. bfloat16 "keeps the result" when its loss and its temporal error differ from
float32's by no more than the spread (or 1 % and 5 %, whichever is larger).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import torch
from benchkit.machine import banner, device_name, timed, write_results
from benchkit.options import add_options, parse_size
from benchkit.report.cells import table
from benchkit.sintel import load_frame, style_images
from benchkit.table1 import Budget, run_sintel_section

from vst_node.engine.device import resolve_precision
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_deprocess, caffe_preprocess
from vst_node.settings import load_preset

PERTURBATION = 0.01
LOSS_TOLERANCE = 0.01
TEMPORAL_TOLERANCE = 0.05


def _timed(stylizer: Stylizer, content: torch.Tensor, start: torch.Tensor, iterations: int):
    return timed(stylizer.device, partial(stylizer.stylize, content, start, None, iterations))


def frame_rows(preset_name: str, overrides, size: str, device: torch.device, data: Path) -> list[dict]:
    """One row per run at `size`: seconds per iteration, float32 loss, change from the float32 image."""
    preset = load_preset(preset_name, overrides)
    width, height = parse_size(size)
    frame, source = load_frame(data, width, height)
    content = torch.from_numpy(frame).permute(2, 0, 1)[None].to(device)
    start = caffe_preprocess(content)
    noise = torch.randn(start.shape, generator=torch.Generator().manual_seed(1)).to(device)
    iterations = preset.optimiser.iterations_first
    stylizers = {p: Stylizer(preset, device, resolve_precision(p, device)) for p in ("float32", "bfloat16")}
    score = stylizers["float32"].loss_function(content, None)
    for stylizer in stylizers.values():  # warm-up (kernels, allocator) outside the timings
        _timed(stylizer, content, start, 2)
    runs = {
        "float32": (stylizers["float32"], start),
        "float32, perturbed start": (stylizers["float32"], start + PERTURBATION * noise),
        "bfloat16": (stylizers["bfloat16"], start),
    }
    rows, images = [], {}
    for name, (stylizer, x0) in runs.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        result, seconds = _timed(stylizer, content, x0, iterations)
        # the frame's whole optimisation (VGG, its activations, L-BFGS history) at its peak
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        with torch.no_grad():
            loss = float(score(result.image))
        images[name] = caffe_deprocess(result.image).clamp(0, 1)
        rows.append(
            {
                "size": size,
                "source": source,
                "run": name,
                "iterations": result.iterations,
                "seconds_per_iteration": seconds / max(result.iterations, 1),
                "loss": loss,
                "peak_cuda_mib": peak,
            }
        )
    for row in rows:
        row["loss_ratio"] = row["loss"] / rows[0]["loss"]
        row["time_ratio"] = row["seconds_per_iteration"] / rows[0]["seconds_per_iteration"]
        row["mean_abs_change"] = float((images[row["run"]] - images["float32"]).abs().mean())
    return rows


def frame_verdict(rows: list[dict]) -> dict:
    by_run = {r["run"]: r for r in rows}
    spread = max(abs(by_run["float32, perturbed start"]["loss_ratio"] - 1), LOSS_TOLERANCE)
    mixed = by_run["bfloat16"]
    return {
        "size": rows[0]["size"],
        "speedup": 1 / mixed["time_ratio"],
        "loss_ratio": mixed["loss_ratio"],
        "allowed": spread,
        "keeps_result": abs(mixed["loss_ratio"] - 1) <= spread,
    }


def sintel_rows(args: argparse.Namespace) -> list[dict]:
    """The product's method on one Sintel pair: float32, float32 from another random first frame (the
    spread), bfloat16; temporal error and style loss of frame N+1."""
    styles = style_images(args.data)
    runs = {"float32": ("float32", []), "float32, seed 1": ("float32", ["init.seed=1"])}
    runs["bfloat16"] = ("bfloat16", [])
    rows = []
    for name, (precision, seed) in runs.items():
        section = run_sintel_section(
            args.data,
            styles[:1],
            args.scale,
            Budget(first=args.first, later=args.later),
            ["warped_temporal_dis"],
            args.device,
            args.preset,
            [*args.overrides, *seed],
            convergence_styles=0,
            multipass_styles=0,
            sequences=[args.sequence],
            log=lambda message: None,
            precision=precision,
        )
        for row in section["sintel"]["rows"]:
            rows.append({**row, "run": name, "size": section["sintel"]["size"]})
    return rows


def sintel_verdict(rows: list[dict]) -> dict:
    by_run = {r["run"]: r for r in rows}
    exact, mixed = by_run["float32"], by_run["bfloat16"]
    spread = abs(by_run["float32, seed 1"]["temporal_error"] / exact["temporal_error"] - 1)
    ratio = mixed["temporal_error"] / exact["temporal_error"]
    allowed = max(spread, TEMPORAL_TOLERANCE)
    return {
        "size": exact["size"],
        "temporal_error_ratio": ratio,
        "style_loss_ratio": mixed["style_loss"] / exact["style_loss"],
        "allowed": allowed,
        "keeps_result": abs(ratio - 1) <= allowed,
    }


def verdict_lines(verdicts: list[dict]) -> list[str]:
    lines = []
    for v in verdicts:
        what = (
            f"speed x{v['speedup']:.2f}, loss x{v['loss_ratio']:.3f}"
            if "speedup" in v
            else (f"temporal error x{v['temporal_error_ratio']:.3f}, style loss x{v['style_loss_ratio']:.3f}")
        )
        ratio = v.get("loss_ratio", v.get("temporal_error_ratio"))
        direction = "lower" if ratio < 1 else "higher"
        keeps = "keeps the result" if v["keeps_result"] else f"CHANGES the result ({direction})"
        lines.append(f"bfloat16 at {v['size']}: {what} (allowed ±{v['allowed']:.3f}): {keeps}")
    return lines


def markdown(args: argparse.Namespace, frames: list[dict], sintel: list[dict], verdicts: list[dict]) -> str:
    """The figures as a Markdown page: the frame runs, the Sintel runs, the verdicts."""
    lines = [
        "# float32 against bfloat16",
        "",
        f"- {banner(args.device)}" + (f" ({name})" if (name := device_name(args.device)) else ""),
        f"- preset {args.preset} {' '.join(args.overrides)}".rstrip(),
        "",
        "## One frame, optimised (synchronised timing; scored in float32)",
        "",
        table(
            ["Size", "Run", "Iterations", "s/iteration", "Time x", "Loss x", "Mean abs", "Peak GPU MiB"],
            [
                [
                    r["size"],
                    r["run"],
                    str(r["iterations"]),
                    f"{r['seconds_per_iteration']:.4f}",
                    f"{r['time_ratio']:.2f}",
                    f"{r['loss_ratio']:.3f}",
                    f"{r['mean_abs_change']:.5f}",
                    "-" if r.get("peak_cuda_mib") is None else f"{r['peak_cuda_mib']:.0f}",
                ]
                for r in frames
            ],
            ["l", "l", "r", "r", "r", "r", "r"],
        ),
    ]
    if sintel:
        lines += ["", f"## Sintel {args.sequence}, warped previous + temporal loss (DIS), frame N+1", ""]
        lines.append(
            table(
                ["Run", "Size", "Temporal error", "Style loss", "Seconds"],
                [
                    [
                        r["run"],
                        r["size"],
                        f"{r['temporal_error']:.5f}",
                        f"{r['style_loss']:.4g}",
                        f"{r['seconds']:.2f}",
                    ]
                    for r in sintel
                ],
            )
        )
    lines += ["", "## Verdicts", "", *(f"- {line}" for line in verdict_lines(verdicts))]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "sizes", "preset", "set", "device", "data")
    parser.add_argument("--sequence", default="alley_2/clean", help="Sintel pair for the temporal check")
    add_options(
        parser,
        "scale",
        "first",
        "later",
        first={"help": "Sintel frame N iterations (default: %(default)s)"},
        later={"help": "Sintel frame N+1 iterations (default: %(default)s)"},
    )
    parser.add_argument("--no-sintel", action="store_true", help="skip the temporal check")
    add_options(parser, "json")
    parser.add_argument("--markdown", type=Path, help="also write the tables and verdicts as Markdown here")
    args = parser.parse_args()
    device = torch.device(args.device)
    resolve_precision("bfloat16", device)  # a GPU without bfloat16 fails here, not after an hour

    print(banner(args.device))
    header = (
        f"{'size':>9} {'run':<26} {'its':>5} {'s/it':>8} {'time x':>7} {'loss x':>7} {'mean |change|':>14}"
    )
    print(header)
    print("-" * len(header))
    frames, verdicts = [], []
    for size in args.sizes:
        rows = frame_rows(args.preset, args.overrides, size, device, args.data)
        for r in rows:
            print(
                f"{r['size']:>9} {r['run']:<26} {r['iterations']:>5} {r['seconds_per_iteration']:>8.4f}"
                f" {r['time_ratio']:>7.2f} {r['loss_ratio']:>7.3f} {r['mean_abs_change']:>14.5f}",
                flush=True,
            )
        frames += rows
        verdicts.append(frame_verdict(rows))
    sintel = [] if args.no_sintel else sintel_rows(args)
    if sintel:
        print(f"\nSintel {args.sequence}, warped previous + temporal loss (DIS), frame N+1:")
        for r in sintel:
            print(
                f"  {r['run']:<16} {r['size']:>8} temporal error {r['temporal_error']:.5f}"
                f"  style loss {r['style_loss']:.4g}  {r['seconds']:.2f} s"
            )
        verdicts.append(sintel_verdict(sintel))
    print()
    for line in verdict_lines(verdicts):
        print(line)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(args, frames, sintel, verdicts))
    write_results(
        args.json,
        args.device,
        {
            "preset": args.preset,
            "overrides": args.overrides,
            "frames": frames,
            "sintel": sintel,
            "verdicts": verdicts,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
