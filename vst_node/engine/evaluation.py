"""Side-by-side evaluation on a shot with known motion: temporal error next to style/content loss.

Used by `tools/temporal_compare.py`, the demo and the tests, so that the figure in the README, the
one the demo prints and the one the test asserts come from the same code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from vst_node.engine.flow import compute_flow, to_gray_u8
from vst_node.engine.node import StyleTransferNode, independent_preset
from vst_node.engine.stylize import Stylizer
from vst_node.engine.vgg import caffe_preprocess
from vst_node.io.colour import LINEAR_SPACE, to_network
from vst_node.io.synthetic import SyntheticShot
from vst_node.ops.metrics import temporal_error
from vst_node.ops.reliability import unreliable_mask
from vst_node.ops.warp import warp
from vst_node.settings import FlowSettings, Preset


@dataclass
class MethodResult:
    method: str
    temporal_error: float
    style_loss: float
    content_loss: float
    seconds_per_frame: float
    iterations_per_frame: float

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


@dataclass
class Clip:
    """Frames as the node sees them plus ground-truth motion for some consecutive pairs."""

    name: str
    frames: list[np.ndarray]  # display-like RGB (H,W,3) float32
    # (index i, forward flow i -> i+1 on i's grid, pixels of i not visible in i+1)
    pairs: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)


def network_frames(shot: SyntheticShot) -> list[np.ndarray]:
    """The shot's frames as the node sees them (display-like RGB)."""
    return [to_network(frame, LINEAR_SPACE)[0] for frame in shot.frames]


def shot_clip(shot: SyntheticShot, name: str = "built-in shot") -> Clip:
    pairs = [(i, shot.forward_flow[i], shot.occluded[i]) for i in range(len(shot.frames) - 1)]
    return Clip(name, network_frames(shot), pairs)


def clip_temporal_error(clip: Clip, stylized: Sequence[np.ndarray]) -> float:
    """Mean masked warping error over the clip's ground-truth pairs."""
    errors = [temporal_error(stylized[i], stylized[i + 1], flow, occ) for i, flow, occ in clip.pairs]
    return float(np.mean(errors))


LONG_TERM_OFFSETS = (1, 2, 4, 8, 16)
INPUT_CHANGE = 10 / 255  # pixels whose warped input differs by more than this are left out


@dataclass
class LongTermPair:
    """Frame n against frame n - offset along estimated flow, with the pixels not to compare."""

    n: int
    offset: int
    flow: np.ndarray  # (H,W,2) on n's grid: source n at p matches source n-offset at p + flow(p)
    excluded: np.ndarray  # (H,W) bool: occluded, motion boundary, leaving the frame or input changed


def long_term_pairs(
    sources: Sequence[np.ndarray],
    offsets: Sequence[int] = LONG_TERM_OFFSETS,
    flow: FlowSettings | None = None,
) -> list[LongTermPair]:
    """Wang et al. 2020's long-term measure: for each offset i, every pair (n, n-i) of the clip,
    with the forward-backward check and the input-difference test deciding what is compared.
    Computed once per clip, shared by every method scored on it."""
    settings = flow or FlowSettings()
    grey = [to_gray_u8(np.clip(s, 0, 1)) for s in sources]
    pairs = []
    for offset in offsets:
        for n in range(offset, len(sources)):
            to_past = compute_flow(grey[n], grey[n - offset], settings)
            to_now = compute_flow(grey[n - offset], grey[n], settings)
            as_tensor = lambda f: torch.from_numpy(f).permute(2, 0, 1)[None]  # noqa: E731
            excluded = unreliable_mask(as_tensor(to_now), as_tensor(to_past))[0, 0].numpy()
            now = torch.from_numpy(np.clip(sources[n], 0, 1)).permute(2, 0, 1)[None]
            past = torch.from_numpy(np.clip(sources[n - offset], 0, 1)).permute(2, 0, 1)[None]
            changed = (warp(past, as_tensor(to_past)) - now).abs().amax(dim=1)[0].numpy() > INPUT_CHANGE
            pairs.append(LongTermPair(n, offset, to_past, excluded | changed))
    return pairs


