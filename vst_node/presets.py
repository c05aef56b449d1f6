"""YAML style presets: find, inherit (`extends`), override (`--set key.path=value`), validate, digest.

Artists edit these files by hand, so validation is exhaustive rather than fail-fast: every mistake in
the whole `extends` chain and in the overrides is reported at once, each as
`<file>: <key.path>: expected <what>, got <value>`, before a single frame is read.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vst_node.errors import PresetError
from vst_node.flow import DIS_PRESETS, FLOW_BACKENDS, FlowSettings
from vst_node.losses import TEMPORAL_PENALTIES
from vst_node.style_losses import STYLE_LOSS_KINDS

DEFAULT_PRESET = "default"
PRESETS_ENV = "VST_NODE_PRESETS"
STYLE_LOSSES = STYLE_LOSS_KINDS
OPTIMISERS = ("lbfgs", "adam")
FIRST_INITS = ("random", "content")
LATER_INITS = ("random", "content", "previous", "previous_warped")
FILL_MODES = ("content", "mean")
VGG19_LAYERS = tuple(
    f"relu{block}_{n}"
    for block, convs in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))
    for n in range(1, convs + 1)
)
MIN_SIDE = 16  # VGG-19 pools four times before relu5_1; smaller frames have no relu5 features left


# ---------------------------------------------------------------- what the engine reads


@dataclass(frozen=True)
class StyleSettings:
    image: Path  # resolved relative to the preset file that named it
    scale: float = 1.0  # style image resized to the content area times this
    projections: int = 64  # sliced Wasserstein: random directions per layer (0 = one per channel)


@dataclass(frozen=True)
class LossWeights:
    content: float = 5.0
    style: float = 100.0
    temporal: float = 1000.0
    tv: float = 1e-3


@dataclass(frozen=True)
class LayerSettings:
    content: tuple[str, ...] = ("relu4_2",)
    style: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class OptimiserSettings:
    method: str = "lbfgs"
    iterations_first: int = 400
    iterations: int = 200
    tolerance: float = 1e-4
    tolerance_window: int = 50
    learning_rate: float = 1.0


@dataclass(frozen=True)
class InitSettings:
    first: str = "content"
    later: str = "previous_warped"
    seed: int = 0
    noise_std: float = 0.001


@dataclass(frozen=True)
class TemporalSettings:
    enabled: bool = True
    use_mask: bool = True
    mask_blur_sigma: float = 0.8
    fill_disoccluded: str = "content"
    offsets: tuple[int, ...] = (1,)  # J of Ruder et al. 4.3: (1,) = short-term only, (1, 2, 4) long-term
    penalty: str = "squared"  # or "absolute": the robust penalty of Ruder's appendix

    def validate(self) -> None:
        if 1 not in self.offsets:
            raise ValueError("temporal.offsets must include 1 (the previous frame)")


@dataclass(frozen=True)
class MultiPassSettings:
    """Ruder et al. 4.4: pass 0 stylizes frames alone, later passes alternate direction."""

    passes: int = 1  # 1 = the single sequential pass
    iterations: int = 100  # per frame and pass
    blend: float = 0.5  # delta: weight of the warped neighbour against the frame's last pass
    temporal_from: int = 8  # first pass (counting from 0) with the temporal loss


@dataclass(frozen=True)
class MultiScaleSettings:
    """Optimise a downscaled frame first, then refine at each finer level (METHOD.md section 3)."""

    levels: int = 1  # 1 = optimise at the processing size only
    factor: float = 0.5  # side of each coarser level relative to the next finer one
    coarse: float = 1.0  # iterations at the coarsest level, as a fraction of the frame's budget
    refine: float = 0.25  # iterations at each finer level, as a fraction of the frame's budget
    style_exponent: float = 0.5  # style weight x (area ratio)^this at a coarser level
    temporal_exponent: float = 0.25  # temporal weight x (area ratio)^this at a coarser level


@dataclass(frozen=True)
class ResolutionSettings:
    scale: float = 1.0  # processing size; the output is resized back to the input size
    max_side: int | None = None


@dataclass(frozen=True)
class ColourSettings:
    input: str = "auto"  # "auto" or an OCIO colour interop id / colour-space name
    preserve_highlights: bool = True
    preserve_colour: bool = False  # keep the input's colours: only luminance/texture is stylized


@dataclass(frozen=True, kw_only=True)
class Preset:
    name: str
    description: str
    source: Path | None
    style: StyleSettings
    weights: LossWeights = field(default_factory=LossWeights)
    layers: LayerSettings = field(default_factory=LayerSettings)
    style_loss: str = "gram"
    optimiser: OptimiserSettings = field(default_factory=OptimiserSettings)
    init: InitSettings = field(default_factory=InitSettings)
    flow: FlowSettings = field(default_factory=FlowSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    resolution: ResolutionSettings = field(default_factory=ResolutionSettings)
    multiscale: MultiScaleSettings = field(default_factory=MultiScaleSettings)
    multipass: MultiPassSettings = field(default_factory=MultiPassSettings)
    colour: ColourSettings = field(default_factory=ColourSettings)
    strength: float = 1.0  # 0 = identity


SECTIONS: dict[str, type] = {
    "style": StyleSettings,
    "weights": LossWeights,
    "layers": LayerSettings,
    "optimiser": OptimiserSettings,
    "init": InitSettings,
    "flow": FlowSettings,
    "temporal": TemporalSettings,
    "resolution": ResolutionSettings,
    "multiscale": MultiScaleSettings,
    "multipass": MultiPassSettings,
    "colour": ColourSettings,
}
SCALARS = ("name", "description", "style_loss", "strength")
TOP_KEYS = (
    "name", "description", "extends", "style", "weights", "layers", "style_loss",
    "optimiser", "init", "flow", "temporal", "resolution", "multiscale", "multipass", "colour",
    "strength",
)  # fmt: skip


# ---------------------------------------------------------------- rules: one per key path


@dataclass(frozen=True)
class Rule:
    """What one key accepts; `check` returns (converted value, None) or (None, what was expected)."""

    kind: str  # bool|int|float|str|text|path|layers|offsets|colourspace|any; a trailing "?" allows null
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()

    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        base = self.kind.rstrip("?")
        text = {
            "bool": "true or false",
            "int": "an integer",
            "float": "a number",
            "str": "a non-empty string",
            "text": "a string",
            "path": "a path to a readable image",
            "layers": "a non-empty list of VGG-19 layer names (relu1_1 .. relu5_4)",
            "offsets": "a list of distinct frame offsets >= 1 that includes 1, e.g. [1, 2, 4]",
            "colourspace": "'auto' or an OCIO colour interop id / colour-space name (e.g. lin_rec709_scene)",
            "any": "a value",
        }[base]
        if self.ge is not None and self.le is not None:
            text += f" from {self.ge:g} to {self.le:g}"
        elif self.ge is not None:
            text += f" >= {self.ge:g}"
        elif self.gt is not None and self.le is not None:
            text += f" > {self.gt:g} and <= {self.le:g}"
        elif self.gt is not None:
            text += f" > {self.gt:g}"
        return ("null or " + text) if self.kind.endswith("?") else text

    def check(self, value: Any) -> tuple[Any, str | None]:
        if value is None and self.kind.endswith("?"):
            return None, None
        kind = self.kind.rstrip("?")
        hint = _did_you_mean(value, self.choices) if self.choices and isinstance(value, str) else ""
        bad = (None, self.expected() + hint)
        if kind == "bool":
            return (value, None) if isinstance(value, bool) else bad
        if kind == "text":  # free text, may be empty
            return (value, None) if isinstance(value, str) else bad
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return bad
            if kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
                return bad
            if not math.isfinite(value) or not self._in_range(value):
                return bad
            return (float(value) if kind == "float" else int(value)), None
        if kind == "str" or kind == "colourspace":
            if not isinstance(value, str) or not value or (self.choices and value not in self.choices):
                return bad
            if kind == "colourspace" and not _known_colourspace(value):
                return bad
            return value, None
        if kind == "path":
            return (Path(value), None) if isinstance(value, str) and value else bad
        if kind == "layers":
            items = [value] if isinstance(value, str) else value
            if (
                not isinstance(items, (list, tuple))
                or not items
                or not all(isinstance(v, str) for v in items)
            ):
                return bad
            return tuple(items), None
        if kind == "offsets":
            items = [value] if isinstance(value, int) else value
            ok = (
                isinstance(items, (list, tuple))
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items)
                and 1 in items
                and len(set(items)) == len(items)
            )
            return (tuple(sorted(items)), None) if ok else bad
        if kind == "any":  # a field this module does not know yet: its dataclass judges the value
            return (tuple(value) if isinstance(value, list) else value), None
        raise AssertionError(kind)

    def _in_range(self, v: float) -> bool:
        return (
            (self.ge is None or v >= self.ge)
            and (self.gt is None or v > self.gt)
            and (self.le is None or v <= self.le)
        )


_NUM0 = Rule("float", ge=0)
RULES: dict[str, Rule] = {
    "name": Rule("str"),
    "description": Rule("text"),
    "style_loss": Rule("str", choices=STYLE_LOSSES),
    "strength": Rule("float", ge=0, le=1),
    "style.image": Rule("path"),
    "style.scale": Rule("float", gt=0),
    "style.projections": Rule("int", ge=0),
    "weights.content": _NUM0,
    "weights.style": _NUM0,
    "weights.temporal": _NUM0,
    "weights.tv": _NUM0,
    "layers.content": Rule("layers"),
    "layers.style": Rule("layers"),
    "optimiser.method": Rule("str", choices=OPTIMISERS),
    "optimiser.iterations_first": Rule("int", ge=1),
    "optimiser.iterations": Rule("int", ge=1),
    "optimiser.tolerance": Rule("float", gt=0),
    "optimiser.tolerance_window": Rule("int", ge=1),
    "optimiser.learning_rate": Rule("float", gt=0),
    "init.first": Rule("str", choices=FIRST_INITS),
    "init.later": Rule("str", choices=LATER_INITS),
    "init.seed": Rule("int", ge=0),
    "init.noise_std": _NUM0,
    "flow.backend": Rule("str", choices=FLOW_BACKENDS),
    "flow.dis_preset": Rule("str", choices=DIS_PRESETS),
    "temporal.enabled": Rule("bool"),
    "temporal.use_mask": Rule("bool"),
    "temporal.mask_blur_sigma": _NUM0,
    "temporal.fill_disoccluded": Rule("str", choices=FILL_MODES),
    "temporal.offsets": Rule("offsets"),
    "temporal.penalty": Rule("str", choices=TEMPORAL_PENALTIES),
    "multiscale.levels": Rule("int", ge=1, le=6),
    "multiscale.factor": Rule("float", ge=0.1, le=0.9),
    "multiscale.coarse": Rule("float", gt=0, le=1),
    "multiscale.refine": Rule("float", gt=0, le=1),
    "multiscale.style_exponent": Rule("float", ge=0, le=4),
    "multiscale.temporal_exponent": Rule("float", ge=0, le=4),
    "multipass.passes": Rule("int", ge=1),
    "multipass.iterations": Rule("int", ge=1),
    "multipass.blend": Rule("float", ge=0, le=1),
    "multipass.temporal_from": Rule("int", ge=0),
    "resolution.scale": Rule("float", gt=0),
    "resolution.max_side": Rule("int?", ge=MIN_SIDE),
    "colour.input": Rule("colourspace"),
    "colour.preserve_highlights": Rule("bool"),
    "colour.preserve_colour": Rule("bool"),
}


def rule_for(section: str, f: dataclasses.Field) -> Rule:
    """The rule of a section field; fields added to FlowSettings elsewhere get one from their default."""
    known = RULES.get(f"{section}.{f.name}")
    if known is not None:
        return known
    default = f.default
    for kind in (bool, int, float, str):
        if isinstance(default, kind):
            return Rule(kind.__name__)
    text = str(f.type).replace(" ", "")
    simple = {"int|None": "int?", "float|None": "float?", "str|None": "str?", "bool|None": "bool?"}
    return Rule(simple.get(text, "any"))


@functools.lru_cache(maxsize=1)
def _colour_config() -> Any:
    import OpenImageIO as oiio

    return oiio.ColorConfig()  # honours $OCIO, else the built-in ocio://default


def _known_colourspace(name: str) -> bool:
    """'auto', or a name the active OCIO config resolves; never the ambiguous 'scene_linear' role."""
    if name == "auto":
        return True
    if name == "scene_linear":
        return False
    config = _colour_config()
    return config.getColorSpaceIndex(config.resolve(name)) >= 0


def _check_layers(names: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(index suffix, expected, value) per bad layer name."""
    problems = []
    for i, name in enumerate(names):
        if name not in VGG19_LAYERS:
            hint = _did_you_mean(name, VGG19_LAYERS)
            problems.append((f"[{i}]", f"a VGG-19 layer relu1_1 .. relu5_4{hint}", name))
        elif names.index(name) != i:
            problems.append((f"[{i}]", "each layer once", name))
    return problems


