#!/usr/bin/env bash
# The Blender add-on tests (tests_blender/) against the real bpy module, in their own virtual environment.
#
#   tools/blender_tests.sh [pytest args...]
#
# bpy 5.0.1 is a CPython 3.11 module and pins numpy<2, so it cannot share the main environment (numpy 2,
# OpenImageIO 3.2). The venv (.venv-blender, git-ignored) is created on first use and updated only when
# pyproject.toml changes. Override the interpreter with PYTHON=python3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VST_BLENDER_VENV:-$ROOT/.venv-blender}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# The environment is the package's `blender-test` extra (bpy 5.0.1 and what Blender 5.0 itself has:
# numpy 1.26, OpenImageIO 3.0); torch is pinned so pip takes the CPU wheel, not the CUDA one. pip runs
# again only when pyproject.toml changes.
STAMP="$VENV/.vst-requirements"
WANTED="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"bpy 5.0 needs Python 3.11, not {sys.version}"'
  "$PYTHON" -m venv "$VENV"
fi
current() {  # bpy importable and vst_node imported from this checkout
  "$VENV/bin/python" -c 'import bpy, sys, vst_node; sys.exit(not vst_node.__file__.startswith(sys.argv[1]))' \
    "$ROOT/vst_node" 2>/dev/null
}
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANTED" ]] || ! current; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "torch==2.13.0" -e "$ROOT[blender-test]"
  printf '%s' "$WANTED" > "$STAMP"
fi

cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q tests_blender "$@"
