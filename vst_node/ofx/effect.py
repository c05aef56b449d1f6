"""The stateful node with OpenFX image-effect semantics: what a compositor's C++ plug-in shim calls.

Host-agnostic (no OFX headers, no host module): each method mirrors one OFX action, each descriptor
one OFX property set, so an integration is a thin translation (docs/ofx.md has the contract). Pixels
cross this face as the host holds them: linear, premultiplied RGBA float32 at the render scale; the
face converts to the network's encoding and back with vst_node.io.colour and keeps alpha bit-exact.

Parameters are derived, not restated: types, ranges and choices come from presets.RULES, defaults
from the preset dataclasses, and what a change invalidates from the node's section lists. A parameter
left at its default defers to the chosen preset (a preset that sets its own style weight keeps it);
any other value is applied as an override (`--set key=value`), validated like the CLI's.

Threading: one effect per node instance; every action takes the effect's lock and the node has its
own, so concurrent renders of one instance serialize (correct, not parallel). The chain a frame
depends on starts at the Source clip's first frame, never at the host's render range, so any order,
any thread and any interactive scrub give the same pixels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vst_node.engine.node import (
    FLOW_SECTIONS,
    LOW_RELIABILITY,
    STYLIZED_SECTIONS,
    StyleTransferNode,
    poor_flow_message,
)
from vst_node.engine.optimise import CancelCheck
from vst_node.io.colour import LINEAR_SPACE
from vst_node.ofx.pixels import host_to_network, network_to_host, style_file
from vst_node.settings import RULES, SECTIONS, Preset, list_presets, load_preset

ParamType = Literal["bool", "int", "double", "choice", "string"]
Premultiplication = Literal["premultiplied", "unpremultiplied", "opaque"]
Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 in canonical coordinates
HostFetch = Callable[[int], np.ndarray]
"""frame -> the host's image of a clip at that frame: (H, W, 4) (or (H, W, 3)) float32, linear,
premultiplied as the clip says, at the current render scale."""

SOURCE, STYLE, OUTPUT = "Source", "Style", "Output"
FILTER_CONTEXT = "filter"
PRESET_PARAM, PRESET_FILE_PARAM = "preset", "preset_file"
INVALIDATES_ALL = ("stylized", "flow")


@dataclass(frozen=True)
class ClipDescriptor:
    """kOfxImageEffectClipProp*: what the effect asks of one clip."""

    name: str
    label: str
    optional: bool = False
    temporal_access: bool = False  # kOfxImageEffectPropTemporalClipAccess
    supports_tiles: bool = False  # kOfxImageEffectPropSupportsTiles (per clip)
    components: tuple[str, ...] = ("RGBA", "RGB")  # kOfxImageEffectPropSupportedComponents
    hint: str = ""


@dataclass(frozen=True)
class ParamDescriptor:
    """kOfxParamProp*: one artist-facing parameter; `key` is the preset key path it overrides."""

    name: str
    type: ParamType
    default: Any
    label: str
    hint: str
    key: str | None = None
    min: float | None = None  # kOfxParamPropMin (hard)
    max: float | None = None  # kOfxParamPropMax
    display_min: float | None = None  # kOfxParamPropDisplayMin (slider)
    display_max: float | None = None
    choices: tuple[str, ...] = ()  # kOfxParamPropChoiceOption
    invalidates: tuple[str, ...] = ()  # node data a change drops: 'stylized', 'flow'
    animates: bool = False  # one value per shot: an animated weight would break the temporal chain


@dataclass(frozen=True)
class EffectDescriptor:
    """The Describe / DescribeInContext answer: effect properties, clips, parameters."""

    plugin_id: str
    label: str
    grouping: str
    version: tuple[int, int]
    contexts: tuple[str, ...]
    clips: tuple[ClipDescriptor, ...]
    params: tuple[ParamDescriptor, ...]
    supported_pixel_depths: tuple[str, ...] = ("float",)  # kOfxBitDepthFloat only
    supports_tiles: bool = False  # full frames: the optimisation sees the whole image
    supports_multi_resolution: bool = True  # proxy render scales are honoured
    temporal_clip_access: bool = True  # render(t) reads t-1 (t-j) of Source
    sequential_render: int = 2  # faster in order (state is reused), correct in any order
    render_thread_safety: str = "instance_safe"  # kOfxImageEffectRenderInstanceSafe
    host_frame_threading: bool = False  # no host tiling into threads
    supports_multiple_clip_depths: bool = False

    def param(self, name: str) -> ParamDescriptor:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"no parameter {name!r}; known: {', '.join(p.name for p in self.params)}")


@dataclass(frozen=True)
class ClipPreferences:
    """The GetClipPreferences answer for the Output clip."""

    output_premultiplication: Premultiplication
    output_components: str
    pixel_depth: str = "float"
    frame_varying: bool = True  # kOfxImageEffectFrameVarying: every frame differs


# Artist-facing parameters: (preset key, label, why an artist touches it). Types, ranges, choices and
# defaults are not written here: they come from RULES and the preset dataclasses.
_EXPOSED: tuple[tuple[str, str, str], ...] = (
    ("method", "Method", "optimise: each frame optimised along the flow (best, slow); feedforward: the"
     " preset's trained network, one pass per frame, needs no other frames"),
    ("network.statistics", "Network statistics", "feedforward: frame = each frame's own normalisation;"
     " shot = from frames sampled across the shot, frozen (steadier look)"),
    ("strength", "Strength", "mix of stylized and source; 0 passes the source through untouched"),
    ("weights.content", "Content weight", "how closely shapes follow the source frame"),
    ("weights.style", "Style weight", "how strongly the style image's texture is imposed"),
    ("weights.temporal", "Temporal weight", "pull of each frame toward the previous one, warped"),
    ("weights.tv", "Smoothing (TV)", "total-variation smoothing against pixel noise"),
    ("optimiser.iterations_first", "Iterations (first frame)", "budget of the first frame of the chain"),
    ("optimiser.iterations", "Iterations", "budget of every later frame"),
    ("flow.backend", "Optical flow", "flow method between frames (dis is fast, deepflow best)"),
    ("temporal.enabled", "Temporal consistency", "off = every frame on its own (flickers)"),
    ("temporal.offsets", "Temporal offsets", "frames back the temporal loss looks, e.g. 1 or 1,2,4"),
    ("multipass.passes", "Passes", "above 1: the whole range several times, alternating direction"),
    ("colour.preserve_colour", "Preserve colour", "keep the source's colours; only luminance is stylized"),
)


def _field_default(key: str) -> Any:
    """The dataclass default of a preset key (Preset for top-level keys, else its section class)."""
    section, _, name = key.rpartition(".")
    cls = SECTIONS[section] if section else Preset
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(f"preset key {key!r} has no default")


def _invalidates(key: str) -> tuple[str, ...]:
    """What node.set_preset drops when this key changes: it compares exactly these sections."""
    section = key.partition(".")[0]
    if section in FLOW_SECTIONS:
        return INVALIDATES_ALL
    if section in STYLIZED_SECTIONS or key in STYLIZED_SECTIONS:
        return ("stylized",)
    return ()


def _descriptor(key: str, label: str, why: str) -> ParamDescriptor:
    rule = RULES[key]
    default = _field_default(key)
    name = key.replace(".", "_")
    hint = f"{why} ({rule.expected()}; preset key {key})"
    common = {"name": name, "label": label, "hint": hint, "key": key, "invalidates": _invalidates(key)}
    kind = rule.kind.rstrip("?")
    if rule.choices:
        return ParamDescriptor(type="choice", default=default, choices=rule.choices, **common)
    if kind == "bool":
        return ParamDescriptor(type="bool", default=default, **common)
    if kind == "offsets":
        return ParamDescriptor(type="string", default=",".join(str(j) for j in default), **common)
    if kind in ("int", "float"):
        low = rule.ge if rule.ge is not None else rule.gt  # OFX has no open bounds: validated anyway
        high = rule.le
        span = high if high is not None else max(4 * float(default), (low or 0) + 1)
        ptype: ParamType = "int" if kind == "int" else "double"
        cast = int if ptype == "int" else float
        low = None if low is None else cast(low)
        high = None if high is None else cast(high)
        return ParamDescriptor(
            type=ptype,
            default=default,
            min=low,
            max=high,
            display_min=low if low is not None else cast(0),
            display_max=round(span) if ptype == "int" else float(span),
            **common,
        )
    raise ValueError(f"preset key {key!r} of kind {rule.kind!r} has no OFX parameter type")


def param_descriptors() -> tuple[ParamDescriptor, ...]:
    """Every parameter the effect exposes, derived from the preset schema (presets found now)."""
    names = tuple(name for name, _path, _description in list_presets())
    preset = ParamDescriptor(
        name=PRESET_PARAM,
        type="choice",
        default="default" if "default" in names else names[0],
        label="Preset",
        hint="the look: a built-in preset or one found in $VST_NODE_PRESETS",
        choices=names,
        invalidates=INVALIDATES_ALL,
    )
    preset_file = ParamDescriptor(
        name=PRESET_FILE_PARAM,
        type="string",
        default="",
        label="Preset file",
        hint="a preset YAML file; when set it replaces the Preset choice",
        invalidates=INVALIDATES_ALL,
    )
    return (preset, preset_file, *(_descriptor(key, label, why) for key, label, why in _EXPOSED))


CLIPS = (
    ClipDescriptor(SOURCE, "Source", temporal_access=True, hint="the shot; frames t-j are read too"),
    ClipDescriptor(
        STYLE,
        "Style",
        optional=True,
        hint="optional style image (its first frame), replacing the preset's style.image",
    ),
    ClipDescriptor(OUTPUT, "Output"),
)


def describe() -> EffectDescriptor:
    """kOfxActionDescribe (the properties) with the filter context's clips and params."""
    return EffectDescriptor(
        plugin_id="org.vstnode.StyleTransfer",
        label="VST Style Transfer",
        grouping="Filter/Stylize",
        version=(0, 1),
        contexts=(FILTER_CONTEXT,),
        clips=CLIPS,
        params=param_descriptors(),
    )


