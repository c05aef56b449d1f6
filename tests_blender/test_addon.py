"""Registration, the panel, the menu entry and how errors reach the user."""

from __future__ import annotations

import bpy
import pytest
from helpers import TINY, card, strips, write_image

OPERATOR = "sequencer.vst_stylize_strip"
ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())


class FakeLayout:
    """Stands in for UILayout (there is no UI in background mode) and checks what a real one would."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.enabled = True
        self.use_property_split = False
        self.use_property_decorate = True

    def _icon(self, icon: str) -> None:
        assert icon in ICONS, f"unknown icon {icon!r}"

    def prop(self, data, name: str, **kwargs) -> None:
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.log.append(("prop", name))

    def operator(self, idname: str, **kwargs) -> None:
        module, name = idname.split(".")
        assert hasattr(bpy.types, f"{module.upper()}_OT_{name}"), f"operator {idname} is not registered"
        self._icon(kwargs.get("icon", "NONE"))
        self.log.append(("operator", idname))

    def label(self, text: str = "", icon: str = "NONE") -> None:
        self._icon(icon)
        self.log.append(("label", text))

    def separator(self) -> None:
        self.log.append(("separator",))

    def column(self, **kwargs) -> FakeLayout:
        return FakeLayout(self.log)

    row = box = column


class Drawn:
    def __init__(self) -> None:
        self.log: list = []
        self.layout = FakeLayout(self.log)


def _registered() -> bool:
    return all(
        [
            hasattr(bpy.types, "SEQUENCER_OT_vst_stylize_strip"),
            hasattr(bpy.types, "SEQUENCER_PT_vst_node"),
            hasattr(bpy.types.Scene, "vst_node"),
        ]
    )


def test_register_unregister_twice(addon):
    from vst_node_blender import ui

    for _ in range(2):
        addon.unregister()
        assert not _registered()
        assert ui.menu_entry not in bpy.types.SEQUENCER_MT_strip._dyn_ui_initialize()
        addon.register()
        assert _registered()
        assert bpy.types.SEQUENCER_MT_strip._dyn_ui_initialize().count(ui.menu_entry) == 1
    panel = bpy.types.SEQUENCER_PT_vst_node
    assert (panel.bl_space_type, panel.bl_region_type, panel.bl_category) == (
        "SEQUENCE_EDITOR",
        "UI",
        "vst-node",
    )


def test_preset_choices_are_the_projects_plus_a_custom_file(scene):
    from vst_node_blender.properties import preset_items

    from vst_node.settings import list_presets

    items = [identifier for identifier, *_ in preset_items(scene.vst_node, bpy.context)]
    assert items == [*(name for name, _, _ in list_presets()), "CUSTOM"]
    assert {"default", "ink", "mosaic", "swirls"} <= set(items)
    assert scene.vst_node.preset == "default"


def test_a_saved_preset_choice_survives_a_new_preset_file(scene, tmp_path, monkeypatch):
    """The enum stores a number per name, not a position: a preset file added before 'ink' in the
    sorted list must not turn a shot's 'ink' into another preset."""
    scene.vst_node.preset = "ink"
    extra = tmp_path / "user_presets"
    extra.mkdir()
    (extra / "aaa_first.yaml").write_text("extends: default\n")
    monkeypatch.setenv("VST_NODE_PRESETS", str(extra))
    assert scene.vst_node.preset == "ink"


def test_the_operators_use_only_event_properties_blender_has():
    """Event attributes read by the modal code exist in the bpy API (the module has no event loop to
    run the modal operator, so a wrong name would only fail in a real window)."""
    import ast

    from helpers import ROOT

    known = set(bpy.types.Event.bl_rna.properties.keys())
    used = set()
    for path in (ROOT / "plugins" / "blender").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = getattr(node, "value", None)
            if isinstance(node, ast.Attribute) and isinstance(target, ast.Name) and target.id == "event":
                used.add(node.attr)
    assert used, "no event attribute found: the modal operator moved?"
    assert used <= known, sorted(used - known)


