"""Fixtures for the add-on tests, run against the real `bpy` module (tools/blender_tests.sh).

bpy is imported after pointing Blender's user folders and vst-node's flow cache at temporary folders,
so the tests neither read nor write the user's Blender configuration or caches. Every render uses a
tiny iteration budget: the suite checks plumbing, colour and placement, not looks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SCRATCH = Path(tempfile.mkdtemp(prefix="vst-blender-tests-"))
os.environ.setdefault("BLENDER_USER_RESOURCES", str(_SCRATCH / "blender-user"))
os.environ["VST_NODE_CACHE"] = str(_SCRATCH / "cache")

import bpy  # noqa: E402  (after the environment above)
import pytest  # noqa: E402
from helpers import HEIGHT, WIDTH, load_addon  # noqa: E402


@pytest.fixture(scope="session")
def addon():
    module = load_addon()
    module.register()
    yield module
    module.unregister()


@pytest.fixture()
def scene(addon, tmp_path):
    """An empty factory scene saved as tmp_path/project/shot.blend (so '//' paths resolve), 48x32."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    (tmp_path / "project").mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "project" / "shot.blend"))
    scene = bpy.context.scene
    scene.sequence_editor_create()
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.render.resolution_percentage = 100
    return scene
