"""Frames in and out through OpenImageIO, carrying each file's spec so a write can keep what it had.

Reading gives the colour of one layer over the DISPLAY window (what a compositor shows); writing puts
new colour back into a copy of the source file: same windows, other channels and parts, pixel types,
compression and metadata. Alpha is always associated (premultiplied): EXR stores it that way and
OpenImageIO premultiplies PNG/TIFF on read and unpremultiplies on write.

Layer names (``--layer``) are channel-name prefixes: ``diffuse`` selects ``diffuse.R/G/B[/A]``. In a
multi-view file (``multiView`` attribute) the unprefixed channels belong to the default (first) view,
so that view's name selects them too (Beachball: ``right`` = ``R,G,B,A``, ``left`` = ``left.R…``), and
``diffuse.right`` is accepted for ``diffuse``. In a multi-part file a part's name selects its
unprefixed channels, and a layer is looked for in every part (plain R,G,B come from part 0).

Writing EXR keeps the source's layout exactly, tiling included (a tiled source is written tiled with
the same tile size), because downstream tools may rely on it; only the chosen layer's pixels change.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from vst_node.errors import InputError, RenderError

# Output extension -> OpenImageIO format name.
WRITABLE_FORMATS = {
    ".exr": "openexr",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
}

# Metadata that describes how a file was stored, not the picture: meaningless (or false) once the
# pixels are written again, so it is not copied.
_STORAGE_ATTRIBUTES = {"openexr:chunkCount", "oiio:subimages"}
# Dropped as well when the output format differs from the source's (e.g. PNG in, EXR out).
_FORMAT_ATTRIBUTES = {"compression", "ICCProfile", "planarconfig", "oiio:ColorSpace", "colorInteropID"}
_FORMAT_PREFIXES = {"openexr", "png", "jpeg", "tiff", "oiio"}


@dataclass
class Frame:
    """One image's colour over its display window plus the spec needed to write it back faithfully.

    Where the data window does not reach, all four channels are 0 (nothing there, not opaque black);
    a file without alpha gets alpha 1 inside its data window.
    """

    path: Path
    rgba: np.ndarray  # float32 (H, W, 4) over the display window; 0 where the data window does not reach
    has_alpha: bool
    colorspace: str | None  # the file's own tag (oiio:ColorSpace); None if it says nothing
    spec: oiio.ImageSpec  # the spec of the part read: windows, metadata, compression, channels, tiles
    layer: str | None  # the layer whose colour was read (None = plain R,G,B,A)
    subimage: int = 0  # the part of a multi-part file the layer lives in


@dataclass(frozen=True)
class _Channels:
    """Where one layer's colour lives: channel indices in one part."""

    subimage: int
    colour: tuple[int, ...]  # R, G, B indices, or (Y,) for a grey image
    alpha: int | None
    prefix: str  # name prefix of those channels: "" or "diffuse."


def _oiio_message(text: str) -> str:
    """OpenImageIO repeats lines when errors propagate; keep each once, on one line."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines) or "unknown OpenImageIO error"


def _open(path: Path) -> oiio.ImageInput:
    if not path.exists():
        raise InputError(f"{path}: file does not exist")
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise InputError(f"{path}: cannot read image: {_oiio_message(oiio.geterror())}")
    return inp


def _part_specs(inp: oiio.ImageInput) -> list[oiio.ImageSpec]:
    specs = []
    while inp.seek_subimage(len(specs), 0):
        specs.append(oiio.ImageSpec(inp.spec()))
    return specs


def wide_integer_channels(path: Path) -> list[str]:
    """Channels stored as 32-bit integers (ID AOVs): OpenImageIO carries them through float32, which
    is exact only up to 2**24, so the output's copy can differ in the low bits."""
    inp = _open(Path(path))
    try:
        specs = _part_specs(inp)
    finally:
        inp.close()
    wide = (oiio.TypeUInt.basetype, oiio.TypeInt.basetype)
    names = []
    for spec in specs:
        formats = list(spec.channelformats) or [spec.format] * spec.nchannels
        pairs = zip(spec.channelnames, formats, strict=True)
        names += [name for name, kind in pairs if kind.basetype in wide]
    return names


def _default_view(spec: oiio.ImageSpec) -> str | None:
    views = spec.getattribute("multiView")
    if isinstance(views, (tuple, list)) and views:
        return str(views[0])
    return None


