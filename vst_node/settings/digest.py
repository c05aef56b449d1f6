"""The resolved preset as plain data, and digests of its sections (what a cached result depends on)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vst_node.errors import PresetError
from vst_node.settings.schema import TOP_KEYS, Preset


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    """The fully resolved preset in the YAML layout (no `extends`, absolute paths as strings)."""
    out: dict[str, Any] = {}
    for key in TOP_KEYS:
        if key == "extends":
            continue
        value = getattr(preset, key)
        out[key] = _plain(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value)
    return out


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preset_digest(preset: Preset, sections: Iterable[str]) -> str:
    """Stable sha256 of the named top-level sections, so the engine invalidates only what a change affects.

    For "style" the image's content counts, not its path: moving the file keeps caches, repainting it
    does not.
    """
    resolved = preset_to_dict(preset)
    payload: dict[str, Any] = {"format": "vst-node-preset-digest-1"}
    for section in sorted(set(sections)):
        top, _, key = section.partition(".")  # "colour.input": one key of a section
        if top not in resolved or (key and key not in resolved[top]):
            raise ValueError(f"unknown preset section {section!r}; expected one of {', '.join(resolved)}")
        payload[section] = resolved[top][key] if key else resolved[top]
    if "style" in payload:
        image = preset.style.image
        try:
            stat = image.stat()
        except OSError as exc:
            raise PresetError(f"{image}: expected a readable style image, got {exc.strerror}") from exc
        image_hash = _file_sha256(str(image.resolve()), stat.st_mtime_ns, stat.st_size)
        payload["style"] = {**resolved["style"], "image": None, "image_sha256": image_hash}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
