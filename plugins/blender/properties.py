"""Scene-level settings of the panel: preset, weight overrides, device and where frames go.

No `from __future__ import annotations` here: Blender 5.0 evaluates string annotations on property
groups, but the 4.x releases this extension also allows were not tested with them.
"""

import zlib

import bpy

from . import compat

CUSTOM = "CUSTOM"
PRESET_METHOD = "PRESET"
DEFAULT_OUTPUT = "//vst_node/"
# Blender keeps only pointers to the strings an items callback returns: keep them alive here.
_preset_items: list[tuple[str, str, str, int]] = []


def _number(name: str) -> int:
    """The enum value stored in the .blend: from the name, not the position in the list, so adding or
    removing a preset file never switches a saved shot to another preset."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def preset_items(_self, _context) -> list[tuple[str, str, str, int]]:
    """The presets vst-node finds (built-ins, $VST_NODE_PRESETS) plus a custom YAML file."""
    items: list[tuple[str, str, str]] = []
    try:
        from vst_node.api import list_presets

        compat.core()
        items = [(name, name, description or str(path)) for name, path, description in list_presets()]
    except Exception as exc:  # an enum callback must never raise: the panel would stop drawing
        items = [("default", "default", f"presets unavailable: {exc}")]
    items.append((CUSTOM, "Custom file…", "A preset YAML file of your own"))
    _preset_items[:] = [(*item, _number(item[0])) for item in items]
    return _preset_items


class VSTNodeSettings(bpy.types.PropertyGroup):
    """Stored in the .blend (scene.vst_node), so a shot keeps its settings."""

    preset: bpy.props.EnumProperty(
        name="Preset", description="Style preset", items=preset_items, default=_number("default")
    )
    preset_file: bpy.props.StringProperty(
        name="Preset file",
        description="A preset YAML file (it may extend a built-in preset)",
        subtype="FILE_PATH",
        default="",
    )
    override_weights: bpy.props.BoolProperty(
        name="Override weights",
        description="Use the weights below instead of the preset's",
        default=False,
    )
    weight_content: bpy.props.FloatProperty(
        name="Content", description="Keep the shapes of the input", default=5.0, min=0.0, soft_max=100.0
    )
    weight_style: bpy.props.FloatProperty(
        name="Style", description="Match the style image's texture", default=100.0, min=0.0, soft_max=1000.0
    )
    weight_temporal: bpy.props.FloatProperty(
        name="Temporal",
        description="Stay consistent with the previous frame",
        default=1000.0,
        min=0.0,
        soft_max=10000.0,
    )
    method: bpy.props.EnumProperty(
        name="Method",
        items=[
            (PRESET_METHOD, "Preset's", "The method the preset names (optimise for the built-in presets)"),
            ("optimise", "Optimise", "Each frame optimised along the motion: best, minutes per frame"),
            ("feedforward", "Fast network", "The preset's trained network: about a second a frame, no flow"),
        ],
        default=PRESET_METHOD,
    )
    device: bpy.props.EnumProperty(
        name="Device",
        items=[
            ("auto", "Auto", "CUDA when torch sees a GPU, else the CPU"),
            ("cpu", "CPU", "Always the CPU"),
            ("cuda", "CUDA", "An NVIDIA GPU (an error when torch has none)"),
        ],
        default="auto",
    )
    output_dir: bpy.props.StringProperty(
        name="Output",
        description=(
            "Folder for stylized frames; each strip and setting gets a sub-folder. "
            "'//' is relative to the .blend file"
        ),
        subtype="DIR_PATH",
        default=DEFAULT_OUTPUT,
    )

    def overrides(self) -> list[str]:
        """The method and weight overrides as vst-node `--set` items."""
        method = [] if self.method == PRESET_METHOD else [f"method={self.method}"]
        if not self.override_weights:
            return method
        return [
            *method,
            f"weights.content={self.weight_content!r}",
            f"weights.style={self.weight_style!r}",
            f"weights.temporal={self.weight_temporal!r}",
        ]

    def preset_reference(self) -> str:
        """A preset name, or the absolute path of the custom file ('' when none is chosen)."""
        if self.preset == CUSTOM:
            return bpy.path.abspath(self.preset_file) if self.preset_file else ""
        return self.preset


CLASSES = (VSTNodeSettings,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.vst_node = bpy.props.PointerProperty(type=VSTNodeSettings)


def unregister() -> None:
    del bpy.types.Scene.vst_node
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
