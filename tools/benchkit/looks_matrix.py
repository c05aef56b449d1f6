"""The looks matrix: every built-in preset at every processing size on the bedroom clip and the
built-in shot, gathered from `bench_looks.py` results, with the cells nobody has measured yet.

A result counts only when it measured what ships today: its `--set` overrides resolve to the
shipped preset, and its frames carry the run-up record with frame 1's run-up as the preset's
(results from builds before the run-up, or with a longer or shorter one, are left out). Per cell the
pop comes from a run of at least five frames (frame 1 against frames 2-5); a one-frame run gives
only the structure measure and style loss of frame 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vst_node.errors import PresetError
from vst_node.settings import load_preset
from vst_node.settings.digest import preset_to_dict
from vst_node.settings.loading import builtin_presets_dir, list_presets

CLIPS = ("bedroom", "builtin")
SIZES = (320, 512, 1024)
POP_FRAMES = 5
BENCH_BASE = ["resolution.max_side=null", "resolution.scale=1"]  # what bench_looks sets on every run


def builtin_preset_names() -> list[str]:
    """The presets that ship inside the package (not those of $VST_NODE_PRESETS folders)."""
    root = builtin_presets_dir().resolve()
    return [name for name, path, *_ in list_presets() if Path(path).resolve().parent == root]


@dataclass(frozen=True)
class Result:
    """One bench_looks row and the file it came from."""

    file: Path
    row: dict
    device: str
    threads: int | None

    @property
    def frames(self) -> int:
        return len(self.row["frames"])


def read_results(paths: Iterable[Path]) -> list[Result]:
    results = []
    for path in paths:
        payload = json.loads(Path(path).read_text())
        for row in payload.get("looks", []):
            device = row.get("device", payload.get("device", "cpu"))
            results.append(Result(Path(path), row, device, payload.get("torch_threads")))
    return results


def is_shipped(row: dict) -> bool:
    """Whether the row measured the preset as it ships now (see the module docstring)."""
    try:
        shipped = load_preset(row["preset"], BENCH_BASE)
        measured = load_preset(row["preset"], [*BENCH_BASE, *row.get("overrides", [])])
    except PresetError:  # a preset that no longer loads (or a key it no longer has) is not today's
        return False
    if preset_to_dict(shipped) != preset_to_dict(measured):
        return False
    first = row["frames"][0]
    if "run_up" not in first:
        return False
    expected = shipped.init.run_up if len(row["frames"]) > 1 else 0
    return first["run_up"] == expected


@dataclass(frozen=True)
class Cell:
    clip: str
    preset: str
    size: int
    pop: Result | None  # a shipped run of at least POP_FRAMES frames
    structure: Result | None  # the pop run, else a shipped one-frame run

    @property
    def missing(self) -> list[str]:
        return [name for name, have in (("pop", self.pop), ("structure", self.structure)) if have is None]


def build_matrix(
    results: Sequence[Result],
    presets: Sequence[str],
    clips: Sequence[str] = CLIPS,
    sizes: Sequence[int] = SIZES,
) -> list[Cell]:
    """One cell per clip, preset and size; among several qualifying runs the one with the most
    frames wins, then the last file name (file times do not survive a clone)."""
    shipped = sorted((r for r in results if is_shipped(r.row)), key=lambda r: (r.frames, r.file.name))
    cells = []
    for clip in clips:
        for preset in presets:
            for size in sizes:
                here = [
                    r
                    for r in shipped
                    if (r.row["clip"], r.row["preset"], r.row["size"]) == (clip, preset, size)
                ]
                pop = next((r for r in reversed(here) if r.frames >= POP_FRAMES), None)
                structure = pop or next((r for r in reversed(here) if r.frames == 1), None)
                cells.append(Cell(clip, preset, size, pop, structure))
    return cells


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cell_record(cell: Cell) -> dict:
    """The cell as plain data: measures, where they came from, what is missing."""
    record: dict = {"clip": cell.clip, "preset": cell.preset, "size": cell.size, "missing": cell.missing}
    if cell.structure is not None:
        row = cell.structure.row
        record.update(
            frame_size=row["frame_size"],
            frames=cell.structure.frames,
            edge_correlation=row["edge_correlation"],
            style_loss=row["style_loss"],
            structure_file=cell.structure.file.name,
        )
    if cell.pop is not None:
        row = cell.pop.row
        record.update(
            pop_high_frequency=row["pop_high_frequency"],
            pop_style_loss=row["pop_style_loss"],
            temporal_error_1_2=row["temporal_error_1_2"],
            temporal_error_2_3=row["temporal_error_2_3"],
            seconds_per_frame=row["seconds_per_frame"],
            device=cell.pop.device,
            torch_threads=cell.pop.threads,
            pop_file=cell.pop.file.name,
        )
    return record


def format_matrix(cells: Sequence[Cell]) -> str:
    """A markdown table, one line per cell; '-' where a measure is missing."""
    lines = [
        "| clip | preset | size | edge corr. | style loss | pop HF / style | error 1-2 / 2-3 | s / frame"
        " | from |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        r = cell_record(cell)
        frames = r.get("frames")
        edge = _fmt(r.get("edge_correlation"), ".3f") + (" (frame 1)" if frames == 1 else "")
        pop = f"{_fmt(r.get('pop_high_frequency'), '.2f')} / {_fmt(r.get('pop_style_loss'), '.2f')}"
        errors = f"{_fmt(r.get('temporal_error_1_2'), '.5f')} / {_fmt(r.get('temporal_error_2_3'), '.5f')}"
        seconds = _fmt(r.get("seconds_per_frame"), ".0f")
        if "device" in r:
            seconds += f" ({r['device']}, {r['torch_threads']} thr.)"
        source = r.get("pop_file") or r.get("structure_file") or "not run"
        lines.append(
            f"| {cell.clip} | {cell.preset} | {cell.size} | {edge} | {_fmt(r.get('style_loss'), '.3g')} |"
            f" {pop} | {errors} | {seconds} | {source} |"
        )
    return "\n".join(lines)
