"""The Sequencer sidebar tab "vst-node" and the Strip menu entry.

No `from __future__ import annotations` (see properties.py).
"""

import bpy

from . import compat
from .operator import SEQUENCER_OT_vst_preview_frame, SEQUENCER_OT_vst_stylize_strip
from .properties import CUSTOM


class SEQUENCER_PT_vst_node(bpy.types.Panel):
    """Settings and the Stylize button, next to Blender's own strip panels."""

    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "vst-node"
    bl_label = "Style Transfer"

    def draw(self, context):
        layout = self.layout
        error = compat.core_error()
        if error:
            box = layout.box()
            box.label(text="Dependencies missing", icon="ERROR")
            for line in _wrap(error, 40):
                box.label(text=line)
            return
        settings = compat.sequencer_scene(context).vst_node
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(settings, "preset")
        if settings.preset == CUSTOM:
            layout.prop(settings, "preset_file")
        layout.prop(settings, "override_weights")
        column = layout.column(align=True)
        column.enabled = settings.override_weights
        column.prop(settings, "weight_content")
        column.prop(settings, "weight_style")
        column.prop(settings, "weight_temporal")
        layout.prop(settings, "method")
        layout.prop(settings, "device")
        layout.prop(settings, "output_dir")
        strip = compat.active_strip(context)
        if strip is None:
            layout.label(text="No active strip", icon="INFO")
        else:
            span = f"{strip.frame_final_start}-{strip.frame_final_end - 1}"
            layout.label(text=f"{strip.name}: {strip.type.lower()}, frames {span}", icon="SEQUENCE")
        layout.operator(SEQUENCER_OT_vst_preview_frame.bl_idname, icon="IMAGE_DATA")
        layout.operator(SEQUENCER_OT_vst_stylize_strip.bl_idname, icon="BRUSH_DATA")


def _wrap(text, width):
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def menu_entry(self, context):
    """Strip menu > Stylize Strip (vst-node)."""
    self.layout.separator()
    self.layout.operator(SEQUENCER_OT_vst_stylize_strip.bl_idname, text="Stylize Strip (vst-node)")


CLASSES = (SEQUENCER_PT_vst_node,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.SEQUENCER_MT_strip.append(menu_entry)


def unregister():
    bpy.types.SEQUENCER_MT_strip.remove(menu_entry)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
