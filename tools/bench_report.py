#!/usr/bin/env python
"""Markdown report and PNG charts from a benchmark suite's `suite.json`.

    python tools/bench_report.py docs/benchmarks/suite/suite.json [--out DIR]

Writes `report.md` and the charts (`sintel_temporal_error.png`, `sintel_style_vs_temporal.png`,
`peer.png`, `flow.png`, `scaling.png`) into DIR (default: the JSON's folder), with benchkit/report/
(one module per section). Every section of the suite is optional: a missing one is reported as
"not run", and a missing field gives a warning on stderr and an empty cell, never an exception.
Without matplotlib the report is written without charts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchkit.report import write_report

__all__ = ["main", "write_report"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("suite_json", type=Path, metavar="SUITE_JSON")
    parser.add_argument("--out", type=Path, help="output folder (default: the JSON's folder)")
    args = parser.parse_args(argv)
    try:
        suite = json.loads(args.suite_json.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.suite_json}: {exc}", file=sys.stderr)
        return 2
    for path in write_report(suite, args.out or args.suite_json.parent):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
