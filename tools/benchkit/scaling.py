"""The scaling section: seconds per frame and peak memory, per phase, as resolution and shot length grow.

Every row renders the built-in synthetic shot through the real render path (EXR read, colour, flow,
optimisation, EXR write) in its own child process (`python -m benchkit.scaling`), so that peak
memory (max RSS; on CUDA also the peak of torch's allocator) is that row's own. Every frame gets the
same fixed iteration budget and the stopping rule is disabled, so rows differ only in size or length.
The shot is generated and written by the parent process, so the child's peak memory is the
render's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchkit.options import add_options, parse_size

# The preset schema refuses optimiser.tolerance=0; with `<=` in the stopping test, 1e-30 stops only
# where tolerance 0 would (an exactly unchanged loss), i.e. never early in practice.
NO_EARLY_STOP = "optimiser.tolerance=1.0e-30"
TOOLS = Path(__file__).resolve().parents[1]  # what the child needs on its path to import benchkit


def budget_overrides(iterations: int) -> list[str]:
    """--set items that give every frame exactly `iterations` iterations (the first frame's run-up,
    a fixed cost per shot, off: the rows measure what a frame costs)."""
    return [
        f"optimiser.iterations_first={iterations}",
        f"optimiser.iterations={iterations}",
        NO_EARLY_STOP,
        "init.run_up=0",
    ]


def write_input(size: str, frames: int, directory: Path) -> str:
    """Generate the built-in shot and write it as EXR; returns the sequence pattern."""
    from vst_node.io.synthetic import make_shot, write_shot

    width, height = parse_size(size)
    return write_shot(make_shot(width=width, height=height, n_frames=frames), directory)


def run_one(
    size: str,
    frames: int,
    preset: str,
    overrides: list[str],
    device: str,
    source: str | None = None,
    precision: str = "float32",
) -> dict:
    """Runs in the child process. Renders `source` (a sequence pattern), or a shot it generates itself
    when none is given (its generation then counts in the peak RSS)."""
    import torch

    from vst_node.faces.progress import Progress
    from vst_node.faces.render import RenderJob, render_sequence
    from vst_node.io.sequence import SequencePattern
    from vst_node.settings import load_preset

    class Clock(Progress):
        """Records when each frame was finished (written), for the steady-state rate."""

        def __init__(self, total: int, stream) -> None:
            super().__init__(total, stream=stream)
            self.times: list[float] = []

        def frame_done(self, frame: int, detail: str = "", skipped: bool = False) -> None:
            self.times.append(time.perf_counter())
            super().frame_done(frame, detail, skipped)

    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    with tempfile.TemporaryDirectory() as tmp:
        if source is None:
            source = write_input(size, frames, Path(tmp) / "in")
        job = RenderJob(
            source=SequencePattern.parse(source),
            output=SequencePattern.parse(str(Path(tmp) / "out" / "shot.####.exr")),
            preset=load_preset(preset, overrides),
            device=device,
            precision=precision,
            cache_dir=Path(tmp) / "cache",
        )
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            clock = Clock(len(job.source.discover()), quiet)
            report = render_sequence(job, clock)
        if cuda:
            torch.cuda.synchronize()  # nothing queued may finish after the clock is read
        wall = time.perf_counter() - started
    if report.failed or not report.written:
        raise RuntimeError(f"{size}: render failed: {report.failed or 'no frame written'}")
    t = report.times
    n = len(report.written)
    later = [it for f, it in report.iterations.items() if f != report.frames[0]]
    row = {
        "size": size,
        "frames": n,
        "wall_s_per_frame": wall / n,
        # from the start to the first frame written (model and style set-up included), then the
        # mean over the later frames: the steady state that should stay flat with shot length
        "first_frame_s": clock.times[0] - started,
        "wall_s_per_later_frame": (clock.times[-1] - clock.times[0]) / (n - 1) if n > 1 else None,
        "read_s_per_frame": t.read / n,
        "colour_s_per_frame": t.colour / n,
        "flow_wait_s_per_pair": t.flow / max(n - 1, 1),
        "flow_compute_s_per_pair": t.flow_compute / max(report.flows_computed, 1),
        "optimise_s_per_frame": t.optimise / n,
        "write_s_per_frame": t.write / n,
        "iterations_first": report.iterations[report.frames[0]],
        "iterations_later_mean": sum(later) / max(len(later), 1),
        "iterations_min": min(report.iterations.values()),
        "optimise_s_per_iteration": t.optimise / max(sum(report.iterations.values()), 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
    }
    if cuda:
        row["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def run_child(
    size: str,
    frames: int,
    preset: str,
    overrides: Sequence[str],
    device: str,
    source: str | None = None,
    precision: str = "float32",
) -> dict:
    """run_one in a fresh Python process; returns its row."""
    cmd = [sys.executable, "-m", "benchkit.scaling", size, "--frames", str(frames)]
    cmd += ["--preset", preset, "--device", device, "--precision", precision]
    if source is not None:
        cmd += ["--source", source]
    for item in overrides:
        cmd += ["--set", item]
    path = os.pathsep.join(p for p in (str(TOOLS), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path})
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        what = f"benchmark child for {size} x {frames} frames"
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(size: str, frames: int, preset: str, overrides: Sequence[str], device: str, precision: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="vst-bench-") as tmp:
        source = write_input(size, frames, Path(tmp) / "in")
        return run_child(size, frames, preset, overrides, device, source, precision)


def run_scaling_section(
    sizes: list[str],
    lengths: list[int],
    length_size: str,
    iterations: int,
    device: str = "cpu",
    preset: str = "default",
    *,
    resolution_frames: int = 3,
    overrides: Sequence[str] = (),
    precision: str = "float32",
    log=None,
) -> dict:
    """Resolution rows (a `resolution_frames`-frame shot at each size) and length rows (shots of each
    length at `length_size`), every frame with exactly `iterations` iterations, each row in its own
    child process. `overrides` (--set items) come before the budget, which wins over them.
    `log(message)` is called before each row when given."""
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    for size in [*sizes, length_size]:
        parse_size(size)
    settings = [*overrides, *budget_overrides(iterations)]
    resolution_rows, length_rows = [], []
    for size in sizes:
        if log:
            log(f"resolution {size}, {resolution_frames} frames")
        row = _row(size, resolution_frames, preset, settings, device, precision)
        resolution_rows.append({**row, "kind": "resolution"})
    for n in lengths:
        if log:
            log(f"length {n} frames at {length_size}")
        row = _row(length_size, n, preset, settings, device, precision)
        length_rows.append({**row, "kind": "length"})
    return {"iterations": iterations, "resolution_rows": resolution_rows, "length_rows": length_rows}


COLUMNS = [
    ("size", "size"),
    ("frames", "frames"),
    ("wall_s_per_frame", "wall s/f"),
    ("first_frame_s", "1st frame"),
    ("wall_s_per_later_frame", "later s/f"),
    ("read_s_per_frame", "read"),
    ("colour_s_per_frame", "colour"),
    ("flow_compute_s_per_pair", "flow/pair"),
    ("flow_wait_s_per_pair", "flow wait"),
    ("optimise_s_per_frame", "optimise"),
    ("write_s_per_frame", "write"),
    ("optimise_s_per_iteration", "s/iter"),
    ("iterations_min", "it min"),
    ("peak_rss_mib", "peak MiB"),
    ("peak_cuda_mib", "CUDA MiB"),
]


def format_table(rows: list[dict]) -> str:
    cols = [(key, head) for key, head in COLUMNS if any(key in row for row in rows)]
    lines = [" ".join(f"{head:>10}" for _, head in cols)]
    for row in rows:
        cells = []
        for key, _ in cols:
            value = row.get(key, "")
            cells.append(f"{value:>10.3f}" if isinstance(value, float) else f"{value:>10}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def _child(argv: list[str] | None = None) -> int:
    """One row, printed as a JSON line: what run_child starts."""
    parser = argparse.ArgumentParser(description="one scaling row (started by run_child)")
    parser.add_argument("size")
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--source")
    add_options(parser, "preset", "set", "device", "precision")
    args = parser.parse_args(argv)
    row = run_one(
        args.size, args.frames, args.preset, args.overrides, args.device, args.source, args.precision
    )
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
