"""`sequencer.vst_stylize_strip`: stylize the active strip, a frame per timer tick, Esc to cancel.

No `from __future__ import annotations` (see properties.py). In background mode (`blender -b`, the bpy
module) timers never fire, so invoke and execute both run the whole job synchronously.
"""

import traceback

import bpy

from . import compat
from .preview import preview_strip_frame
from .stylize import Runner, StylizeError

TICK_SECONDS = 0.05
_running: set[str] = set()  # scenes with a modal job in flight: one job per scene at a time


def _overrides(text: str) -> list[str]:
    """`a.b=1; c.d=2` (or one per line) as vst-node `--set` items."""
    return [item.strip() for item in text.replace("\n", ";").split(";") if item.strip()]


class SEQUENCER_OT_vst_stylize_strip(bpy.types.Operator):
    """Stylize the active image or movie strip with vst-node and add the result as a new strip above it"""

    bl_idname = "sequencer.vst_stylize_strip"
    bl_label = "Stylize Strip"
    # No REGISTER: "Adjust Last Operation" / Repeat Last would call execute, rendering the whole strip
    # synchronously with no progress and no Esc.
    bl_options = {"UNDO"}  # noqa: RUF012  (Blender reads this class attribute)

    extra_overrides: bpy.props.StringProperty(
        name="Extra overrides",
        description="More preset overrides, 'key.path=value' separated by ';' (scripts and tests)",
        default="",
        options={"HIDDEN", "SKIP_SAVE"},
    )

    @classmethod
    def poll(cls, context):
        strip = compat.active_strip(context)
        if strip is None or strip.type not in {"IMAGE", "MOVIE"}:
            cls.poll_message_set("Select an image or movie strip")
            return False
        return True

    # ------------------------------------------------------------------ shared

    def _start(self, context):
        """A Runner, or None after reporting why not (user errors as reports, never as tracebacks)."""
        scene = compat.sequencer_scene(context)
        if scene.name in _running:
            self.report({"ERROR"}, "vst-node is already stylizing a strip in this scene (Esc cancels it)")
            return None
        try:
            return Runner(
                scene,
                compat.active_strip(context),
                scene.vst_node,
                _overrides(self.extra_overrides),
                echo=bpy.app.background,
            )
        except StylizeError as exc:
            self.report({"ERROR"}, str(exc))
        except Exception as exc:  # a bug: the console gets the traceback, the user a message
            traceback.print_exc()
            self.report({"ERROR"}, f"vst-node: unexpected error: {exc} (details in the system console)")
        return None

    def _fail(self, runner, exc):
        if not isinstance(exc, StylizeError):
            traceback.print_exc()
        runner.cancel()
        self.report({"ERROR"}, f"{exc} (frames written so far stay in {runner.out_dir})")
        return {"CANCELLED"}

    def _finish(self, context, runner):
        try:
            strip, added = runner.finish()
        except StylizeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if added:
            scene = bpy.data.scenes.get(runner.scene_name)  # the job's scene, wherever the user is now
            if scene is not None and scene.sequence_editor is not None:
                scene.sequence_editor.active_strip = strip
            self.report({"INFO"}, f"Added strip {strip.name!r} on channel {strip.channel} ({runner.out_dir})")
        else:
            self.report({"INFO"}, f"Strip {strip.name!r} already shows these frames ({runner.out_dir})")
        if warning := runner.flow_warning():
            self.report({"WARNING"}, warning)
        return {"FINISHED"}

    # ------------------------------------------------------------------ synchronous

    def execute(self, context):
        runner = self._start(context)
        if runner is None:
            return {"CANCELLED"}
        try:
            runner.run()
        except Exception as exc:
            return self._fail(runner, exc)
        return self._finish(context, runner)

    # ------------------------------------------------------------------ modal

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        runner = self._start(context)
        if runner is None:
            return {"CANCELLED"}
        self._runner = runner
        self._scene = runner.scene_name
        _running.add(self._scene)
        wm = context.window_manager
        self._timer = wm.event_timer_add(TICK_SECONDS, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(runner.total, 1))
        self._status(context, "starting (Esc cancels)")
        return {"RUNNING_MODAL"}

    def _status(self, context, text):
        runner = self._runner
        if context.workspace is not None:
            context.workspace.status_text_set(f"vst-node {runner.done}/{runner.total}: {text}  (Esc cancels)")

    def _end_modal(self, context):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        _running.discard(self._scene)

    def modal(self, context, event):
        runner = self._runner
        if event.type == "ESC" and event.value == "PRESS":
            runner.cancel()
            self._end_modal(context)
            kept = f"finished frames stay in {runner.out_dir}"
            self.report({"WARNING"}, f"Cancelled; {kept} (run again to resume)")
            return {"CANCELLED"}
        if event.type != "TIMER":  # (events carry no timer handle: any timer tick advances the job)
            return {"PASS_THROUGH"}
        try:
            more = runner.step()
        except Exception as exc:
            self._end_modal(context)
            return self._fail(runner, exc)
        if more:
            context.window_manager.progress_update(runner.done)
            self._status(context, runner.status)
            return {"RUNNING_MODAL"}
        self._end_modal(context)
        return self._finish(context, runner)

    def cancel(self, context):
        """Blender ends the operator (file closed, window gone): stop like Esc."""
        runner = getattr(self, "_runner", None)
        if runner is not None:
            runner.cancel()
            self._end_modal(context)


class SEQUENCER_OT_vst_preview_frame(bpy.types.Operator):
    """Stylize the frame under the playhead with the preset's fast network (about a second), into the image 'vst-node preview'"""  # noqa: E501

    bl_idname = "sequencer.vst_preview_frame"
    bl_label = "Preview This Frame"
    bl_options = {"REGISTER"}  # noqa: RUF012  (Blender reads this class attribute)

    @classmethod
    def poll(cls, context):
        return SEQUENCER_OT_vst_stylize_strip.poll(context)

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        try:
            image, seconds = preview_strip_frame(
                scene, compat.active_strip(context), scene.vst_node, scene.frame_current
            )
        except StylizeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:  # a bug: the console gets the traceback, the user a message
            traceback.print_exc()
            self.report({"ERROR"}, f"vst-node: unexpected error: {exc} (details in the system console)")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Frame {scene.frame_current} in image {image.name!r} ({seconds:.1f} s)")
        return {"FINISHED"}


CLASSES = (SEQUENCER_OT_vst_stylize_strip, SEQUENCER_OT_vst_preview_frame)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
