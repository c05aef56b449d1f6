"""YAML presets: find them, inherit (`extends`), override (`--set key.path=value`), build, write back.

Validation is exhaustive rather than fail-fast: every mistake in the whole `extends` chain and in
the overrides is reported at once, before a single frame is read (see rules).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vst_node.errors import PresetError
from vst_node.settings.digest import preset_to_dict
from vst_node.settings.rules import (
    RULES,
    _check_image,
    _check_layers,
    _did_you_mean,
    _problem,
    _show,
    _unknown,
    rule_for,
)
from vst_node.settings.schema import SCALARS, SECTIONS, TOP_KEYS, Preset

DEFAULT_PRESET = "default"
PRESETS_ENV = "VST_NODE_PRESETS"


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
        elif value is None and isinstance(out.get(key), dict):
            continue  # `weights:` with every line commented out changes nothing, not everything
        else:
            out[key] = value
    return out


# The keys that name files: each is made absolute relative to the file (or cwd) that wrote it.
PATH_KEYS = (("style", "image"), ("network", "model"))


def _anchor_paths(data: dict, base_dir: Path) -> None:
    """Make PATH_KEYS absolute now, relative to the file (or cwd) that wrote them, before merging."""
    for section_name, key in PATH_KEYS:
        section = data.get(section_name)
        if isinstance(section, dict) and isinstance(section.get(key), str) and section[key]:
            path = Path(section[key]).expanduser()
            section[key] = os.path.normpath(path if path.is_absolute() else base_dir / path)


# ---------------------------------------------------------------- finding presets


def builtin_presets_dir() -> Path:
    """The checkout's presets/ (source tree, editable install), else the wheel's data-files location."""
    checkout = Path(__file__).resolve().parents[2] / "presets"
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


def looks_like_path(value: str | Path) -> bool:
    """Whether a preset reference names a file rather than a preset by name."""
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
    uses_network = [
        why for why, on in (
            ("method is feedforward", values.get("method") == "feedforward"),
            ("init.first is network", values["init"].first == "network"),
            ("temporal.fill_disoccluded is network", values["temporal"].fill_disoccluded == "network"),
        ) if on
    ]  # fmt: skip
    if uses_network:
        model = values["network"].model
        if model is None:
            problems.append(_problem(origin("network.model"), "network.model",
                                     f"a model file from `vst-node train` ({uses_network[0]})", None))
        elif not model.is_file():
            problems.append(_problem(origin("network.model"), "network.model",
                                     "an existing model file from `vst-node train`", str(model)))
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
        # A check that names its key ("temporal.trust_full must be ...") is reported on that key.
        named = re.match(rf"({re.escape(section)})\.(\w+) ", str(exc))
        if named and named.group(2) in raw:
            key = f"{section}.{named.group(2)}"
            expected = f"a value consistent with the rest of {section} ({exc})"
            problems.append(_problem(origin(key), key, expected, raw[named.group(2)]))
        else:
            problems.append(_problem(origin(section), section, "consistent settings", raw, f" ({exc})"))
        return None


def _locate(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if looks_like_path(name_or_path) or Path(text).is_file():
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


def dump_preset(preset: Preset) -> str:
    """YAML that load_preset reads back to the same preset; a starting point for a hand-edited copy."""
    header = f"# vst-node preset {preset.name!r}, fully resolved"
    header += f" from {preset.source}\n" if preset.source else "\n"
    return header + yaml.safe_dump(preset_to_dict(preset), sort_keys=False, allow_unicode=True)
