#!/usr/bin/env bash
# The GPU check: the one command to run on the day a CUDA GPU is available.
#
#     tools/gpu_check.sh OUTDIR          (PYTHON=... to choose the interpreter; default: python)
#
# Without CUDA (torch.cuda.is_available() is False) it stops at once with exit status 2 and says so:
# it never skips. On a GPU it writes into OUTDIR:
#   device.txt, nvidia-smi.txt    the GPU as torch and nvidia-smi see it
#   pytest-cuda.txt               the CUDA-parametrised tests (pytest -k cuda over tests/)
#   precision.json, precision.md, precision.txt
#                                 one optimised frame at 512x218 and at 1024x436, float32 against
#                                 bfloat16, synchronised timing (tools/bench_precision.py), plus the
#                                 Sintel alley_2 pair at 1/2 size (512x218) through the product's
#                                 method in both precisions (temporal error, style loss)
#   determinism.txt, determinism.json
#                                 the same frames rendered in order and out of order (bit-identical?)
#                                 and host reads per L-BFGS iteration (tools/determinism_check.py)
#   summary.md                    each step's result and wall time
#
# Budget: under 8 minutes on one GPU, every step under a hard limit (an overrun fails, loudly):
#   device record                  limit  30 s  (seconds)
#   pytest -k cuda (7+ tests)      limit 150 s  (tiny presets and images; VGG weights load once)
#   precision benchmark            limit 210 s  frames: 200 iterations per run, stopping rule off,
#                                               4 runs per size (2-iteration warm-ups, float32,
#                                               float32 from a perturbed start, bfloat16);
#                                               Sintel: frame N 100, frame N+1 50 iterations, 3 runs
#   determinism_check              limit  75 s  4 frames at 512x218, 50 iterations each, rendered in
#                                               order and out of order (must be bit-identical), and
#                                               host reads per iteration of one optimised frame
#                                               (determinism.txt, determinism.json)
# Limits sum to 465 s = 7.75 min. Exit status: 0 when every step passed, 1 when one failed (the
# others still run, so that their figures come back), 2 without CUDA or without OUTDIR.

set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: tools/gpu_check.sh OUTDIR" >&2
    exit 2
fi
PYTHON=${PYTHON:-python}
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 2

"$PYTHON" - <<'EOF' || exit 2
import sys

import torch

if not torch.cuda.is_available():
    sys.exit(
        "gpu_check: FAILED: CUDA is not available (torch.cuda.is_available() is False; torch "
        f"{torch.__version__}, built for CUDA {torch.version.cuda}). This check needs a CUDA GPU; "
        "it does not skip."
    )
EOF

failed=0
echo "# GPU check" > "$OUT/summary.md"
echo >> "$OUT/summary.md"

step() {  # step NAME LIMIT_S LOG COMMAND...: run COMMAND under the limit, output to LOG and the terminal
    local name=$1 limit=$2 log=$3 started status
    shift 3
    echo "== $name (limit ${limit} s)"
    started=$(date +%s)
    # timeout signals its whole process group: a step's children stop with it.
    timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@" 2>&1 | tee "$OUT/$log"
    status=${PIPESTATUS[0]}
    local verdict="passed"
    if [ "$status" -eq 124 ]; then
        verdict="FAILED: ran past its ${limit} s limit"
    elif [ "$status" -ne 0 ]; then
        verdict="FAILED: exit status $status"
    fi
    [ "$verdict" = "passed" ] || failed=1
    echo "- $name: $verdict, $(($(date +%s) - started)) s (output: $log)" | tee -a "$OUT/summary.md"
}

record_device() {
    "$PYTHON" - <<'EOF' || return 1
import torch

props = torch.cuda.get_device_properties(0)
print("device:", torch.cuda.get_device_name(0))
print("capability:", ".".join(map(str, torch.cuda.get_device_capability(0))))
print("memory GiB:", round(props.total_memory / 2**30, 1))
print("bfloat16 supported:", torch.cuda.is_bf16_supported())
print("torch:", torch.__version__, "CUDA:", torch.version.cuda, "cuDNN:", torch.backends.cudnn.version())
print("devices visible:", torch.cuda.device_count())
EOF
    if command -v nvidia-smi > /dev/null; then
        nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
    else
        echo "nvidia-smi is not on PATH" | tee "$OUT/nvidia-smi.txt"
    fi
}

cuda_tests() {
    local log status
    log=$(mktemp)
    "$PYTHON" -m pytest -q -p no:cacheprovider -rs -k cuda tests/ > "$log" 2>&1
    status=$?
    cat "$log"
    # A CUDA test skipped on a CUDA machine is a failure of this check, not a pass.
    if [ "$status" -eq 0 ] && grep -q "SKIPPED" "$log"; then
        echo "gpu_check: CUDA tests were skipped on a CUDA machine"
        status=1
    fi
    rm -f "$log"
    return "$status"
}
export -f record_device cuda_tests
export OUT PYTHON

step "device record" 30 device.txt record_device
step "CUDA tests (pytest -k cuda)" 150 pytest-cuda.txt cuda_tests
step "float32 vs bfloat16 (bench_precision)" 210 precision.txt \
    "$PYTHON" tools/bench_precision.py --device cuda --sizes 512x218 1024x436 \
    --set optimiser.iterations_first=200 --set optimiser.tolerance=1.0e-30 \
    --scale 2 --first 100 --later 50 \
    --json "$OUT/precision.json" --markdown "$OUT/precision.md"
step "same pixels in any order, host reads (determinism_check)" 75 determinism.txt \
    "$PYTHON" tools/determinism_check.py --device cuda --size 512x218 --frames 4 --iterations 50 \
    --json "$OUT/determinism.json"

if [ "$failed" -ne 0 ]; then
    echo "gpu_check: FAILED (see $OUT/summary.md)" >&2
    exit 1
fi
echo "gpu_check: all steps passed; figures in $OUT"
