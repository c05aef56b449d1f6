"""`vst-node demo`: generate the built-in shot, stylize it through the real render path, score it.

Everything comes from the project itself (a procedural shot with exact ground-truth motion and a
generated style image), so the demo runs on a fresh machine with no data at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, render_sequence
from vst_node.faces.sheet import contact_sheet
from vst_node.io.colour import LINEAR_SPACE, to_network
from vst_node.io.image_io import read_frame
from vst_node.io.sequence import SequencePattern
from vst_node.io.synthetic import load_ground_truth, make_shot, write_shot
from vst_node.ops.metrics import mean_temporal_error
from vst_node.settings import load_preset

# Fewer iterations than the preset's so that the demo takes minutes, not an hour, on a laptop CPU.
DEMO_OVERRIDES = ("optimiser.iterations_first=150", "optimiser.iterations=60")


def _network_rgb(path: Path) -> np.ndarray:
    """A linear EXR frame as the network (and the metric) sees it."""
    return to_network(read_frame(path).rgba, LINEAR_SPACE)[0]


def run_demo(
    folder: Path,
    width: int,
    height: int,
    n_frames: int,
    preset_name: str = "default",
    overrides: list[str] | tuple[str, ...] = (),
    device: str = "auto",
) -> int:
    preset = load_preset(preset_name, [*DEMO_OVERRIDES, *overrides])
    folder.mkdir(parents=True, exist_ok=True)
    shot = make_shot(width=width, height=height, n_frames=n_frames)
    pattern = write_shot(shot, folder / "source", name="shot")
    print(f"demo: wrote {n_frames} frames {width}x{height} to {pattern}", file=sys.stderr)
    source = SequencePattern.parse(pattern)
    output = SequencePattern.parse(str(folder / "stylized" / "shot.####.exr"))
    job = RenderJob(source=source, output=output, preset=preset, device=device, cache_dir=folder / ".cache")
    report = render_sequence(job, Progress(n_frames))
    if not report.ok:
        return 1
    flows, occluded, _first = load_ground_truth(folder / "source", name="shot")
    frames = report.frames
    stylized = [_network_rgb(output.path(f)) for f in frames]
    sources = [_network_rgb(source.path(f)) for f in frames]
    error = mean_temporal_error(stylized, flows, occluded)
    source_error = mean_temporal_error(sources, flows, occluded)
    contact_sheet(source, [output], frames, folder / "preview.png", tile_width=width)
    print(
        f"demo: stylized frames in {output}\n"
        f"demo: temporal error (mean squared difference along the ground-truth flow) {error:.6f} "
        f"(source itself {source_error:.6f})\n"
        f"demo: preview {folder / 'preview.png'}"
    )
    return 0
