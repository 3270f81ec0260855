#!/usr/bin/env bash
# Everything a lent GPU should check, in one run of under 8 minutes, into one results file:
#   1. the tests marked gpu (real CuPy: every layer, loop and loss on the device),
#   2. minilstm on CuPy against torch.nn.LSTM / GRU with cuDNN, TF32 off and then on (the same
#      setting on both sides: CUPY_TF32 for CuPy, torch's cudnn and matmul flags), at
#      (B, T, I, H) = (64, 100, 64, 256) and (256, 200, 256, 1024),
#   3. minilstm on NumPy at the larger size (the GPU/CPU ratio),
#   4. the 1997 rule on the trial axis at K = 1,000 trials.
# Results: benchmarks/results/gpu-<date>.md and .json (the GPU's name is in them).
#
#   benchmarks/gpu_check.sh               on the GPU machine, from the repository root
#   benchmarks/gpu_check.sh --dry-run     on a CPU: the strict stand-in for CuPy, tiny sizes, no
#                                         torch; the gpu tests only collected (what CI runs)
# OUT=dir changes where the results go; PYTHON the interpreter (default .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DRY=()
if [[ "${1:-}" == "--dry-run" ]]; then DRY=(--dry-run); elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--dry-run]" >&2; exit 2
fi
PY=${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}
OUT=${OUT:-benchmarks/results}
NAME="$OUT/gpu-$(date -u +%Y%m%d-%H%M)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

if [[ ${#DRY[@]} -eq 0 ]]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    { "$PY" -m pytest -m gpu -q -p no:cacheprovider tests 2>&1 || true; } | tail -n 5 | tee "$TMP/pytest.txt"
else
    "$PY" -m pytest -m gpu -q -p no:cacheprovider --collect-only tests 2>&1 | tail -n 1 | tee "$TMP/pytest.txt"
fi
CUPY_TF32=0 "$PY" benchmarks/bench_gpu.py "${DRY[@]}" --tf32 0 --numpy --out "$TMP/tf32-off.json"
CUPY_TF32=1 "$PY" benchmarks/bench_gpu.py "${DRY[@]}" --tf32 1 --trials 1000 --out "$TMP/tf32-on.json"
"$PY" benchmarks/bench_gpu.py --report "$TMP/tf32-off.json" "$TMP/tf32-on.json" --out "$NAME"
{ echo; echo "pytest -m gpu: $(tail -n 1 "$TMP/pytest.txt")"; } >> "$NAME.md"
echo "results: $NAME.md"
