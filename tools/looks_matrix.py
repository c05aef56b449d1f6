#!/usr/bin/env python
"""The looks matrix: every built-in preset at 320, 512 and 1024 px on the bedroom clip and the built-in
shot, from `bench_looks.py` results of the presets as they ship, and the cells still to run.

    python tools/looks_matrix.py docs/benchmarks/looks/*.json --json docs/benchmarks/looks_matrix.json

Prints a markdown table (structure measure, style loss, first-frame pop, temporal error of the first
two pairs, seconds per frame with the device and torch threads it ran on) and, last, the
`bench_looks.py` command for each missing cell. Results of older builds or with `--set` overrides that
change the preset are left out (benchkit/looks_matrix.py says how).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchkit.looks_matrix import (
    CLIPS,
    POP_FRAMES,
    SIZES,
    build_matrix,
    builtin_preset_names,
    cell_record,
    format_matrix,
    read_results,
)
from benchkit.machine import write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="+", type=Path, help="bench_looks.py JSON files")
    parser.add_argument("--json", type=Path, help="write the matrix as JSON here")
    args = parser.parse_args(argv)
    cells = build_matrix(read_results(args.results), builtin_preset_names(), CLIPS, SIZES)
    print(format_matrix(cells))
    todo = [c for c in cells if c.pop is None]
    print(f"\n{len(cells) - len(todo)} of {len(cells)} cells have a pop measurement; to run:")
    for c in todo:
        print(
            f"  python tools/bench_looks.py --clip {c.clip} --preset {c.preset} --size {c.size}"
            f" --frames {POP_FRAMES} --json docs/benchmarks/looks/{c.clip}_{c.preset}_{c.size}.json"
        )
    # The matrix gathers runs from several machines; each cell records its own device and threads.
    write_results(args.json, "mixed", {"cells": [cell_record(c) for c in cells]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
