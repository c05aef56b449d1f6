"""Stylizing one strip: from a Sequencer strip to frames vst-node can read, through the node, back to a strip.

`Runner` does the work in small steps (one decoded or stylized frame each) so that the modal operator can
run one per timer tick and background mode can run them all; it touches `bpy` only from the thread that
calls it. Everything a user can get wrong (strip type, preset, paths) is checked when it is created.

- An image strip whose visible frames are numbered files (`shot.1001.exr`...) is read from its files, with
  the strip's colour space (`colorspace_settings.name`) as the input transform.
- A movie strip (or an image strip that is not a plain numbered sequence, e.g. one still) is decoded by
  Blender itself: a temporary scene holding a copy of the strip renders each visible frame to a linear
  EXR, so Blender's decoder and its colour management decide the values; those EXRs are the input.
- Output: linear EXRs in `<output>/<strip>/<preset>_<settings digest>/`, so the same settings resume and
  other settings (another preset, other weights) get a folder and a strip of their own.
- Cancelling keeps the frames written and adds no strip; running again resumes and then adds it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from . import compat

_NUMBERED = re.compile(r"(.*?)(\d+)(\.[A-Za-z0-9]+)")
DECODE_SCENE = ".vst_node_decode"
MAX_CHANNEL = 128


class StylizeError(Exception):
    """A problem the user can act on; the operator reports its message (never a traceback)."""


@dataclass
class _Input:
    pattern: str  # a vst-node sequence pattern
    numbers: list[int]  # file frame numbers, one per visible timeline frame, in timeline order
    colorspace: str  # the OCIO colour space of those files
    decode: bool  # True: Blender writes these files first (movie or non-sequence image strip)


def clean_name(text: str) -> str:
    """A file-system safe version of a strip or preset name."""
    return bpy.path.clean_name(text) or "strip"


def _is_retimed(strip: Any) -> bool:
    keys = getattr(strip, "retiming_keys", None)
    return bool(keys is not None and len(keys) > 0)


def element_index(strip: Any, frame: int) -> int:
    """The element an image strip shows at timeline `frame`: a hard cut (animation_offset_start)
    skips that many elements at the start."""
    return frame - int(strip.frame_start) + int(getattr(strip, "animation_offset_start", 0))


def _image_files(strip: Any, timeline: range) -> tuple[str, list[int]] | None:
    """(pattern, file numbers) when the visible frames are distinct numbered files; None otherwise."""
    if strip.use_reverse_frames or _is_retimed(strip) or getattr(strip, "strobe", 1.0) > 1.0:
        return None
    elements = strip.elements
    indices = [element_index(strip, t) for t in timeline]
    if any(i < 0 or i >= len(elements) for i in indices):
        return None  # a hold before or after the content
    matches = [_NUMBERED.fullmatch(elements[i].filename) for i in indices]
    if not all(matches):
        return None
    if len({(m.group(1), m.group(3), len(m.group(2))) for m in matches}) != 1:
        return None
    numbers = [int(m.group(2)) for m in matches]
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        return None
    first = matches[0]
    folder = bpy.path.abspath(strip.directory)
    pattern = os.path.join(folder, first.group(1) + "#" * len(first.group(2)) + first.group(3))
    return pattern, numbers


class _Decoder:
    """Renders a copy of one strip, alone in a temporary scene, to linear EXR frames (Blender decodes).

    The temporary scene is held by name, not by reference: an undo (Ctrl+Z between two timer ticks)
    brings the file back to before the scene was made, which would leave a reference to a removed
    scene. The next frame then makes the scene again from the source strip as it is after the undo.
    """

    def __init__(self, scene: Any, strip: Any, pattern: Any, linear_space: str) -> None:
        self.source_scene = scene.name
        self.strip_name = strip.name
        self.pattern = pattern
        self.linear_space = linear_space
        self.size = self._size(strip)
        self._scene_name: str | None = None

    @staticmethod
    def _size(strip: Any) -> tuple[int, int]:
        element = strip.elements[0] if len(strip.elements) else None
        width = getattr(element, "orig_width", 0) if element else 0
        height = getattr(element, "orig_height", 0) if element else 0
        if (not width or not height) and strip.type == "IMAGE":
            import OpenImageIO as oiio

            path = os.path.join(bpy.path.abspath(strip.directory), strip.elements[0].filename)
            image = oiio.ImageInput.open(path)
            if image is None:
                raise StylizeError(f"{path}: cannot read the image ({oiio.geterror()})")
            width, height = image.spec().full_width, image.spec().full_height
            image.close()
        if not width or not height:
            raise StylizeError(f"strip {strip.name!r}: Blender cannot tell the size of its media")
        return int(width), int(height)

    def open(self) -> None:
        source = bpy.data.scenes.get(self.source_scene)
        strips = compat.all_strips(source) if source is not None else []
        strip = next((s for s in strips if s.name == self.strip_name), None)
        if strip is None:
            raise StylizeError(f"strip {self.strip_name!r} was removed while it was being decoded")
        scene = bpy.data.scenes.new(DECODE_SCENE)
        self._scene_name = scene.name
        collection = compat.strips(scene) if scene.sequence_editor else None
        if collection is None:
            scene.sequence_editor_create()
            collection = compat.strips(scene)
        start = int(strip.frame_start)
        if strip.type == "MOVIE":
            copy = collection.new_movie("source", bpy.path.abspath(strip.filepath), 1, start)
            for name in ("stream_index", "use_deinterlace"):
                if hasattr(strip, name):
                    setattr(copy, name, getattr(strip, name))
        else:
            folder = bpy.path.abspath(strip.directory)
            elements = [e.filename for e in strip.elements]
            copy = collection.new_image("source", os.path.join(folder, elements[0]), 1, start)
            for filename in elements[1:]:
                copy.elements.append(filename)
        for name in ("animation_offset_start", "animation_offset_end", "strobe"):  # hard cuts, holds
            if hasattr(strip, name) and hasattr(copy, name):
                setattr(copy, name, getattr(strip, name))
        copy.use_reverse_frames = strip.use_reverse_frames
        try:  # the same visible range: a still stretched over frames, holds
            copy.frame_final_end = strip.frame_final_end
            copy.frame_final_start = strip.frame_final_start
        except (AttributeError, TypeError, ValueError):
            pass
        copy.colorspace_settings.name = strip.colorspace_settings.name
        render = scene.render
        render.resolution_x, render.resolution_y = self.size
        render.resolution_percentage = 100
        render.fps, render.fps_base = source.render.fps, source.render.fps_base
        render.use_sequencer = True
        render.dither_intensity = 0.0
        scene.sequencer_colorspace_settings.name = source.sequencer_colorspace_settings.name
        settings = render.image_settings
        settings.file_format = "OPEN_EXR"
        settings.color_mode = "RGBA"
        settings.color_depth = "32"
        settings.exr_codec = "ZIP"
        if hasattr(settings, "linear_colorspace_settings"):  # 4.4+: say which linear space, not the role
            settings.color_management = "OVERRIDE"
            settings.linear_colorspace_settings.name = self.linear_space

    def _live_scene(self) -> Any:
        """The temporary scene, made (again) when there is none: not opened yet, or undone."""
        scene = bpy.data.scenes.get(self._scene_name) if self._scene_name else None
        if scene is None:
            self.open()
            scene = bpy.data.scenes[self._scene_name]
        return scene

    def decode(self, timeline_frame: int, number: int) -> None:
        scene = self._live_scene()
        scene.frame_set(timeline_frame)
        target = self.pattern.path(number)
        target.parent.mkdir(parents=True, exist_ok=True)
        scene.render.filepath = str(target)
        scene.render.use_file_extension = False
        with bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(write_still=True)
        if not target.is_file():
            raise StylizeError(f"Blender did not write {target} while decoding frame {timeline_frame}")

    def close(self) -> None:
        name, self._scene_name = self._scene_name, None
        scene = bpy.data.scenes.get(name) if name else None
        if scene is not None:
            bpy.data.scenes.remove(scene)


class _StatusStream:
    """A text stream for vst_node.api.Progress: keeps the last line for the status bar, echoes it."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.last = ""

    def write(self, text: str) -> int:
        line = text.strip()
        if line:
            self.last = line
            if self.echo:
                print(f"vst-node: {line}", flush=True)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _source_key(scene: Any, strip: Any, timeline: Any) -> str:
    """A short key of where a strip's frames come from: scene, media, colour space and the part of
    the media shown (offsets), so that only the same source finds its frames again."""
    media = strip.filepath if strip.type == "MOVIE" else strip.directory
    parts = [
        scene.name,
        bpy.path.abspath(media, library=strip.id_data.library),
        strip.colorspace_settings.name,
        timeline.start,
        len(timeline),
        *(getattr(strip, name, 0) for name in ("frame_offset_start", "animation_offset_start")),
    ]
    if strip.type == "IMAGE":
        parts += [element.filename for element in strip.elements]
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8]


