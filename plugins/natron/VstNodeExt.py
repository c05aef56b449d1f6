"""Hand-written code of the VstNode PyPlug (Natron's <PyPlug>Ext.py convention): its callbacks.

The Stylize button: (1) the source frames of the range are rendered to EXR by the group's
SourceWrite, unless they are already on disk (the Write source frames button renders them again);
(2) `vst-node render` runs on them in its own process (vst-node needs torch, which Natron's Python
has not) into a new version folder; (3) StylizedRead is pointed at that folder. A new folder per run
means Natron never shows a cached old result under an unchanged file name.

Natron's App.render is blocking only in background mode (NatronRenderer, Natron -b): there Stylize
does all three steps at once. In the GUI it returns while the Write renders, so Stylize starts the
Write and asks to be pressed again once that render has finished; it never stylizes a half-written
range. Running vst-node blocks the Natron session until it finishes (minutes per frame on a CPU).

Only NatronEngine calls documented in Natron's Python reference are used (docs/natron.md lists them).
A parameter left at its default defers to the preset; any other value goes to vst-node as
`--set key=value`, as the OFX face (vst_node.ofx) does.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile

import NatronEngine

WRITE_NODE = "SourceWrite"
READ_NODE = "StylizedRead"
CALLBACK = "VstNode.vstNodeParamChanged"  # registered with the PyPlug's module prefix (Natron docs)
EXECUTABLE_ENV = "VST_NODE_EXECUTABLE"
WORK_DIR_NAME = "vst-node-natron"
RENDERING_MARKER = ".vst-node-write-started"  # beside the source frames
WARNING_PREFIX = "vst-node: "  # + "warning: ...", how vst-node render words its warnings

# Group parameter -> the preset key it overrides (the PyPlug's STYLE_PARAMS, minus the preset itself).
PRESET_KEYS = {
    "method": "method",
    "network_statistics": "network.statistics",
    "strength": "strength",
    "weights_content": "weights.content",
    "weights_style": "weights.style",
    "weights_temporal": "weights.temporal",
    "weights_tv": "weights.tv",
    "optimiser_iterations_first": "optimiser.iterations_first",
    "optimiser_iterations": "optimiser.iterations",
    "flow_backend": "flow.backend",
    "temporal_enabled": "temporal.enabled",
    "temporal_offsets": "temporal.offsets",
    "multipass_passes": "multipass.passes",
    "colour_preserve_colour": "colour.preserve_colour",
}


def vstNodeParamChanged(thisParam, thisNode, thisGroup, app, userEdited):
    """The group's onParamChanged callback (Natron's signature); only the two buttons act."""
    name = thisParam.getScriptName()
    if name == "stylize":
        stylize(thisNode, app)
    elif name == "write_source":
        write_source(thisNode, app)


def createInstanceExt(app, group):
    """Called at the end of VstNode.createInstance: register the callback, point the Write.

    Through getParam, which works on every handle: `node.<param>` attributes exist only on the
    objects Natron declared as `app1.<node>` (the group handed to createInstance is one; what
    createNode and getNode return are not), so the code does not depend on which it was given."""
    _param(group, "onParamChanged").set(CALLBACK)
    _child(group, WRITE_NODE).getParam("filename").set(source_pattern(group))


# -- reading the group -------------------------------------------------------------------------


def _child(group, name):
    node = group.getNode(name)
    if node is None:
        raise RuntimeError(f"VstNode: the group has no {name} node (was it deleted or renamed?)")
    return node


def _param(group, name):
    param = group.getParam(name)
    if param is None:
        raise RuntimeError(f"VstNode: the group has no parameter {name!r}")
    return param


def _value(group, name):
    """A parameter's value as vst-node wants it (a choice as its option text)."""
    param = _param(group, name)
    if isinstance(param, NatronEngine.ChoiceParam):
        return param.getOption(param.getValue())
    return param.getValue()


def _default(group, name):
    param = _param(group, name)
    if isinstance(param, NatronEngine.ChoiceParam):
        return param.getOption(param.getDefaultValue())
    return param.getDefaultValue()


