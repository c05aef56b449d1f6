"""The `vst-node` command: render, presets, train, demo, farm, sheet.

Exit codes: 0 success, 2 usage (bad arguments, --set or --frames syntax), 1 bad input or a failed
frame, 130 interrupted (finished frames are kept; `--resume` continues).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vst_node import __version__
from vst_node.errors import PresetError, VstError
from vst_node.settings.choices import DEVICE_CHOICES, METHODS, PRECISION_CHOICES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(VstError):
    """Bad command-line syntax: exit code 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vst-node",
        description="Temporally stable neural style transfer for scene-linear EXR sequences.",
    )
    parser.add_argument("--version", action="version", version=f"vst-node {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="stylize an image sequence")
    render.add_argument(
        "input", help="input sequence: shot.####.exr, shot.@@@@.exr, shot.%%04d.exr or one file"
    )
    render.add_argument("-o", "--output", required=True, help="output sequence pattern, or a folder")
    render.add_argument("--preset", default="default", help="preset name or YAML file (default: %(default)s)")
    render.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset value, e.g. --set weights.style=200 (repeatable)",
    )
    render.add_argument(
        "--frames",
        help="frames to render: 1001-1100, 1-20x2, 1,5,9; negative frames after '=': --frames=-10--1"
        " (default: all on disk)",
    )
    render.add_argument(
        "--passes",
        type=_positive_int,
        help="multi-pass rendering with N passes over the range (same as --set multipass.passes=N)",
    )
    render.add_argument("--layer", help="EXR layer to stylize (default: the unnamed R,G,B,A channels)")
    render.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="default: %(default)s")
    render.add_argument(
        "--precision",
        default="float32",
        choices=PRECISION_CHOICES,
        help="the network's arithmetic: bfloat16 runs VGG in mixed precision, faster on GPUs with"
        " tensor cores, slower on most CPUs (default: %(default)s)",
    )
    render.add_argument(
        "--resume", action="store_true", help="skip frames already written; continue from them"
    )
    render.add_argument(
        "--cache-dir",
        type=Path,
        help="flow cache (default: $VST_NODE_CACHE, else $XDG_CACHE_HOME/vst-node or ~/.cache/vst-node)",
    )
    render.add_argument("--no-cache", action="store_true", help="keep flows in memory only")
    render.add_argument(
        "--contact-sheet",
        type=Path,
        metavar="PNG",
        help="afterwards, write a PNG of source and result for a few frames across the range",
    )

    sheet = sub.add_parser(
        "sheet",
        help="a contact sheet: source and stylized versions of a few frames, one PNG",
        description="Compare looks at a glance: one column per frame (spread over the range), the source"
        " on top and each stylized sequence below it, labelled with its preset.",
    )
    sheet.add_argument("source", help="the source sequence (pattern)")
    sheet.add_argument("results", nargs="+", help="stylized sequences of that source (patterns)")
    sheet.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    sheet.add_argument("--frames", help="frames to choose from (default: all of the source on disk)")
    sheet.add_argument("--count", type=_positive_int, default=4, help="frames shown (default: %(default)s)")
    sheet.add_argument("--width", type=_positive_int, default=320, help="tile width, pixels (default: 320)")
    sheet.add_argument("--layer", help="EXR layer of the source to show")

    presets = sub.add_parser("presets", help="list, show or validate style presets")
    psub = presets.add_subparsers(dest="presets_command", required=True)
    psub.add_parser("list", help="the presets vst-node finds")
    show = psub.add_parser("show", help="a preset with inheritance and overrides resolved")
    show.add_argument("preset")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    validate = psub.add_parser("validate", help="check preset files; every problem is listed")
    validate.add_argument("files", nargs="+")

    train = sub.add_parser(
        "train",
        help="train the fast (feed-forward) network of a preset",
        description="Train a network that stylizes a frame in one pass with the preset's style and"
        " losses (its `training:` section); render with it through `method: feedforward` and"
        " `network.model: FILE` in a preset.",
    )
    train.add_argument("images", nargs="*", type=Path,
                       help="content images or folders (default: the built-in photographs)")  # fmt: skip
    train.add_argument("--preset", default="default", help="preset name or YAML file (default: %(default)s)")
    train.add_argument("-o", "--output", type=Path, required=True, help="model file to write (e.g. look.pt)")
    train.add_argument("--steps", type=_positive_int, help="step budget (default: preset's training.steps)")
    train.add_argument("--minutes", type=float, help="time budget (default: the preset's training.minutes)")
    train.add_argument("--seed", type=int, help="random seed (default: the preset's training.seed)")
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT.ckpt")
    train.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="default: %(default)s")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a preset value, e.g. --set training.crop=256 (repeatable)")  # fmt: skip

    demo = sub.add_parser("demo", help="generate the built-in synthetic shot and stylize it")
    demo.add_argument(
        "-o", "--output", type=Path, default=Path("vst_demo"), help="folder (default: %(default)s)"
    )
    demo.add_argument(
        "--size", default="192x128", help="WIDTHxHEIGHT of the generated shot (default: %(default)s)"
    )
    demo.add_argument("--frames", type=int, default=8, help="number of frames (default: %(default)s)")
    demo.add_argument("--preset", default="default")
    demo.add_argument(
        "--method",
        choices=METHODS,
        help="optimise (each frame optimised, slow) or feedforward (the preset's shipped network, fast);"
        " default: the preset's",
    )
    demo.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    demo.add_argument("--device", default="auto", choices=DEVICE_CHOICES)

    from vst_node.farm.cli import add_farm_parser  # argparse only: the engines load on `farm submit`

    add_farm_parser(sub)
    return parser


