"""Contact sheets: a few frames across the range, source above each stylized version, as one PNG,
so that an artist can compare presets at a glance (`vst-node sheet`, `render --contact-sheet`,
the demo's preview)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vst_node.errors import InputError
from vst_node.io.colour import input_colorspace, output_colorspace, to_network
from vst_node.io.image_io import Frame, read_frame, write_image
from vst_node.io.sequence import SequencePattern

DEFAULT_COUNT = 4
DEFAULT_TILE_WIDTH = 320
_LABEL_HEIGHT = 18


def check_sheet_path(destination: Path | str) -> None:
    """Before any work: a contact sheet is a PNG."""
    if Path(destination).suffix.lower() != ".png":
        raise InputError(f"{destination}: a contact sheet is a PNG (.png)")


def pick_frames(frames: Sequence[int], count: int = DEFAULT_COUNT) -> list[int]:
    """`count` frames spread evenly over the range, the first and the last included."""
    frames = list(frames)
    if count < 1 or not frames:
        raise ValueError("a contact sheet needs at least one frame")
    if len(frames) <= count:
        return frames
    if count == 1:
        return [frames[0]]
    step = (len(frames) - 1) / (count - 1)
    return [frames[round(i * step)] for i in range(count)]


def _display(image: Frame, space: str) -> np.ndarray:
    """A frame as sRGB-encoded RGB in [0, 1] (what a viewer shows)."""
    rgb, _alpha = to_network(image.rgba, space)
    return np.clip(np.nan_to_num(rgb), 0.0, 1.0)


def _tile(rgb: np.ndarray, width: int, label: str) -> np.ndarray:
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    tile = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    strip = np.zeros((_LABEL_HEIGHT, width, 3), np.uint8)  # OpenCV draws text on 8-bit images only
    cv2.putText(
        strip, label, (4, _LABEL_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA
    )
    return np.concatenate([strip.astype(np.float32) / 255.0, tile], axis=0)


def contact_sheet(
    source: SequencePattern,
    results: Sequence[SequencePattern],
    frames: Sequence[int],
    destination: Path,
    *,
    count: int = DEFAULT_COUNT,
    tile_width: int = DEFAULT_TILE_WIDTH,
    layer: str | None = None,
) -> list[int]:
    """Write the sheet: one column per picked frame, the source on top, then each result sequence
    (labelled with the preset its frames record). Returns the frames shown."""
    check_sheet_path(destination)
    picked = pick_frames(frames, count)
    missing = [str(r.path(f)) for r in [source, *results] for f in picked if not r.path(f).exists()]
    if missing:
        raise InputError(f"contact sheet: missing frame(s): {', '.join(missing[:5])}")
    rows = []
    for pattern in [source, *results]:
        tiles = []
        for frame in picked:
            path = pattern.path(frame)
            if pattern is source:
                image = read_frame(path, layer)
                rgb, name = _display(image, input_colorspace(image, "auto")), "source"
            else:
                image = read_frame(path, layer)  # a render keeps the input's other layers beside it
                rgb = _display(image, output_colorspace(path))
                name = image.spec.get_string_attribute("vst:preset") or path.stem
            tiles.append(_tile(rgb, tile_width, f"{name}  frame {frame}"))
        height = max(t.shape[0] for t in tiles)
        tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
        rows.append(np.concatenate(tiles, axis=1))
    write_image(Path(destination), np.concatenate(rows, axis=0), colorspace="sRGB", pixel_type="uint8")
    return picked
