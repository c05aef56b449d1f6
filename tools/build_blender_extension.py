"""Build the Blender extension zip (plugins/blender + wheels + presets) and check it.

    python tools/build_blender_extension.py                      # full: vst_node + dependency wheels
    python tools/build_blender_extension.py --no-deps-wheels     # light: vst_node wheel only
    python tools/build_blender_extension.py check dist/vst_node_blender-0.1.0.zip

The zip holds the add-on at its root, `wheels/` (listed in the zip's copy of blender_manifest.toml, which
Blender installs into its Python 3.11) and `presets/` (a wheel's data files do not land where vst_node
looks when Blender installs it, so the add-on points $VST_NODE_PRESETS at this copy).

Blender bundles numpy and OpenImageIO; their wheels are left out (a second numpy would fight Blender's).
Dependency wheels are downloaded for one platform (default: this machine's) and CPython 3.11. torch is
large (a CPU wheel is ~200 MB, PyPI's default Linux wheel pulls CUDA packages of several GB): pass
`--pip-arg=--extra-index-url=https://download.pytorch.org/whl/cpu --torch torch==2.13.0+cpu` for a CPU
build, or build the light zip and install the dependencies into Blender's Python (docs/blender.md).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "plugins" / "blender"
PRESETS = ROOT / "presets"
PROVIDED_BY_BLENDER = {"numpy", "openimageio"}
BLENDER_NUMPY = "numpy==1.26.4"  # what Blender 4.2-5.0 bundle: dependency wheels must accept it
PLATFORM_NAMES = (  # pip platform tag -> Blender manifest platform
    (re.compile(r"manylinux.*_x86_64|linux_x86_64"), "linux-x64"),
    (re.compile(r"manylinux.*_aarch64|linux_aarch64"), "linux-arm64"),
    (re.compile(r"win_amd64"), "windows-x64"),
    (re.compile(r"win_arm64"), "windows-arm64"),
    (re.compile(r"macosx_.*_arm64"), "macos-arm64"),
    (re.compile(r"macosx_.*_x86_64"), "macos-x64"),
)


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def _wheel_name(filename: str) -> str:
    return _canonical(filename.split("-")[0])


def _platforms(wheels: list[Path]) -> list[str]:
    found: set[str] = set()
    for wheel in wheels:
        tag = wheel.stem.split("-")[-1]
        if tag == "any":
            continue
        for pattern, name in PLATFORM_NAMES:
            if pattern.search(tag):
                found.add(name)
    return sorted(found)


def build_wheels(
    folder: Path, deps: bool, platform: str | None, torch: str, pip_args: list[str]
) -> list[Path]:
    """vst_node's own wheel, then (with deps) the dependency wheels for CPython 3.11 on `platform`."""
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)])
    if deps:
        requirements = [
            torch if _requirement_name(r) == "torch" else r
            for r in _project()["dependencies"]
            if _requirement_name(r) not in PROVIDED_BY_BLENDER
        ]
        constraints = folder / "constraints.txt"
        constraints.write_text(BLENDER_NUMPY + "\n")
        target = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
        if platform:
            target += ["--platform", platform]
        pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", *target]
        _run([*pip, "-c", str(constraints), "-d", str(folder), *pip_args, *requirements])
        constraints.unlink()
    wheels = sorted(folder.glob("*.whl"))
    for wheel in wheels:
        if _wheel_name(wheel.name) in PROVIDED_BY_BLENDER:
            print(f"leaving out {wheel.name}: Blender bundles {_wheel_name(wheel.name)}")
            wheel.unlink()
    return sorted(folder.glob("*.whl"))


def manifest_with_wheels(text: str, wheels: list[Path]) -> str:
    """The add-on's manifest with `wheels` (and `platforms` for binary wheels) before its first table."""
    lines = [
        "wheels = [",
        *[f'  "./wheels/{w.name}",' for w in wheels],
        "]",
    ]
    if platforms := _platforms(wheels):
        lines.append("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]")
    head, sep, tail = text.partition("\n[")
    return head.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + sep + tail


