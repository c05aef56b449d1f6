"""The command-line options several benchmark scripts share, declared once.

    add_options(parser, "preset", "set", "device", "json", device={"help": "torch device for the weights"})

adds those options with the shared flags, defaults and help; a keyword named like an option changes
some of its argparse settings for that script.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchkit.sintel import DEFAULT_DATA
from vst_node.settings import PRECISION_CHOICES

OPTIONS: dict[str, dict[str, Any]] = {
    "data": {"type": Path, "default": DEFAULT_DATA, "help": "the shared data folder (default: %(default)s)"},
    "device": {"default": "cpu", "help": "torch device: cpu, cuda, cuda:1 ... (default: %(default)s)"},
    "precision": {
        "default": "float32",
        "choices": PRECISION_CHOICES,
        "help": "the network's arithmetic (default: %(default)s)",
    },
    "json": {"type": Path, "help": "write the results as JSON here"},
    "preset": {"default": "default", "help": "the preset (default: %(default)s)"},
    "set": {
        "dest": "overrides",
        "action": "append",
        "default": [],
        "metavar": "KEY=VALUE",
        "help": "override a preset setting (repeatable)",
    },
    "sizes": {
        "nargs": "+",
        "default": ["512x218"],
        "metavar": "WxH",
        "help": "frame sizes (default: %(default)s)",
    },
    "scale": {"type": int, "default": 8, "help": "Sintel downscale factor (8: 128x54)"},
    "first": {
        "type": int,
        "default": 200,
        "help": "first-frame / per-frame iterations (default: %(default)s)",
    },
    "later": {"type": int, "default": 100, "help": "later-frame iterations (default: %(default)s)"},
    "passes": {"type": int, "default": 4, "help": "multi-pass: passes (default: %(default)s)"},
    "pass_iterations": {
        "type": int,
        "default": 40,
        "help": "multi-pass: iterations per pass (default: %(default)s)",
    },
    "temporal_from": {
        "type": int,
        "default": 2,
        "help": "multi-pass: the first pass with the temporal loss (default: %(default)s)",
    },
}


def add_options(parser: argparse.ArgumentParser, *names: str, **changes: dict[str, Any]) -> None:
    """Add the shared options `names` (keys of OPTIONS) to `parser`, in that order."""
    unknown = sorted(set(names) - set(OPTIONS)) + sorted(set(changes) - set(names))
    if unknown:
        raise ValueError(
            f"unknown or unused option(s) {', '.join(unknown)}; expected some of {', '.join(OPTIONS)}"
        )
    for name in names:
        parser.add_argument("--" + name.replace("_", "-"), **{**OPTIONS[name], **changes.get(name, {})})


def parse_size(size: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' as (width, height)."""
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {size!r}: expected WIDTHxHEIGHT, e.g. 128x54") from None
    return width, height
