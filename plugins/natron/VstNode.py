# Natron PyPlug
"""vst-node style transfer as a Natron group (PyPlug); Natron 2.5 or later (its Python 3).

Inside the group: Input1 -> SourceWrite (WriteOIIO, EXR), and StylizedRead (ReadOIIO) -> Output1.
Stylizing runs outside Natron's render graph, because it needs the whole shot in order and vst-node
needs torch, which Natron's Python does not have: the Stylize button (VstNodeExt.py) renders
SourceWrite over the frame range, runs `vst-node render` on those frames in its own process, and
points StylizedRead at the result. This file only builds the group, the way Natron's PyPlug
exporter lays it out; the hand-written logic is in VstNodeExt.py (the PyPlug convention).

Only NatronEngine is used (no NatronGui), so the PyPlug also loads in NatronRenderer. The parameters
mirror the OFX face's descriptors (vst_node.ofx.describe(); tests/test_natron_pyplug.py keeps them
equal): Natron's Python cannot import vst_node, so they are written out here.
"""

from __future__ import annotations

import NatronEngine
import VstNodeExt
from VstNodeExt import *  # noqa: F403  (callbacks are registered as "VstNode.<function>")

# (script name, type, label, default, min, max, display min, display max, options, help)
STYLE_PARAMS = (
    ("preset", "choice", "Preset", "default", None, None, None, None,
     ("default", "ink", "mosaic", "swirls"), "The look: a built-in preset (a YAML file: Preset file)."),
    ("preset_file", "file", "Preset file", "", None, None, None, None, (),
     "A preset YAML file; when set it replaces the Preset choice."),
    ("method", "choice", "Method", "optimise", None, None, None, None, ("optimise", "feedforward"),
     "optimise: each frame optimised along the flow (best, slow); feedforward: the preset's trained"
     " network, one pass per frame, needs no other frames (method)."),
    ("network_statistics", "choice", "Network statistics", "frame", None, None, None, None, ("frame", "shot"),
     "feedforward: frame = each frame's own normalisation; shot = from frames sampled across the shot,"
     " frozen (steadier look) (network.statistics)."),
    ("strength", "double", "Strength", 1.0, 0.0, 1.0, 0.0, 1.0, (),
     "Mix of stylized and source; 0 passes the source through (preset key strength)."),
    ("weights_content", "double", "Content weight", 5.0, 0.0, None, 0.0, 20.0, (),
     "How closely shapes follow the source frame (weights.content)."),
    ("weights_style", "double", "Style weight", 100.0, 0.0, None, 0.0, 400.0, (),
     "How strongly the style image's texture is imposed (weights.style)."),
    ("weights_temporal", "double", "Temporal weight", 1000.0, 0.0, None, 0.0, 4000.0, (),
     "Pull of each frame toward the previous one, warped (weights.temporal)."),
    ("weights_tv", "double", "Smoothing (TV)", 0.001, 0.0, None, 0.0, 1.0, (),
     "Total-variation smoothing against pixel noise (weights.tv)."),
    ("optimiser_iterations_first", "int", "Iterations (first frame)", 400, 1, None, 1, 1600, (),
     "Budget of the first frame (optimiser.iterations_first)."),
    ("optimiser_iterations", "int", "Iterations", 200, 1, None, 1, 800, (),
     "Budget of every later frame (optimiser.iterations)."),
    ("flow_backend", "choice", "Optical flow", "dis", None, None, None, None,
     ("dis", "deepflow", "farneback", "matched", "auto"),
     "Flow between frames: dis is fast; matched follows fast motion; auto picks per pair (flow.backend)."),
    ("temporal_enabled", "bool", "Temporal consistency", True, None, None, None, None, (),
     "Off = every frame on its own, which flickers (temporal.enabled)."),
    ("temporal_offsets", "string", "Temporal offsets", "1", None, None, None, None, (),
     "Frames back the temporal loss looks, e.g. 1 or 1,2,4 (temporal.offsets)."),
    ("multipass_passes", "int", "Passes", 1, 1, None, 1, 4, (),
     "Above 1: the whole range several times, alternating direction (multipass.passes)."),
    ("colour_preserve_colour", "bool", "Preserve colour", False, None, None, None, None, (),
     "Keep the source's colours; only luminance is stylized (colour.preserve_colour)."),
)  # fmt: skip

DEVICES = ("auto", "cpu", "cuda")


def getPluginID():
    return "org.vstnode.natron.VstNode"


def getLabel():
    return "VstNode"


def getVersion():
    return 1


def getGrouping():
    return "Filter"


def getDescription():
    return (
        "Temporally stable neural style transfer (vst-node). Press Stylize: the group writes its input "
        "as EXR frames, runs `vst-node render` on them and reads the stylized frames back. "
        "Needs Natron 2.5 or later (Python 3); Natron 2.4's Python 2 cannot load it."
    )


def getPluginDescription():
    """The same text under the name some PyPlug templates use; Natron documents getDescription()."""
    return getDescription()


def option_pairs(options):
    """ChoiceParam.setOptions takes (label, help) pairs in Natron 2.5; plain strings are a TypeError."""
    return [(str(option), "") for option in options]


