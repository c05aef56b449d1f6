"""Submitting a plan to OpenCue as an outline (`pip install vst-node[farm]`: opencue-pyoutline and
opencue-pycue).

One job per plan; per shot, one layer over the shot's frame range chunked by the plan's chunk
size, whose frames run `vst-node farm run PLAN --shot S --task chunk:#IFRAME#` (OpenCue puts a
chunk's first frame in #IFRAME#: a chunk's first frame is its id in the plan). When the chunks
start from anchors, the anchors are a layer of their own, rendered in order by one task, that the
shot's layer waits for. Device cuda asks for one GPU per frame and the `gpu` tag. Without a Cuebot to talk to,
the job spec (OpenCue's XML) is written instead, which is what the tests check.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from vst_node.errors import VstError
from vst_node.farm.plan import FarmPlan, frame_spec
from vst_node.farm.tasks import task_command

try:
    import outline
    import outline.cuerun
    from outline.modules.shell import Shell
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise VstError("the OpenCue engine needs the farm extra: pip install 'vst-node[farm]'") from exc


def build_outline(
    plan: FarmPlan,
    plan_path: str,
    *,
    show: str = "vst",
    user: str | None = None,
    executable: list[str] | None = None,
    gpu_memory: str = "8g",
) -> outline.Outline:
    """The plan as an OpenCue outline; executable: how render nodes start vst-node (default: `vst-node`)."""
    start = executable or ["vst-node"]
    gpu = plan.device == "cuda"
    device_args = {"gpus": 1, "gpu_memory": gpu_memory, "tags": ["gpu"]} if gpu else {"tags": ["general"]}
    job = outline.Outline(f"vst-{plan.id}", show=show, shot=plan.shots[0].name, user=user or _user())
    for shot in plan.shots:
        command = lambda task_id, name=shot.name: shlex.join(task_command(plan_path, name, task_id, start))  # noqa: E731
        chunks = Shell(
            shot.name,
            command=command("chunk:#IFRAME#"),
            range=frame_spec(shot.frames),
            chunk=len(shot.chunks[0]),
            **device_args,
        )
        if shot.anchors:
            anchors = Shell(
                f"{shot.name}_anchors",
                command=command("anchors:#IFRAME#"),
                range=frame_spec(shot.anchors),
                chunk=len(shot.anchors),
                **device_args,
            )
            job.add_layer(anchors)
            chunks.depend_all(anchors)
        job.add_layer(chunks)
    return job


def job_spec(job: outline.Outline) -> str:
    """OpenCue's XML job specification of the outline, as it would be sent to the Cuebot."""
    launcher = outline.cuerun.OutlineLauncher(job, pause=False)
    return launcher.serialize(use_pycuerun=False)


def cuebot_configured() -> bool:
    """Whether pycue has a Cuebot to talk to ($CUEBOT_HOSTS or an opencue config file)."""
    if os.environ.get("CUEBOT_HOSTS") or os.environ.get("OPENCUE_CONFIG_FILE"):
        return True
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return (config_home / "opencue" / "opencue.yaml").exists()


def submit(plan: FarmPlan, plan_path: str, *, dry_run: bool, spec_path: Path, **options) -> str:
    """Launch the job on the Cuebot, or (dry run, or no Cuebot) write its spec to spec_path.

    Returns what happened, in words."""
    job = build_outline(plan, plan_path, **options)
    spec = job_spec(job)
    if dry_run or not cuebot_configured():
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(spec, encoding="utf-8")
        why = "dry run" if dry_run else "no Cuebot configured ($CUEBOT_HOSTS)"
        return f"{why}: wrote the OpenCue job spec to {spec_path}"
    try:
        outline.cuerun.launch(job, use_pycuerun=False)
    except Exception as exc:  # pycue raises its own connection errors
        raise VstError(f"OpenCue did not take the job ({exc}); `--dry-run` writes the spec instead") from exc
    return f"launched OpenCue job vst-{plan.id}"


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "vst"