class Runner:
    """One stylize job for one strip: `step()` until it returns False, then `finish()`; or `cancel()`."""

    def __init__(
        self,
        scene: Any,
        strip: Any,
        settings: Any,
        extra_overrides: Sequence[str] = (),
        echo: bool = False,
    ) -> None:
        require_core()
        from vst_node.api import (
            LINEAR_SPACE,
            OUTPUT_SECTIONS,
            Progress,
            RenderJob,
            RenderSession,
            SequencePattern,
            VstError,
            default_cache_dir,
            frame_spec,
            load_preset,
            output_colorspace,
            preset_digest,
            resolve_colorspace,
        )

        self._vst_error = VstError
        if strip is None:
            raise StylizeError("no active strip: select an image or movie strip in the Sequencer")
        if strip.type not in {"IMAGE", "MOVIE"}:
            kind = strip.type.lower()
            raise StylizeError(f"strip {strip.name!r} is a {kind} strip; choose an image or movie strip")
        if _is_retimed(strip):
            raise StylizeError(f"strip {strip.name!r} is retimed; vst-node does not follow retiming keys yet")
        timeline = range(int(strip.frame_final_start), int(strip.frame_final_end))
        if not timeline:
            raise StylizeError(f"strip {strip.name!r} shows no frames")
        output_dir = settings.output_dir or "//vst_node/"
        if output_dir.startswith("//") and not bpy.data.filepath:
            raise StylizeError(
                "save the .blend file first (the output folder is relative to it), or pick an absolute one"
            )
        preset_ref = settings.preset_reference()
        if not preset_ref:
            raise StylizeError("choose a preset file (or a built-in preset)")

        self.scene_name = scene.name
        self.strip_name = strip.name
        self.timeline = timeline
        self.relative = output_dir.startswith("//")
        strip_dir = Path(bpy.path.abspath(output_dir)) / clean_name(strip.name)
        linear = resolve_colorspace_or_error(resolve_colorspace, LINEAR_SPACE)

        # What the frames are made from: strips of one name in two scenes, or a movie slipped or
        # replaced, must not resume into (or decode over) each other's frames.
        origin = _source_key(scene, strip, timeline)
        files = _image_files(strip, timeline) if strip.type == "IMAGE" else None
        if files is not None:
            pattern, numbers = files
            source = _Input(pattern, numbers, strip.colorspace_settings.name, decode=False)
        else:
            first = timeline.start if timeline.start >= 0 else 1
            numbers = list(range(first, first + len(timeline)))
            pattern = str(strip_dir / f"source_{origin}" / f"{clean_name(strip.name)}.####.exr")
            source = _Input(pattern, numbers, linear, decode=True)
        self.source = source

        overrides = [*settings.overrides(), f"colour.input={source.colorspace}", *extra_overrides]
        try:
            self.preset = load_preset(preset_ref, overrides)
            look = preset_digest(self.preset, OUTPUT_SECTIONS)
            digest = hashlib.sha256(f"{look}|{origin}".encode()).hexdigest()[:8]
            self.out_dir = strip_dir / f"{clean_name(self.preset.name)}_{digest}"
            self.output = SequencePattern.parse(str(self.out_dir / f"{clean_name(strip.name)}.####.exr"))
            self.out_colorspace = output_colorspace(self.output.path(numbers[0]))
            source_pattern = SequencePattern.parse(source.pattern)
        except VstError as exc:
            raise StylizeError(str(exc)) from exc

        self.stream = _StatusStream(echo)
        passes = self.preset.multipass.passes
        self.total = len(numbers) * passes + (len(numbers) if source.decode else 0)
        self.done = 0
        self.status = "starting"
        self.cancelled = False
        self.finished = False
        self._job = RenderJob(
            source=source_pattern,
            output=self.output,
            preset=self.preset,
            frame_spec=frame_spec(numbers),
            device=settings.device,
            resume=True,
            cache_dir=default_cache_dir(),
        )
        self._make_session = lambda: RenderSession(
            self._job, progress=Progress(len(numbers) * passes, self.stream, tty=False)
        )
        self.session: Any = None
        self._decoder = _Decoder(scene, strip, source_pattern, linear) if source.decode else None
        if not source.decode:
            try:  # every input check before the first tick
                self.session = self._make_session()
            except VstError as exc:
                raise StylizeError(str(exc)) from exc
        self._work = self._steps()

    # ------------------------------------------------------------------ stepping

    def _steps(self) -> Iterator[str]:
        try:
            if self._decoder is not None:
                for timeline_frame, number in zip(self.timeline, self.source.numbers, strict=True):
                    self._decoder.decode(timeline_frame, number)
                    yield f"decoded frame {timeline_frame}"
                self._decoder.close()
                self.session = self._make_session()
            for frame in self.session.steps():
                yield self.stream.last or f"frame {frame}"
        finally:
            self._release()

    def _release(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
        if self.session is not None:
            self.session.close()

    def step(self) -> bool:
        """Do one frame of work; False when there is nothing left. Raises StylizeError on failure."""
        if self.finished or self.cancelled:
            return False
        try:
            self.status = next(self._work)
        except StopIteration:
            self.finished = True
            return False
        except self._vst_error as exc:
            self.cancel()
            raise StylizeError(str(exc)) from exc
        self.done += 1
        return True

    def run(self) -> None:
        """Every step, synchronously (background mode: timers do not fire there)."""
        while self.step():
            pass

    def cancel(self) -> None:
        """Stop between frames: frames already written stay, the temporary scene goes, no strip is added."""
        self.cancelled = True
        self._work.close()
        self._release()

    # ------------------------------------------------------------------ the result strip

    def failure(self) -> str | None:
        """Why the render did not finish every frame (a failed frame), or None."""
        report = self.session.report if self.session is not None else None
        if report is not None and report.failed:
            return "; ".join(f"frame {f}: {msg}" for f, msg in report.failed.items())
        missing = [n for n in self.source.numbers if not self.output.path(n).is_file()]
        if missing:
            return f"{len(missing)} output frames missing in {self.out_dir}"
        return None

    def flow_warning(self) -> str | None:
        """Which timeline frames the flow barely tracked (they may flicker), or None."""
        from vst_node.api import poor_flow_message

        report = self.session.report if self.session is not None else None
        if report is None or not (poor := report.poorly_tracked()):
            return None
        timeline_frame = dict(zip(self.source.numbers, self.timeline, strict=True))
        return poor_flow_message({timeline_frame[number]: share for number, share in poor.items()})

    def finish(self) -> tuple[Any, bool]:
        """Add the stylized strip above the source: (strip, added); an existing one for it is kept."""
        if problem := self.failure():
            raise StylizeError(problem)
        scene = bpy.data.scenes.get(self.scene_name)
        strips = compat.all_strips(scene) if scene is not None else []
        source = next((s for s in strips if s.name == self.strip_name), None)
        if source is None:
            raise StylizeError(f"strip {self.strip_name!r} was removed while it was being stylized")
        collection = _container(scene, source)
        for strip in collection:
            if strip.type == "IMAGE" and Path(bpy.path.abspath(strip.directory)) == self.out_dir:
                return strip, False
        channel = _free_channel(collection, source.channel, self.timeline)
        first = self.output.path(self.source.numbers[0])
        name = f"{source.name} {self.preset.name}"
        strip = collection.new_image(name, str(first), channel, self.timeline.start)
        for number in self.source.numbers[1:]:
            strip.elements.append(self.output.path(number).name)
        if self.relative:
            strip.directory = bpy.path.relpath(str(self.out_dir)) + "/"
        strip.colorspace_settings.name = self.out_colorspace
        _copy_placement(source, strip)
        return strip, True


def require_core() -> None:
    """vst_node importable and Blender's colours convertible, or a StylizeError saying what is wrong."""
    try:
        compat.core()
    except ImportError as exc:
        raise StylizeError(str(exc)) from exc
    if problem := compat.colour_problem():
        raise StylizeError(problem)


def resolve_colorspace_or_error(resolve: Any, name: str) -> str:
    try:
        return resolve(name)
    except Exception as exc:  # the active OCIO config has no such space: nothing can be written right
        raise StylizeError(str(exc)) from exc


def _container(scene: Any, strip: Any) -> Any:
    """The collection that holds `strip`: the scene's top level or a meta strip's contents."""
    top = compat.strips(scene)
    if any(s == strip for s in top):
        return top
    for meta in compat.all_strips(scene):
        if meta.type == "META":
            inner = meta.strips if hasattr(meta, "strips") else meta.sequences
            if any(s == strip for s in inner):
                return inner
    return top


def _free_channel(collection: Any, above: int, frames: range) -> int:
    """The lowest channel above `above` with nothing in `frames`."""
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if not any(
            s.channel == channel and s.frame_final_start < frames.stop and s.frame_final_end > frames.start
            for s in collection
        ):
            return channel
    raise StylizeError(f"no free channel above {above} for frames {frames.start}-{frames.stop - 1}")


def _copy_placement(source: Any, target: Any) -> None:
    """Same size, position, crop and compositing on screen as the source (the frames have the media's
    own size; a semi-transparent or additive source must not come back opaque)."""
    for name in ("scale_x", "scale_y", "offset_x", "offset_y", "rotation", "origin"):
        if hasattr(source.transform, name):
            setattr(target.transform, name, getattr(source.transform, name))
    for name in ("min_x", "max_x", "min_y", "max_y"):
        setattr(target.crop, name, getattr(source.crop, name))
    looks = ("use_flip_x", "use_flip_y", "blend_type", "blend_alpha", "color_multiply", "color_saturation")
    for name in looks:
        if hasattr(source, name) and hasattr(target, name):
            setattr(target, name, getattr(source, name))
