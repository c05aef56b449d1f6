#!/usr/bin/env python
"""How far the classical flows could go: every candidate warp flow, two fusions, and the ceiling.

For each Sintel ground-truth pair, the flow N+1 -> N that the render warps along is computed by
every candidate benchkit.oracle knows (the shipped DIS and matched backends, their forward flows
inverted, block matching at 1/4 and 1/2 size with and without DIS's seeds) and scored against the
ground truth inverted onto N+1, on N+1's pixels that N saw: mean end-point error and the share
followed (within 3 px). Then two fusions of all candidates, each refined: the matched backend's
colour cost, and consensus (each pixel takes the candidate most others agree with); and the
ceiling, a per-pixel choice of the candidate closest to the truth.

    python tools/bench_flow_candidates.py --json docs/benchmarks/flow_candidates.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from benchkit.options import add_options
from benchkit.oracle import WITHIN_PX, best_candidate, candidate_warp_flows, consensus, invert_forward_flow
from benchkit.sintel import discover, frame_path, ground_truth, load_rgb

from vst_node.engine import flow_matched
from vst_node.engine.flow import to_gray_u8


def score(flow: np.ndarray, truth: np.ndarray, trusted: np.ndarray) -> dict[str, float]:
    """Mean end-point error and the share within WITHIN_PX, on the trusted pixels."""
    error = np.linalg.norm(flow - truth, axis=2)[trusted]
    return {"epe": float(error.mean()), "followed": float((error < WITHIN_PX).mean())}


def bench_pair(scene_dir: Path, pass_: str, frame: int, scale: int) -> dict:
    """One pair's row: every candidate's score, the two fusions' and the ceiling's share."""
    forward, hidden = ground_truth(scene_dir, frame, scale)
    truth, trusted = invert_forward_flow(forward, hidden)
    trusted = trusted > 0.5
    size = (forward.shape[1], forward.shape[0])
    paths = [frame_path(scene_dir, pass_, n) for n in (frame, frame + 1)]
    frame_n, frame_next = (to_gray_u8(load_rgb(path, size)) for path in paths)
    candidates = candidate_warp_flows(frame_n, frame_next)
    every = list(candidates.values())
    fusions = {
        "colour-cost fusion": flow_matched.fuse(frame_next, frame_n, every, [None] * len(every)),
        "consensus fusion": flow_matched.refine(frame_next, frame_n, consensus(candidates)),
    }
    return {
        "sequence": f"{scene_dir.name}/{pass_}",
        "pair": f"{frame}->{frame + 1}",
        "size": f"{size[0]}x{size[1]}",
        "flows": {name: score(f, truth, trusted) for name, f in {**candidates, **fusions}.items()},
        "ceiling_followed": best_candidate(candidates, truth, trusted)[2]["followed"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, "data", "json")
    parser.add_argument("--scale", type=int, default=1, help="1/scale of Sintel's size (default 1: 1024x436)")
    args = parser.parse_args(argv)
    rows = []
    for scene_dir, pass_, frame in discover(args.data, strict=True):
        row = bench_pair(scene_dir, pass_, frame, args.scale)
        rows.append(row)
        print(f"{row['sequence']} {row['pair']} at {row['size']}: EPE (px) / share within {WITHIN_PX:g} px")
        for name, s in row["flows"].items():
            print(f"  {name:28s} {s['epe']:7.2f} / {s['followed']:.2f}")
        print(f"  {'ceiling (best per pixel)':28s}       - / {row['ceiling_followed']:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
