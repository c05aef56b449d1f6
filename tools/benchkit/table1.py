"""The Sintel section: Ruder et al. 2016 Table 1 on MPI Sintel, pastiche as a peer, convergence.

For every Sintel sequence with a ground-truth pair N -> N+1 (benchkit.sintel) and every style
image given, frame N is stylized once from random init (the paper's first frame) and frame N+1 by
each method, all through the product's node:

    random                    frame N+1 on its own from random init (first-frame budget)
    content                   the same from the content image (the shipped presets' start; run
                              with --set init.first=content to compare the product's own start)
    previous                  initialised with stylized frame N, no temporal loss
    warped                    initialised with stylized N warped by DIS flow, no temporal loss
    warped_temporal_dis       warped init + temporal loss, DIS (the shipped presets)
    warped_temporal_deepflow  the same with DeepFlow (the paper's flow)
    warped_temporal_matched   the same with the matched backend (fast motion)
    warped_temporal_truth     the same with Sintel's ground-truth flow and occlusions (a ceiling:
                              how steady a perfect flow would make the product; not run unless
                              named, benchkit.oracle)
    warped_temporal_best_candidate
                              the same with, per pixel, the classical flow candidate closest to
                              the ground truth, trusted where it is within 3 px (the ceiling of
                              a perfect fusion of those flows; not run unless named)
    long_term                 J = {1, 2}: frames N-1, N, N+1 rendered in order
    multipass                 every frame of the sequence, alternating passes
    pastiche                  the peer: pastiche's per-frame Gatys (same VGG weights, same loss
                              weights, same budget), frames N and N+1

The temporal error is the paper's: stylized N+1 warped back to N with the ground-truth flow, mean
squared difference over visible pixels in [0, 1]. Style and content loss of frame N+1 are scored by
one Gram stylizer per style, so stability cannot be bought with blur.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from benchkit.machine import synchronize, timed
from benchkit.options import add_options
from benchkit.oracle import BestCandidateFlows, GroundTruthFlows
from benchkit.sintel import SintelSequence, load_all, style_images
from benchkit.trace import seconds_to_reach
from vst_node.engine.node import StyleTransferNode, independent_preset
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_clamp, caffe_deprocess, caffe_preprocess
from vst_node.ops.metrics import temporal_error
from vst_node.settings import Preset, load_preset

METHODS = {
    "random": "per-frame random init",
    "content": "per-frame content init",
    "previous": "previous-frame init",
    "warped": "warped-previous init (DIS)",
    "warped_temporal_dis": "warped init + temporal loss (DIS)",
    "warped_temporal_deepflow": "warped init + temporal loss (DeepFlow)",
    "warped_temporal_matched": "warped init + temporal loss (matched)",
    "warped_temporal_truth": "warped init + temporal loss (ground-truth flow)",
    "warped_temporal_best_candidate": "warped init + temporal loss (best classical candidate per pixel)",
    "long_term": "long-term J={1,2} (DIS)",
    "multipass": "multi-pass (DIS)",
    "pastiche": "pastiche, per frame (peer)",
}
# Run only when named: not methods a user can pick.
DIAGNOSTICS = ("warped_temporal_truth", "warped_temporal_best_candidate")
DEFAULT_METHODS = [m for m in METHODS if m not in DIAGNOSTICS]
# The diagnostics' flow caches, which replace the node's computed flows.
ORACLES = {"warped_temporal_truth": GroundTruthFlows, "warped_temporal_best_candidate": BestCandidateFlows}
PRODUCT = "warped_temporal_dis"  # what the shipped presets do; the targets are about it
STYLE_CHANNELS = (64, 128, 256, 512, 512)  # relu1_1 .. relu5_1
Log = Callable[[str], None]


@dataclass
class Budget:
    first: int = 200  # first frame, and every frame of per-frame methods (the paper: 2000)
    later: int = 100  # later frames (the paper: 1000)
    passes: int = 4
    pass_iterations: int = 40
    temporal_from: int = 2
    convergence_cap: int = 1000


def _tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(device)


class Scorer:
    """Unweighted Gram style and content loss of results, for one style at one size."""

    def __init__(self, preset: Preset, device: torch.device) -> None:
        self.stylizer = Stylizer(preset, device)
        self.device = device

    def caffe(self, x: torch.Tensor, source: np.ndarray) -> dict[str, float]:
        return self.stylizer.loss_terms(caffe_clamp(x), _tensor(source, self.device))

    def rgb(self, result: np.ndarray, source: np.ndarray) -> dict[str, float]:
        return self.caffe(caffe_preprocess(_tensor(np.clip(result, 0, 1), self.device)), source)


def _node(
    preset: Preset, frames: Sequence[int], device: torch.device, precision: str = "float32"
) -> StyleTransferNode:
    node = StyleTransferNode(
        preset, device=device, precision=precision, cache_dir=None, max_cached_frames=None
    )
    node.begin_sequence(list(frames))
    return node


def _timed_render(node: StyleTransferNode, t: int, fetch, device: torch.device) -> tuple[np.ndarray, float]:
    out, seconds = timed(device, partial(node.render, t, fetch))
    return np.clip(out, 0, 1), seconds


def trace_iterates(node: StyleTransferNode, trace: list, every: int, device: torch.device) -> None:
    """Record (clock, image) at the first and every `every`-th loss evaluation of the node's frames.

    Scoring happens afterwards, so the trace costs a clone per record, not a VGG pass. It wraps the
    node's own stylizer: the benchmark sees the product's optimisation, not a re-implementation.
    """
    stylizer = node._stylizer_ready()
    build = stylizer.loss_function

    def traced_loss_function(*args, **kwargs):
        loss = build(*args, **kwargs)
        count = [0]

        def traced(x: torch.Tensor) -> torch.Tensor:
            value = loss(x)
            count[0] += 1
            if count[0] == 1 or count[0] % every == 0:
                synchronize(device)
                trace.append((time.perf_counter(), x.detach().clone()))
            return value

        return traced

    stylizer.loss_function = traced_loss_function  # type: ignore[method-assign]


def method_presets(base: Preset, budget: Budget) -> dict[str, Preset]:
    """The node-rendered methods as presets of the same look (frame N+1's budget: `later`)."""

    def temporal(enabled: bool, later: str = "previous_warped", **flow) -> Preset:
        return replace(
            base,
            init=replace(base.init, later=later),
            temporal=replace(base.temporal, enabled=enabled),
            flow=replace(base.flow, **flow) if flow else base.flow,
        )

    return {
        "random": independent_preset(base, "random"),
        "content": independent_preset(base, "content"),  # per frame from the shipped presets' start
        "previous": temporal(False, "previous"),
        "warped": temporal(False),
        "warped_temporal_dis": temporal(True),
        "warped_temporal_deepflow": temporal(True, backend="deepflow"),
        "warped_temporal_matched": temporal(True, backend="matched"),
        "warped_temporal_truth": temporal(True),  # its flows are replaced by the ground truth
        "warped_temporal_best_candidate": temporal(True),  # its flows by the best candidates
        "long_term": replace(base, temporal=replace(base.temporal, offsets=(1, 2))),
        "multipass": replace(
            base,
            multipass=replace(
                base.multipass,
                passes=budget.passes,
                iterations=budget.pass_iterations,
                temporal_from=budget.temporal_from,
            ),
        ),
    }


def _draw(artist, iterations: int) -> None:
    for _ in range(iterations):
        artist.draw()


def run_pastiche(
    frames: Sequence[np.ndarray],
    style: Path,
    iterations: int,
    device: torch.device,
    scorer: Scorer,
    trace_every: int,
) -> list[dict]:
    """Each frame through pastiche's own optimiser with our loss weights; style loss traced.

    Timing excludes the tracing (scoring is ours, not pastiche's work).
    """
    from pastiche.pastiche import PasticheArtist

    preset = scorer.stylizer.preset
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, frame in enumerate(frames):
            path = Path(tmp) / f"frame{index}.png"
            # 8-bit sources downscaled as 8-bit: the PNG round trip is lossless.
            cv2.imwrite(str(path), cv2.cvtColor(np.round(frame * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
            h, w = frame.shape[:2]
            artist = PasticheArtist(
                str(path),
                [str(style)],
                device=str(device),
                size=(h, w),
                # The same objective as vst-node's: content 5 x MSE(relu4_2); style 100 x sum over
                # layers of MSE(Gram/(C*H*W)) = MSE(Gram/(H*W)) / C^2; pastiche's TV (L1) off.
                content_weight=preset.weights.content,
                content_layer_weights=[1.0],
                style_weights=[preset.weights.style],
                style_layer_weights=[1.0 / c**2 for c in STYLE_CHANNELS],
                tv_weight=0.0,
            )
            trace: list[tuple[float, float]] = []
            seconds = 0.0
            done = 0
            while done < iterations:
                chunk = min(trace_every, iterations - done)
                seconds += timed(device, partial(_draw, artist, chunk))[1]
                done += chunk
                style_loss = scorer.caffe(artist.pastiche.detach(), frame)["style"]
                trace.append((seconds, style_loss))
            rgb = caffe_deprocess(artist.pastiche.detach()).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
            out.append({"image": rgb, "seconds": seconds, "trace": trace, "iterations": iterations})
    return out


def _row(seq: SintelSequence, style: Path, method: str, pair_results, scorer, seconds, iterations) -> dict:
    a, b = pair_results
    source = seq.frames[seq.pair + 1]
    terms = scorer.rgb(b, source)
    return {
        "sequence": seq.name,
        "pair": seq.pair_label,
        "style": style.stem,
        "method": method,
        "label": METHODS[method],
        "temporal_error": temporal_error(a, b, seq.flow, seq.hidden),
        "style_loss": terms["style"],
        "content_loss": terms["content"],
        "seconds": seconds,
        "iterations": int(iterations),
    }


def run_sequence_style(
    seq: SintelSequence,
    style: Path,
    base: Preset,
    budget: Budget,
    methods: Sequence[str],
    device: torch.device,
    convergence: bool,
    trace_every: int,
    log: Log,
    multipass: bool = True,
    precision: str = "float32",
) -> tuple[list[dict], list[dict], list[dict]]:
    """(table rows, peer rows, convergence rows) of one sequence and one style."""
    i = seq.pair
    fetch = seq.frames.__getitem__
    scorer = Scorer(base, device)
    presets = method_presets(base, budget)
    first_node = _node(presets[PRODUCT], [i, i + 1], device, precision)
    frame_n, _ = _timed_render(first_node, i, fetch, device)
    first_node.close()

    rows: list[dict] = []
    results: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def later_frame(key: str, preset: Preset, trace: list | None = None) -> tuple[np.ndarray, float, int]:
        node = _node(preset, [i, i + 1], device, precision)
        if key in ORACLES:
            node.flows.close()
            node.flows = ORACLES[key](seq.flow, seq.hidden, device)
        node.seed_finished(i, frame_n)
        if trace is not None:
            trace_iterates(node, trace, trace_every, device)
        started = time.perf_counter()
        out, seconds = _timed_render(node, i + 1, fetch, device)
        node.close()
        if isinstance(node.flows, BestCandidateFlows):
            log(f"  {seq.name}: share of N+1's visible pixels each candidate won: {node.flows.shares}")
        if trace is not None:
            trace[:] = [(clock - started, x) for clock, x in trace]
        return out, seconds, node.stats[i + 1].iterations

    vst_iterates: list[tuple[float, torch.Tensor]] = []
    for key in methods:
        if key in ("random", "content", "previous", "warped") or key.startswith("warped_temporal_"):
            traced = vst_iterates if key == PRODUCT and "pastiche" in methods else None
            out, seconds, iterations = later_frame(key, presets[key], traced)
            results[key] = (frame_n, out)
        elif key == "long_term":
            if i == 0:
                log(f"  {seq.name}: no frame before N, long-term skipped")
                continue
            frames = list(range(i - 1, i + 2))
            node = _node(presets[key], frames, device, precision)
            outs = {t: _timed_render(node, t, fetch, device) for t in frames}
            node.close()
            out, seconds = outs[i + 1]
            iterations = node.stats[i + 1].iterations
            results[key] = (outs[i][0], out)
        elif key == "multipass":
            if not multipass:
                continue
            frames = list(range(len(seq.frames)))
            node = _node(presets[key], frames, device, precision)
            synchronize(device)
            started = time.perf_counter()
            node.run_passes(fetch)
            outs = {t: np.clip(node.render(t, fetch), 0, 1) for t in frames}
            synchronize(device)
            seconds = (time.perf_counter() - started) / len(frames)
            iterations = node.total_iterations / len(frames)
            node.close()
            out = outs[i + 1]
            results[key] = (outs[i], out)
        elif key == "pastiche":
            peer = run_pastiche(seq.frames[i : i + 2], style, budget.first, device, scorer, trace_every)
            results[key] = (peer[0]["image"], peer[1]["image"])
            out, seconds, iterations = peer[1]["image"], peer[1]["seconds"], budget.first
            pastiche_trace = peer[1]["trace"]
        else:
            raise ValueError(f"unknown method {key!r}; expected one of {', '.join(METHODS)}")
        rows.append(_row(seq, style, key, results[key], scorer, seconds, iterations))
        r = rows[-1]
        log(
            f"  {seq.name:<16} {style.stem:<24} {key:<26} err {r['temporal_error']:.6f}"
            f"  style {r['style_loss']:.4g}  content {r['content_loss']:.4g}"
            f"  {r['seconds']:.1f}s  {r['iterations']} it"
        )

    peer_rows = []
    by_method = {r["method"]: r for r in rows}
    if "pastiche" in by_method and PRODUCT in by_method:
        vst, peer = by_method[PRODUCT], by_method["pastiche"]
        source = seq.frames[i + 1]
        vst_trace = [(t, scorer.caffe(x, source)["style"]) for t, x in vst_iterates]
        vst_trace.append((vst["seconds"], vst["style_loss"]))
        pastiche_trace.append((peer["seconds"], peer["style_loss"]))
        # The style loss both reach: the higher of the two final ones.
        level = max(vst["style_loss"], peer["style_loss"])
        vst_time = seconds_to_reach(vst_trace, level)
        pastiche_time = seconds_to_reach(pastiche_trace, level)
        assert vst_time is not None and pastiche_time is not None  # the last points reach it
        peer_rows.append(
            {
                "sequence": seq.name,
                "style": style.stem,
                "vst_seconds": vst["seconds"],
                "vst_style_loss": vst["style_loss"],
                "vst_temporal_error": vst["temporal_error"],
                "pastiche_seconds": peer["seconds"],
                "pastiche_style_loss": peer["style_loss"],
                "pastiche_temporal_error": peer["temporal_error"],
                "same_style_loss": level,
                "vst_seconds_to_it": vst_time,
                "pastiche_seconds_to_it": pastiche_time,
                "time_ratio": pastiche_time / vst_time,
                "temporal_ratio": peer["temporal_error"] / vst["temporal_error"],
            }
        )

    convergence_rows = []
    if convergence:
        cap = budget.convergence_cap
        for init, key in (("random", "random"), ("warped", "warped"), ("warped_temporal", PRODUCT)):
            preset = presets[key]
            preset = replace(
                preset, optimiser=replace(preset.optimiser, iterations_first=cap, iterations=cap)
            )
            _, seconds, iterations = later_frame(key, preset)
            convergence_rows.append(
                {
                    "sequence": seq.name,
                    "style": style.stem,
                    "init": init,
                    "iterations": int(iterations),
                    "stopped": iterations < cap,
                    "seconds": seconds,
                }
            )
            log(f"  convergence {seq.name} {style.stem} {init}: {iterations} iterations, {seconds:.1f}s")
    return rows, peer_rows, convergence_rows


def _geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _target(name: str, value: float, threshold: float, passed: bool, detail: str) -> dict:
    return {"name": name, "value": value, "threshold": threshold, "passed": bool(passed), "detail": detail}


def sintel_targets(rows: Sequence[dict]) -> list[dict]:
    """>= 10x (alley_2) / >= 5x lower temporal error than random, style loss within 1.5x, per sequence
    on the mean over styles (the paper's Table 1 averages over styles)."""
    targets = []
    for seq in dict.fromkeys(r["sequence"] for r in rows):
        mine = {(r["style"], r["method"]): r for r in rows if r["sequence"] == seq}
        styles = sorted({s for s, m in mine if m == "random" and (s, PRODUCT) in mine})
        if not styles:
            continue
        random_err = statistics.fmean(mine[s, "random"]["temporal_error"] for s in styles)
        ours_err = statistics.fmean(mine[s, PRODUCT]["temporal_error"] for s in styles)
        need = 10.0 if seq.startswith("alley_2") else 5.0
        gain = random_err / ours_err
        targets.append(
            _target(
                f"{seq}: temporal error, random / warped+temporal (DIS)",
                gain,
                need,
                gain >= need,
                f"{random_err:.4g} / {ours_err:.4g}, mean over {len(styles)} styles",
            )
        )
        ratio = _geomean([mine[s, PRODUCT]["style_loss"] / mine[s, "random"]["style_loss"] for s in styles])
        targets.append(
            _target(
                f"{seq}: style loss, warped+temporal (DIS) / random",
                ratio,
                1.5,
                ratio <= 1.5,
                f"geometric mean over {len(styles)} styles (at most 1.5 passes)",
            )
        )
    return targets


def peer_targets(rows: Sequence[dict]) -> list[dict]:
    targets = []
    for seq in dict.fromkeys(r["sequence"] for r in rows):
        mine = [r for r in rows if r["sequence"] == seq]
        time_ratio = _geomean([r["time_ratio"] for r in mine])
        targets.append(
            _target(
                f"{seq}: seconds to the same style loss, pastiche / vst-node",
                time_ratio,
                2.0,
                time_ratio >= 2.0,
                f"geometric mean over {len(mine)} styles; the level is the higher of the two final "
                "style losses, the time from each run's style-loss trace (frame N+1)",
            )
        )
        temporal = _geomean([r["temporal_ratio"] for r in mine])
        targets.append(
            _target(
                f"{seq}: temporal error, pastiche / vst-node",
                temporal,
                10.0,
                temporal >= 10.0,
                f"geometric mean over {len(mine)} styles",
            )
        )
    return targets


def convergence_targets(rows: Sequence[dict]) -> list[dict]:
    targets = []
    for seq in dict.fromkeys(r["sequence"] for r in rows):
        for style in dict.fromkeys(r["style"] for r in rows if r["sequence"] == seq):
            mine = {r["init"]: r for r in rows if r["sequence"] == seq and r["style"] == style}
            if "random" not in mine:
                continue
            for init in ("warped", "warped_temporal"):
                if init not in mine:
                    continue
                ratio = mine[init]["iterations"] / mine["random"]["iterations"]
                capped = "" if mine["random"]["stopped"] else " (random init hit the cap: a lower bound)"
                targets.append(
                    _target(
                        f"{seq} {style}: iterations to the stopping rule, {init} / random",
                        ratio,
                        0.5,
                        ratio <= 0.5 and mine[init]["stopped"],
                        f"{mine[init]['iterations']} vs {mine['random']['iterations']}{capped}",
                    )
                )
    return targets


def protocol_preset(preset: str, style: Path, budget: Budget, overrides: Sequence[str] = ()) -> Preset:
    """The preset every method starts from: the paper's protocol on top, `overrides` last."""
    return load_preset(
        preset,
        [
            f"style.image={style.resolve()}",
            f"optimiser.iterations_first={budget.first}",
            f"optimiser.iterations={budget.later}",
            "init.first=random",  # the paper's first frame, the same for every method
            # frame N alone, as in the paper: a run-up would walk back from N+1 and so let
            # frame N+1 meet a render of itself (something only a shot's first pair gets)
            "init.run_up=0",
            *overrides,
        ],
    )


def run_sintel_section(
    data: Path,
    styles: Sequence[Path],
    scale: int = 8,
    budget: Budget | None = None,
    methods: Sequence[str] = tuple(DEFAULT_METHODS),
    device: str = "cpu",
    preset: str = "default",
    overrides: Sequence[str] = (),
    convergence_styles: int = 1,
    multipass_styles: int = 1,
    trace_every: int = 5,
    sequences: Sequence[str] = (),
    log: Log = print,
    precision: str = "float32",
) -> dict:
    """Every sequence x every style; returns {"sintel": ..., "peer": ..., "convergence": ...}."""
    budget = budget or Budget()
    dev = torch.device(device)
    seqs = [s for s in load_all(data, scale) if not sequences or s.name in sequences]
    if not seqs:
        raise FileNotFoundError(f"no Sintel sequence with ground truth under {data / 'sintel'}")
    rows, peer_rows, conv_rows = [], [], []
    for seq in seqs:
        for index, style in enumerate(styles):
            base = protocol_preset(preset, Path(style), budget, overrides)
            r, p, c = run_sequence_style(
                seq,
                Path(style),
                base,
                budget,
                methods,
                dev,
                convergence=index < convergence_styles,
                trace_every=trace_every,
                log=log,
                multipass=index < multipass_styles,
                precision=precision,
            )
            rows += r
            peer_rows += p
            conv_rows += c
    h, w = seqs[0].size
    return {
        "sintel": {
            "scale": scale,
            "precision": precision,
            "size": f"{w}x{h}",
            "budget": {"first": budget.first, "later": budget.later},
            "multipass": {
                "passes": budget.passes,
                "iterations": budget.pass_iterations,
                "temporal_from": budget.temporal_from,
            },
            "styles": [Path(s).stem for s in styles],
            "sequences": [s.name for s in seqs],
            "rows": rows,
            "targets": sintel_targets(rows),
        },
        "peer": {"rows": peer_rows, "targets": peer_targets(peer_rows), "budget": budget.first},
        "convergence": {
            "cap": budget.convergence_cap,
            "rows": conv_rows,
            "targets": convergence_targets(conv_rows),
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The section's options (bench_sintel.py's, and the suite's)."""
    add_options(parser, "data", "scale")
    parser.add_argument("--styles", type=Path, nargs="*", help="style images (default: data/styles/*)")
    parser.add_argument("--sequence", action="append", default=[], help="only these, e.g. alley_2/clean")
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=list(METHODS))
    add_options(parser, "first", "later", "passes", "pass_iterations", "temporal_from")
    parser.add_argument("--convergence-cap", type=int, default=1000)
    parser.add_argument(
        "--convergence-styles", type=int, default=1, help="styles (from the first) with the convergence run"
    )
    parser.add_argument(
        "--multipass-styles", type=int, default=1, help="styles (from the first) with the multi-pass run"
    )
    add_options(
        parser,
        "preset",
        "set",
        "precision",
        precision={"help": "vst-node's network arithmetic (scores and the peer stay float32)"},
    )


def section_from_args(args: argparse.Namespace, device: str) -> dict:
    styles = args.styles or style_images(args.data)
    budget = Budget(
        args.first,
        args.later,
        args.passes,
        args.pass_iterations,
        args.temporal_from,
        args.convergence_cap,
    )
    return run_sintel_section(
        args.data,
        styles,
        args.scale,
        budget,
        args.methods,
        device,
        args.preset,
        args.overrides,
        args.convergence_styles,
        args.multipass_styles,
        sequences=args.sequence,
        precision=args.precision,
    )