def long_term_errors(pairs: Sequence[LongTermPair], stylized: Sequence[np.ndarray]) -> dict[int, float]:
    """Mean masked squared difference per offset (values in [0, 1]; METHOD: lower is steadier)."""
    by_offset: dict[int, list[float]] = {}
    for pair in pairs:
        if not (~pair.excluded).any():
            continue
        error = temporal_error(stylized[pair.n], stylized[pair.n - pair.offset], pair.flow, pair.excluded)
        by_offset.setdefault(pair.offset, []).append(error)
    return {offset: float(np.mean(errors)) for offset, errors in sorted(by_offset.items())}


def stylize_frames(
    frames: Sequence[np.ndarray], preset: Preset, device: torch.device | str = "cpu"
) -> tuple[list[np.ndarray], StyleTransferNode, float]:
    """All frames through a fresh node, in order; returns results, the node and wall seconds."""
    node = StyleTransferNode(preset, device=device, cache_dir=None)
    try:
        order = list(range(len(frames)))
        node.begin_sequence(order)
        started = time.perf_counter()
        out = [np.clip(node.render(i, lambda f: frames[f]), 0.0, 1.0) for i in order]
        seconds = time.perf_counter() - started
        node.end_sequence()
    finally:
        node.close()  # the flow worker thread goes with it, also after an error
    return out, node, seconds


def style_content_losses(stylizer: Stylizer, results: Sequence[np.ndarray], sources: Sequence[np.ndarray]):
    """Mean unweighted (style, content) loss of results: stability must not be bought with blur."""
    styles, contents = [], []
    for result, source in zip(results, sources, strict=True):
        x = torch.from_numpy(result).permute(2, 0, 1)[None].to(stylizer.device)
        content = torch.from_numpy(np.clip(source, 0, 1)).permute(2, 0, 1)[None].to(stylizer.device)
        terms = stylizer.loss_terms(caffe_preprocess(x), content)
        styles.append(terms["style"])
        contents.append(terms["content"])
    return float(np.mean(styles)), float(np.mean(contents))


def evaluate_methods(
    clip: Clip,
    methods: Mapping[str, Preset],
    scorer_preset: Preset,
    device: torch.device | str = "cpu",
) -> list[MethodResult]:
    """Each preset over the whole clip, scored by one stylizer so the losses are comparable."""
    results: list[MethodResult] = []
    scorer: Stylizer | None = None
    for name, method_preset in methods.items():
        stylized, node, seconds = stylize_frames(clip.frames, method_preset, device)
        if scorer is None:
            scorer = Stylizer(scorer_preset, node.device)
        if stylized[0].shape != clip.frames[0].shape:
            raise ValueError("evaluation needs resolution.scale 1 (results compared at the source size)")
        style, content = style_content_losses(scorer, stylized, clip.frames)
        iterations = node.total_iterations  # every pass of a multi-pass render counts
        results.append(
            MethodResult(
                method=name,
                temporal_error=clip_temporal_error(clip, stylized),
                style_loss=style,
                content_loss=content,
                seconds_per_frame=seconds / len(clip.frames),
                iterations_per_frame=iterations / len(clip.frames),
            )
        )
    return results


def compare_methods(
    shot: SyntheticShot, preset: Preset, device: torch.device | str = "cpu"
) -> list[MethodResult]:
    """The preset as configured against independent per-frame stylization from random init."""
    methods = {"vst-node (preset)": preset, "per-frame random init": independent_preset(preset, "random")}
    return evaluate_methods(shot_clip(shot), methods, preset, device)


def format_table(results: Sequence[MethodResult]) -> str:
    header = (
        f"{'method':<24} {'temporal err':>12} {'style loss':>11} {'content':>9} {'s/frame':>8} {'iters':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.method:<24} {r.temporal_error:>12.6f} {r.style_loss:>11.4f} {r.content_loss:>9.2f}"
            f" {r.seconds_per_frame:>8.2f} {r.iterations_per_frame:>6.0f}"
        )
    return "\n".join(lines)