def build(out_dir: Path, deps: bool, platform: str | None, torch: str, pip_args: list[str]) -> Path:
    manifest_text = (ADDON / "blender_manifest.toml").read_text()
    version = tomllib.loads(manifest_text)["version"]
    if version != _project()["version"]:
        print(f"warning: manifest version {version} differs from pyproject's {_project()['version']}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"vst_node_blender-{version}{'' if deps else '-light'}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        wheels = build_wheels(Path(tmp), deps, platform, torch, pip_args)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(ADDON.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    name = path.relative_to(ADDON).as_posix()
                    if name == "blender_manifest.toml":
                        archive.writestr(name, manifest_with_wheels(manifest_text, wheels))
                    else:
                        archive.write(path, name)
            for wheel in wheels:
                archive.write(wheel, f"wheels/{wheel.name}")
            for path in sorted(PRESETS.rglob("*")):
                if path.is_file() and path.suffix != ".ckpt":  # training checkpoints stay home
                    archive.write(path, f"presets/{path.relative_to(PRESETS).as_posix()}")
    print(f"built {target} ({target.stat().st_size / 1e6:.1f} MB, {len(wheels)} wheels)")
    return target


def _blender_ext_cli() -> Path | None:
    """Blender's own extension validator, from an installed `bpy` module (found without importing it)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    return None


def check(archive_path: Path, blender_ext: Path | None = None) -> list[str]:
    """Every problem found in the zip (empty when it is fine)."""
    problems: list[str] = []
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        if "blender_manifest.toml" not in names:
            return [f"{archive_path}: no blender_manifest.toml at the root"]
        try:
            manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
        except tomllib.TOMLDecodeError as exc:
            return [f"blender_manifest.toml does not parse: {exc}"]
        expected = {"schema_version": "1.0.0", "id": "vst_node", "type": "add-on"}
        for key, value in expected.items():
            if manifest.get(key) != value:
                problems.append(f"manifest {key}: expected {value!r}, got {manifest.get(key)!r}")
        for key in ("version", "name", "tagline", "maintainer", "license", "blender_version_min"):
            if not manifest.get(key):
                problems.append(f"manifest {key}: missing")
        if "Sequencer" not in manifest.get("tags", []):
            problems.append("manifest tags: 'Sequencer' missing")
        if "files" not in manifest.get("permissions", {}):
            problems.append("manifest permissions: 'files' missing (the add-on reads and writes frames)")
        listed = {w.removeprefix("./") for w in manifest.get("wheels", [])}
        for wheel in sorted(listed - names):
            problems.append(f"manifest lists {wheel}, which is not in the zip")
        for wheel in sorted(n for n in names if n.endswith(".whl") and n not in listed):
            problems.append(f"{wheel} is in the zip but not listed in the manifest's wheels")
        vst_wheels = [w for w in listed if _wheel_name(Path(w).name) == "vst-node"]
        if not vst_wheels:
            problems.append("no vst_node wheel listed")
        for name in sorted(n for n in names if n.endswith(".py") and "/" not in n):
            source = archive.read(name).decode()
            tree = ast.parse(source, name)
            assigned = {
                getattr(t, "id", "") for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
            }
            if "bl_info" in assigned:
                problems.append(f"{name}: defines bl_info (an extension must not)")
            if name == "__init__.py":
                defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
                problems += [f"__init__.py: no {f}()" for f in ("register", "unregister") if f not in defined]
        if "__init__.py" not in names:
            problems.append("no __init__.py at the root")
        problems += _check_presets(archive, names, vst_wheels)
    if blender_ext is not None:
        result = subprocess.run(
            [sys.executable, str(blender_ext), "validate", str(archive_path)], capture_output=True, text=True
        )
        if result.returncode != 0:
            problems.append(f"Blender's validator: {(result.stdout + result.stderr).strip()}")
        else:
            print(f"Blender's validator ({blender_ext}): {result.stdout.strip()}")
    return problems


def _check_presets(archive: zipfile.ZipFile, names: set[str], vst_wheels: list[str]) -> list[str]:
    """presets/ is shipped, every preset's style image is in it, and the vst_node wheel has the package."""
    problems = []
    presets = sorted(n for n in names if n.startswith("presets/") and n.endswith((".yaml", ".yml")))
    if "presets/default.yaml" not in presets:
        problems.append("presets/default.yaml is not in the zip")
    for name in presets:
        text = archive.read(name).decode()
        match = re.search(r"^\s+image:\s*(\S+)", text, re.MULTILINE)
        if match and f"presets/{match.group(1)}" not in names:
            problems.append(f"{name}: style image {match.group(1)} is not in the zip")
        model = re.search(r"^\s+model:\s*(\S+)", text, re.MULTILINE)
        if model and f"presets/{model.group(1)}" not in names:
            problems.append(f"{name}: network {model.group(1)} is not in the zip")
    problems += [f"{n}: a training checkpoint is in the zip" for n in names if n.endswith(".ckpt")]
    for wheel in (w for w in vst_wheels if w in names):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "w.whl"
            path.write_bytes(archive.read(wheel))
            with zipfile.ZipFile(path) as inner:
                inside = inner.namelist()
        expected = ("vst_node/__init__.py", "vst_node/api.py", "vst_node/faces/render.py")
        for module in expected:
            if module not in inside:
                problems.append(f"{wheel}: {module} missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    build_parser = sub.add_parser("build", help="build the zip, then check it (the default)")
    check_parser = sub.add_parser("check", help="check an existing zip")
    check_parser.add_argument("zip", type=Path)
    for p in (parser, build_parser):
        p.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
        p.add_argument("--no-deps-wheels", action="store_true", help="bundle only the vst_node wheel")
        p.add_argument("--platform", help="pip platform tag for dependency wheels (default: this machine)")
        p.add_argument("--torch", default="torch==2.13.0", help="torch requirement (e.g. torch==2.13.0+cpu)")
        p.add_argument("--pip-arg", action="append", default=[], help="extra argument for pip download")
    for p in (parser, build_parser, check_parser):
        p.add_argument("--no-blender-validate", action="store_true", help="skip Blender's own validator")
    args = parser.parse_args(argv)
    if args.command == "check":
        archive = args.zip
    else:
        archive = build(args.out, not args.no_deps_wheels, args.platform, args.torch, args.pip_arg)
    validator = None if args.no_blender_validate else _blender_ext_cli()
    if validator is None and not args.no_blender_validate:
        print("note: no bpy module found, so Blender's own validator did not run (pip install bpy==5.0.1)")
    problems = check(archive, validator)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"ok: {archive}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
