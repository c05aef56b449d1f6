"""`vst-node farm plan | submit | status | run`: rendering shots on a farm.

plan    cut shots into chunks and write the plan (JSON) that every engine reads
submit  hand the plan to an engine: Dask distributed (`--engine dask`) or OpenCue (`--engine opencue`)
status  progress of a plan, read from the shots' folders
run     one task of a plan on this machine (what the engines' workers run)

The engines' packages are the `farm` extra; nothing here imports them before `submit` asks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vst_node.errors import InputError
from vst_node.settings.choices import DEVICE_CHOICES, PRECISION_CHOICES

FARM_ENGINES = ("dask", "opencue")


def add_farm_parser(sub: argparse._SubParsersAction) -> None:
    farm = sub.add_parser(
        "farm",
        help="render shots on a farm (Dask distributed or OpenCue)",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fsub = farm.add_subparsers(dest="farm_command", required=True)

    fsub.add_parser(
        "plan", parents=[plan_parser(add_help=False)], help="cut shots into chunks; print and write the plan"
    )

    submit = fsub.add_parser("submit", help="hand a plan to a farm engine")
    submit.add_argument("plan", type=Path, help="plan file (from `vst-node farm plan`)")
    submit.add_argument("--engine", choices=FARM_ENGINES, default="dask", help="default: %(default)s")
    submit.add_argument("--scheduler", help="Dask: scheduler address, e.g. tcp://10.0.0.5:8786")
    submit.add_argument(
        "--retries", type=int, default=2, help="Dask: reruns of a failed task (default: %(default)s)"
    )
    submit.add_argument(
        "--wait", action="store_true", help="Dask: watch per-shot progress until every task ends"
    )
    submit.add_argument("--dry-run", action="store_true", help="OpenCue: write the job spec, do not launch")
    submit.add_argument("--spec", type=Path, help="OpenCue: where the job spec goes (default: PLAN.cue.xml)")
    submit.add_argument("--show", default="vst", help="OpenCue: show name (default: %(default)s)")
    submit.add_argument(
        "--executable",
        default="vst-node",
        help="OpenCue: how render nodes start vst-node (default: %(default)s)",
    )

    status = fsub.add_parser("status", help="progress of a plan, read from disk")
    status.add_argument("plan", type=Path)

    run = fsub.add_parser("run", help="run one task of a plan here (what the farm's workers run)")
    run.add_argument("plan", type=Path)
    run.add_argument("--shot", required=True)
    run.add_argument("--task", required=True, help="anchors:FRAME or chunk:FRAME (the task's first frame)")


def plan_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """`farm plan`'s arguments; main() parses them intermixed, so that IN -o OUT pairs may repeat."""
    plan = argparse.ArgumentParser(
        prog="vst-node farm plan",
        add_help=add_help,
        description="Cut shots into chunks; print and write the plan.",
    )
    plan.add_argument(
        "inputs", nargs="*", metavar="IN", help="input sequence of a shot, each followed by -o OUT"
    )
    plan.add_argument(
        "-o",
        "--output",
        dest="outputs",
        action="append",
        default=[],
        metavar="OUT",
        help="output of the IN before it (repeat for each shot)",
    )
    plan.add_argument("--shots", type=Path, help="shot list file (YAML: source, output, frames, layer, name)")
    plan.add_argument("--frames", help="frames of the IN -o OUT shots (default: all on disk)")
    plan.add_argument("--json", dest="json_path", type=Path, required=True, help="plan file to write")
    plan.add_argument("--preset", default="default", help="preset name or YAML file (default: %(default)s)")
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    plan.add_argument("--chunk", type=int, default=25, help="frames per chunk (default: %(default)s)")
    plan.add_argument(
        "--lead-in",
        type=int,
        help="frames before each chunk boundary steered into the next chunk's first frame,"
        " so that the boundary does not show (default: the whole chunk; 0: none)",
    )
    plan.add_argument(
        "--anchor-step",
        type=int,
        default=4,
        help="the anchors are rendered first by walking every Nth frame, so that each anchor follows"
        " the one before along reliable flow (default: %(default)s; the chunk size: anchors alone)",
    )
    plan.add_argument(
        "--device",
        default="auto",
        choices=DEVICE_CHOICES,
        help="device on the workers; cuda asks the engine for a GPU per task (default: %(default)s)",
    )
    plan.add_argument("--precision", default="float32", choices=PRECISION_CHOICES)
    plan.add_argument("--cache-dir", type=Path, help="shared flow cache (default: each worker's own)")
    plan.add_argument(
        "--threads",
        type=int,
        help="CPU threads per task (default: all cores). A retried chunk is bit-identical to an"
        " uninterrupted one when the thread count and the kind of processor are the same",
    )

    return plan


