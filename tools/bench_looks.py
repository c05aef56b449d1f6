#!/usr/bin/env python
"""How a preset looks on real footage: first-frame pop and a readable subject, per preset and size.

Each clip's first frames are resized so the long side is the processing size and rendered in order
through the product's node (the preset as shipped, `--set` on top). Per frame: high-frequency
energy (mean |Laplacian| of luma), Gram style loss and content loss (the preset's own loss terms,
unweighted), edge correlation with the source (the subject reads: near 1; replaced by texture: near
0), seconds. Per clip: the first-frame pop ratios (frame 1 against the mean of frames 2-5) and the
temporal error of pairs 1->2 and 2->3 along DIS flow with the forward-backward check (Wang et al.'s
short-term measure: the clips have no ground truth but the built-in shot).

    python tools/bench_looks.py --clip bedroom --preset mosaic --size 320 --frames 6 --json out.json

`--save DIR` also writes each result as DIR/<clip>_<preset>_<size>.<frame>.png (frames from 0), for
`vst-node sheet` (source: the clip's own files, or its frames written by --save too).

Clips: `bedroom` (../shared/data/video/bedroom), `builtin` (the demo's synthetic shot),
`sintel:alley_2/clean` (any scene/pass of ../shared/data/sintel; four frames each).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
from benchkit.machine import write_results
from benchkit.options import add_options

from vst_node.engine.evaluation import (
    long_term_errors,
    long_term_pairs,
    network_frames,
    style_content_losses,
    stylize_frames,
)
from vst_node.engine.stylize import Stylizer
from vst_node.io.image_io import write_image
from vst_node.io.synthetic import make_shot
from vst_node.ops.look_metrics import edge_correlation, high_frequency_energy
from vst_node.settings import load_preset

POP_REFERENCE = (1, 2, 3, 4)  # frames 2-5 (0-based 1..4): what the first frame is compared with


def _resize_long_side(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    shape = (max(16, round(w * scale)), max(16, round(h * scale)))
    return cv2.resize(rgb, shape, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def load_clip(name: str, size: int, count: int, data: Path) -> list[np.ndarray]:
    """The clip's first `count` frames, display-encoded RGB, long side `size`."""
    if name == "builtin":
        width = size
        frames = network_frames(make_shot(width=width, height=round(width * 9 / 16), n_frames=count))
        return [np.ascontiguousarray(f, np.float32) for f in frames]
    if name.startswith("sintel:"):
        folder = data / "sintel" / name.split(":", 1)[1]
        files = sorted(folder.glob("frame_*.png"))
    else:
        folder = data / "video" / name
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise FileNotFoundError(f"no frames for clip {name!r} under {folder}")
    return [_resize_long_side(_read_rgb(p), size) for p in files[:count]]


def save_frames(folder: Path, name: str, images: list[np.ndarray]) -> None:
    """Display-encoded RGB frames as folder/name.00000.png, ... (what `vst-node sheet` reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, rgb in enumerate(images):
        write_image(folder / f"{name}.{t:05d}.png", np.clip(rgb, 0, 1), colorspace="sRGB", pixel_type="uint8")


def measure(
    clip: str,
    preset_name: str,
    size: int,
    count: int,
    overrides: list[str],
    data: Path,
    save: Path | None = None,
    device: str = "cpu",
) -> dict:
    frames = load_clip(clip, size, count, data)
    preset = load_preset(preset_name, ["resolution.max_side=null", "resolution.scale=1", *overrides])
    results, node, _ = stylize_frames(frames, preset, device)
    if save is not None:
        tag = f"{clip.replace(':', '_').replace('/', '_')}_{Path(preset_name).stem}_{size}"
        save_frames(save, tag, list(results))
        save_frames(save, f"{tag}_source", frames)
    # The node's own timing per frame (flows + optimisation), so frame 1 can be read against the rest.
    seconds = [node.stats[t].flow_seconds + node.stats[t].optimise_seconds for t in range(len(frames))]
    scorer = Stylizer(preset, node.device)
    per_frame = []
    for t, (result, source) in enumerate(zip(results, frames, strict=True)):
        style, content = style_content_losses(scorer, [result], [source])
        per_frame.append(
            {
                "frame": t + 1,
                "high_frequency": high_frequency_energy(result),
                "source_high_frequency": high_frequency_energy(source),
                "style_loss": style,
                "content_loss": content,
                "edge_correlation": edge_correlation(result, source),
                "seconds": seconds[t],
                "iterations": node.stats[t].iterations,
                "reliable": node.stats[t].reliable,
                "run_up": node.stats[t].run_up,
            }
        )
    reference = [per_frame[i] for i in POP_REFERENCE if i < len(per_frame)]
    pairs = long_term_pairs(frames[:3], offsets=(1,))
    pair_errors = [long_term_errors([p], results[:3])[1] for p in pairs]  # p.n = 1, 2: pairs 1->2, 2->3

    def ratio(key: str) -> float | None:
        if not reference:
            return None
        return per_frame[0][key] / statistics.fmean(r[key] for r in reference)

    h, w = frames[0].shape[:2]
    return {
        "clip": clip,
        "preset": preset_name,
        "size": size,
        "frame_size": f"{w}x{h}",
        "overrides": overrides,
        "frames": per_frame,
        "pop_high_frequency": ratio("high_frequency"),
        "pop_style_loss": ratio("style_loss"),
        "temporal_error_1_2": pair_errors[0] if pair_errors else None,
        "temporal_error_2_3": pair_errors[1] if len(pair_errors) > 1 else None,
        "edge_correlation": statistics.fmean(r["edge_correlation"] for r in per_frame),
        "style_loss": statistics.fmean(r["style_loss"] for r in per_frame),
        "seconds_per_frame": statistics.fmean(seconds),
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_row(r: dict) -> str:
    return (
        f"{r['clip']:<22} {r['preset']:<8} {r['frame_size']:>9}  edge {r['edge_correlation']:.3f}"
        f"  style {r['style_loss']:.3g}  pop HF {_fmt(r['pop_high_frequency'], '.2f')}"
        f"  pop style {_fmt(r['pop_style_loss'], '.2f')}"
        f"  err 1-2 {_fmt(r['temporal_error_1_2'], '.5f')}  2-3 {_fmt(r['temporal_error_2_3'], '.5f')}"
        f"  {r['seconds_per_frame']:.1f} s/frame"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", action="append", default=[], help="bedroom, builtin, sintel:SCENE/PASS")
    parser.add_argument("--preset", action="append", default=[], help="built-in preset name or YAML path")
    parser.add_argument("--size", action="append", type=int, default=[], help="long side in pixels")
    parser.add_argument("--frames", type=int, default=6, help="frames from the start of each clip")
    parser.add_argument("--save", type=Path, help="also write the result frames as PNGs into this folder")
    add_options(parser, "data", "set", "device", "json")
    args = parser.parse_args(argv)
    rows = []
    for clip in args.clip or ["bedroom"]:
        for preset in args.preset or ["default"]:
            for size in args.size or [320]:
                row = measure(
                    clip, preset, size, args.frames, args.overrides, args.data, args.save, args.device
                )
                print(format_row(row), flush=True)
                for f in row["frames"]:
                    print(
                        f"    frame {f['frame']}: HF {f['high_frequency']:.4f} style {f['style_loss']:.4g}"
                        f" content {f['content_loss']:.4g} edge {f['edge_correlation']:.3f}"
                        f" {f['iterations']} it {f['seconds']:.1f} s",
                        flush=True,
                    )
                rows.append(row)
    write_results(args.json, args.device, {"looks": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