def test_panel_draws_with_and_without_a_strip(scene, tmp_path):
    from vst_node_blender.ui import SEQUENCER_PT_vst_node, menu_entry

    drawn = Drawn()
    SEQUENCER_PT_vst_node.draw(drawn, bpy.context)
    props = [entry[1] for entry in drawn.log if entry[0] == "prop"]
    weights = ["weight_content", "weight_style", "weight_temporal"]
    assert props == ["preset", "override_weights", *weights, "method", "device", "output_dir"]
    assert ("label", "No active strip") in drawn.log
    assert ("operator", OPERATOR) in drawn.log
    assert ("operator", "sequencer.vst_preview_frame") in drawn.log

    write_image(tmp_path / "in" / "card.0001.png", card())
    strip = scene.sequence_editor.strips.new_image("card", str(tmp_path / "in" / "card.0001.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    scene.vst_node.preset = "CUSTOM"
    drawn = Drawn()
    SEQUENCER_PT_vst_node.draw(drawn, bpy.context)
    assert ("prop", "preset_file") in drawn.log
    assert ("label", "card: image, frames 1-1") in drawn.log

    drawn = Drawn()
    menu_entry(drawn, bpy.context)
    assert ("operator", OPERATOR) in drawn.log


def test_weight_overrides_only_when_toggled(scene):
    settings = scene.vst_node
    assert settings.overrides() == []
    settings.override_weights = True
    settings.weight_style = 250.0
    assert settings.overrides() == ["weights.content=5.0", "weights.style=250.0", "weights.temporal=1000.0"]


def test_method_choice_becomes_an_override(scene):
    settings = scene.vst_node
    assert settings.method == "PRESET" and settings.overrides() == []
    settings.method = "feedforward"
    assert settings.overrides() == ["method=feedforward"]


def test_poll_wants_an_image_or_movie_strip(scene, tmp_path):
    assert not bpy.ops.sequencer.vst_stylize_strip.poll()
    strip = scene.sequence_editor.strips.new_effect("red", "COLOR", 1, 1, length=5)
    scene.sequence_editor.active_strip = strip
    assert not bpy.ops.sequencer.vst_stylize_strip.poll()
    # ... and accepts one: the check is not simply always false.
    write_image(tmp_path / "card.0001.png", card())
    image = scene.sequence_editor.strips.new_image("card", str(tmp_path / "card.0001.png"), 2, 1)
    scene.sequence_editor.active_strip = image
    assert bpy.ops.sequencer.vst_stylize_strip.poll()


@pytest.fixture()
def bad_preset(scene, tmp_path):
    """An image strip and a custom preset with a typo in a key."""
    write_image(tmp_path / "in" / "card.0001.png", card())
    strip = scene.sequence_editor.strips.new_image("card", str(tmp_path / "in" / "card.0001.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    preset = tmp_path / "typo.yaml"
    preset.write_text("extends: default\nweights:\n  styel: 200\n")
    scene.vst_node.preset = "CUSTOM"
    scene.vst_node.preset_file = str(preset)
    return scene


def test_preset_error_is_a_report_not_a_traceback(bad_preset):
    from vst_node_blender.operator import SEQUENCER_OT_vst_stylize_strip as Operator

    class Caller:  # the operator's own methods, with report() captured
        extra_overrides = TINY
        _start, _fail, _finish = Operator._start, Operator._fail, Operator._finish

        def __init__(self) -> None:
            self.reports: list[tuple[set, str]] = []

        def report(self, kind, message) -> None:
            self.reports.append((kind, message))

    caller = Caller()
    assert Operator.execute(caller, bpy.context) == {"CANCELLED"}
    [(kind, message)] = caller.reports
    assert kind == {"ERROR"}
    assert "typo.yaml" in message and "weights.styel" in message and "Traceback" not in message
    assert len(strips(bad_preset)) == 1


def test_preset_error_through_bpy_ops(bad_preset):
    # Called from Python, Blender turns an operator's ERROR report into RuntimeError("Error: <report>").
    with pytest.raises(RuntimeError, match=r"^Error: .*weights\.styel") as caught:
        bpy.ops.sequencer.vst_stylize_strip(extra_overrides=TINY)
    assert "Traceback" not in str(caught.value)
    assert len(strips(bad_preset)) == 1


def test_unsaved_blend_with_relative_output_is_reported(addon, tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.sequence_editor_create()
    write_image(tmp_path / "in" / "card.0001.png", card())
    strip = scene.sequence_editor.strips.new_image("card", str(tmp_path / "in" / "card.0001.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    with pytest.raises(RuntimeError, match=r"save the \.blend file first"):
        bpy.ops.sequencer.vst_stylize_strip(extra_overrides=TINY)
