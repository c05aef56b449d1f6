"""Presets are edited by hand: loading, inheritance, overrides and every kind of mistake an artist makes."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from vst_node import settings as P
from vst_node.errors import PresetError
from vst_node.settings import FlowSettings, loading

BUILTIN = P.builtin_presets_dir()
SWIRLS_PNG = BUILTIN / "styles" / "swirls.png"
LINE = re.compile(r"^(?P<file>.+?): (?P<key>[\w.\[\]]+): expected (?P<what>.+), got (?P<got>.+)$")


@pytest.fixture(autouse=True)
def no_user_presets(monkeypatch):
    monkeypatch.delenv(P.PRESETS_ENV, raising=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path, overrides=()) -> list[str]:
    with pytest.raises(PresetError) as info:
        P.load_preset(path, overrides)
    lines = str(info.value).splitlines()
    assert lines == info.value.problems
    return lines


def minimal(tmp_path: Path, body: str = "", name: str = "p.yaml") -> Path:
    """A valid preset (absolute style image) plus `body`."""
    return write(tmp_path / name, f"style:\n  image: {SWIRLS_PNG}\n" + textwrap.dedent(body))


# ---------------------------------------------------------------- built-ins


def test_builtin_presets_load_and_validate():
    listed = {name: path for name, path, _ in P.list_presets()}
    assert {"default", "swirls", "mosaic", "ink"} <= set(listed)
    assert P.load_preset(P.DEFAULT_PRESET).name == "default"
    extenders = 0
    for name, path in listed.items():
        assert path.parent == BUILTIN
        assert P.validate_file(path) == []
        preset = P.load_preset(name)
        assert preset.name == name and preset.source == path and preset.description
        assert preset.style.image.parent == BUILTIN / "styles" and preset.style.image.is_file()
        assert preset.style.image.stat().st_size < 200_000
        raw = yaml.safe_load(path.read_text())
        assert raw["style"]["image"] == f"styles/{preset.style.image.name}"  # relative in the file
        extenders += raw.get("extends") == "default.yaml"
    assert extenders >= 1


def test_default_yaml_documents_the_code_defaults_and_comments_every_key():
    preset = P.load_preset("default")
    assert preset.weights == P.LossWeights() and preset.layers == P.LayerSettings()
    assert preset.optimiser == P.OptimiserSettings() and preset.init == P.InitSettings()
    assert preset.flow == FlowSettings() and preset.temporal == P.TemporalSettings()
    assert preset.resolution == P.ResolutionSettings() and preset.colour == P.ColourSettings()
    assert preset.strength == 1.0 and preset.style_loss == "gram" and preset.style.scale == 1.0
    keys = [
        line for line in (BUILTIN / "default.yaml").read_text().splitlines() if re.match(r"^\s*\w+:", line)
    ]
    assert len(keys) >= 40
    assert all("#" in line for line in keys), [line for line in keys if "#" not in line]


def test_builtin_dir_falls_back_to_installed_data(monkeypatch, tmp_path):
    assert Path(loading.__file__).resolve().parents[2] / "presets" == BUILTIN
    installed = tmp_path / "site-packages" / "vst_node" / "settings" / "loading.py"
    monkeypatch.setattr(loading, "__file__", str(installed))
    assert P.builtin_presets_dir() == Path(sys.prefix) / "share" / "vst-node" / "presets"


# ---------------------------------------------------------------- inheritance


def test_extends_merges_nested_keys_replaces_lists_and_resolves_paths_per_file(tmp_path):
    shutil.copy(SWIRLS_PNG, tmp_path / "base_style.png")
    write(
        tmp_path / "lib" / "base.yaml",
        """\
        name: base
        description: parent
        style: {image: ../base_style.png, scale: 2.0}
        weights: {content: 7.0, style: 300.0}
        layers: {style: [relu1_1, relu2_1, relu3_1]}
        optimiser: {iterations: 33}
        """,
    )
    child = write(
        tmp_path / "shots" / "child.yaml",
        """\
        extends: ../lib/base.yaml
        weights: {style: 10.0}
        layers: {style: [relu4_1]}
        """,
    )
    preset = P.load_preset(child)
    assert preset.style.image == tmp_path / "base_style.png"  # relative to base.yaml, not child.yaml
    assert preset.style.scale == 2.0
    assert preset.weights == P.LossWeights(content=7.0, style=10.0)  # merged key by key
    assert preset.layers.style == ("relu4_1",)  # lists replaced, not appended
    assert preset.optimiser.iterations == 33 and preset.optimiser.iterations_first == 400
    assert (preset.name, preset.description) == ("child", "")  # name and description are not inherited
    assert preset.source == child


def test_child_style_image_is_relative_to_the_child(tmp_path):
    shutil.copy(SWIRLS_PNG, tmp_path / "mine.png")
    child = write(tmp_path / "c.yaml", "extends: default\nstyle: {image: mine.png}\n")
    assert P.load_preset(child).style.image == tmp_path / "mine.png"


@pytest.mark.parametrize("target", ["default", "default.yaml"])
def test_extends_a_builtin_by_name(tmp_path, target):
    child = write(tmp_path / "c.yaml", f"extends: {target}\nweights: {{tv: 0.5}}\n")
    preset = P.load_preset(child)
    assert preset.weights.tv == 0.5 and preset.style.image == SWIRLS_PNG


def test_user_folder_shadows_and_extends_the_builtin_of_the_same_name(tmp_path, monkeypatch):
    write(
        tmp_path / "default.yaml", "extends: default.yaml\ndescription: studio default\nweights: {style: 7}\n"
    )
    monkeypatch.setenv(P.PRESETS_ENV, str(tmp_path))
    preset = P.load_preset("default")
    assert preset.source == tmp_path / "default.yaml"
    assert preset.weights.style == 7.0 and preset.style.image == SWIRLS_PNG


def test_cycles_are_reported(tmp_path):
    a = write(tmp_path / "a.yaml", f"extends: b.yaml\nstyle: {{image: {SWIRLS_PNG}}}\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    (line,) = problems_of(a)
    assert line.startswith(f"{tmp_path / 'b.yaml'}: extends: expected a preset that does not extend itself")
    assert "a.yaml -> b.yaml -> a.yaml" in line
    me = write(tmp_path / "me.yaml", "extends: me.yaml\n")
    assert "cycle: me.yaml -> me.yaml" in problems_of(me)[0]


def test_missing_extends_target(tmp_path):
    path = write(tmp_path / "p.yaml", "extends: nowhere.yaml\n")
    (line,) = problems_of(path)
    assert line.startswith(f"{path}: extends: expected a preset file relative to this one or a built-in name")
    assert "default" in line and f"no such file: {tmp_path / 'nowhere.yaml'}" in line


# ---------------------------------------------------------------- overrides


def test_overrides_apply_after_inheritance(tmp_path, monkeypatch):
    shutil.copy(SWIRLS_PNG, tmp_path / "cwd_style.png")
    monkeypatch.chdir(tmp_path)
    preset = P.load_preset(
        "swirls",
        [
            "weights.style=200",
            "optimiser.iterations=50",
            "layers.style=[relu1_1, relu2_1]",
            "temporal.enabled=no",
            "flow.backend=deepflow",
            "style.image=cwd_style.png",
            "resolution.max_side=512",
            "weights.tv=1e-4",
            "description=for: the client",
        ],
    )
    assert preset.weights.style == 200.0 and preset.optimiser.iterations == 50
    assert preset.layers.style == ("relu1_1", "relu2_1") and preset.temporal.enabled is False
    assert preset.flow.backend == "deepflow" and preset.style.image == tmp_path / "cwd_style.png"
    assert preset.resolution.max_side == 512 and preset.weights.tv == 1e-4
    assert preset.description == "for: the client"
    assert preset.style.scale == 1.5  # untouched keys still come from swirls.yaml
    mapped = P.load_preset("default", {"init.seed": "3", "strength": "0"})
    assert mapped.init.seed == 3 and mapped.strength == 0.0


def test_override_mistakes_name_the_override():
    with pytest.raises(PresetError) as info:
        P.load_preset("default", ["weights.style=abc", "weights.stlye=3", "nokey", "extends=ink"])
    lines = str(info.value).splitlines()
    assert "--set weights.style=abc: weights.style: expected a number >= 0, got 'abc'" in lines
    assert any(
        line.startswith("--set weights.stlye=3: weights.stlye:") and "did you mean 'style'?" in line
        for line in lines
    )
    assert "--set nokey: expected key.path=value (e.g. weights.style=200), got 'nokey'" in lines
    assert any(
        line.startswith("--set extends=ink: extends: expected a key other than extends") for line in lines
    )
    assert len(lines) == 4


# ---------------------------------------------------------------- validation


ERROR_CASES = [
    # (yaml body, key path, expected-text fragment, got fragment)
    ("weights: {content: -1}", "weights.content", "a number >= 0", "-1"),
    ("weights: {style: lots}", "weights.style", "a number >= 0", "'lots'"),
    ("optimiser: {iterations: 0}", "optimiser.iterations", "an integer >= 1", "0"),
    ("optimiser: {iterations_first: 10.5}", "optimiser.iterations_first", "an integer >= 1", "10.5"),
    ("optimiser: {tolerance: 0}", "optimiser.tolerance", "a number > 0", "0"),
    ("optimiser: {method: sgd}", "optimiser.method", "one of 'lbfgs', 'adam'", "'sgd'"),
    ("strength: 1.5", "strength", "a number from 0 to 1", "1.5"),
    ("style_loss: wasserstein", "style_loss", "one of 'gram'", "'wasserstein'"),
    ("temporal: {enabled: 'yes'}", "temporal.enabled", "true or false", "'yes'"),
    ("temporal: {use_mask: 1}", "temporal.use_mask", "true or false", "1"),
    (
        "temporal: {fill_disoccluded: black}",
        "temporal.fill_disoccluded",
        "one of 'content', 'mean'",
        "'black'",
    ),
    ("init: {later: warped}", "init.later", "'previous_warped'", "'warped'"),
    ("init: {first: true}", "init.first", "one of 'random', 'content'", "true"),
    ("flow: {backend: raft}", "flow.backend", "one of 'dis', 'deepflow', 'farneback'", "'raft'"),
    ("flow: {dis_preset: slow}", "flow.dis_preset", "one of 'ultrafast', 'fast', 'medium'", "'slow'"),
    ("resolution: {scale: 0}", "resolution.scale", "a number > 0", "0"),
    ("resolution: {max_side: 8}", "resolution.max_side", "null or an integer >= 16", "8"),
    ("resolution: [1, 2]", "resolution", "a mapping with keys scale, max_side", "[1, 2]"),
    ("layers: {style: [relu3_5]}", "layers.style[0]", "a VGG-19 layer relu1_1 .. relu5_4", "'relu3_5'"),
    ("layers: {style: [relu1_1, relu1_1]}", "layers.style[1]", "each layer once", "'relu1_1'"),
    ("layers: {content: []}", "layers.content", "a non-empty list of VGG-19 layer names", "[]"),
    ("colour: {input: scene_linear}", "colour.input", "colour interop id", "'scene_linear'"),
    ("colour: {input: not_a_space}", "colour.input", "colour interop id", "'not_a_space'"),
    (
        "weights: {stlye: 3}",
        "weights.stlye",
        "one of the keys content, style, temporal, tv",
        "unknown key 'stlye'",
    ),
    ("wieghts: {}", "wieghts", "(did you mean 'weights'?)", "unknown key 'wieghts'"),
]


@pytest.mark.parametrize(("body", "key", "what", "got"), ERROR_CASES, ids=[c[1] for c in ERROR_CASES])
def test_every_error_names_file_key_and_expectation(tmp_path, body, key, what, got):
    path = minimal(tmp_path, body + "\n")
    (line,) = problems_of(path)
    match = LINE.match(line)
    assert match, line
    assert (match["file"], match["key"]) == (str(path), key)
    assert what in match["what"] and got in match["got"]
    assert P.validate_file(path) == [line]


def test_good_colour_spaces_are_accepted(tmp_path):
    for name in ("auto", "lin_rec709_scene", "ACEScg", "srgb_rec709_scene"):
        assert P.validate_file(minimal(tmp_path, f"colour: {{input: {name}}}\n")) == []


def test_style_image_problems_name_the_resolved_path(tmp_path):
    missing = write(tmp_path / "m.yaml", "style: {image: art/none.png}\n")
    (line,) = problems_of(missing)
    assert line == (
        f"{missing}: style.image: expected a path to a readable image, "
        f"got '{tmp_path / 'art' / 'none.png'}' (no such file)"
    )
    (tmp_path / "junk.png").write_bytes(b"this is not a png")
    junk = write(tmp_path / "j.yaml", "style: {image: junk.png}\n")
    (line,) = problems_of(junk)
    assert f"got '{tmp_path / 'junk.png'}' (unreadable" in line
    nothing = write(tmp_path / "n.yaml", "weights: {style: 1}\n")
    assert problems_of(nothing) == [f"{nothing}: style.image: expected a path to the style image, got null"]


def test_all_problems_are_reported_together_each_naming_its_file(tmp_path):
    parent = write(
        tmp_path / "parent.yaml", f"style: {{image: {SWIRLS_PNG}}}\noptimiser: {{method: newton}}\n"
    )
    child = write(
        tmp_path / "child.yaml",
        """\
        extends: parent.yaml
        weights: {style: -5, stlye: 1}
        layers: {style: [relu9_9]}
        temporal: {enabled: "true"}
        strength: 2
        bogus: 1
        """,
    )
    lines = problems_of(child)
    assert len(lines) == 7
    for line in lines:
        assert LINE.match(line), line
    assert [line for line in lines if line.startswith(str(parent))] == [
        f"{parent}: optimiser.method: expected one of 'lbfgs', 'adam', got 'newton'"
    ]
    assert sum(line.startswith(str(child)) for line in lines) == 6
    assert P.validate_file(child) == lines


def test_a_child_can_fix_its_parents_mistake(tmp_path):
    write(tmp_path / "parent.yaml", f"style: {{image: {SWIRLS_PNG}}}\noptimiser: {{method: newton}}\n")
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\noptimiser: {method: adam}\n")
    assert P.load_preset(child).optimiser.method == "adam"


def test_yaml_level_mistakes(tmp_path):
    broken = write(tmp_path / "broken.yaml", "weights: {style: 1\n")
    (line,) = problems_of(broken)
    assert line.startswith(f"{broken}: expected valid YAML, got a syntax error")
    twice = minimal(tmp_path, "weights:\n  style: 1\n  style: 2\n")
    assert problems_of(twice) == [f"{twice}: weights.style: expected each key once, got it again on line 5"]
    listing = write(tmp_path / "list.yaml", "- a\n- b\n")
    assert problems_of(listing) == [f'{listing}: (top level): expected a mapping of keys, got ["a", "b"]']


def test_yaml_numbers_and_bools_as_people_write_them(tmp_path):
    path = minimal(
        tmp_path, "weights: {tv: 1e-3, style: 2E2}\ntemporal: {enabled: yes}\noptimiser: {iterations: 1e2}\n"
    )
    preset = P.load_preset(path)
    assert preset.weights.tv == 0.001 and preset.weights.style == 200.0
    assert preset.temporal.enabled is True and preset.optimiser.iterations == 100
    assert isinstance(preset.optimiser.iterations, int)


def test_names_paths_and_file_names_all_find_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "here.yaml", "extends: ink\ndescription: ''\n")
    assert P.load_preset("ink.yaml").source == BUILTIN / "ink.yaml"  # no such file here: the built-in
    assert P.load_preset("here.yaml").source == tmp_path / "here.yaml"
    assert P.load_preset(Path("here.yaml")).description == ""


def test_did_you_mean_for_names_and_choices(tmp_path):
    with pytest.raises(PresetError, match=r"did you mean 'swirls'\?"):
        P.load_preset("swrils")
    with pytest.raises(PresetError, match="no such file"):
        P.load_preset(tmp_path / "absent.yaml")
    path = minimal(tmp_path, "flow: {backend: deepflw}\nlayers: {style: [relu3_5]}\n")
    lines = problems_of(path)
    assert any("flow.backend" in line and "(did you mean 'deepflow'?)" in line for line in lines)
    assert any("layers.style[0]" in line and "(did you mean 'relu3_" in line for line in lines)


def test_every_section_field_has_an_explicit_rule():
    for section, cls in P.SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"{section}.{f.name}" in P.RULES, f"{section}.{f.name}"
    for key in P.SCALARS:
        assert key in P.RULES


def test_fields_added_to_flow_settings_are_still_type_checked():
    @dataclasses.dataclass(frozen=True)
    class Future:
        levels: int = 3
        smooth: float = 0.5
        refine: bool = True
        cap: int | None = None
        offsets: tuple[int, ...] = (1, 2)

    rules = {f.name: P.rule_for("flow", f) for f in dataclasses.fields(Future)}
    assert rules["offsets"].check([1, 4]) == ((1, 4), None)  # unknown shapes are left to the dataclass
    assert rules["levels"].check(4) == (4, None) and rules["levels"].check("x")[1] == "an integer"
    assert rules["smooth"].check(1) == (1.0, None)
    assert rules["refine"].check("true")[1] == "true or false"
    assert rules["cap"].check(None) == (None, None) and rules["cap"].check(5) == (5, None)


# ---------------------------------------------------------------- dump, digest, listing


def test_dump_round_trips(tmp_path):
    preset = P.load_preset("ink", ["optimiser.iterations=77"])
    copy = write(tmp_path / "ink_copy.yaml", P.dump_preset(preset))
    again = P.load_preset(copy)
    assert dataclasses.replace(again, name=preset.name, source=preset.source) == preset
    as_dict = P.preset_to_dict(preset)
    assert list(as_dict) == [k for k in P.TOP_KEYS if k != "extends"]
    assert as_dict["style"]["image"] == str(BUILTIN / "styles" / "ink.png")
    assert as_dict["layers"]["style"] == ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


SECTION_NAMES = [k for k in P.TOP_KEYS if k != "extends"]


def digests(preset: P.Preset) -> dict[str, str]:
    return {s: P.preset_digest(preset, [s]) for s in SECTION_NAMES}


@pytest.mark.parametrize(
    ("overrides", "changed"),
    [
        (["weights.style=1"], {"weights"}),
        (["flow.dis_preset=fast"], {"flow"}),
        (["style.scale=2"], {"style"}),
        (["layers.content=[relu3_1]", "strength=0.5"], {"layers", "strength"}),
        (["weights.style=100"], set()),  # same value as the file: nothing changes
    ],
)
def test_digest_changes_only_for_changed_sections(overrides, changed):
    base = digests(P.load_preset("default"))
    after = digests(P.load_preset("default", overrides))
    assert {s for s in SECTION_NAMES if base[s] != after[s]} == changed


def test_style_digest_follows_image_content_not_its_path(tmp_path):
    shutil.copy(SWIRLS_PNG, tmp_path / "same.png")
    original = P.load_preset("default")
    moved = P.load_preset("default", [f"style.image={tmp_path / 'same.png'}"])
    assert P.preset_digest(moved, ["style"]) == P.preset_digest(original, ["style"])
    shutil.copy(BUILTIN / "styles" / "ink.png", tmp_path / "same.png")  # repainted in place
    repainted = P.load_preset("default", [f"style.image={tmp_path / 'same.png'}"])
    assert P.preset_digest(repainted, ["style"]) != P.preset_digest(original, ["style"])
    assert P.preset_digest(repainted, ["weights", "flow"]) == P.preset_digest(original, ["flow", "weights"])
    with pytest.raises(ValueError, match="unknown preset section"):
        P.preset_digest(original, ["wieghts"])


def test_list_presets_searches_user_folders_first(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    write(first / "studio.yaml", "extends: default\ndescription: house look\n")
    write(first / "ink.yaml", "extends: ink.yaml\ndescription: our ink\n")
    write(second / "other.yml", "extends: default\n")
    monkeypatch.setenv(P.PRESETS_ENV, f"{first}{os.pathsep}{second}")
    listed = {name: (path, description) for name, path, description in P.list_presets()}
    assert listed["studio"] == (first / "studio.yaml", "house look")
    assert listed["ink"] == (first / "ink.yaml", "our ink")  # shadows the built-in
    assert listed["other"][0] == second / "other.yml" and listed["default"][0] == BUILTIN / "default.yaml"
    assert P.load_preset("ink").style.image == BUILTIN / "styles" / "ink.png"
    assert P.load_preset("other").name == "other"


def test_an_empty_section_in_a_child_keeps_the_parents(tmp_path):
    """`weights:` with every line commented out must change nothing (it used to reset the section)."""
    child = tmp_path / "child.yaml"
    child.write_text("extends: ink\nweights:\n  # style: 5\nlayers:\n")
    ink = P.load_preset("ink")
    loaded = P.load_preset(child)
    assert loaded.weights == ink.weights and loaded.layers == ink.layers
    assert P.validate_file(child) == []


def test_a_cross_key_check_is_reported_on_its_key_with_both_values():
    with pytest.raises(PresetError) as caught:
        P.load_preset("default", ["temporal.trust_full=0.2"])
    message = str(caught.value)
    assert "temporal.trust_full: expected" in message and "(0.2) must be at least" in message
    assert "got 0.2" in message
