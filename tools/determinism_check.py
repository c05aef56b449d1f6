"""Same pixels in any order, and host reads per iteration, on one device.

    python tools/determinism_check.py --device cuda --size 512x218 --iterations 50 --json out.json

Renders the built-in synthetic shot twice through the stateful node: in order, and out of order with
a one-frame cache (so frames are re-rendered from the nearest finished one). Every frame must be
bit-identical; the exit status is 1 when one is not. Then one frame is optimised under a host-read
counter, to report how many times per iteration the CPU waits for the device.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from benchkit.host_reads import HostReadCounter
from benchkit.machine import banner, synchronize, write_results
from benchkit.options import add_options, parse_size

from vst_node.engine.evaluation import network_frames
from vst_node.engine.node import StyleTransferNode
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.io.synthetic import make_shot
from vst_node.settings import load_preset

OUT_OF_ORDER = (2, 0, 3, 1)  # then whatever is left, in order


def render(preset, frames, device: str, order, cache: int | None) -> dict[int, np.ndarray]:
    node = StyleTransferNode(preset, device=device, max_cached_frames=cache)
    node.begin_sequence(range(len(frames)))
    out = {t: node.render(t, lambda f: frames[f]) for t in order}
    node.close()
    return out


def check_order(preset, frames, device: str) -> dict:
    """Bit-identity of every frame rendered in order and out of order."""
    n = len(frames)
    in_order = render(preset, frames, device, range(n), None)
    shuffled = [t for t in OUT_OF_ORDER if t < n] + [t for t in range(n) if t not in OUT_OF_ORDER]
    other = render(preset, frames, device, shuffled, 1)
    differing = [t for t in range(n) if not np.array_equal(in_order[t], other[t])]
    worst = max((float(np.abs(in_order[t] - other[t]).max()) for t in range(n)), default=0.0)
    return {"frames": n, "order": shuffled, "differing_frames": differing, "max_abs_difference": worst}


def host_reads_per_iteration(preset, frame: np.ndarray, device: str, iterations: int) -> dict:
    stylizer = Stylizer(preset, torch.device(device))
    content = torch.from_numpy(frame).permute(2, 0, 1)[None].to(device)
    start = caffe_preprocess(content)
    stylizer.stylize(content, start, None, 2)  # targets and warm-up outside the count
    synchronize(torch.device(device))
    with HostReadCounter() as reads:
        result = stylizer.stylize(content, start, None, iterations)
    synchronize(torch.device(device))
    return {
        "iterations": result.iterations,
        "host_reads": reads.count,
        "per_iteration": reads.count / max(result.iterations, 1),
        "by_kind": reads.by_kind,
    }


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    add_options(parser, "device", "preset", "set", "json")
    parser.add_argument("--size", default="512x218", help="WxH of the shot (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=50, help="per frame (default: %(default)s)")
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    budget = [f"optimiser.iterations_first={args.iterations}", f"optimiser.iterations={args.iterations}",
              "optimiser.tolerance=1.0e-30"]  # fmt: skip
    preset = load_preset(args.preset, [*budget, *args.overrides])
    frames = network_frames(make_shot(width=width, height=height, n_frames=args.frames, seed=3))
    order = check_order(preset, frames, args.device)
    reads = host_reads_per_iteration(preset, frames[0], args.device, args.iterations)
    identical = not order["differing_frames"]
    print(banner(args.device))
    print(f"| check | result |\n|---|---|\n| {order['frames']} frames in order vs {order['order']} "
          f"| {'bit-identical' if identical else 'DIFFER: frames ' + str(order['differing_frames'])} "
          f"(max abs difference {order['max_abs_difference']:.3g}) |\n"
          f"| host reads per iteration | {reads['per_iteration']:.1f} ({reads['host_reads']} over "
          f"{reads['iterations']} iterations) |")  # fmt: skip
    if args.json:
        write_results(args.json, args.device, {"size": args.size, "order": order, "reads": reads})
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
