"""The names host adapters (the Blender add-on, the Natron PyPlug, studio scripts) may rely on.

Everything here keeps its name and meaning when the package is reorganised; anything imported
from a deeper module may move. Adapters translate their host's world into these calls; the core
decides everything else.
"""

from vst_node import __version__
from vst_node.engine.node import (
    LOW_RELIABILITY,
    OUTPUT_SECTIONS,
    STYLIZED_SECTIONS,
    StyleTransferNode,
    poor_flow_message,
)
from vst_node.errors import InputError, PresetError, RenderError, VstError
from vst_node.faces.preview import PREVIEW_SIDE, PreviewResult, preview_file, preview_frame
from vst_node.faces.progress import Progress
from vst_node.faces.render import RenderJob, RenderReport, RenderSession, default_cache_dir, render_sequence
from vst_node.io.colour import LINEAR_SPACE, config_name, output_colorspace, resolve_colorspace, to_network
from vst_node.io.sequence import SequencePattern, frame_spec
from vst_node.settings import METHODS, Preset, list_presets, load_preset, preset_digest

__all__ = [
    "LINEAR_SPACE",
    "LOW_RELIABILITY",
    "METHODS",
    "OUTPUT_SECTIONS",
    "PREVIEW_SIDE",
    "STYLIZED_SECTIONS",
    "InputError",
    "Preset",
    "PresetError",
    "PreviewResult",
    "Progress",
    "RenderError",
    "RenderJob",
    "RenderReport",
    "RenderSession",
    "SequencePattern",
    "StyleTransferNode",
    "VstError",
    "__version__",
    "config_name",
    "default_cache_dir",
    "frame_spec",
    "list_presets",
    "load_preset",
    "output_colorspace",
    "poor_flow_message",
    "preset_digest",
    "preview_file",
    "preview_frame",
    "render_sequence",
    "resolve_colorspace",
    "to_network",
]