def work_dir(group) -> str:
    """The group's own folder under the Work folder (default: the system's temporary folder)."""
    base = _value(group, "work_dir").strip() or os.path.join(tempfile.gettempdir(), WORK_DIR_NAME)
    return os.path.join(os.path.expanduser(base), group.getScriptName())


def source_pattern(group) -> str:
    return os.path.join(work_dir(group), "source", f"{group.getScriptName()}.####.exr")


def frame_path(pattern: str, frame: int) -> str:
    """The file of one frame of a #-pattern: one # per digit, as Natron and vst-node both read it; a
    negative frame as vst-node names it, its sign before the padded digits (-0001)."""
    folder, name = os.path.split(pattern)
    sign = "-" if frame < 0 else ""
    name = re.sub(r"#+", lambda run: f"{sign}{abs(frame):0{len(run.group(0))}d}", name, count=1)
    return os.path.join(folder, name)


def frame_range(group) -> tuple[int, int]:
    first, last = int(_value(group, "first_frame")), int(_value(group, "last_frame"))
    if last < first:
        raise ValueError(f"the frame range {first}-{last} is empty")
    return first, last


def executable(group) -> list[str]:
    """The command that runs vst-node: the parameter, else $VST_NODE_EXECUTABLE, else the PATH."""
    text = _value(group, "executable").strip() or os.environ.get(EXECUTABLE_ENV, "").strip()
    if text:
        # POSIX rules on Windows would eat the backslashes of C:\...\vst-node.exe
        return split_command(text)
    found = shutil.which("vst-node")
    if found is None:
        raise FileNotFoundError(
            "vst-node was not found on the PATH: set the group's 'vst-node command' or $VST_NODE_EXECUTABLE"
        )
    return [found]


def split_command(text: str, windows: bool | None = None) -> list[str]:
    """A command line as its words: shell quoting, with Windows paths kept whole on Windows."""
    windows = os.name == "nt" if windows is None else windows
    words = shlex.split(text, posix=not windows)
    if windows:  # non-POSIX mode keeps the quotes around a quoted word
        words = [w[1:-1] if len(w) >= 2 and w[0] == w[-1] and w[0] in "\"'" else w for w in words]
    return words


def _override(group, name: str, key: str) -> str | None:
    """`key=value` for a parameter away from its default, else None (the preset decides)."""
    value = _value(group, name)
    if value == _default(group, name):
        return None
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if key == "temporal.offsets":
        offsets = ",".join(part.strip() for part in str(value).split(",") if part.strip())
        return f"{key}=[{offsets}]"
    return f"{key}={value}"


def command(group, output_pattern: str) -> list[str]:
    """The full `vst-node render` command line for the group's current settings."""
    first, last = frame_range(group)
    preset = _value(group, "preset_file").strip() or _value(group, "preset")
    argv = [
        *executable(group),
        "render",
        source_pattern(group),
        "-o",
        output_pattern,
        f"--frames={first}-{last}",  # one word: a range such as -5--1 must not read as an option
        "--preset",
        preset,
        "--device",
        _value(group, "device"),
    ]
    settings = [_override(group, name, key) for name, key in PRESET_KEYS.items()]
    settings += [line.strip() for line in _value(group, "extra_settings").splitlines()]
    for setting in settings:
        if setting and not setting.startswith("#"):
            argv += ["--set", setting]
    return argv


# -- the two buttons ---------------------------------------------------------------------------


def _status(group, app, text: str) -> None:
    _param(group, "status").set(text)
    app.writeToScriptEditor(f"VstNode {group.getScriptName()}: {text}")


def _missing_source(group) -> list[int]:
    pattern = source_pattern(group)
    first, last = frame_range(group)
    return [f for f in range(first, last + 1) if not os.path.isfile(frame_path(pattern, f))]


def _render_marker(group) -> str:
    """Present while a Write render this node started may still be running (the GUI's render)."""
    return os.path.join(os.path.dirname(source_pattern(group)), RENDERING_MARKER)


