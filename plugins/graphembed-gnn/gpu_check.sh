#!/usr/bin/env bash
# The GNN plugin's GPU check (issue 10), one script for a CUDA machine:
#   1. installs the core and the plugin into the current Python (editable);
#   2. runs the plugin's tests with `--device cuda` (training tests on the GPU, mixed precision);
#   3. runs the Planetoid benchmark with the seeds on the GPU and seed 0 once on the CPU, and
#      prints the table with both epoch-time columns.
# Usage: bash plugins/graphembed-gnn/gpu_check.sh PLANETOID_DIR [OUT_DIR]
# GPU_CHECK_OFFLINE=1 installs with --no-index --no-deps (a machine without a package index that
# already has torch and torch_geometric). GPU_CHECK_BUDGET_MINUTES (default 4) bounds the
# benchmark: past it, a model gets no more than 3 seeds (the table says how many it got).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${1:?usage: gpu_check.sh PLANETOID_DIR [OUT_DIR]}
out=${2:-$PWD}
py=${PYTHON:-python3}
mkdir -p "$out"
start=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || exit 1
flags=()
[ "${GPU_CHECK_OFFLINE:-0}" = 1 ] && flags=(--no-index --no-deps --no-build-isolation)
"$py" -m pip install -q "${flags[@]}" -e "$root" -e "$here" \
    || "$py" -m pip install -q "${flags[@]}" "$root" "$here" || exit 1
"$py" - <<'PY' || exit 1
import torch, torch_geometric
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), torch_geometric "
      f"{torch_geometric.__version__}, GPU {torch.cuda.get_device_name(0)}, "
      f"bf16 {torch.cuda.is_bf16_supported()}")
PY
echo "== plugin tests on CUDA"
(cd "$here" && timeout "${GPU_CHECK_TEST_SECONDS:-300}" "$py" -m pytest -q -p no:cacheprovider tests --device cuda) \
    2>&1 | tee "$out/gpu_tests.log"
tests_rc=${PIPESTATUS[0]}
echo "== Planetoid benchmark: seeds on CUDA, seed 0 on the CPU"
timeout "${GPU_CHECK_BENCH_SECONDS:-420}" "$py" "$here/benchmarks/planetoid.py" --data "$data" --device cuda --seeds 10 \
    --budget-minutes "${GPU_CHECK_BUDGET_MINUTES:-4}" --min-seeds "${GPU_CHECK_MIN_SEEDS:-3}" ${GPU_CHECK_TIMING_EPOCHS:+--timing-epochs $GPU_CHECK_TIMING_EPOCHS} \
    --json-out "$out/gpu_runs.jsonl" 2>"$out/gpu_bench.err" | tee "$out/gpu_table.md"
bench_rc=${PIPESTATUS[0]}
[ "$bench_rc" = 0 ] || tail -5 "$out/gpu_bench.err"
echo "== tests rc $tests_rc, benchmark rc $bench_rc, $(( $(date +%s) - start )) s in all"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