def _part_name(spec: oiio.ImageSpec) -> str | None:
    """A part's name when the file has several parts (a single part's name selects nothing)."""
    if spec.get_int_attribute("oiio:subimages", 1) <= 1:
        return None
    return spec.get_string_attribute("oiio:subimagename") or spec.get_string_attribute("name") or None


def _prefixes(spec: oiio.ImageSpec, layer: str | None) -> list[str]:
    """Channel-name prefixes that ``layer`` may stand for in this part, most literal first."""
    if layer is None:
        return [""]
    prefixes = [layer + "."]
    view = _default_view(spec)
    if view is not None:
        if layer == view:
            prefixes.append("")
        elif layer.endswith("." + view):
            prefixes.append(layer[: -len(view)])
    if layer == _part_name(spec):
        prefixes.append("")
    return prefixes


def _lookup(names: list[str], prefix: str, suffixes: tuple[str, ...]) -> tuple[int, ...] | None:
    wanted = [prefix + s for s in suffixes]
    if all(w in names for w in wanted):
        return tuple(names.index(w) for w in wanted)
    return None


def _channels_in(spec: oiio.ImageSpec, layer: str | None, subimage: int) -> _Channels | None:
    names = list(spec.channelnames)
    for prefix in _prefixes(spec, layer):
        colour = _lookup(names, prefix, ("R", "G", "B")) or _lookup(names, prefix, ("Y",))
        if colour is not None:
            alpha = names.index(prefix + "A") if prefix + "A" in names else None
            return _Channels(subimage, colour, alpha, prefix)
    return None


def list_layers(spec: oiio.ImageSpec) -> list[str]:
    """Layer names a user can pass as ``layer`` for this part (plain R,G,B is ``None``, not listed)."""
    names = list(spec.channelnames)
    layers: list[str] = []
    for name in names:
        prefix, _, last = name.rpartition(".")
        if last not in ("R", "Y"):
            continue
        head = prefix + "." if prefix else ""
        if _lookup(names, head, ("R", "G", "B")) is None and last == "R":
            continue
        aliases = [prefix] if prefix else [_default_view(spec), _part_name(spec)]
        for alias in aliases:
            if alias and alias not in layers:
                layers.append(alias)
    return layers


def _describe_layers(specs: list[oiio.ImageSpec]) -> str:
    layers = [layer for spec in specs for layer in list_layers(spec)]
    return ", ".join(dict.fromkeys(layers)) or "none"


def _find_channels(path: Path, specs: list[oiio.ImageSpec], layer: str | None) -> _Channels:
    """The part and channels holding ``layer``'s colour, or an InputError saying what the file has."""
    candidates = specs if layer is not None else specs[:1]
    for index, spec in enumerate(candidates):
        found = _channels_in(spec, layer, index)
        if found is not None:
            if spec.deep:
                raise InputError(f"{path} is a deep EXR (several samples per pixel); flatten it first")
            chroma = {found.prefix + "RY", found.prefix + "BY"} & set(spec.channelnames)
            if len(found.colour) == 1 and chroma:
                raise InputError(
                    f"{path}: luminance-chroma colour ({found.prefix}Y with {', '.join(sorted(chroma))}),"
                    " which vst-node cannot read as RGB; write the plate as RGB first"
                )
            return found
    if any(spec.deep for spec in candidates):
        raise InputError(f"{path} is a deep EXR (several samples per pixel); flatten it first")
    channels = ", ".join(name for spec in specs for name in spec.channelnames) or "none"
    layers = _describe_layers(specs)
    if layer is None:
        if layers != "none":
            raise InputError(
                f"{path}: no plain R,G,B channels; choose a layer: {layers} (channels found: {channels})"
            )
        raise InputError(f"{path}: no colour channels (R,G,B or Y); channels found: {channels}")
    raise InputError(
        f"{path}: no layer {layer!r} with R,G,B (or Y) channels; available layers: {layers} "
        f"(channels found: {channels})"
    )