def _cmd_render(args: argparse.Namespace) -> int:
    from vst_node.engine.node import poor_flow_message
    from vst_node.faces.render import RenderJob, default_cache_dir, output_pattern, render_sequence
    from vst_node.io.sequence import SequencePattern
    from vst_node.settings import load_preset

    overrides = list(args.overrides)
    if args.passes is not None:
        overrides.append(f"multipass.passes={args.passes}")
    if args.contact_sheet:
        from vst_node.faces.sheet import check_sheet_path

        try:
            check_sheet_path(args.contact_sheet)
        except VstError as exc:
            raise UsageError(f"--contact-sheet: {exc}") from exc
    preset = load_preset(args.preset, overrides)
    source = SequencePattern.parse(args.input)
    job = RenderJob(
        source=source,
        output=output_pattern(args.output, source),
        preset=preset,
        frame_spec=args.frames,
        layer=args.layer,
        device=args.device,
        precision=args.precision,
        resume=args.resume,
        cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
    )
    report = render_sequence(job)
    t = report.times
    print(
        f"vst-node: {len(report.written)} written, {len(report.skipped)} skipped, {len(report.failed)} failed"
        f" -> {job.output}  (read {t.read:.1f}s, colour {t.colour:.1f}s, flow {t.flow:.1f}s,"
        f" optimise {t.optimise:.1f}s, write {t.write:.1f}s)",
        file=sys.stderr,
    )
    if poor := report.poorly_tracked():
        print(f"vst-node: warning: {poor_flow_message(poor)}", file=sys.stderr)
    if args.contact_sheet and report.ok:
        from vst_node.faces.sheet import contact_sheet

        contact_sheet(source, [job.output], report.frames, args.contact_sheet, layer=args.layer)
        print(f"vst-node: contact sheet {args.contact_sheet}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _cmd_presets(args: argparse.Namespace) -> int:
    from vst_node.settings import dump_preset, list_presets, load_preset, validate_file

    if args.presets_command == "list":
        for name, path, description in list_presets():
            print(f"{name:<16} {description}  ({path})")
        return EXIT_OK
    if args.presets_command == "show":
        print(dump_preset(load_preset(args.preset, args.overrides)), end="")
        return EXIT_OK
    status = EXIT_OK
    for file in args.files:
        problems = validate_file(Path(file))
        if problems:
            status = EXIT_FAILED
            for problem in problems:
                print(problem, file=sys.stderr)
        else:
            print(f"{file}: ok")
    return status


def _cmd_train(args: argparse.Namespace) -> int:
    from vst_node.settings import load_preset
    from vst_node.training.trainer import TrainJob, train

    overrides = list(args.overrides)
    for key, value in (("steps", args.steps), ("minutes", args.minutes), ("seed", args.seed)):
        if value is not None:
            overrides.append(f"training.{key}={value}")
    preset = load_preset(args.preset, overrides)
    train(TrainJob(preset, args.output, args.images, resume=args.resume, device=args.device))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from vst_node.faces.demo import run_demo

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as exc:
        raise UsageError(f"--size: expected WIDTHxHEIGHT, got {args.size!r}") from exc
    if min(width, height) < 16:
        raise UsageError(f"--size: at least 16x16 (VGG-19 needs the pixels), got {args.size}")
    if args.frames < 2:
        raise UsageError(f"--frames: at least 2 (the demo measures flicker), got {args.frames}")
    overrides = [*args.overrides, *([f"method={args.method}"] if args.method else [])]
    return run_demo(args.output, width, height, args.frames, args.preset, overrides, args.device)


def _cmd_sheet(args: argparse.Namespace) -> int:
    from vst_node.faces.sheet import contact_sheet
    from vst_node.io.sequence import SequencePattern, resolve_frames

    source = SequencePattern.parse(args.source)
    frames = resolve_frames(source, args.frames)
    results = [SequencePattern.parse(r) for r in args.results]
    shown = contact_sheet(source, results, frames, args.output, count=args.count, tile_width=args.width,
                          layer=args.layer)  # fmt: skip
    print(f"vst-node: wrote {args.output} (frames {', '.join(map(str, shown))})", file=sys.stderr)
    return EXIT_OK


def _cmd_farm(args: argparse.Namespace) -> int:
    from vst_node.farm.cli import run_farm

    return run_farm(args)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["farm", "plan"]:  # IN -o OUT pairs repeat: argparse reads those only intermixed
        from vst_node.farm.cli import plan_parser

        args = plan_parser().parse_intermixed_args(argv[2:])
        args.command, args.farm_command = "farm", "plan"
    else:
        args = parser.parse_args(argv)
    for item in getattr(args, "overrides", []):
        key, sep, _ = item.partition("=")
        if not sep or not all(key.strip().split(".")):
            parser.error(f"--set {item!r}: expected KEY=VALUE, e.g. weights.style=200")
    if isinstance(getattr(args, "frames", None), str):  # render, sheet, farm plan: a frame list
        from vst_node.io.sequence import parse_frame_range

        try:
            parse_frame_range(args.frames)
        except VstError as exc:
            parser.error(f"--frames: {exc}")
    commands = {"render": _cmd_render, "presets": _cmd_presets, "train": _cmd_train, "demo": _cmd_demo,
                "farm": _cmd_farm, "sheet": _cmd_sheet}  # fmt: skip
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"vst-node: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PresetError as exc:
        print(f"vst-node: preset error:\n{exc}", file=sys.stderr)
        return EXIT_FAILED
    except VstError as exc:
        print(f"vst-node: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("vst-node: interrupted; finished frames are kept (re-run with --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
