#!/usr/bin/env bash
# The looks matrix on a GPU: the cells of tools/looks_matrix.py that have no first-frame pop
# measurement yet (on a 2-core CPU a 1024 px cell takes about nine hours), largest sizes first.
#
#     tools/gpu_looks.sh OUTDIR [BUDGET_S]       (PYTHON=... interpreter; DATA=... the shared data folder)
#
# DATA (default ../shared/data) needs only video/bedroom (52 JPEGs, 3.3 MB) for these cells: on a
# machine that does not see ../shared, copy that folder into an ignored folder of the checkout and
# point DATA at it. Without CUDA it stops at once with exit status 2; it never falls back to the CPU.
#
# Each cell is `bench_looks.py --clip C --preset P --size S --frames 5 --device cuda` under a hard
# limit of CELL_LIMIT_S (default 150 s; an overrun fails that cell, loudly, and the next one runs).
# No cell starts once BUDGET_S (default 480 s) has passed; those left are listed as not run.
# OUTDIR gets one JSON per cell (<clip>_<preset>_<size>.json, the names docs/benchmarks/looks/ uses),
# their logs, matrix.md (tools/looks_matrix.py over docs/benchmarks/looks/ and the new files) and
# summary.md. Where only a few files can be brought back from the GPU machine, pack OUTDIR: `tools/gpu_looks.sh /tmp/looks;
# tar czf $OUT/looks.tgz -C /tmp looks`. Exit status: 0 when every cell that started passed, 1 otherwise, 2 without CUDA/OUTDIR.

set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: tools/gpu_looks.sh OUTDIR [BUDGET_S]" >&2
    exit 2
fi
PYTHON=${PYTHON:-python}
BUDGET=${2:-480}
CELL_LIMIT=${CELL_LIMIT_S:-150}
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 2
DATA=${DATA:-../shared/data}

"$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu_looks: FAILED: CUDA is not available')" || exit 2

# The missing cells, largest size first: one "clip preset size" per line.
cells=$("$PYTHON" - <<'EOF'
import sys
from pathlib import Path

sys.path.insert(0, "tools")
from benchkit.looks_matrix import build_matrix, builtin_preset_names, read_results

cells = build_matrix(read_results(sorted(Path("docs/benchmarks/looks").glob("*.json"))), builtin_preset_names())
for c in sorted((c for c in cells if c.pop is None), key=lambda c: -c.size):
    print(c.clip, c.preset, c.size)
EOF
) || exit 2

started=$(date +%s)
failed=0
{ echo "# Looks matrix on the GPU"; echo; echo "budget ${BUDGET} s, each cell at most ${CELL_LIMIT} s"; echo; } > "$OUT/summary.md"
while read -r clip preset size; do
    [ -n "$clip" ] || continue
    name="${clip}_${preset}_${size}"
    if [ $(($(date +%s) - started)) -ge "$BUDGET" ]; then
        echo "- $name: not run (budget spent)" | tee -a "$OUT/summary.md"
        continue
    fi
    cell_start=$(date +%s)
    timeout --kill-after=10 "$CELL_LIMIT" "$PYTHON" tools/bench_looks.py --clip "$clip" --preset "$preset" \
        --size "$size" --frames 5 --device cuda --data "$DATA" --json "$OUT/$name.json" > "$OUT/$name.log" 2>&1
    status=$?
    verdict="passed"
    [ "$status" -eq 124 ] && verdict="FAILED: ran past ${CELL_LIMIT} s"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && verdict="FAILED: exit status $status"
    [ "$verdict" = "passed" ] || failed=1
    echo "- $name: $verdict, $(($(date +%s) - cell_start)) s" | tee -a "$OUT/summary.md"
    [ "$verdict" = "passed" ] || tail -n 3 "$OUT/$name.log"
done <<< "$cells"

shopt -s nullglob
"$PYTHON" tools/looks_matrix.py docs/benchmarks/looks/*.json "$OUT"/*.json > "$OUT/matrix.md" 2>&1 || failed=1
cat "$OUT/matrix.md"
exit "$failed"
