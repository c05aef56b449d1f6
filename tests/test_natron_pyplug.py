"""The Natron PyPlug (plugins/natron) against a stand-in of the NatronEngine calls it uses.

Natron is not installed here: tests/natron_stub/NatronEngine.py models the documented API and fails
on anything else. The end-to-end test runs the real `vst-node render` command line in a subprocess
(`python -m vst_node`, the console script's entry point) on the tiny EXR sequence.
"""

from __future__ import annotations

import ast
import importlib
import os
import shlex
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vst_node.io.image_io import probe_frame, read_frame
from vst_node.ofx import describe

from .conftest import TINY

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "natron"
STUB_DIR = Path(__file__).resolve().parent / "natron_stub"
MODULES = ("NatronEngine", "VstNode", "VstNodeExt")
PARAM_CLASSES = {
    "double": "DoubleParam",
    "int": "IntParam",
    "bool": "BooleanParam",
    "choice": "ChoiceParam",
    "string": "StringParam",
}


@pytest.fixture()
def natron(monkeypatch):
    """NatronEngine (the stand-in), VstNode and VstNodeExt imported the way Natron imports a PyPlug."""
    monkeypatch.syspath_prepend(str(STUB_DIR))
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    for name in MODULES:
        sys.modules.pop(name, None)
    engine = importlib.import_module("NatronEngine")
    engine.stub_reset(background=True)
    pyplug = importlib.import_module("VstNode")
    yield SimpleNamespace(engine=engine, pyplug=pyplug, ext=sys.modules["VstNodeExt"])
    for name in MODULES:
        sys.modules.pop(name, None)


def instance(natron, first: int = 1001, last: int = 1004):
    """A project with a Read of the shot feeding a VstNode group (as Natron instantiates a PyPlug)."""
    app = natron.engine.App(first_frame=first, last_frame=last)
    group = natron.engine.stub_declare(app.createNode("fr.inria.built-in.Group"))  # app1.Group1
    natron.pyplug.createInstance(app, group)
    return app, group


def connect_shot(app, group, pattern: str, work: Path) -> None:
    read = app.createNode("fr.inria.openfx.ReadOIIO")
    read.getParam("filename").set(pattern)
    group.connectInput(0, read)
    group.getParam("work_dir").set(str(work))


def test_pyplug_files_load_without_natron_gui():
    files = sorted(PLUGIN_DIR.glob("*.py"))
    assert [f.name for f in files] == ["VstNode.py", "VstNodeExt.py"]
    for path in files:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert "NatronGui" not in imported, path  # NatronRenderer has no NatronGui (Natron docs)
        assert not imported & {"vst_node", "torch", "numpy", "OpenImageIO"}, path  # Natron's Python
    lines = {p.name: p.read_text().splitlines() for p in files}
    assert lines["VstNode.py"][0] == "# Natron PyPlug"
    assert "# Natron PyPlug" not in lines["VstNodeExt.py"]  # else Natron would load it as a PyPlug too


def test_pyplug_header(natron):
    p = natron.pyplug
    assert p.getPluginID() == "org.vstnode.natron.VstNode" and p.getLabel() == "VstNode"
    assert isinstance(p.getVersion(), int) and p.getGrouping() == "Filter"
    assert "vst-node render" in p.getDescription() and p.getPluginDescription() == p.getDescription()


def test_create_instance_builds_the_graph(natron):
    _app, group = instance(natron)
    children = {node.getScriptName(): node for node in group.getChildren()}
    assert {name: node.getPluginID() for name, node in children.items()} == {
        "Input1": "fr.inria.built-in.Input",
        "SourceWrite": "fr.inria.built-in.Write",  # the container Natron puts around WriteOIIO
        "StylizedRead": "fr.inria.built-in.Read",
        "Output1": "fr.inria.built-in.Output",
    }
    assert children["SourceWrite"].getInput(0) is children["Input1"]
    assert children["Output1"].getInput(0) is children["StylizedRead"]
    assert group.getMaxInputCount() == 1
    write_file = children["SourceWrite"].getParam("filename").getValue()
    assert write_file.endswith(os.path.join("Group1", "source", "Group1.####.exr"))
    assert group.getParam("onParamChanged").getValue() == "VstNode.vstNodeParamChanged"
    assert (group.getParam("first_frame").getValue(), group.getParam("last_frame").getValue()) == (1001, 1004)
    assert type(group.getParam("stylize")).__name__ == "ButtonParam"
    assert group.getParam("status").stub_type == natron.engine.StringParam.TypeEnum.eStringTypeLabel
    assert group._pages_order[:2] == ["vstStyle", "vstRender"]
    user = [
        p
        for p in group.getParams()
        if type(p).__name__ != "PageParam" and p.getScriptName() != "onParamChanged"
    ]
    assert all(p._page is not None for p in user)  # every user parameter on a page (Natron docs)


