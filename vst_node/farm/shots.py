"""Shot list files: the shots of a farm plan, written by hand or by a pipeline.

YAML (JSON is YAML too), a list of shots or a mapping with a `shots:` list; each shot has `source`
and `output` (sequence patterns, relative to the file), optionally `frames`, `layer` and `name`:

    shots:
      - {source: plates/sh010.####.exr, output: styl/sh010.####.exr, frames: 1001-1100}
      - source: plates/sh020.####.exr
        output: styl/sh020.####.exr
"""

from __future__ import annotations

from pathlib import Path

import yaml

from vst_node.errors import InputError
from vst_node.farm.plan import ShotRequest

_KEYS = {"source", "output", "frames", "layer", "name"}


def read_shot_list(path: Path) -> list[ShotRequest]:
    """Every shot of the file; every mistake is listed with its entry and key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the shot list ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("shots")
    if not isinstance(data, list) or not data:
        raise InputError(
            f"{path}: expected a list of shots (or `shots:` with a list), each with source and output"
        )
    shots: list[ShotRequest] = []
    problems: list[str] = []
    for index, entry in enumerate(data, start=1):
        where = f"{path}: shot {index}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with source and output, got {entry!r}")
            continue
        unknown = sorted(set(entry) - _KEYS)
        missing = sorted({"source", "output"} - set(entry))
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(_KEYS))})"
            )
        if missing:
            problems.append(f"{where}: missing {' and '.join(missing)}")
        if unknown or missing:
            continue
        text = {key: None if value is None else str(value) for key, value in entry.items()}
        shots.append(
            ShotRequest(
                source=str(path.parent / text["source"]),
                output=str(path.parent / text["output"]),
                frames=text.get("frames"),
                layer=text.get("layer"),
                name=text.get("name"),
            )
        )
    if problems:
        raise InputError("\n  ".join(["the shot list has problems:", *problems]))
    return shots