def _connect(node, index, upstream):
    """connectInput returns False (it does not raise) when Natron refuses the link."""
    if not node.connectInput(index, upstream):
        raise RuntimeError(
            f"VstNode: Natron refused to connect {upstream.getScriptName()} to input {index} of "
            f"{node.getScriptName()}"
        )


def _node(app, group, plugin_id, script_name, major_version, x, y):
    node = app.createNode(plugin_id, major_version, group)
    if node is None:
        raise RuntimeError(f"VstNode: Natron could not create a {plugin_id} node")
    # setScriptName returns False (it does not raise) for a name Natron refuses or one in use
    if not node.setScriptName(script_name) and node.getScriptName() != script_name:
        raise RuntimeError(f"VstNode: Natron refused the name {script_name!r} for a {plugin_id} node")
    node.setLabel(script_name)
    node.setPosition(x, y)
    return node


def _add(page, param, help_text):
    param.setHelp(help_text)
    param.setAddNewLine(True)
    page.addParam(param)
    return param


def _style_param(group, page, spec):
    name, kind, label, default, low, high, display_low, display_high, options, help_text = spec
    if kind == "choice":
        param = group.createChoiceParam(name, label)
        param.setOptions(option_pairs(options))
        param.setDefaultValue(default)
    elif kind == "bool":
        param = group.createBooleanParam(name, label)
        param.setDefaultValue(default)
    elif kind in ("int", "double"):
        param = group.createIntParam(name, label) if kind == "int" else group.createDoubleParam(name, label)
        if low is not None:
            param.setMinimum(low, 0)
        if high is not None:
            param.setMaximum(high, 0)
        param.setDisplayMinimum(display_low, 0)
        param.setDisplayMaximum(display_high, 0)
        param.setDefaultValue(default, 0)
    elif kind == "file":
        param = group.createFileParam(name, label)
        param.setDefaultValue(default)
    else:
        param = group.createStringParam(name, label)
        param.setDefaultValue(default)
    param.restoreDefaultValue()
    param.setAnimationEnabled(False)  # one value per shot: animating a weight breaks the temporal chain
    return _add(page, param, help_text)


def createInstance(app, group):
    """Build the group's graph and parameters; VstNodeExt.createInstanceExt registers the callback."""
    source_input = _node(app, group, "fr.inria.built-in.Input", "Input1", 1, 0, 0)
    writer = _node(app, group, "fr.inria.openfx.WriteOIIO", VstNodeExt.WRITE_NODE, -1, 0, 150)
    reader = _node(app, group, "fr.inria.openfx.ReadOIIO", VstNodeExt.READ_NODE, -1, 250, 150)
    output = _node(app, group, "fr.inria.built-in.Output", "Output1", 1, 250, 300)
    _connect(writer, 0, source_input)
    _connect(output, 0, reader)

    style_page = group.createPageParam("vstStyle", "Style")
    for spec in STYLE_PARAMS:
        _style_param(group, style_page, spec)

    render_page = group.createPageParam("vstRender", "Render")
    first = _add(render_page, group.createIntParam("first_frame", "First frame"), "First frame to stylize.")
    first.setDefaultValue(app.timelineGetLeftBound(), 0)
    first.restoreDefaultValue()
    last = _add(render_page, group.createIntParam("last_frame", "Last frame"), "Last frame to stylize.")
    last.setDefaultValue(app.timelineGetRightBound(), 0)
    last.restoreDefaultValue()
    device = _add(
        render_page,
        group.createChoiceParam("device", "Device"),
        "auto uses a CUDA GPU when vst-node's torch sees one.",
    )
    device.setOptions(option_pairs(DEVICES))
    device.setDefaultValue("auto")
    device.restoreDefaultValue()
    _add(
        render_page,
        group.createPathParam("work_dir", "Work folder"),
        "Where the source frames and each stylized version go (default: a vst-node-natron folder in "
        "the system's temporary folder). Set it to keep results with the project.",
    )
    _add(
        render_page,
        group.createStringParam("executable", "vst-node command"),
        "How to run vst-node, e.g. /opt/vst/bin/vst-node (default: $VST_NODE_EXECUTABLE, else vst-node "
        "on the PATH).",
    )
    extra = group.createStringParam("extra_settings", "Extra settings")
    extra.setType(NatronEngine.StringParam.TypeEnum.eStringTypeMultiLine)  # right after creation (docs)
    _add(
        render_page,
        extra,
        "More preset overrides, one key=value per line (vst-node render --set), e.g. "
        "resolution.max_side=960.",
    )
    _add(
        render_page,
        group.createButtonParam("write_source", "Write source frames"),
        "Render the input to EXR frames again (after the upstream graph changed).",
    )
    _add(
        render_page,
        group.createButtonParam("stylize", "Stylize"),
        "Write the source frames if needed, run vst-node render, read the result.",
    )
    status = group.createStringParam("status", "Status")
    status.setType(NatronEngine.StringParam.TypeEnum.eStringTypeLabel)
    status.setPersistent(False)
    _add(render_page, status, "What the last action did.")

    group.setPagesOrder(["vstStyle", "vstRender", "Node"])
    group.refreshUserParamsGUI()
    VstNodeExt.createInstanceExt(app, group)
