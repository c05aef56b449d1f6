"""What differs between Blender versions and between Blender's Python and a plain one, in one place.

- Blender 4.4 renamed `sequence_editor.sequences` to `.strips` and 5.0 removed the old name, so every
  strip collection goes through `strips()`.
- vst-node reads colour through OpenImageIO's ColorConfig, which honours $OCIO; inside Blender it must
  use the config Blender itself uses, or strip colour-space names would mean something else.
- Blender 5.0 bundles OpenImageIO 3.0 Python bindings (they win on sys.path over any wheel); the core
  handles their missing `get_color_interop_id` itself (interop IDs from the config's aliases).
- A wheel's data files (vst-node's built-in presets) do not land under sys.prefix when Blender
  installs it, so the zip ships `presets/` next to this file and $VST_NODE_PRESETS points there.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import bpy

ADDON_DIR = Path(__file__).resolve().parent
_core_error: str | None = None
_core_ready = False


def strips(scene: bpy.types.Scene) -> Any:
    """The scene's top-level strips (`strips` in 4.4+, `sequences` before); None without an editor."""
    editor = scene.sequence_editor
    if editor is None:
        return None
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def all_strips(scene: bpy.types.Scene) -> list[Any]:
    """Every strip, meta-strip contents included (`strips_all` in 4.4+, `sequences_all` before)."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def sequencer_scene(context: bpy.types.Context) -> Any:
    """The scene the Sequencer edits: Blender 5.0's workspace `sequencer_scene` when set (it can differ
    from the window's scene), else the context's scene."""
    return getattr(context, "sequencer_scene", None) or getattr(context, "scene", None)


def active_strip(context: bpy.types.Context) -> Any:
    """The active strip of the edited scene (None when there is no sequencer or no active strip)."""
    scene = sequencer_scene(context)
    editor = scene.sequence_editor if scene is not None else None
    return editor.active_strip if editor is not None else None


def blender_ocio_config() -> str:
    """The OCIO config Blender uses: $OCIO when set at start-up, else the one in its datafiles."""
    if os.environ.get("OCIO"):
        return os.environ["OCIO"]
    datafiles = bpy.utils.system_resource("DATAFILES")
    return os.path.join(datafiles, "colormanagement", "config.ocio")


def _ship_presets() -> None:
    shipped = ADDON_DIR / "presets"
    if not shipped.is_dir():
        return  # a source checkout: vst_node finds the repository's presets/ itself
    folders = [p for p in os.environ.get("VST_NODE_PRESETS", "").split(os.pathsep) if p]
    if str(shipped) not in folders:
        os.environ["VST_NODE_PRESETS"] = os.pathsep.join([*folders, str(shipped)])


def setup_environment() -> None:
    """$OCIO and $VST_NODE_PRESETS, set at register time: before anything asks OpenImageIO for colour.

    OpenImageIO reads $OCIO once, when its default colour config is first needed, and
    `vst_node.api.to_network` converts through that default config; see `colour_problem`.
    """
    os.environ.setdefault("OCIO", blender_ocio_config())
    _ship_presets()


def colour_problem() -> str | None:
    """Why vst-node cannot convert between Blender's colour spaces, or None."""
    import numpy as np

    from vst_node.api import LINEAR_SPACE, to_network

    try:
        to_network(np.full((1, 1, 4), 0.5, dtype=np.float32), LINEAR_SPACE)
    except Exception as exc:
        return f"vst-node cannot convert colours with the OCIO config {os.environ.get('OCIO')}: {exc}"
    return None


def core() -> ModuleType:
    """Import vst_node set up for Blender (OCIO config, presets); ImportError when missing.

    Cheap after the first call. The environment is set before vst_node reads its colour config.
    """
    global _core_error, _core_ready
    if _core_ready:
        import vst_node

        return vst_node
    setup_environment()
    try:
        import vst_node
        import vst_node.api  # torch: the dependency most likely to be missing
    except ImportError as exc:
        _core_error = f"vst-node's Python packages are not installed in Blender ({exc}); see docs/blender.md"
        raise ImportError(_core_error) from exc
    config = vst_node.api.config_name()
    if os.path.abspath(config) != os.path.abspath(os.environ["OCIO"]):
        print(f"vst-node: warning: colour config is {config}, Blender's is {os.environ['OCIO']}")
    _core_error = None
    _core_ready = True
    return vst_node


def core_error() -> str | None:
    """Why vst_node cannot be imported (for the panel), or None when it can."""
    if _core_ready:
        return None
    try:
        core()
    except ImportError:
        return _core_error
    return None
