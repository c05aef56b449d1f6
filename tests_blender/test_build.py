"""tools/build_blender_extension.py: the light zip builds, passes its own check and Blender's validator."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from helpers import ROOT


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "build_blender_extension", ROOT / "tools" / "build_blender_extension.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def light_zip(tool, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    assert tool.main(["build", "--no-deps-wheels", "--out", str(out)]) == 0
    [archive] = out.glob("vst_node_blender-*-light.zip")
    return archive


def test_light_zip_contents(tool, light_zip):
    with zipfile.ZipFile(light_zip) as archive:
        names = set(archive.namelist())
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    assert manifest["wheels"] == ["./wheels/vst_node-0.1.0-py3-none-any.whl"]
    assert "platforms" not in manifest  # a pure-Python wheel runs everywhere
    assert {"__init__.py", "operator.py", "presets/default.yaml", "presets/styles/swirls.png"} <= names
    assert not any("__pycache__" in n for n in names)
    validator = tool._blender_ext_cli()
    assert validator is not None, "Blender's extension validator was not found in the bpy module"
    assert tool.check(light_zip, validator) == []


def test_check_finds_problems(tool, light_zip, tmp_path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(light_zip) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            if item.filename.startswith("wheels/"):
                continue
            data = source.read(item)
            if item.filename == "__init__.py":
                data = b"bl_info = {}\n" + data.replace(b"def unregister", b"def _gone")
            target.writestr(item, data)
    problems = tool.check(broken)
    assert any("not in the zip" in p and "vst_node-0.1.0" in p for p in problems)
    assert any("bl_info" in p for p in problems)
    assert any("no unregister()" in p for p in problems)


def test_platforms_follow_binary_wheels(tool):
    wheels = [Path("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"), Path("x-1-py3-none-any.whl")]
    assert tool._platforms(wheels) == ["linux-x64"]
    text = tool.manifest_with_wheels('id = "vst_node"\n\n[permissions]\nfiles = "x"\n', wheels)
    parsed = tomllib.loads(text)
    assert parsed["platforms"] == ["linux-x64"] and len(parsed["wheels"]) == 2
    assert parsed["permissions"] == {"files": "x"}