def write_source(group, app) -> bool:
    """Render the input to EXR frames (the only action that deletes source frames); True when they
    are on disk now (background mode), False while Natron's GUI renders them."""
    first, last = frame_range(group)
    pattern = source_pattern(group)
    os.makedirs(os.path.dirname(pattern), exist_ok=True)
    for frame in range(first, last + 1):  # never mix a new render with frames of an old one
        path = frame_path(pattern, frame)
        if os.path.isfile(path):
            os.remove(path)
    writer = _child(group, WRITE_NODE)
    writer.getParam("filename").set(pattern)
    with open(_render_marker(group), "w", encoding="utf-8") as marker:
        marker.write(f"{first}-{last}\n")
    app.render(writer, first, last)
    if _missing_source(group):
        _status(group, app, "writing the source frames; press Stylize once Natron's render has finished")
        return False
    os.remove(_render_marker(group))
    _status(group, app, f"source frames {first}-{last} written")
    return True


def _source_ready(group, app) -> bool:
    """Whether the source frames are complete; starts their first render when none exist.

    A partial range (a render still running, or one that was stopped) is never deleted or rendered
    again from here: that is what the Write source frames button is for."""
    missing = _missing_source(group)
    if not missing:
        if os.path.exists(_render_marker(group)):
            os.remove(_render_marker(group))
        return True
    first, last = frame_range(group)
    total = last - first + 1
    if len(missing) == total and not os.path.exists(_render_marker(group)):
        return write_source(group, app)
    _status(
        group,
        app,
        f"source frames incomplete ({total - len(missing)} of {total} written, first missing: "
        f"{missing[0]}); waiting for Natron's render of {WRITE_NODE}: press Stylize again when it has "
        "finished, or Write source frames to render them again",
    )
    return False


def _next_version(group) -> str:
    root = work_dir(group)
    taken = [
        int(name[len("stylized_v") :])
        for name in (os.listdir(root) if os.path.isdir(root) else [])
        if name.startswith("stylized_v") and name[len("stylized_v") :].isdigit()
    ]
    return os.path.join(root, f"stylized_v{max(taken, default=0) + 1:03d}")


def _child_env() -> dict[str, str]:
    """Natron's environment without its own Python's variables, which would break vst-node's.

    PYTHONNOUSERSITE: Natron sets it for its embedded Python; inherited, a `pip install --user`
    vst-node could not import itself. OCIO: Natron points it at its own config when the user has
    none; passed on explicitly so vst-node converts colours with the config Natron shows."""
    env = dict(os.environ)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONNOUSERSITE"):
        env.pop(name, None)
    if os.environ.get("OCIO"):
        env["OCIO"] = os.environ["OCIO"]
    return env


def stylize(group, app) -> bool:
    """Write the source if needed, run vst-node render, point StylizedRead at the new frames."""
    try:
        first, last = frame_range(group)
        if not _source_ready(group, app):
            return False
        output = os.path.join(_next_version(group), f"{group.getScriptName()}.####.exr")
        argv = command(group, output)
    except (OSError, ValueError, RuntimeError) as exc:
        _status(group, app, f"failed: {exc}")
        return False
    _status(group, app, f"stylizing frames {first}-{last}: {shlex.join(argv)}")
    result = subprocess.run(argv, capture_output=True, text=True, env=_child_env(), check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout or "").strip().splitlines()
        app.writeToScriptEditor(result.stderr or result.stdout or "")
        _status(group, app, f"failed (exit {result.returncode}): {lines[-1] if lines else 'no output'}")
        return False
    _child(group, READ_NODE).getParam("filename").set(output)
    # vst-node's warnings (frames the flow barely tracks) would otherwise be lost with its stderr.
    warnings = [
        line for line in (result.stderr or "").splitlines() if line.startswith(WARNING_PREFIX + "warning:")
    ]
    done = f"stylized frames {first}-{last} -> {output}"
    _status(group, app, "; ".join([done, *(w[len(WARNING_PREFIX) :].strip() for w in warnings)]))
    return True


__all__ = ["createInstanceExt", "vstNodeParamChanged"]