def describe_in_context(context: str) -> EffectDescriptor:
    """kOfxImageEffectActionDescribeInContext: only the filter context (Source -> Output)."""
    if context != FILTER_CONTEXT:
        raise ValueError(f"context {context!r} is not supported; only {FILTER_CONTEXT!r}")
    return describe()


def frame_ranges(frames: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted frames as inclusive (start, end) runs, the shape of kOfxImageEffectPropFrameRange."""
    runs: list[tuple[int, int]] = []
    for f in sorted(set(frames)):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def _frame(time: float) -> int:
    """OFX times are doubles; the node works on whole frames (no motion-blur sub-frames)."""
    frame = round(float(time))
    if abs(float(time) - frame) > 1e-6:
        raise ValueError(f"time {time} is not a whole frame; sub-frame times are not supported")
    return frame


def _scale(render_scale: float | Sequence[float]) -> float:
    """kOfxImageEffectPropRenderScale is (x, y); square pixels only, in (0, 1]."""
    if isinstance(render_scale, (int, float)):
        sx = sy = float(render_scale)
    else:
        sx, sy = (float(v) for v in render_scale)
    if not math.isclose(sx, sy, rel_tol=1e-6) or not 0 < sx <= 1:
        raise ValueError(f"render scale {render_scale} is not supported: x and y equal, in (0, 1]")
    return sx


def _override_text(p: ParamDescriptor, value: Any) -> str:
    """A parameter value as the YAML of a `--set key=value` override."""
    if p.type == "bool":
        return "true" if value else "false"
    if p.type == "string" and RULES[p.key or ""].kind == "offsets":
        return "[" + ",".join(part.strip() for part in str(value).split(",") if part.strip()) + "]"
    if p.type in ("choice", "string"):
        return json.dumps(str(value))  # a JSON string is a YAML string, whatever it contains
    return repr(value)


def _check_value(p: ParamDescriptor, value: Any) -> Any:
    """The value as the parameter's type, or ValueError saying what was expected."""
    bad = ValueError(f"parameter {p.name!r}: expected {p.type}, got {value!r}")
    if p.type == "bool":
        if not isinstance(value, (bool, np.bool_, int)) or value not in (0, 1):
            raise bad
        return bool(value)
    if p.type in ("int", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise bad
        if p.type == "int" and not float(value).is_integer():
            raise bad
        number = int(value) if p.type == "int" else float(value)
        rule = RULES[p.key or ""]
        checked, expected = rule.check(number)
        if expected:
            raise ValueError(f"parameter {p.name!r}: expected {expected}, got {value!r}")
        return checked
    if p.type == "choice":
        if value not in p.choices:
            raise ValueError(f"parameter {p.name!r}: expected one of {', '.join(p.choices)}, got {value!r}")
        return str(value)
    if not isinstance(value, str):
        raise bad
    return value


class OfxStyleTransferEffect:
    """One effect instance (kOfxActionCreateInstance .. DestroyInstance) around one node."""

    def __init__(
        self,
        *,
        overrides: Sequence[str] = (),
        device: str = "auto",
        cache_dir: Path | None = None,
        max_cached_frames: int | None = 32,
        colorspace: str | None = None,
        node_factory: Callable[..., StyleTransferNode] = StyleTransferNode,
    ) -> None:
        """overrides: `key=value` applied under the parameters (a studio's or a test's settings);
        colorspace: the host's working space (default: the preset's colour.input, else linear Rec.709);
        cache_dir: flows on disk (shared by content key) and the Style clip's captured image."""
        self.descriptor = describe()
        self._params = {p.name: p for p in self.descriptor.params}
        self.values: dict[str, Any] = {p.name: p.default for p in self.descriptor.params}
        self._base_overrides = list(overrides)
        self._colorspace = colorspace
        self._lock = threading.RLock()
        self._abort: CancelCheck | None = None
        self._source_premult: Premultiplication = "premultiplied"
        self._source_range: tuple[int, int] | None = None
        self._style_image: Path | None = None
        self._style_scale: float | None = None  # the render scale the Style clip was captured at
        # What each Source frame held when it was last rendered: OFX has no action for "upstream
        # changed" (a grade above the node), so a changed frame is how the effect notices.
        self._source_digests: dict[tuple[int, float], str] = {}
        self._own_dir = cache_dir is None
        self._dir = Path(cache_dir) if cache_dir is not None else Path(tempfile.mkdtemp(prefix="vst-ofx-"))
        preset = self._build_preset(self.values)
        self.node = node_factory(
            preset,
            device=device,
            cache_dir=None if self._own_dir else self._dir,
            cancel=self._cancelled,
            max_cached_frames=max_cached_frames,
        )
        self.render_scale = 1.0
        # The warning the host shows on the node for the frame last rendered (OFX: setPersistentMessage
        # with kOfxMessageWarning; clearPersistentMessage when None): a frame the flow barely follows.
        self.persistent_message: str | None = None

    # -- parameters -----------------------------------------------------------------------------

    @property
    def preset(self) -> Preset:
        return self.node.preset

    def _build_preset(self, values: dict[str, Any]) -> Preset:
        overrides = list(self._base_overrides)
        for p in self._params.values():
            if p.key is not None and values[p.name] != p.default:
                overrides.append(f"{p.key}={_override_text(p, values[p.name])}")
        if self._style_image is not None:
            overrides.append(f"style.image={json.dumps(str(self._style_image))}")
        name = values[PRESET_FILE_PARAM] or values[PRESET_PARAM]
        return load_preset(name, overrides)

    def instance_changed(self, name: str, value: Any = None) -> list[str]:
        """kOfxActionInstanceChanged for a parameter (new value) or a clip (Source, Style: value unused).

        Returns what the node dropped ('stylized', 'flow'); [] when nothing (strength) needs rendering
        again. An invalid value raises (ValueError, PresetError) and changes nothing.
        """
        with self._lock:
            if name == SOURCE:  # new footage or upstream change: everything derived is stale
                self.node.source_changed()
                self._source_digests.clear()
                return list(INVALIDATES_ALL)
            if name == STYLE:
                if self._style_image is None:
                    return []
                self._style_image = None  # captured again at the next render that has a Style clip
                return self.node.set_preset(self._build_preset(self.values))
            p = self._params.get(name)
            if p is None:
                raise KeyError(f"no parameter {name!r}; known: {', '.join(self._params)}")
            values = {**self.values, name: _check_value(p, value)}
            preset = self._build_preset(values)  # validates before anything changes
            self.values = values
            return self.node.set_preset(preset)

    # -- clips, regions, frames -----------------------------------------------------------------

    def set_source_range(self, first: float, last: float) -> None:
        """The Source clip's frame range (kOfxImageEffectPropFrameRange of the clip).

        The temporal chain starts at its first frame, so it must be the clip's range, not the range
        being rendered: a host that renders 1010-1020 then gets the frames of a 1001-1100 render.
        """
        with self._lock:
            a, b = _frame(first), _frame(last)
            if b < a:
                raise ValueError(f"source range {first}-{last} is empty")
            if self._source_range != (a, b):
                self._source_range = (a, b)
                self.node.begin_sequence(range(a, b + 1), self.render_scale)

    def get_clip_preferences(
        self, source_premultiplication: Premultiplication = "premultiplied", source_components: str = "RGBA"
    ) -> ClipPreferences:
        """kOfxImageEffectActionGetClipPreferences: Output keeps Source's premultiplication and components."""
        if source_premultiplication not in ("premultiplied", "unpremultiplied", "opaque"):
            raise ValueError(f"unknown premultiplication {source_premultiplication!r}")
        if source_components not in ("RGBA", "RGB"):
            raise ValueError(f"components {source_components!r} are not supported (RGBA or RGB)")
        with self._lock:
            self._source_premult = source_premultiplication
        return ClipPreferences(source_premultiplication, source_components)

    def get_region_of_definition(
        self, time: float, render_scale: float | Sequence[float], source_rod: Rect
    ) -> Rect:
        """kOfxImageEffectActionGetRegionOfDefinition: the Source's RoD (canonical coordinates, so
        independent of the render scale); the output covers exactly the input frame."""
        _frame(time)
        _scale(render_scale)
        x1, y1, x2, y2 = (float(v) for v in source_rod)
        return (x1, y1, x2, y2)

    def get_regions_of_interest(
        self,
        time: float,
        render_scale: float | Sequence[float],
        roi: Rect,
        source_rod: Rect,
    ) -> dict[str, Rect]:
        """kOfxImageEffectActionGetRegionsOfInterest: the whole Source frame, whatever window is asked
        (the optimisation and the flow see the full image; no tiles)."""
        return {SOURCE: self.get_region_of_definition(time, render_scale, source_rod)}

    def get_frames_needed(self, time: float) -> list[tuple[int, int]]:
        """kOfxImageEffectActionGetFramesNeeded: ranges of Source frames render(time) reads directly.

        t and the frames t-j of its temporal terms (t-1 alone by default), within the Source range;
        for the range's first frame also the frames of its run-up (init.run_up frames after it); the
        whole range with multi-pass. A render may read further back to rebuild a missing chain;
        hosts with temporal clip access serve those on demand.
        """
        t = _frame(time)
        with self._lock:
            if t not in self.node.frames:
                return [(t, t)]
            return frame_ranges(self.node.frames_needed(t))

    def is_identity(self, time: float) -> bool:
        """kOfxImageEffectActionIsIdentity: at strength 0 the Output is Source at the same time."""
        _frame(time)
        with self._lock:
            return self.node.preset.strength == 0

    # -- rendering ------------------------------------------------------------------------------

    def begin_sequence_render(
        self,
        frame_range: tuple[float, float],
        render_scale: float | Sequence[float],
        interactive: bool = False,
    ) -> None:
        """kOfxImageEffectActionBeginSequenceRender. Only the render scale matters to the state: the
        node's sequence is the Source range (set_source_range); without one it grows to cover every
        range seen. A new scale drops finished frames (they are scale-specific). `interactive`
        (kOfxPropIsInteractive, a viewer render) changes nothing: viewer and disk renders must agree."""
        scale = _scale(render_scale)
        first, last = _frame(frame_range[0]), _frame(frame_range[1])
        with self._lock:
            self.render_scale = scale
            if self._source_range is not None:
                a, b = self._source_range
                if first < a or last > b:
                    raise ValueError(f"frames {first}-{last} lie outside the Source range {a}-{b}")
                frames = list(range(a, b + 1))
            elif self.node.frames and first >= self.node.frames[0] and last <= self.node.frames[-1]:
                frames = list(self.node.frames)
            else:
                old = self.node.frames or [first]
                frames = list(range(min(first, old[0]), max(last, old[-1]) + 1))
            self.node.begin_sequence(frames, scale)

    def end_sequence_render(self) -> None:
        """kOfxImageEffectActionEndSequenceRender: finished frames stay cached for the next pass."""
        with self._lock:
            self.node.end_sequence()

    def render(
        self,
        time: float,
        render_scale: float | Sequence[float],
        fetch: HostFetch,
        *,
        fetch_style: HostFetch | None = None,
        abort: CancelCheck | None = None,
    ) -> np.ndarray:
        """kOfxImageEffectActionRender: the Output image at `time`, shaped and premultiplied like Source.

        fetch(frame): the Source image (clipGetImage) at the render scale; fetch_style: the Style
        clip when connected; abort: the host's abort check (kOfxImageEffectSuite abort), polled by the
        optimiser, which then raises optimise.Cancelled and keeps nothing partial.
        """
        t = _frame(time)
        scale = _scale(render_scale)
        with self._lock:
            self.persistent_message = None
            if scale != self.render_scale or t not in self.node.frames:
                self.begin_sequence_render((t, t), scale)  # a host that skipped BeginSequenceRender
            source = np.asarray(fetch(t), dtype=np.float32)
            if source.ndim != 3 or source.shape[2] not in (3, 4):
                raise ValueError(f"Source image at {t} is {source.shape}; expected (H, W, 4) or (H, W, 3)")
            self._notice_upstream_change(t, scale, source)
            if self.node.preset.strength == 0:
                return source.copy()  # identity, bit-exact (hosts normally skip render: is_identity)
            self._capture_style(fetch_style)
            space = self._colorspace or self._input_space()
            encoded: dict[int, tuple[np.ndarray, np.ndarray]] = {t: self._to_network(source, space)}

            def node_fetch(frame: int) -> np.ndarray:
                if frame not in encoded:
                    encoded[frame] = self._to_network(np.asarray(fetch(frame), np.float32), space)
                return encoded[frame][0]

            self._abort = abort
            try:
                stylized = self.node.render(t, node_fetch)
            finally:
                self._abort = None
            stats = self.node.stats.get(t)
            if stats is not None and stats.reliable is not None and stats.reliable < LOW_RELIABILITY:
                self.persistent_message = poor_flow_message({t: stats.reliable})
            return self._from_network(stylized, source, space)

    def _notice_upstream_change(self, t: int, scale: float, source: np.ndarray) -> None:
        """The Source frame differs from the one rendered before: footage or a node above changed, so
        every stylized frame and cached source is stale (the host keeps asking for the same times)."""
        digest = hashlib.blake2b(np.ascontiguousarray(source).tobytes(), digest_size=16).hexdigest()
        if self._source_digests.get((t, scale), digest) != digest:
            self.node.source_changed()
            self._source_digests.clear()
        self._source_digests[(t, scale)] = digest

    def _cancelled(self) -> bool:
        abort = self._abort
        return bool(abort()) if abort is not None else False

    def _input_space(self) -> str:
        space = self.node.preset.colour.input
        return LINEAR_SPACE if space == "auto" else space

    def _to_network(self, image: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray]:
        return host_to_network(image, space, self._source_premult == "premultiplied")

    def _from_network(self, stylized: np.ndarray, source: np.ndarray, space: str) -> np.ndarray:
        return network_to_host(stylized, source, space, self._source_premult == "premultiplied")

    def _capture_style(self, fetch_style: HostFetch | None) -> None:
        """The Style clip's first frame as the preset's style image (content-keyed file, so the same
        image keeps every cache); disconnecting it returns to the preset's own image."""
        if fetch_style is None:
            if self._style_image is not None:
                self._style_image = None
                self.node.set_preset(self._build_preset(self.values))
            return
        if self._style_image is not None and self._style_scale == self.render_scale:
            return
        # Captured again at another render scale: a proxy's small Style image must not paint the
        # full-size frames (the file is keyed by content, so the same image keeps every cache).
        image = fetch_style(self.node.frames[0])
        self._style_image = style_file(image, self._dir / "style", self._colorspace or self._input_space())
        self._style_scale = self.render_scale
        self.node.set_preset(self._build_preset(self.values))

    def purge_caches(self) -> None:
        """kOfxActionPurgeCaches: memory only; frames render again on demand, identically."""
        with self._lock:
            self.node.purge_caches()

    def close(self) -> None:
        """kOfxActionDestroyInstance: stop the flow worker; remove the effect's own temporary files."""
        with self._lock:
            self.node.close()
            if self._own_dir:
                shutil.rmtree(self._dir, ignore_errors=True)
