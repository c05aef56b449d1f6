#!/usr/bin/env python
"""The fast mode measured: speed, short-term and long-term temporal error, style loss.

    python tools/bench_feedforward.py --json docs/benchmarks/feedforward.json \\
        --extra other_default_network.pt no_stability_terms.pt ...

Sections (--sections, default all):

- speed: milliseconds per frame of each built-in preset's network at --sizes (median of
  --repeats), beside the same weights in PyTorch's default layout, and Blender's preview.
- shot, sintel: temporal error along exact motion (the built-in shot at 192x128, 6 frames: the
  headline's clip) and Sintel's ground-truth flow (scenes the networks never saw), and the style
  and content loss (scored by the default preset's optimisation losses, so every row is
  comparable) of the optimisation default, per-frame optimisation (left out by --no-optimise), the
  default network with frame and shot statistics, and any --extra networks of the default preset
  (e.g. trained with a stability term switched off).
- long-term: error between frames n and n-i, i = 1, 2, 4, 8, 16, along estimated flow with a
  forward-backward check and a 10/255 input-change test, on the built-in shot and a real clip,
  for frame vs shot statistics, the --extra networks (the real clip is footage none of the
  networks' settings were chosen on) and the optimisation default on the built-in shot.
- hybrid: iterations of the optimisation default (its stopping rule, budget --hybrid-budget) from
  the content vs from the network's output, on the first frame of the built-in shot and of Sintel
  alley_2, and how many iterations the network start needs to reach the content start's final loss.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from benchkit.machine import banner, write_results
from benchkit.options import add_options, parse_size
from benchkit.sintel import load_clip, load_frame, load_rgb

from vst_node.engine.evaluation import (
    LONG_TERM_OFFSETS,
    Clip,
    evaluate_methods,
    format_table,
    long_term_errors,
    long_term_pairs,
    network_frames,
    shot_clip,
    stylize_frames,
)
from vst_node.engine.feedforward import FeedForwardStylizer
from vst_node.engine.node import independent_preset
from vst_node.engine.temporal_inputs import image_tensor
from vst_node.io.synthetic import make_shot
from vst_node.settings import Preset, load_preset

BUILTIN = ("default", "ink", "mosaic", "swirls")
SCENES = (("alley_2", "clean"), ("bandage_1", "final"), ("market_5", "clean"), ("market_5", "final"))


SECTIONS = ("speed", "shot", "sintel", "long-term", "hybrid")
# the headline's clip (tools/temporal_compare.py --size 192x128 --frames 6): exact motion, so the
# networks' rows sit beside the optimisation figures of docs/benchmarks/temporal.json
SHOT_SIZE, SHOT_FRAMES = (192, 128), 6


def network_preset(preset: Preset, model: Path | None = None, statistics_mode: str = "frame") -> Preset:
    network = replace(preset.network, model=model or preset.network.model, statistics=statistics_mode)
    return replace(preset, method="feedforward", network=network)


def speed_rows(data: Path, sizes: list[str], repeats: int, device: str) -> list[dict]:
    rows = []
    for name in BUILTIN:
        preset = load_preset(name)
        if preset.network.model is None or not preset.network.model.is_file():
            print(f"note: preset {name} has no network yet ({preset.network.model}); left out")
            continue
        stylizer = FeedForwardStylizer(network_preset(preset), torch.device(device))
        row: dict = {"preset": name, "digest": stylizer.digest}
        # the same weights in PyTorch's default layout, timed alternately with the rendering one
        default_layout = copy.deepcopy(stylizer.net).to(memory_format=torch.contiguous_format)
        default_layout.channels_last = False
        for size in sizes:
            width, height = parse_size(size)
            frame, _ = load_frame(data, width, height)
            x = image_tensor(np.ascontiguousarray(frame, np.float32), stylizer.device)
            times: dict[str, list[float]] = {"rendering": [], "default_layout": []}
            with torch.inference_mode():
                for net in (stylizer.net, default_layout):  # warm-up
                    net(x)
                for _ in range(repeats):
                    for key, net in (("rendering", stylizer.net), ("default_layout", default_layout)):
                        started = time.perf_counter()
                        net(x)
                        if stylizer.device.type == "cuda":
                            torch.cuda.synchronize(stylizer.device)
                        times[key].append(time.perf_counter() - started)
            row[size] = 1000 * statistics.median(times["rendering"])
            row[f"{size} default layout"] = 1000 * statistics.median(times["default_layout"])
        rows.append(row)
    return rows


def preview_seconds(data: Path, device: str, repeats: int) -> float:
    """Blender's "Preview This Frame": a 1024x436 frame file through preview_file (512 px), in a
    fresh node each time as the panel does (model file cached in the process, VGG never loaded)."""
    import tempfile

    from vst_node.faces.preview import preview_file
    from vst_node.io.image_io import write_image

    frame, _ = load_frame(data, 1024, 436)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frame.png"
        write_image(path, frame, colorspace="sRGB", pixel_type="uint8")
        preset = load_preset("default")
        preview_file(preset, path, device=device)  # warm-up: the model file, kernels
        times = [preview_file(preset, path, device=device).seconds for _ in range(repeats)]
    return statistics.median(times)


def sintel_methods(preset: Preset, extra: list[Path], optimise: bool) -> dict[str, Preset]:
    methods: dict[str, Preset] = {}
    if optimise:
        methods["optimise (preset)"] = preset
        methods["optimise per frame"] = independent_preset(preset, "content")
    methods["network, frame stats"] = network_preset(preset)
    methods["network, shot stats"] = network_preset(preset, statistics_mode="shot")
    for model in extra:
        methods[f"network {model.stem}"] = network_preset(preset, model)
    return methods


def long_term_rows(
    clips: dict[str, list[np.ndarray]], preset: Preset, optimise: bool, device: str,
    extra: Sequence[Path] = (),
) -> list[dict]:  # fmt: skip
    rows = []
    for name, frames in clips.items():
        pairs = long_term_pairs(frames)
        methods = {
            "network, frame stats": network_preset(preset),
            "network, shot stats": network_preset(preset, statistics_mode="shot"),
            **{f"network {model.stem}": network_preset(preset, model) for model in extra},
        }
        if optimise and name == "built-in shot":
            methods["optimise (preset)"] = preset
        for method, method_preset in methods.items():
            stylized, _node, seconds = stylize_frames(frames, method_preset, device)
            errors = long_term_errors(pairs, stylized)
            rows.append(
                {"clip": name, "method": method, "errors": errors, "seconds_per_frame": seconds / len(frames)}
            )
    return rows


def hybrid_rows(images: dict[str, np.ndarray], preset: Preset, budget: int, device: str) -> list[dict]:
    from vst_node.engine.stylize import Stylizer
    from vst_node.engine.vgg import caffe_preprocess

    torch_device = torch.device(device)
    stylizer = Stylizer(preset, torch_device)
    network = FeedForwardStylizer(network_preset(preset), torch_device)
    rows = []
    for name, image in images.items():
        content = image_tensor(np.ascontiguousarray(np.clip(image, 0, 1), np.float32), torch_device)
        runs = {}
        for start_name, start in (
            ("content", caffe_preprocess(content)),
            ("network", network.stylize(content)),
        ):
            start_loss = float(stylizer.loss_function(content, None)(start.detach()))
            started = time.perf_counter()
            result = stylizer.stylize(content, start, None, budget)
            runs[start_name] = (result, time.perf_counter() - started, start_loss)
        target = runs["content"][0].final_loss
        window = preset.optimiser.tolerance_window
        for start_name, (result, seconds, start_loss) in runs.items():
            reached = next(
                (window * (k + 1) for k, loss in enumerate(result.history) if loss <= target), None
            )
            rows.append({
                "image": name, "start": start_name, "iterations": result.iterations,
                "stopped_early": result.stopped_early, "final_loss": result.final_loss,
                "start_loss": start_loss,
                "iterations_to_content_final": reached, "seconds": seconds,
            })  # fmt: skip
    return rows


def clip_frames(folder: Path, count: int, width: int) -> list[np.ndarray]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))[:count]
    first = load_rgb(paths[0])
    size = (width, round(first.shape[0] * width / first.shape[1]))
    return [load_rgb(p, size) for p in paths]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(parser, "data", "device", "sizes", "json", sizes={"default": ["512x218", "1024x436"]})
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sintel-scale", type=int, default=5, help="Sintel downscale (5: 204x87)")
    parser.add_argument(
        "--extra", type=Path, nargs="*", default=[], help="more networks of the default preset"
    )
    parser.add_argument("--no-optimise", action="store_true", help="leave out the optimisation rows")
    parser.add_argument("--clip-frames", type=int, default=32, help="frames of the real clip (long-term)")
    parser.add_argument("--clip-width", type=int, default=320)
    parser.add_argument("--hybrid-budget", type=int, default=1000, help="hybrid test budget (0: skip it)")
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to measure (all)"
    )
    args = parser.parse_args()
    optimise = not args.no_optimise
    preset = load_preset("default")
    print(banner(args.device))

    payload: dict = {"sections": args.sections, "extra": [str(p) for p in args.extra]}
    if "speed" in args.sections:
        speed = speed_rows(args.data, args.sizes, args.repeats, args.device)
        print("\nms per frame (network forward pass; in brackets: the same weights in the default layout)")
        print(f"{'preset':<10}" + "".join(f"{s:>20}" for s in args.sizes) + "   fps")
        for row in speed:
            cells = "".join(f"{row[s]:>11.0f} ({row[s + ' default layout']:>5.0f})" for s in args.sizes)
            print(f"{row['preset']:<10}{cells}   " + " ".join(f"{1000 / row[s]:.1f}" for s in args.sizes))
        preview = preview_seconds(args.data, args.device, args.repeats)
        print(f"\npreview of one 1024x436 frame at 512 px (default preset's network): {preview:.2f} s")
        payload.update(speed_ms=speed, preview_seconds=preview)
    clips: list[Clip] = []
    if "shot" in args.sections:
        width, height = SHOT_SIZE
        clips.append(shot_clip(make_shot(width=width, height=height, n_frames=SHOT_FRAMES, seed=0)))
    if "sintel" in args.sections:
        for scene, render_pass in SCENES:
            clip = load_clip(args.data / "sintel" / scene, args.sintel_scale, render_pass)
            clip.name += f" {render_pass}"
            clips.append(clip)
    if clips:
        payload["short_term"] = short_term_section(clips, args.extra, preset, optimise, args.device)
    if "long-term" in args.sections or "hybrid" in args.sections:
        shot = make_shot(width=192, height=128, n_frames=max(LONG_TERM_OFFSETS) + 8)
        shot_frames = network_frames(shot)
    if "long-term" in args.sections:
        clips = {
            "built-in shot": shot_frames,
            "bedroom clip": clip_frames(args.data / "video" / "bedroom", args.clip_frames, args.clip_width),
        }
        payload["long_term"] = long_term_section(clips, preset, optimise, args.device, args.extra)
    if "hybrid" in args.sections and args.hybrid_budget > 0:
        first, _ = load_frame(args.data, 204, 87)
        payload["hybrid"] = hybrid_section({"built-in shot": shot_frames[0], "alley_2 frame 1": first},
                                           preset, args.hybrid_budget, args.device)  # fmt: skip
    write_results(args.json, args.device, payload)
    return 0


def short_term_section(
    clips: list[Clip], extra: list[Path], preset: Preset, optimise: bool, device: str
) -> dict[str, list[dict]]:
    """Temporal error along ground-truth motion and style/content loss of every method, per clip."""
    rows: dict[str, list[dict]] = {}
    for clip in clips:
        results = evaluate_methods(clip, sintel_methods(preset, extra, optimise), preset, device)
        rows[clip.name] = [r.as_dict() for r in results]
        print(f"\n{clip.name} ({len(clip.frames)} frames, {len(clip.pairs)} ground-truth pairs)")
        print(format_table(results))
    return rows


def long_term_section(
    clips: dict[str, list[np.ndarray]], preset: Preset, optimise: bool, device: str,
    extra: Sequence[Path] = (),
) -> list[dict]:  # fmt: skip
    long_term = long_term_rows(clips, preset, optimise, device, extra)
    print("\nlong-term error (frames n and n-i)")
    print(
        f"{'clip':<15} {'method':<26}"
        + "".join(f"{'i=' + str(i):>10}" for i in LONG_TERM_OFFSETS)
        + f"{'s/frame':>9}"
    )
    for row in long_term:
        cells = "".join(f"{row['errors'].get(i, float('nan')):>10.5f}" for i in LONG_TERM_OFFSETS)
        print(f"{row['clip']:<15} {row['method']:<26}{cells}{row['seconds_per_frame']:>9.2f}")
    return long_term


def hybrid_section(images: dict[str, np.ndarray], preset: Preset, budget: int, device: str) -> list[dict]:
    hybrid = hybrid_rows(images, preset, budget, device)
    print("\nhybrid: the optimisation default from the content vs from the network")
    print(f"{'image':<16} {'start':<8} {'start loss':>12} {'iterations':>10} {'final loss':>12}"
          f" {'to content final':>16} {'s':>6}")  # fmt: skip
    for row in hybrid:
        reached = row["iterations_to_content_final"] or "-"
        print(
            f"{row['image']:<16} {row['start']:<8} {row['start_loss']:>12.4g} {row['iterations']:>10}"
            f" {row['final_loss']:>12.4g} {reached:>16} {row['seconds']:>6.1f}"
        )
    return hybrid


if __name__ == "__main__":
    raise SystemExit(main())
