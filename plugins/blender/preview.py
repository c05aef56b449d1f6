"""Preview the frame under the playhead through the preset's fast network, before stylizing a strip.

The frame is read the way a stylize job reads it (numbered image files directly; anything else
decoded by Blender to a linear EXR), stylized by vst_node's `preview_file` at preview size, and put
into the image datablock "vst-node preview" (linear float), shown in any open Image Editor.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from .stylize import (
    StylizeError,
    _Decoder,
    _is_retimed,
    element_index,
    require_core,
    resolve_colorspace_or_error,
)

PREVIEW_IMAGE = "vst-node preview"


def _source_file(strip: Any, frame: int) -> Path | None:
    """The file an image strip shows at `frame` when it is a plain element; None otherwise."""
    if strip.type != "IMAGE" or strip.use_reverse_frames or _is_retimed(strip) or strip.strobe > 1.0:
        return None
    index = element_index(strip, frame)
    if not 0 <= index < len(strip.elements):
        return None
    return Path(bpy.path.abspath(strip.directory)) / strip.elements[index].filename


def _show(rgba: np.ndarray, colorspace: str) -> Any:
    """The result as the "vst-node preview" image (replaced when the size changed), tagged with the
    active OCIO config's name for linear Rec.709 (a studio config names it otherwise)."""
    height, width = rgba.shape[:2]
    image = bpy.data.images.get(PREVIEW_IMAGE)
    if image is not None and tuple(image.size) != (width, height):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        image = bpy.data.images.new(PREVIEW_IMAGE, width, height, alpha=True, float_buffer=True)
    image.colorspace_settings.name = colorspace
    image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], np.float32).ravel())  # Blender is bottom-up
    image.update()
    screen = getattr(bpy.context, "screen", None)
    for area in screen.areas if screen is not None else ():
        if area.type == "IMAGE_EDITOR":
            area.spaces.active.image = image
            area.tag_redraw()
    return image


def preview_strip_frame(scene: Any, strip: Any, settings: Any, frame: int) -> tuple[Any, float]:
    """(the preview image, seconds); StylizeError for anything the artist can fix."""
    require_core()
    from vst_node.api import (
        LINEAR_SPACE,
        SequencePattern,
        VstError,
        load_preset,
        preview_file,
        resolve_colorspace,
    )

    if strip is None or strip.type not in {"IMAGE", "MOVIE"}:
        raise StylizeError("select an image or movie strip to preview")
    if not int(strip.frame_final_start) <= frame < int(strip.frame_final_end):
        raise StylizeError(f"the playhead (frame {frame}) is not over strip {strip.name!r}")
    preset_ref = settings.preset_reference()
    if not preset_ref:
        raise StylizeError("choose a preset file (or a built-in preset)")
    linear = resolve_colorspace_or_error(resolve_colorspace, LINEAR_SPACE)
    try:
        preset = load_preset(preset_ref, settings.overrides())
        path = _source_file(strip, frame)
        if path is not None:
            space = strip.colorspace_settings.name
            result = preview_file(preset, path, space, settings.device, output_space=linear)
        else:
            with tempfile.TemporaryDirectory(prefix="vst-node-preview-") as folder:
                pattern = SequencePattern.parse(str(Path(folder) / "frame.####.exr"))
                decoder = _Decoder(scene, strip, pattern, linear)
                decoder.open()
                try:
                    decoder.decode(frame, 1)
                finally:
                    decoder.close()
                result = preview_file(preset, pattern.path(1), linear, settings.device, output_space=linear)
    except VstError as exc:
        raise StylizeError(str(exc)) from exc
    return _show(result.rgba, linear), result.seconds
