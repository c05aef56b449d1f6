"""The package's rooms: imports flow one way, from the faces down to the tensor operations.

Every module of vst_node is parsed (imports inside functions included) and each import of another
vst_node module is checked against the layer order below; the host adapters may use only the
public names of vst_node.api.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vst_node"

# Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS: dict[str, int] = {
    "__init__": 0,  # the version only
    "errors": 0,
    "ops": 1,
    "io": 2,
    "settings": 3,
    "engine": 4,
    "training": 5,  # `vst-node train`: builds on the engine's VGG and losses
    "faces": 6,
    "farm": 6,  # a face too (farm rendering on top of the render job); faces.cli dispatches to it
    "ofx": 7,  # an adapter: nothing in the core imports it
    "api": 7,
    "__main__": 7,
}


def room(module: str) -> str:
    """'vst_node.engine.node' -> 'engine'; 'vst_node' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, package: Path) -> str:
    relative = path.relative_to(package.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, package: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of the package inside one file."""
    name = module_name(path, package)
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from vst_node import engine` imports the room itself
            if target == package.name:
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    top = package.name
    return [(line, target) for line, target in found if target == top or target.startswith(top + ".")]


def upward_imports(package: Path, layers: dict[str, int]) -> list[str]:
    """'file:line: room imports higher room' for every import against the layer order."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        source_room = room(module_name(path, package))
        if source_room not in layers:
            problems.append(f"{path.relative_to(package.parent)}: room {source_room!r} has no layer")
            continue
        for line, target in imported_modules(path, package):
            target_room = room(target)
            if target_room == "__version__":
                continue
            if target_room not in layers:
                problems.append(f"{path.relative_to(package.parent)}:{line}: unknown room {target_room!r}")
            elif layers[target_room] > layers[source_room]:
                problems.append(
                    f"{path.relative_to(package.parent)}:{line}: {source_room} (layer {layers[source_room]})"
                    f" imports {target} (layer {layers[target_room]})"
                )
    return problems


def test_no_module_imports_a_higher_layer():
    assert upward_imports(PACKAGE, LAYERS) == []


def test_every_room_has_a_docstring_and_a_layer():
    rooms = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert rooms == sorted(name for name in LAYERS if (PACKAGE / name).is_dir())
    for name in rooms:
        docstring = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert docstring and "\n" not in docstring.strip(), name


def test_the_core_never_imports_the_ofx_adapter():
    adapters = ("ofx", "api", "__main__")
    core = [p for p in PACKAGE.rglob("*.py") if room(module_name(p, PACKAGE)) not in adapters]
    offenders = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in core
        for line, target in imported_modules(p, PACKAGE)
        if room(target) == "ofx"
    ]
    assert offenders == []


def test_the_checker_catches_an_upward_import(tmp_path):
    fake = tmp_path / "vst_node"
    for folder, text in {
        "ops": "from vst_node.engine.node import X\n",
        "engine": "from ..ops import warp\n",
        "faces": "def late():\n    from vst_node.ofx import describe\n",
    }.items():
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text(text)
    (fake / "__init__.py").write_text("")
    problems = upward_imports(fake, {"__init__": 0, "ops": 1, "engine": 4, "faces": 5, "ofx": 6})
    assert problems == [
        "vst_node/faces/__init__.py:2: faces (layer 5) imports vst_node.ofx (layer 6)",
        "vst_node/ops/__init__.py:1: ops (layer 1) imports vst_node.engine.node (layer 4)",
    ]


@pytest.mark.parametrize("plugin", ["blender", "natron"])
def test_host_adapters_use_only_the_public_api(plugin):
    import vst_node.api

    public = set(vst_node.api.__all__)
    used: list[str] = []
    for path in sorted((ROOT / "plugins" / plugin).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vst_node"):
                assert node.module == "vst_node.api", f"{path.name}:{node.lineno} imports {node.module}"
                used += [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("vst_node")]
                assert all(n in ("vst_node", "vst_node.api") for n in names), f"{path.name}:{node.lineno}"
    files = sorted((ROOT / "plugins" / plugin).rglob("*.py"))
    assert files, f"plugins/{plugin} has no Python files: moved?"
    # Blender imports the core through vst_node.api; Natron's Python cannot, and runs the CLI instead.
    assert used if plugin == "blender" else not used, used
    assert set(used) <= public, sorted(set(used) - public)