def _overlap(spec: oiio.ImageSpec) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Slices (display array, data array) of where the data window meets the display window."""
    x0, x1 = max(spec.x, spec.full_x), min(spec.x + spec.width, spec.full_x + spec.full_width)
    y0, y1 = max(spec.y, spec.full_y), min(spec.y + spec.height, spec.full_y + spec.full_height)
    if x0 >= x1 or y0 >= y1:
        return None
    display = (slice(y0 - spec.full_y, y1 - spec.full_y), slice(x0 - spec.full_x, x1 - spec.full_x))
    data = (slice(y0 - spec.y, y1 - spec.y), slice(x0 - spec.x, x1 - spec.x))
    return display, data


def _read_pixels(inp: oiio.ImageInput, subimage: int, spec: oiio.ImageSpec, path: Path) -> np.ndarray:
    """All channels of one part's data window as float32 (H, W, C)."""
    if spec.deep:
        raise InputError(f"{path} is a deep EXR (part {subimage}); it cannot be carried into the output")
    pixels = inp.read_image(subimage, 0, 0, spec.nchannels, oiio.FLOAT)
    if pixels is None:
        raise InputError(f"{path}: cannot read pixels: {_oiio_message(inp.geterror())}")
    return np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)


def probe_frame(path: Path, layer: str | None = None) -> oiio.ImageSpec:
    """Header-only check (exists, readable, flat, has the colour) to vet a whole sequence up front."""
    path = Path(path)
    inp = _open(path)
    try:
        specs = _part_specs(inp)
    finally:
        inp.close()
    if not specs:
        raise InputError(f"{path}: the file holds no image")
    return specs[_find_channels(path, specs, layer).subimage]


def read_frame(path: Path, layer: str | None = None) -> Frame:
    """Read ``layer``'s colour (and alpha) over the display window; InputError for unusable media."""
    path = Path(path)
    inp = _open(path)
    try:
        specs = _part_specs(inp)
        if not specs:
            raise InputError(f"{path}: the file holds no image")
        channels = _find_channels(path, specs, layer)
        spec = specs[channels.subimage]
        data = _read_pixels(inp, channels.subimage, spec, path)
    finally:
        inp.close()
    rgba = np.zeros((spec.full_height, spec.full_width, 4), dtype=np.float32)
    overlap = _overlap(spec)
    if overlap is not None:
        (dy, dx), (sy, sx) = overlap
        colour = list(channels.colour) * (3 if len(channels.colour) == 1 else 1)
        rgba[dy, dx, :3] = data[sy, sx][..., colour]
        rgba[dy, dx, 3] = data[sy, sx, channels.alpha] if channels.alpha is not None else 1.0
    return Frame(
        path=path,
        rgba=rgba,
        has_alpha=channels.alpha is not None,
        colorspace=spec.get_string_attribute("oiio:ColorSpace") or None,
        spec=spec,
        layer=layer,
        subimage=channels.subimage,
    )


def _carry_metadata(
    source: oiio.ImageSpec, target: oiio.ImageSpec, same_format: bool, attributes: Mapping[str, str]
) -> None:
    """Copy the source's metadata onto ``target`` minus what would now lie, then the caller's."""
    for attribute in source.extra_attribs:
        name = attribute.name
        if name in _STORAGE_ATTRIBUTES:
            continue
        if name.startswith("oiio:") and name not in ("oiio:ColorSpace", "oiio:subimagename"):
            continue
        if not same_format and (
            name in _FORMAT_ATTRIBUTES or name.partition(":")[0].lower() in _FORMAT_PREFIXES
        ):
            continue
        target.attribute(name, attribute.type, attribute.value)
    if "oiio:ColorSpace" in attributes:
        # The caller retags the pixels: OpenImageIO writes colorInteropID from oiio:ColorSpace, and
        # EXR chromaticities must describe the new space (or go, when OCIO cannot say).
        target.erase_attribute("colorInteropID")
        if target.getattribute("chromaticities") is not None:
            target.erase_attribute("chromaticities")
            primaries = oiio.ColorConfig().get_chromaticities(str(attributes["oiio:ColorSpace"]))
            if primaries:
                target.attribute("chromaticities", oiio.TypeDesc("float[8]"), tuple(primaries))
    for name, value in attributes.items():
        target.attribute(name, str(value))