def run_farm(args: argparse.Namespace) -> int:
    """0: done; 1: a task or shot failed (or the engine was unreachable)."""
    commands = {"plan": _plan, "submit": _submit, "status": _status, "run": _run}
    return commands[args.farm_command](args)


def _plan(args: argparse.Namespace) -> int:
    from vst_node.farm.plan import ShotRequest, make_plan, write_plan
    from vst_node.farm.shots import read_shot_list

    if len(args.inputs) != len(args.outputs):
        raise InputError(
            f"{len(args.inputs)} input(s) but {len(args.outputs)} -o output(s): give IN -o OUT per shot"
        )
    requests = [ShotRequest(i, o, args.frames) for i, o in zip(args.inputs, args.outputs, strict=True)]
    if args.shots:
        requests += read_shot_list(args.shots)
    plan = make_plan(
        requests,
        args.preset,
        args.overrides,
        chunk=args.chunk,
        lead_in=args.lead_in,
        anchor_step=args.anchor_step,
        device=args.device,
        precision=args.precision,
        cache_dir=args.cache_dir,
        threads=args.threads,
    )
    write_plan(plan, args.json_path)
    print(_describe(plan))
    print(f"wrote {args.json_path}")
    return 0


def _describe(plan) -> str:
    seams = (
        f"anchors rendered first, in order; chunks start from one and their last {plan.lead_in} frames"
        " lead into the next"
        if any(s.anchors for s in plan.shots)
        else "frames are independent: no anchors"
    )
    lines = [
        f"plan {plan.id}: preset {plan.preset} ({plan.method}), device {plan.device}, {plan.chunk} frames"
        f" per chunk; {seams}"
    ]
    width = max(len(s.name) for s in plan.shots)
    for shot in plan.shots:
        tasks = shot.tasks()
        lines.append(
            f"  {shot.name:<{width}}  {len(shot.frames):>5} frames  {len(shot.chunks):>3} chunks"
            f"  {len(shot.anchors):>3} anchors  {len(tasks):>3} tasks  -> {shot.output}"
        )
    return "\n".join(lines)


def _submit(args: argparse.Namespace) -> int:
    from vst_node.farm.plan import read_plan

    plan_path = args.plan.resolve()
    plan = read_plan(plan_path)
    if args.engine == "opencue":
        from vst_node.farm import opencue_engine

        spec = args.spec or plan_path.with_suffix(".cue.xml")
        print(
            opencue_engine.submit(
                plan,
                str(plan_path),
                dry_run=args.dry_run,
                spec_path=spec,
                show=args.show,
                executable=args.executable.split(),
            )
        )
        return 0
    if not args.scheduler:
        raise InputError(
            "--engine dask needs --scheduler tcp://HOST:PORT (the address `dask scheduler` prints)"
        )
    from vst_node.farm import dask_engine

    try:
        result = dask_engine.submit(
            plan, str(plan_path), args.scheduler, retries=args.retries, wait=args.wait
        )
    except KeyboardInterrupt:
        print(
            f"vst-node farm: stopped watching; the cluster goes on (vst-node farm status {args.plan})",
            file=sys.stderr,
        )
        return 0
    return 1 if result.failed else 0


def _status(args: argparse.Namespace) -> int:
    from vst_node.farm.plan import read_plan
    from vst_node.farm.status import format_progress, plan_progress

    shots = plan_progress(read_plan(args.plan))
    print(format_progress(shots))
    return 1 if any(s.state == "failed" for s in shots) else 0


def _run(args: argparse.Namespace) -> int:
    from vst_node.farm.child import die_with_parent
    from vst_node.farm.plan import read_plan
    from vst_node.farm.runner import run_task

    die_with_parent()
    summary = run_task(read_plan(args.plan), args.shot, args.task)
    print(
        f"vst-node farm: shot {summary['shot']}, {summary['task']}: {len(summary['written'])} written,"
        f" {len(summary['skipped'])} skipped in {summary['seconds']:.1f}s",
        file=sys.stderr,
    )
    return 0