def _check_image(path: Path) -> str | None:
    """Why the style image cannot be used, or None; only the header is read."""
    if not path.is_file():
        return "no such file"
    import OpenImageIO as oiio

    image = oiio.ImageInput.open(str(path))
    if image is None:
        return f"unreadable: {oiio.geterror().strip() or 'unknown format'}"
    image.close()
    return None


# ---------------------------------------------------------------- messages


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, (str, int, float)) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problem(origin: str, path: str, expected: str, value: Any, note: str = "") -> str:
    return f"{origin}: {path}: expected {expected}, got {_show(value)}{note}"


def _unknown(origin: str, path: str, key: Any, valid: Sequence[str]) -> str:
    hint = _did_you_mean(str(key), valid)
    return (
        f"{origin}: {path}: expected one of the keys {', '.join(valid)}{hint}, got unknown key {_show(key)}"
    )


# ---------------------------------------------------------------- reading files


class _Loader(yaml.SafeLoader):
    """Safe YAML that also reads `1e-3` as a number, as YAML 1.2 and every artist expect."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _duplicate_keys(node: yaml.Node | None, prefix: str = "") -> list[tuple[str, int]]:
    """(key.path, line) of keys written twice in one mapping; PyYAML would silently keep the last."""
    out: list[tuple[str, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in seen:
                out.append((prefix + key, key_node.start_mark.line + 1))
            seen.add(key)
            out.extend(_duplicate_keys(value_node, f"{prefix}{key}."))
    return out


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else " ".join(what.split())


def _read_yaml(path: Path, problems: list[str]) -> dict | None:
    """The file's top-level mapping; None when it cannot be used at all (the problem is recorded)."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{label}: expected a readable UTF-8 YAML file, got {type(exc).__name__}: {exc}")
        return None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        problems.append(f"{label}: expected valid YAML, got a syntax error: {_yaml_error(exc)}")
        return None
    finally:
        loader.dispose()
    for key_path, line in _duplicate_keys(node):
        problems.append(f"{label}: {key_path}: expected each key once, got it again on line {line}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{label}: (top level): expected a mapping of keys, got {_show(data)}")
        return None
    return data