def test_group_parameters_mirror_the_ofx_descriptors(natron, monkeypatch):
    monkeypatch.delenv("VST_NODE_PRESETS", raising=False)  # the PyPlug lists the built-in presets
    _app, group = instance(natron)
    keys = {}
    for d in describe().params:
        param = group.getParam(d.name)
        assert param is not None, d.name
        expected = "FileParam" if d.name == "preset_file" else PARAM_CLASSES[d.type]
        assert type(param).__name__ == expected, d.name
        assert param.getLabel() == d.label and param.getHelp(), d.name
        assert not param.getIsAnimationEnabled(), d.name
        if d.type == "choice":
            assert param.getOptions() == list(d.choices), d.name
            assert param.getOption(param.getDefaultValue()) == d.default == param.getOption(param.getValue())
        else:
            assert param.getDefaultValue() == d.default == param.getValue(), d.name
        if d.type in ("int", "double"):
            assert (param.getMinimum(), param.getMaximum()) == (d.min, d.max), d.name
            assert (param.getDisplayMinimum(), param.getDisplayMaximum()) == (d.display_min, d.display_max)
        if d.key is not None:
            keys[d.name] = d.key
    assert keys == natron.ext.PRESET_KEYS


def test_command_line_passes_only_what_differs_from_the_defaults(natron, tmp_path, monkeypatch):
    monkeypatch.delenv("VST_NODE_EXECUTABLE", raising=False)
    _app, group = instance(natron)
    group.getParam("work_dir").set(str(tmp_path))
    group.getParam("executable").set("'/opt/vst bin/vst-node'")  # a command line: quoted path
    group.getParam("preset").set("ink")
    group.getParam("weights_style").set(250.0)
    group.getParam("temporal_enabled").set(False)
    group.getParam("temporal_offsets").set("1, 2,4")
    group.getParam("device").set("cpu")
    group.getParam("extra_settings").set("resolution.max_side=960\n# a comment\n\n")
    argv = natron.ext.command(group, "out/x.####.exr")
    source = str(tmp_path / "Group1" / "source" / "Group1.####.exr")
    head = ["/opt/vst bin/vst-node", "render", source, "-o", "out/x.####.exr", "--frames=1001-1004"]
    assert argv[:10] == [*head, "--preset", "ink", "--device", "cpu"]
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    assert sets == [
        "weights.style=250.0",
        "temporal.enabled=false",
        "temporal.offsets=[1,2,4]",
        "resolution.max_side=960",
    ]
    group.getParam("preset_file").set(str(tmp_path / "look.yaml"))
    argv = natron.ext.command(group, "o.####.exr")
    assert argv[argv.index("--preset") + 1] == str(tmp_path / "look.yaml")


def test_stylize_renders_the_write_runs_vst_node_and_reads_the_result(
    natron, tiny_sequence, tmp_path, monkeypatch
):
    monkeypatch.setenv("VST_NODE_CACHE", str(tmp_path / "cache"))
    app, group = instance(natron)
    connect_shot(app, group, tiny_sequence, tmp_path / "work")
    group.getParam("executable").set(shlex.join([sys.executable, "-m", "vst_node"]))
    group.getParam("extra_settings").set("\n".join(TINY))
    group.getParam("stylize").trigger()  # the user presses Stylize (background mode: one go)

    status = group.getParam("status").getValue()
    assert status.startswith("stylized frames 1001-1004"), status + "\n".join(app.stub_script_editor)
    assert app.stub_rendered == [("SourceWrite", 1001, 1004)]
    result = tmp_path / "work" / "Group1" / "stylized_v001" / "Group1.####.exr"
    assert group.getNode("StylizedRead").getParam("filename").getValue() == str(result)
    for frame in range(1001, 1005):
        written = Path(str(result).replace("####", str(frame)))
        assert probe_frame(written).get_string_attribute("vst:preset") == "default"
        source = read_frame(Path(tiny_sequence.replace("####", str(frame))))
        stylized = read_frame(written)
        assert stylized.rgba.shape == source.rgba.shape
        np.testing.assert_array_equal(stylized.rgba[..., 3], source.rgba[..., 3])
        assert not np.allclose(stylized.rgba, source.rgba, atol=1e-2)


