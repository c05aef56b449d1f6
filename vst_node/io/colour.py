"""Colour encodings between files and the network, through OCIO (OpenImageIO's colour machinery).

The network was trained on display-like images, so it sees sRGB-encoded Rec.709; files are
scene-linear. Spaces are named by colour-interop IDs (``lin_rec709_scene``, ``srgb_rec709_scene``,
``lin_ap1_scene``…) and resolved to the active config's own names: ``$OCIO`` when set, otherwise
OpenImageIO's built-in ``ocio://default``. The ``scene_linear`` role is refused: it is ACEScg in the
built-in config and something else elsewhere, so it cannot say what a file holds.

Nothing here clamps. OCIO's sRGB curve (ExponentWithLinear) continues the power law above 1 and the
linear toe below 0, both exactly invertible, so HDR values and small negatives survive a round trip
(checked in tests/test_colour.py).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from vst_node.errors import InputError
from vst_node.io.image_io import Frame

NETWORK_SPACE = "srgb_rec709_scene"
LINEAR_SPACE = "lin_rec709_scene"
_AMBIGUOUS = "scene_linear"

# Files whose pixels are scene-linear by convention when they carry no tag.
_LINEAR_EXTENSIONS = {".exr", ".hdr"}
_ENCODED_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


@functools.lru_cache(maxsize=1)
def _config() -> oiio.ColorConfig:
    """The active config, read once ($OCIO or the built-in one), as OpenImageIO itself does."""
    return oiio.ColorConfig()


def config_name() -> str:
    """The active OCIO config (a path, or ``ocio://default``) for the output metadata."""
    return _config().configname()


_INTEROP_ALIAS = re.compile(r"^[a-z0-9]+_[a-z0-9]+_(scene|display)$")
_DATA_SPACES = {"non-color", "raw", "generic data", "data"}


def _interop_id(config: oiio.ColorConfig, name: str) -> str:
    """The space's colour-interop ID; OpenImageIO 3.0 (Blender 5.0's) lacks the query, so there it
    comes from the aliases configs give their spaces (Blender's: lin_rec709_scene, srgb_rec709_scene)."""
    query = getattr(config, "get_color_interop_id", None)
    if query is not None:
        return (query(name) or "").removeprefix("ocio:")
    if name.strip().lower() in _DATA_SPACES:
        return "data"
    aliases = [str(a) for a in config.getAliases(name)]
    for suffix in ("_scene", "_display"):
        for alias in aliases:
            if _INTEROP_ALIAS.match(alias) and alias.endswith(suffix):
                return alias
    return ""


def resolve_colorspace(name: str) -> str:
    """The active config's colour-space name for a config name, alias or interop ID.

    Raises InputError listing valid names for anything else, including the ``scene_linear`` role.
    """
    config = _config()
    names = list(config.getColorSpaceNames())
    wanted = name.strip()
    if wanted.lower() == _AMBIGUOUS:
        raise InputError(
            f"colour space {name!r} is refused: the scene_linear role means different spaces in "
            f"different configs (ACEScg in the built-in one); name it, e.g. {LINEAR_SPACE} or lin_ap1_scene"
        )
    lowered = wanted.lower()
    for space in names:
        if space.lower() == lowered:
            return space
    for space in names:
        if lowered in (alias.lower() for alias in config.getAliases(space)):
            return space
    for space in names:
        if _interop_id(config, space).lower() == lowered.removeprefix("ocio:"):
            return space
    # OpenImageIO's own conveniences ("sRGB", "linear"), unless they lead to the scene_linear role's
    # space without naming it (a config without interop IDs may map "linear" there).
    resolved = config.resolve(wanted)
    if resolved in names and wanted not in config.getRoles():
        role_space = config.getColorSpaceNameByRole(_AMBIGUOUS)
        if resolved != role_space:
            return resolved
    return _unknown(name, config, names)


def _unknown(name: str, config: oiio.ColorConfig, names: list[str]) -> str:
    ids = [i for i in (_interop_id(config, space) for space in names) if i and i != "data"]
    ids.sort(key=lambda i: not i.endswith("_scene"))  # scene spaces first: what files hold
    what = "is an OCIO role, not a colour space," if name.strip() in config.getRoles() else "is unknown"
    raise InputError(
        f"colour space {name!r} {what} in OCIO config {config.configname()}; use an interop ID "
        f"({', '.join(ids[:30])}) or a config name such as {', '.join(names[:6])}"
    )


def input_colorspace(frame: Frame, override: str = "auto") -> str:
    """The space ``frame``'s pixels are in: the override, else the file's tag, else by file type."""
    if override != "auto":
        return resolve_colorspace(override)
    if frame.colorspace:
        try:
            return resolve_colorspace(frame.colorspace)
        except InputError as error:
            raise InputError(
                f"{frame.path}: the file says its colour space is {frame.colorspace!r}, which the OCIO "
                f"config cannot resolve; give the input colour space explicitly ({error})"
            ) from error
    return resolve_colorspace(_by_file_type(frame))


def _by_file_type(frame: Frame) -> str:
    suffix = frame.path.suffix.lower()
    if suffix in _LINEAR_EXTENSIONS:
        return _linear_space_by_primaries(frame)
    if suffix in _ENCODED_EXTENSIONS:
        # 8/16-bit images are display-encoded; float TIFFs are (by convention) linear.
        floats = (oiio.BASETYPE.HALF, oiio.BASETYPE.FLOAT, oiio.BASETYPE.DOUBLE)
        is_float = frame.spec.format.basetype in floats
        return LINEAR_SPACE if is_float else NETWORK_SPACE
    raise InputError(
        f"{frame.path}: cannot guess the colour space of {suffix or 'extension-less'} files and the "
        f"file does not say; give the input colour space explicitly"
    )


# Linear spaces an untagged EXR's `chromaticities` header can name (colour interop IDs), Rec.709 first.
_LINEAR_BY_PRIMARIES = (
    LINEAR_SPACE, "lin_ap0_scene", "lin_ap1_scene", "lin_p3d65_scene", "lin_rec2020_scene",
)  # fmt: skip


def _linear_space_by_primaries(frame: Frame) -> str:
    """An untagged EXR is scene-linear; its `chromaticities` (when present) say which primaries: ACES
    AP0/AP1, P3-D65, Rec.2020 or Rec.709. Others are refused rather than read as Rec.709."""
    primaries = frame.spec.getattribute("chromaticities")
    if primaries is None:
        return LINEAR_SPACE
    config = _config()
    for candidate in _LINEAR_BY_PRIMARIES:
        try:
            reference = config.get_chromaticities(resolve_colorspace(candidate))
        except InputError:  # a studio config without this space
            continue
        if not reference or len(reference) != len(primaries):
            continue
        if max(abs(float(a) - float(b)) for a, b in zip(primaries, reference, strict=True)) < 2e-3:
            return candidate
    shown = ", ".join(f"{float(v):.3f}" for v in primaries)
    raise InputError(
        f"{frame.path}: no colour-space tag, and its chromaticities ({shown}) match none of"
        f" {', '.join(_LINEAR_BY_PRIMARIES)}; give the input colour space (--set colour.input=...)"
    )


def output_colorspace(path: Path) -> str:
    """The space a written file should hold: scene-linear for EXR/HDR, sRGB for 8/16-bit formats."""
    suffix = Path(path).suffix.lower()
    if suffix in _LINEAR_EXTENSIONS:
        return resolve_colorspace(LINEAR_SPACE)
    if suffix in _ENCODED_EXTENSIONS:
        return resolve_colorspace(NETWORK_SPACE)
    raise InputError(f"{path}: no output colour space known for {suffix or 'extension-less'} files")


def _convert(rgb: np.ndarray, from_space: str, to_space: str) -> np.ndarray:
    """OCIO conversion of a float (H, W, 3) array, unclamped."""
    source, target = resolve_colorspace(from_space), resolve_colorspace(to_space)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    if source == target:
        return rgb.copy()
    buf = oiio.ImageBuf(rgb)
    # The config the names were resolved in, not OpenImageIO's shared default (read once, at its
    # first use: a host that sets $OCIO later, as Blender's add-on does, would convert in another).
    converted = oiio.ImageBufAlgo.colorconvert(
        buf, source, target, unpremult=False, colorconfig=_config().configname()
    )
    if converted.has_error:
        raise InputError(f"cannot convert {source!r} to {target!r}: {converted.geterror()}")
    return np.asarray(converted.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(rgb.shape)


def to_network(rgba: np.ndarray, from_space: str) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied (H, W, 4) in ``from_space`` → (network RGB (H, W, 3), alpha (H, W, 1)), unclipped.

    Colour is unpremultiplied where alpha > 0 only: alpha-0 pixels may still carry light (emissive,
    additive), so their stored colour is kept, not zeroed.
    """
    rgba = np.asarray(rgba, dtype=np.float32)
    alpha = rgba[..., 3:4].copy()
    covered = alpha > 0
    rgb = np.where(covered, rgba[..., :3] / np.where(covered, alpha, 1.0), rgba[..., :3])
    return _convert(rgb, from_space, NETWORK_SPACE), alpha


def from_network(
    rgb: np.ndarray, alpha: np.ndarray, to_space: str, source: np.ndarray | None = None
) -> np.ndarray:
    """Inverse of :func:`to_network`: network RGB → ``to_space``, re-premultiplied where alpha > 0.

    Where alpha is 0 the stylized colour is kept as it is (emissive pixels: light without coverage,
    which the viewer shows, so it is stylized like the rest; a file whose alpha is all 0 still
    renders). ``source``, the input's RGB, marks the empty ones: alpha 0 and colour 0 stay 0, or
    stylized colour would add light where there was none.
    """
    alpha = np.asarray(alpha, dtype=np.float32).reshape(*np.shape(rgb)[:-1], 1)
    colour = _convert(rgb, NETWORK_SPACE, to_space)
    colour = np.where(alpha > 0, colour * alpha, colour)
    if source is not None:
        empty = (alpha <= 0) & np.all(np.asarray(source)[..., :3] == 0, axis=-1, keepdims=True)
        colour = np.where(empty, 0.0, colour)
    return np.concatenate([colour, alpha], axis=-1).astype(np.float32, copy=False)


def transform_attributes(from_space: str, to_space: str) -> dict[str, str]:
    """Metadata recording the colour path of an output, and the output's own tag (oiio:ColorSpace)."""
    config = _config()
    target = resolve_colorspace(to_space)
    return {
        "vst:input_colorspace": resolve_colorspace(from_space),
        "vst:network_colorspace": resolve_colorspace(NETWORK_SPACE),
        "vst:output_colorspace": target,
        "vst:ocio_config": config.configname(),
        # OpenImageIO writes this as the EXR colorInteropID, so other tools know what they read.
        "oiio:ColorSpace": _interop_id(config, target) or target,
    }