def _origins(data: Any, label: str, prefix: str = "") -> dict[str, str]:
    """key.path -> which file (or --set) wrote it, for every mapping key at every depth."""
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            out[path] = label
            out.update(_origins(value, label, path + "."))
    return out


def _merge(base: dict, over: dict) -> dict:
    """Child wins; mappings merge key by key; lists and scalars are replaced whole."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _anchor_paths(data: dict, base_dir: Path) -> None:
    """Make style.image absolute now, relative to the file (or cwd) that wrote it, before merging."""
    style = data.get("style")
    if isinstance(style, dict) and isinstance(style.get("image"), str) and style["image"]:
        image = Path(style["image"]).expanduser()
        style["image"] = os.path.normpath(image if image.is_absolute() else base_dir / image)


# ---------------------------------------------------------------- finding presets


def builtin_presets_dir() -> Path:
    """The checkout's presets/ (source tree, editable install), else the wheel's data-files location."""
    checkout = Path(__file__).resolve().parents[1] / "presets"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "vst-node" / "presets"


def search_dirs() -> list[Path]:
    """$VST_NODE_PRESETS folders first (so a studio can shadow a built-in), then the built-ins."""
    user = [Path(p).expanduser() for p in os.environ.get(PRESETS_ENV, "").split(os.pathsep) if p]
    return [*user, builtin_presets_dir()]


def _named(name: str, exclude: Iterable[Path] = ()) -> Path | None:
    skip = {p.resolve() for p in exclude}
    for folder in search_dirs():
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file() and candidate.resolve() not in skip:
                return candidate.resolve()
    return None


def _looks_like_path(value: str | Path) -> bool:
    text = str(value)
    return isinstance(value, Path) or "/" in text or os.sep in text or text.endswith((".yaml", ".yml"))


def list_presets() -> list[tuple[str, Path, str]]:
    """(name, path, description) of every findable preset, by name; user folders shadow built-ins."""
    found: dict[str, tuple[str, Path, str]] = {}
    for folder in search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            if path.stem in found:
                continue
            description = (_read_yaml(path, []) or {}).get("description", "")
            found[path.stem] = (
                path.stem,
                path.resolve(),
                description if isinstance(description, str) else "",
            )
    return [found[name] for name in sorted(found)]


# ---------------------------------------------------------------- loading


@dataclass
class _Merged:
    """A preset mapping merged along its `extends` chain, with the file that wrote each key."""

    data: dict
    origins: dict[str, str]  # key.path -> file label (or `--set ...`)
    complete: bool = True  # False when part of the chain was unusable: skip "required key missing"


def _load_chain(path: Path, chain: tuple[Path, ...], problems: list[str]) -> _Merged:
    """One file merged over everything it extends; `name`/`description` belong to the file, not its heirs."""
    label = str(path)
    data = _read_yaml(path, problems)
    if data is None:
        return _Merged({}, {}, complete=False)
    _anchor_paths(data, path.parent)
    origins = _origins(data, label)
    if "extends" not in data:
        return _Merged(data, origins)
    target = data.pop("extends")
    if not isinstance(target, str) or not target:
        expected = "a preset file (relative to this one) or a built-in name"
        problems.append(_problem(label, "extends", expected, target))
        return _Merged(data, origins, complete=False)
    parent = _resolve_extends(target, path, chain, problems)
    if parent is None:
        return _Merged(data, origins, complete=False)
    base = _load_chain(parent, (*chain, path), problems)
    base.data.pop("name", None)
    base.data.pop("description", None)
    return _Merged(_merge(base.data, data), {**base.origins, **origins}, base.complete)


def _resolve_extends(target: str, path: Path, chain: tuple[Path, ...], problems: list[str]) -> Path | None:
    label = str(path)
    visited = (*chain, path)
    candidate = Path(target).expanduser()
    candidate = candidate if candidate.is_absolute() else path.parent / candidate
    if candidate.is_file() and candidate.resolve() not in visited:
        return candidate.resolve()
    # A bare name: a built-in (or $VST_NODE_PRESETS) preset, skipping files already in the chain so a
    # user's default.yaml can extend the built-in default.yaml.
    stem = Path(target).stem if Path(target).name == target else None
    named = _named(stem, exclude=visited) if stem else None
    if named is not None:
        return named
    if candidate.is_file():
        cycle = " -> ".join(p.name for p in (*visited[visited.index(candidate.resolve()) :], candidate))
        problems.append(
            _problem(label, "extends", "a preset that does not extend itself", target, f" (cycle: {cycle})")
        )
    else:
        names = ", ".join(n for n, _, _ in list_presets())
        expected = f"a preset file relative to this one or a built-in name ({names})"
        problems.append(_problem(label, "extends", expected, target, f" (no such file: {candidate})"))
    return None


def _apply_overrides(
    merged: _Merged, overrides: Mapping[str, str] | Sequence[str], problems: list[str]
) -> None:
    items = [f"{k}={v}" for k, v in overrides.items()] if isinstance(overrides, Mapping) else list(overrides)
    for text in items:
        label = f"--set {text}"
        key, sep, raw = text.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            problems.append(f"{label}: expected key.path=value (e.g. weights.style=200), got {text!r}")
            continue
        if parts[0] == "extends":
            problems.append(
                _problem(label, "extends", "a key other than extends (it only works in a file)", key)
            )
            continue
        try:
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        rule = RULES.get(key.strip())
        if isinstance(value, dict) and rule is not None:
            value = raw  # a leaf key: `description=a: b` means the text, not a mapping
        nested: Any = value
        for part in reversed(parts):
            nested = {part: nested}
        _anchor_paths(nested, Path.cwd())
        merged.data = _merge(merged.data, nested)
        merged.origins.update(_origins(nested, label))


def _build(merged: _Merged, source: Path, problems: list[str]) -> Preset | None:
    """Validate the merged mapping against the rules; a Preset only when nothing is wrong."""
    data = merged.data

    def origin(path: str) -> str:
        while path:
            if path in merged.origins:
                return merged.origins[path]
            path = path.rpartition(".")[0]
        return str(source)

    start = len(problems)
    for key in data:
        if key not in TOP_KEYS:
            problems.append(_unknown(origin(str(key)), str(key), key, TOP_KEYS))
    values: dict[str, Any] = {"name": source.stem, "description": ""}
    for key in SCALARS:
        if key in data:
            value, expected = RULES[key].check(data[key])
            if expected:
                problems.append(_problem(origin(key), key, expected, data[key]))
            values[key] = value
    for section, cls in SECTIONS.items():
        values[section] = _build_section(section, cls, data.get(section), origin, merged.complete, problems)
    if len(problems) > start:
        return None
    return Preset(source=source, **values)


def _build_section(
    section: str, cls: type, raw: Any, origin: Callable[[str], str], complete: bool, problems: list[str]
) -> Any:
    start = len(problems)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(_problem(origin(section), section, f"a mapping with keys {', '.join(fields)}", raw))
        return None
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{section}.{key}"
        if key not in fields:
            problems.append(_unknown(origin(path), path, key, list(fields)))
            continue
        rule = rule_for(section, fields[key])
        converted, expected = rule.check(value)
        if expected:
            problems.append(_problem(origin(path), path, expected, value))
            continue
        if rule.kind == "layers":
            for suffix, what, name in _check_layers(converted):
                problems.append(_problem(origin(path), path + suffix, what, name))
        if rule.kind == "path":
            why = _check_image(converted)
            if why:
                problems.append(_problem(origin(path), path, rule.expected(), str(converted), f" ({why})"))
        kwargs[key] = converted
    if section == "style" and "image" not in raw:
        if complete:  # else the file that would have named it could not be read: already reported
            problems.append(_problem(origin(section), "style.image", "a path to the style image", None))
        return None
    if len(problems) > start:
        return None
    try:
        settings = cls(**kwargs)
        if callable(getattr(settings, "validate", None)):
            settings.validate()  # a settings class that checks itself (FlowSettings)
        return settings
    except (TypeError, ValueError) as exc:
        problems.append(_problem(origin(section), section, "consistent settings", raw, f" ({exc})"))
        return None


def _locate(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if _looks_like_path(name_or_path) or Path(text).is_file():
        path = Path(text).expanduser()
        if not path.is_file() and path.name == text and _named(path.stem):  # "ink.yaml" from anywhere
            return _named(path.stem)  # type: ignore[return-value]
        if not path.is_file():
            raise PresetError(
                f"{text}: expected an existing preset file, got {text!r} (no such file: {path.absolute()})"
            )
        return path.resolve()
    found = _named(text)
    if found is None:
        names = [n for n, _, _ in list_presets()]
        raise PresetError(
            f"{text}: expected a preset file or one of the presets {', '.join(names)}, "
            f"got {text!r}{_did_you_mean(text, names)}"
        )
    return found


def _load(path: Path, overrides: Mapping[str, str] | Sequence[str]) -> tuple[Preset | None, list[str]]:
    problems: list[str] = []
    merged = _load_chain(path, (), problems)
    _apply_overrides(merged, overrides, problems)
    preset = _build(merged, path, problems)
    return (preset if not problems else None), problems


def load_preset(name_or_path: str | Path, overrides: Mapping[str, str] | Sequence[str] = ()) -> Preset:
    """A built-in/user preset by name or a .yaml path, with `extends` merged and overrides applied.

    Raises PresetError listing every problem, one `<file>: <key.path>: expected ..., got ...` per line.
    """
    preset, problems = _load(_locate(name_or_path), overrides)
    if problems or preset is None:
        error = PresetError("\n".join(problems))
        error.problems = problems  # type: ignore[attr-defined]
        raise error
    return preset


def validate_file(path: str | Path) -> list[str]:
    """Every problem of one preset file (and what it extends); empty when it is valid."""
    try:
        return _load(_locate(Path(path)), ())[1]
    except PresetError as exc:
        return str(exc).splitlines()


# ---------------------------------------------------------------- writing and digests


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    """The fully resolved preset in the YAML layout (no `extends`, absolute paths as strings)."""
    out: dict[str, Any] = {}
    for key in TOP_KEYS:
        if key == "extends":
            continue
        value = getattr(preset, key)
        out[key] = _plain(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value)
    return out


def dump_preset(preset: Preset) -> str:
    """YAML that load_preset reads back to the same preset; a starting point for a hand-edited copy."""
    header = f"# vst-node preset {preset.name!r}, fully resolved"
    header += f" from {preset.source}\n" if preset.source else "\n"
    return header + yaml.safe_dump(preset_to_dict(preset), sort_keys=False, allow_unicode=True)


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preset_digest(preset: Preset, sections: Iterable[str]) -> str:
    """Stable sha256 of the named top-level sections, so the engine invalidates only what a change affects.

    For "style" the image's content counts, not its path: moving the file keeps caches, repainting it
    does not.
    """
    resolved = preset_to_dict(preset)
    payload: dict[str, Any] = {"format": "vst-node-preset-digest-1"}
    for section in sorted(set(sections)):
        top, _, key = section.partition(".")  # "colour.input": one key of a section
        if top not in resolved or (key and key not in resolved[top]):
            raise ValueError(f"unknown preset section {section!r}; expected one of {', '.join(resolved)}")
        payload[section] = resolved[top][key] if key else resolved[top]
    if "style" in payload:
        image = preset.style.image
        try:
            stat = image.stat()
        except OSError as exc:
            raise PresetError(f"{image}: expected a readable style image, got {exc.strerror}") from exc
        image_hash = _file_sha256(str(image.resolve()), stat.st_mtime_ns, stat.st_size)
        payload["style"] = {**resolved["style"], "image": None, "image_sha256": image_hash}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