def fake_vst_node(calls: list[list[str]], stderr: str = ""):
    """Stands in for the vst-node process: copies its input frames to its output pattern."""

    def run(argv, **kwargs):
        calls.append(argv)
        source, output = argv[argv.index("render") + 1], argv[argv.index("-o") + 1]
        spec = next(a for a in argv if a.startswith("--frames="))
        first, last = (int(v) for v in spec.removeprefix("--frames=").split("-"))
        for frame in range(first, last + 1):
            target = Path(output.replace("####", f"{frame:04d}"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.replace("####", f"{frame:04d}"), target)
        return SimpleNamespace(returncode=0, stdout="", stderr=stderr)

    return run


def gui_instance(natron, tiny_sequence, tmp_path, monkeypatch):
    """The node in Natron's GUI (App.render returns at once), with vst-node's process faked."""
    natron.engine.stub_reset(background=False)
    calls: list[list[str]] = []
    monkeypatch.setattr(natron.ext, "subprocess", SimpleNamespace(run=fake_vst_node(calls)))
    monkeypatch.setenv("VST_NODE_EXECUTABLE", "vst-node")
    app, group = instance(natron)
    connect_shot(app, group, tiny_sequence, tmp_path / "work")
    return app, group, calls


def test_stylize_in_the_gui_waits_for_the_write_render(natron, tiny_sequence, tmp_path, monkeypatch):
    app, group, calls = gui_instance(natron, tiny_sequence, tmp_path, monkeypatch)
    stylize = group.getParam("stylize")
    stylize.trigger()
    assert "press Stylize once" in group.getParam("status").getValue()
    assert calls == [] and len(app.stub_pending) == 1  # nothing stylized from a half-written range
    app.stub_finish_renders()
    stylize.trigger()
    stylize.trigger()  # source on disk: no new Write render, a new version
    assert len(calls) == 2 and app.stub_rendered == [("SourceWrite", 1001, 1004)]
    read_file = group.getNode("StylizedRead").getParam("filename").getValue()
    assert read_file.endswith(os.path.join("stylized_v002", "Group1.####.exr"))
    group.getParam("write_source").trigger()  # upstream changed: old source frames go first
    assert not (tmp_path / "work" / "Group1" / "source" / "Group1.1001.exr").exists()
    assert len(app.stub_pending) == 1


def test_vst_node_warnings_reach_the_status_line(natron, tiny_sequence, tmp_path, monkeypatch):
    from vst_node.engine.node import poor_flow_message

    warning = poor_flow_message({1003: 0.21})  # worded as vst-node render prints it after "warning: "
    stderr = f"frame 1004 (4/4) 4 it, 0.3s\nvst-node: 4 written -> out\nvst-node: warning: {warning}\n"
    monkeypatch.setattr(natron.ext, "subprocess", SimpleNamespace(run=fake_vst_node([], stderr)))
    monkeypatch.setenv("VST_NODE_EXECUTABLE", "vst-node")
    app, group = instance(natron)
    connect_shot(app, group, tiny_sequence, tmp_path / "work")
    group.getParam("stylize").trigger()
    status = group.getParam("status").getValue()
    assert status.startswith("stylized frames 1001-1004 -> ")
    assert status.endswith(f"; warning: {warning}") and "written" not in status


def test_failures_are_reported_on_the_node(natron, tiny_sequence, tmp_path, monkeypatch):
    app, group = instance(natron)
    connect_shot(app, group, tiny_sequence, tmp_path / "work")
    script = "import sys; sys.stderr.write('boom: bad preset\\n'); sys.exit(3)"
    group.getParam("executable").set(shlex.join([sys.executable, "-c", script]))
    group.getParam("stylize").trigger()
    assert group.getParam("status").getValue() == "failed (exit 3): boom: bad preset"
    assert group.getNode("StylizedRead").getParam("filename").getValue() == ""
    assert any("boom" in message for message in app.stub_script_editor)
    group.getParam("executable").set("")
    monkeypatch.delenv("VST_NODE_EXECUTABLE", raising=False)
    monkeypatch.setattr(natron.ext, "shutil", SimpleNamespace(which=lambda name: None))
    group.getParam("stylize").trigger()
    assert "vst-node was not found" in group.getParam("status").getValue()
    group.getParam("first_frame").set(1010)
    group.getParam("stylize").trigger()
    assert group.getParam("status").getValue() == "failed: the frame range 1010-1004 is empty"


def test_the_stand_in_rejects_undocumented_calls(natron):
    app, group = instance(natron)
    with pytest.raises(AttributeError, match="not modelled"):
        group.setOnParamChanged("VstNode.vstNodeParamChanged")  # not Natron API: onParamChanged.set
    with pytest.raises(AttributeError, match="not modelled"):
        group.getParam("strength").setRange(0, 1)
    with pytest.raises(ValueError, match="not modelled"):
        app.createNode("net.sf.cimg.CImgBlur")


# -- what Natron 2.5 does that an easier stand-in hid (each fails on the PyPlug before the fix) ----


def test_choice_options_are_label_help_pairs(natron):
    instance(natron)
    options = [args for name, args in natron.engine.CALLS if name == "ChoiceParam.setOptions"]
    ours = {args[0]: args[1] for args in options if args[0] in ("preset", "flow_backend", "device")}
    assert set(ours) == {"preset", "flow_backend", "device"}
    for pairs in ours.values():
        assert all(isinstance(p, tuple) and len(p) == 2 for p in pairs), pairs
    assert [label for label, _ in ours["device"]] == ["auto", "cpu", "cuda"]


def test_a_refused_connection_stops_the_instance(natron, monkeypatch):
    monkeypatch.setattr(natron.engine.Effect, "canConnectInput", lambda self, index, node: False)
    app = natron.engine.App(first_frame=1, last_frame=4)
    group = app.createNode("fr.inria.built-in.Group")
    with pytest.raises(RuntimeError, match="refused to connect Input1 to input 0 of SourceWrite"):
        natron.pyplug.createInstance(app, group)


def test_a_refused_script_name_stops_the_instance(natron):
    app = natron.engine.App(first_frame=1, last_frame=4)
    group = app.createNode("fr.inria.built-in.Group")
    taken = app.createNode("fr.inria.built-in.Input", 1, group)
    assert taken.setScriptName("SourceWrite")  # the name the PyPlug wants is in use
    with pytest.raises(RuntimeError, match="refused the name 'SourceWrite'"):
        natron.pyplug.createInstance(app, group)


def test_the_child_process_can_import_a_user_site_vst_node(natron, monkeypatch):
    monkeypatch.setenv("PYTHONNOUSERSITE", "1")  # what Natron's own Python runs with
    monkeypatch.setenv("PYTHONPATH", "/natron/python")
    monkeypatch.setenv("OCIO", "/natron/OpenColorIO-Configs/blender/config.ocio")
    env = natron.ext._child_env()
    assert "PYTHONNOUSERSITE" not in env and "PYTHONPATH" not in env
    assert env["OCIO"] == "/natron/OpenColorIO-Configs/blender/config.ocio"


def test_a_windows_executable_keeps_its_backslashes(natron):
    split = natron.ext.split_command  # what executable() splits the parameter with, by os.name
    assert split(r'"C:\Program Files\vst\python.exe" -m vst_node', windows=True) == [
        r"C:\Program Files\vst\python.exe", "-m", "vst_node",
    ]  # fmt: skip
    assert split(r"C:\vst\vst-node.exe", windows=True) == [r"C:\vst\vst-node.exe"]  # POSIX: C:vstvst-node.exe
    assert split("'/opt/vst bin/vst-node' --verbose", windows=False) == ["/opt/vst bin/vst-node", "--verbose"]
    _app, group = instance(natron)
    group.getParam("executable").set("'/opt/vst bin/vst-node' --verbose")
    assert natron.ext.executable(group) == split("'/opt/vst bin/vst-node' --verbose")


def test_a_second_stylize_during_the_write_render_waits(natron, tiny_sequence, tmp_path, monkeypatch):
    app, group, calls = gui_instance(natron, tiny_sequence, tmp_path, monkeypatch)
    stylize = group.getParam("stylize")
    stylize.trigger()
    stylize.trigger()  # impatient: the Write has not written a frame yet
    assert len(app.stub_pending) == 1  # no second render of the same Write
    assert "incomplete (0 of 4 written" in group.getParam("status").getValue()
    app.stub_finish_renders()
    source = tmp_path / "work" / "Group1" / "source"
    (source / "Group1.1003.exr").unlink()  # a render stopped part-way
    kept = sorted(p.name for p in source.glob("*.exr"))
    stylize.trigger()
    assert sorted(p.name for p in source.glob("*.exr")) == kept  # nothing deleted by Stylize
    assert app.stub_pending == [] and calls == []
    status = group.getParam("status").getValue()
    assert "incomplete (3 of 4 written, first missing: 1003)" in status and "Write source frames" in status
    group.getParam("write_source").trigger()  # the one action that deletes and renders again
    app.stub_finish_renders()
    stylize.trigger()
    assert len(calls) == 1 and group.getParam("status").getValue().startswith("stylized frames 1001-1004")


def test_the_pyplug_says_it_needs_natron_2_5(natron):
    assert "Natron 2.5 or later" in natron.pyplug.getDescription()
    docs = (Path(__file__).resolve().parents[1] / "docs" / "natron.md").read_text()
    assert "Natron 2.5 or later" in docs


def test_the_stand_in_behaves_like_natron_2_5(natron):
    """The stand-in's own contract, each behaviour cited from Natron's sources in its docstrings."""
    app, group = instance(natron)
    writer = app.createNode("fr.inria.openfx.WriteOIIO")
    assert writer.getPluginID() == "fr.inria.built-in.Write" and writer.getParam("filename") is not None
    with pytest.raises(TypeError, match="wrong argument types"):
        group.getParam("preset").setOptions(["default", "ink"])
    assert writer.setScriptName("not a name") is False
    inside = app.createNode("fr.inria.openfx.WriteOIIO", -1, group)
    assert inside.setScriptName("SourceWrite") is False  # the group's Write has that name
    assert writer.connectInput(5, group) is False
    again = group.createDoubleParam("strength", "Other label")
    assert again is group.getParam("strength") and again.getLabel() == "Strength"
    assert group.createIntParam("strength", "Strength") is None  # same name, other type
    assert group.strength is group.getParam("strength")  # the declared app1.Group1
    with pytest.raises(AttributeError, match="use getParam"):
        group.getNode("SourceWrite").filename  # noqa: B018  (a getNode handle is not declared)
    assert group.getParam("preset").getOption(99) == ""

    def annotated(thisParam, thisNode, thisGroup, app, userEdited: bool):
        raise AssertionError("Natron never calls a callback getargspec refuses")

    natron.ext.annotated = annotated
    group.getParam("onParamChanged").set("VstNodeExt.annotated")
    group.getParam("stylize").trigger()
    assert any("callback rejected" in line for line in app.stub_script_editor)


def test_negative_frames_are_named_as_vst_node_names_them_and_passed_as_one_word(natron, tmp_path):
    assert natron.ext.frame_path("a/s.####.exr", -12) == os.path.join("a", "s.-0012.exr")
    assert natron.ext.frame_path("a/s.####.exr", 7) == os.path.join("a", "s.0007.exr")
    _app, group = instance(natron)
    group.getParam("first_frame").set(-3)
    group.getParam("last_frame").set(2)
    argv = natron.ext.command(group, "o.####.exr")
    assert "--frames=-3-2" in argv and "--frames" not in argv
