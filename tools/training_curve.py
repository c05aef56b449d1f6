"""The loss curve of a `vst-node train` run, from its checkpoint (MODEL.pt.ckpt).

    python tools/training_curve.py /work/ablate/default.pt.ckpt -o docs/benchmarks/training_curve.png \
        --json docs/benchmarks/training_curve.json

The checkpoint keeps every step's weighted loss terms (the last 2,000 steps) and the training time,
so the curve needs no second run. Prints each term averaged over blocks of steps, writes the PNG
(each term against the step, a moving average over --window steps on a log scale) and the figures
as JSON: steps, seconds per step, the first and last block's terms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vst_node.training.trainer import CHECKPOINT_FORMAT


def read_history(path: Path) -> tuple[list[dict[str, float]], int, float]:
    """(per-step terms, steps, seconds) of a training checkpoint; a clear error for anything else."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise SystemExit(f"{path} is not a vst-node training checkpoint")
    history = list(state.get("history", []))
    if not history:
        raise SystemExit(f"{path} holds no steps yet")
    return history, int(state["step"]), float(state["elapsed"])


def block_means(history: list[dict[str, float]], blocks: int) -> list[tuple[int, dict[str, float]]]:
    """(last step of the block, mean of each term) for `blocks` equal runs of steps."""
    chunks = np.array_split(np.arange(len(history)), min(blocks, len(history)))
    rows = []
    for chunk in chunks:
        terms = {key: float(np.mean([history[i][key] for i in chunk])) for key in history[0]}
        rows.append((int(chunk[-1]) + 1, terms))
    return rows


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot(history: list[dict[str, float]], offset: int, window: int, title: str, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for key in history[0]:
        values = np.array([row[key] for row in history])
        smooth = moving_average(values, window)
        steps = offset + np.arange(len(smooth)) + min(window, len(values))
        axes.plot(steps, np.maximum(smooth, 1e-12), label=key, linewidth=2 if key == "total" else 1)
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel(f"weighted loss (moving average of {window} steps)")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="MODEL.pt.ckpt written by vst-node train")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--window", type=int, default=25, help="moving average, steps")
    parser.add_argument("--blocks", type=int, default=6, help="rows of the printed table")
    args = parser.parse_args(argv)

    history, steps, seconds = read_history(args.checkpoint)
    offset = steps - len(history)  # the checkpoint keeps only the last steps of a long run
    rows = block_means(history, args.blocks)
    keys = list(history[0])
    print(f"{args.checkpoint}: {steps} steps in {seconds / 60:.1f} min, {seconds / steps:.2f} s per step")
    print(f"{'to step':>8}" + "".join(f"{key:>12}" for key in keys))
    for last, terms in rows:
        print(f"{offset + last:>8}" + "".join(f"{terms[key]:>12.4g}" for key in keys))
    plot(history, offset, args.window, f"{args.checkpoint.name}: {steps} steps, {seconds / steps:.2f} s/step",
         args.output)  # fmt: skip
    print(f"wrote {args.output}")
    if args.json:
        summary = {
            "checkpoint": str(args.checkpoint),
            "steps": steps,
            "seconds": seconds,
            "seconds_per_step": seconds / steps,
            "blocks": [{"to_step": offset + last, **terms} for last, terms in rows],
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