def _replace_colour(
    spec: oiio.ImageSpec, pixels: np.ndarray, channels: _Channels, rgba: np.ndarray
) -> tuple[oiio.ImageSpec, np.ndarray]:
    """Put ``rgba`` into the layer's channels inside the display window; everything else stays."""
    spec = oiio.ImageSpec(spec)
    colour, alpha = list(channels.colour), channels.alpha
    if len(colour) == 1:
        # A grey layer comes back in colour: Y becomes R,G,B in place, with Y's pixel type.
        y = colour[0]
        names = list(spec.channelnames)
        formats = [spec.channelformat(i) for i in range(spec.nchannels)]
        names[y : y + 1] = [channels.prefix + c for c in "RGB"]
        formats[y : y + 1] = [formats[y]] * 3
        grey = np.repeat(pixels[..., y : y + 1], 3, axis=-1)
        pixels = np.concatenate([pixels[..., :y], grey, pixels[..., y + 1 :]], axis=-1)
        colour = [y, y + 1, y + 2]
        alpha = alpha + 2 if alpha is not None and alpha > y else alpha
        spec.nchannels = len(names)
        spec.channelnames = tuple(names)
        if len(set(map(str, formats))) > 1:
            spec.channelformats = tuple(formats)
        spec.alpha_channel = names.index("A") if "A" in names else -1
        spec.z_channel = names.index("Z") if "Z" in names else -1
    pixels = np.array(pixels, dtype=np.float32, copy=True)
    overlap = _overlap(spec)
    if overlap is not None:
        (dy, dx), (sy, sx) = overlap
        pixels[sy, sx, colour] = rgba[dy, dx, :3]
        if alpha is not None:
            pixels[sy, sx, alpha] = rgba[dy, dx, 3]
    return spec, pixels


def _bare(spec: oiio.ImageSpec) -> oiio.ImageSpec:
    """A copy of ``spec`` (windows, channels, types, tiles) without its metadata."""
    bare = oiio.ImageSpec(spec)
    for attribute in list(bare.extra_attribs):
        bare.erase_attribute(attribute.name)
    return bare


def _exr_from_exr(
    rgba: np.ndarray, like: Frame, attributes: Mapping[str, str]
) -> list[tuple[oiio.ImageSpec, np.ndarray]]:
    """Every part of the source EXR, re-read, with the chosen layer's colour replaced."""
    source = like.path
    inp = _open(source)
    try:
        specs = _part_specs(inp)
        pixels = [_read_pixels(inp, i, spec, source) for i, spec in enumerate(specs)]
    finally:
        inp.close()
    if like.subimage >= len(specs) or not _same_layout(specs[like.subimage], like.spec):
        raise InputError(f"{source} changed since it was read; read it again before writing")
    channels = _channels_in(specs[like.subimage], like.layer, like.subimage)
    if channels is None:
        raise InputError(f"{source}: layer {like.layer!r} is gone; read it again before writing")
    parts = []
    for index, (spec, data) in enumerate(zip(specs, pixels, strict=True)):
        if index == like.subimage:
            new_spec, new_data = _replace_colour(spec, data, channels, rgba)
            target = _bare(new_spec)
            _carry_metadata(new_spec, target, True, attributes)
            parts.append((target, new_data))
        else:
            target = _bare(spec)
            _carry_metadata(spec, target, True, {})
            parts.append((target, data))
    return parts


def _exr_from_other(
    rgba: np.ndarray, like: Frame, attributes: Mapping[str, str]
) -> list[tuple[oiio.ImageSpec, np.ndarray]]:
    """A fresh RGB(A) EXR with the source's windows: half, or float for a float/32-bit source."""
    src = like.spec
    nchannels = 4 if like.has_alpha else 3
    wide = src.format.basetype in (oiio.BASETYPE.FLOAT, oiio.BASETYPE.DOUBLE, oiio.TypeUInt.basetype)
    spec = oiio.ImageSpec(src.width, src.height, nchannels, "float" if wide else "half")
    spec.x, spec.y = src.x, src.y
    spec.full_x, spec.full_y = src.full_x, src.full_y
    spec.full_width, spec.full_height = src.full_width, src.full_height
    spec.attribute("compression", "zip")
    _carry_metadata(src, spec, False, attributes)
    data = np.zeros((spec.height, spec.width, nchannels), dtype=np.float32)
    overlap = _overlap(spec)
    if overlap is not None:
        (dy, dx), (sy, sx) = overlap
        data[sy, sx] = rgba[dy, dx, :nchannels]
    return [(spec, data)]


def _same_layout(a: oiio.ImageSpec, b: oiio.ImageSpec) -> bool:
    return (a.x, a.y, a.width, a.height, a.full_x, a.full_y, a.full_width, a.full_height) == (
        b.x,
        b.y,
        b.width,
        b.height,
        b.full_x,
        b.full_y,
        b.full_width,
        b.full_height,
    ) and tuple(a.channelnames) == tuple(b.channelnames)


