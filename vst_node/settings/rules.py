"""Validation rules, one per key path, and the wording of every problem a preset can have.

Artists edit presets by hand, so each mistake is reported as `<file>: <key.path>: expected <what>,
got <value>`, with a "did you mean" where a close choice exists.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vst_node.settings.choices import (
    DIS_PRESETS,
    FILL_MODES,
    FIRST_INITS,
    FLOW_BACKENDS,
    LATER_INITS,
    METHODS,
    NETWORK_STATISTICS,
    OPTIMISERS,
    RESAMPLING,
    STYLE_LOSSES,
    TEMPORAL_PENALTIES,
    VGG19_LAYERS,
)
from vst_node.settings.schema import MIN_SIDE


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
            "file": "a path to a file",
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
        if kind in ("path", "file"):
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
    "weights.range": _NUM0,
    "weights.reference_side": Rule("int?", ge=MIN_SIDE),
    "layers.content": Rule("layers"),
    "layers.style": Rule("layers"),
    "optimiser.method": Rule("str", choices=OPTIMISERS),
    "optimiser.iterations_first": Rule("int", ge=1),
    "optimiser.iterations": Rule("int", ge=1),
    "optimiser.tolerance": Rule("float", gt=0),
    "optimiser.tolerance_window": Rule("int", ge=1),
    "optimiser.learning_rate": Rule("float", gt=0),
    "optimiser.history": Rule("int", ge=1),
    "init.first": Rule("str", choices=FIRST_INITS),
    "init.later": Rule("str", choices=LATER_INITS),
    "init.seed": Rule("int", ge=0),
    "init.noise_std": _NUM0,
    "init.run_up": Rule("int", ge=0),
    "flow.backend": Rule("str", choices=FLOW_BACKENDS),
    "flow.dis_preset": Rule("str", choices=DIS_PRESETS),
    "temporal.enabled": Rule("bool"),
    "temporal.use_mask": Rule("bool"),
    "temporal.mask_blur_sigma": _NUM0,
    "temporal.fill_disoccluded": Rule("str", choices=FILL_MODES),
    "temporal.offsets": Rule("offsets"),
    "temporal.penalty": Rule("str", choices=TEMPORAL_PENALTIES),
    "temporal.resampling": Rule("str", choices=RESAMPLING),
    "temporal.trust_from": Rule("float", ge=0, le=1),
    "temporal.trust_full": Rule("float", ge=0, le=1),
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
    "method": Rule("str", choices=METHODS),
    "network.model": Rule("file?"),
    "network.statistics": Rule("str", choices=NETWORK_STATISTICS),
    "network.shot_samples": Rule("int", ge=1),
    "training.content": _NUM0,
    "training.style": _NUM0,
    "training.tv": _NUM0,
    "training.noise": _NUM0,
    "training.noise_pixels": Rule("float", gt=0, le=1),
    "training.noise_range": Rule("float", gt=0, le=255),
    "training.compound": _NUM0,
    "training.compound_shift": _NUM0,
    "training.compound_sigma": _NUM0,
    "training.width": Rule("int", ge=4, le=128),
    "training.residual_blocks": Rule("int", ge=1, le=16),
    "training.max_layer": Rule("str", choices=VGG19_LAYERS),
    "training.crop": Rule("int", ge=32),
    "training.batch": Rule("int", ge=1),
    "training.style_side": Rule("int", ge=MIN_SIDE),
    "training.learning_rate": Rule("float", gt=0),
    "training.steps": Rule("int", ge=1),
    "training.minutes": Rule("float", gt=0),
    "training.seed": Rule("int", ge=0),
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
