#!/usr/bin/env python
"""Multi-scale against single-scale optimisation of one frame: seconds and final total loss.

    python tools/bench_multiscale.py --sizes 512x218 --json docs/benchmarks/multiscale.json

For each size the same frame (Sintel alley_2 frame 1 resized, or the built-in shot when the
shared data is absent) is stylized from the content image or from noise (--init), once at full size
only and once coarse to fine per --split value, side by side in one process. All are scored with
the same full-size loss (the preset's weights). "single reaches it" is when the single-scale run
first got down to the multi-scale result's loss (interpolated over its loss history), the fair time
to compare against.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from benchkit.machine import banner, write_results
from benchkit.options import add_options, parse_size
from benchkit.sintel import load_frame
from benchkit.trace import history_trace, seconds_to_reach

from vst_node.engine.multiscale import stylize_multiscale
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.settings import load_preset


def start_image(content: torch.Tensor, init: str) -> torch.Tensor:
    """The node's first-frame starts: the content frame, or Gaussian x 0.001 noise (seeded)."""
    if init == "content":
        return caffe_preprocess(content)
    noise = torch.randn(content.shape, generator=torch.Generator().manual_seed(0)) * 0.001
    return noise.to(content.device)


def run(stylizer: Stylizer, content: torch.Tensor, init: str, iterations: int, settings) -> dict:
    loss = stylizer.loss_function(content, None)
    started = time.perf_counter()
    start = start_image(content, init)
    weights = stylizer.preset.weights  # scored with the preset's weights at every level
    result = stylize_multiscale(stylizer, content, start, None, iterations, settings, weights=weights)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        final = float(loss(result.image))
    return {
        "seconds": seconds,
        "loss": final,
        "iterations": result.level_iterations,
        "sizes": result.level_sizes,
        "history": result.history,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "sizes", "preset", "set")
    parser.add_argument(
        "--iterations", type=int, default=None, help="default: the preset's first-frame budget"
    )
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--init", choices=("content", "random"), default="content", help="the frame's start")
    parser.add_argument(
        "--split",
        nargs="+",
        default=["1:0.25"],
        help="COARSE:REFINE fractions of the budget, one multi-scale run each (default: %(default)s)",
    )
    add_options(parser, "data", "device", "json")
    args = parser.parse_args()

    single_preset = load_preset(args.preset, args.overrides)
    multi_presets = {}
    for split in args.split:
        coarse, refine = (float(v) for v in split.split(":"))
        levels = [
            f"multiscale.levels={args.levels}",
            f"multiscale.coarse={coarse}",
            f"multiscale.refine={refine}",
        ]
        multi_presets[split] = load_preset(args.preset, [*args.overrides, *levels])
    iterations = args.iterations or single_preset.optimiser.iterations_first
    device = torch.device(args.device)
    stylizer = Stylizer(single_preset, device)
    window = single_preset.optimiser.tolerance_window
    rows = []
    columns = ("size", "method", "iterations", "seconds", "total loss", "single reaches it")
    header = " ".join(
        f"{c:{w}}" for c, w in zip(columns, (">9", "<22", ">16", ">8", ">12", ">18"), strict=True)
    )
    print(banner(args.device))
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        width, height = parse_size(size)
        frame, source = load_frame(args.data, width, height)
        content = torch.from_numpy(frame).permute(2, 0, 1)[None].to(device)
        stylizer.loss_function(content, None)  # style targets and warm-up outside the timings
        single = run(stylizer, content, args.init, iterations, single_preset.multiscale)
        its = "+".join(str(i) for i in single["iterations"])
        print(f"{size:>9} {'single-scale':<22} {its:>16} {single['seconds']:>8.1f} {single['loss']:>12.1f}")
        for split, preset in multi_presets.items():
            multi = run(stylizer, content, args.init, iterations, preset.multiscale)
            trace = history_trace(single["history"], window, sum(single["iterations"]), single["seconds"])
            reach = seconds_to_reach(trace, multi["loss"])
            its = "+".join(str(i) for i in multi["iterations"])
            name = f"multi {args.levels} lv, {split}"
            extra = "never" if reach is None else f"{reach:.1f}s"
            print(
                f"{size:>9} {name:<22} {its:>16} {multi['seconds']:>8.1f} {multi['loss']:>12.1f} {extra:>18}"
            )
            rows.append(
                {
                    "size": size,
                    "source": source,
                    "split": split,
                    "single": single,
                    "multi": multi,
                    "single_seconds_to_reach_multi_loss": reach,
                    "speedup": single["seconds"] / multi["seconds"],
                    "loss_ratio": multi["loss"] / single["loss"],
                }
            )
            ratios = f"loss x{rows[-1]['loss_ratio']:.3f}, time x{1 / rows[-1]['speedup']:.2f}"
            print(f"{size:>9} multi/single: {ratios}", flush=True)
    write_results(
        args.json,
        args.device,
        {
            "preset": single_preset.name,
            "overrides": args.overrides,
            "iterations": iterations,
            "init": args.init,
            "levels": args.levels,
            "splits": args.split,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