def _flat_part(
    rgba: np.ndarray, like: Frame, file_format: str, attributes: Mapping[str, str]
) -> tuple[oiio.ImageSpec, np.ndarray]:
    """PNG/JPEG/TIFF: the display window as 8- or 16-bit RGB(A), values as given (clipped by the type)."""
    nchannels = 4 if like.has_alpha and file_format != "jpeg" else 3
    deep_source = like.spec.format.size() > 1  # 16-bit, half or float source
    pixel_type = "uint16" if deep_source and file_format in ("png", "tiff") else "uint8"
    height, width = rgba.shape[:2]
    spec = oiio.ImageSpec(width, height, nchannels, pixel_type)
    source_format = WRITABLE_FORMATS.get(like.path.suffix.lower())
    _carry_metadata(like.spec, spec, source_format == file_format, attributes)
    return spec, rgba[..., :nchannels]


def _write_atomic(path: Path, parts: list[tuple[oiio.ImageSpec, np.ndarray]]) -> None:
    """Write to a hidden temporary file beside ``path`` and rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    out = oiio.ImageOutput.create(str(temporary))
    if out is None:
        raise RenderError(f"{path}: cannot write: {_oiio_message(oiio.geterror())}")
    try:
        specs = [spec for spec, _ in parts]
        ok = out.open(str(temporary), specs if len(specs) > 1 else specs[0])
        for index, (spec, pixels) in enumerate(parts):
            if ok and index > 0:
                ok = out.open(str(temporary), spec, "AppendSubimage")
            ok = ok and out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
        ok = out.close() and ok
        if not ok:
            raise RenderError(f"{path}: cannot write: {_oiio_message(out.geterror())}")
        os.replace(temporary, path)
    except OSError as exc:  # a full disk, no permission: a failed frame, not a traceback
        raise RenderError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        if temporary.exists():
            temporary.unlink()


def write_image(
    path: Path,
    pixels: np.ndarray,
    *,
    colorspace: str | None,
    pixel_type: str = "float",
    compression: str | None = None,
) -> None:
    """Write a new image (no source frame to match): RGB or RGBA float pixels, tagged with their
    colour space (None: untagged), to a temporary file renamed into place. pixel_type: an
    OpenImageIO type name ("half", "float", "uint8"); integer types take values in [0, 1].
    Raises RenderError."""
    pixels = np.asarray(pixels, dtype=np.float32)
    height, width, channels = pixels.shape
    if channels not in (3, 4):
        raise ValueError(f"{path}: expected RGB or RGBA pixels, got {channels} channels")
    spec = oiio.ImageSpec(width, height, channels, pixel_type)
    spec.channelnames = ("R", "G", "B", "A")[:channels]
    if channels == 4:
        spec.alpha_channel = 3
    if compression:
        spec.attribute("compression", compression)
    if colorspace:
        spec.attribute("oiio:ColorSpace", colorspace)
    _write_atomic(Path(path), [(spec, pixels)])


def write_frame(
    path: Path, rgba: np.ndarray, like: Frame, attributes: Mapping[str, str] | None = None
) -> None:
    """Write ``rgba`` (display window, premultiplied) as ``like`` was stored, then rename into place.

    EXR: keeps ``like``'s windows, parts, other channels, pixel types, tiling, compression and
    metadata; data-window pixels outside the display window (overscan) are copied from ``like.path``.
    PNG/JPEG/TIFF: the display window as 8-bit (16-bit PNG/TIFF when the source had more bits)
    RGB(A); JPEG drops alpha. The integer type limits values to [0, 1]; encoding is the caller's job.
    Raises InputError for an unwritable extension or an EXR source that is gone or changed,
    RenderError if writing fails.
    """
    path = Path(path)
    file_format = WRITABLE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise InputError(
            f"{path}: cannot write {path.suffix or 'extension-less'} files; "
            f"use one of {', '.join(WRITABLE_FORMATS)}"
        )
    spec = like.spec
    expected = (spec.full_height, spec.full_width, 4)
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.shape != expected:
        raise ValueError(f"{path}: pixels are {rgba.shape}, the display window of {like.path} is {expected}")
    attributes = dict(attributes or {})
    if file_format == "openexr":
        from_exr = WRITABLE_FORMATS.get(like.path.suffix.lower()) == "openexr"
        parts = (_exr_from_exr if from_exr else _exr_from_other)(rgba, like, attributes)
    else:
        parts = [_flat_part(rgba, like, file_format, attributes)]
    _write_atomic(path, parts)
