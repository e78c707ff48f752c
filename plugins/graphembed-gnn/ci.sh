#!/usr/bin/env bash
# CI for the graphembed-gnn plugin. `.ci/run` calls it from the repository root with the CI
# virtual environment active: it installs the CPU build of torch, PyG and the plugin, then runs
# the plugin's tests (the core's own tests run without the plugin, before this script).
set -euo pipefail
cd "$(dirname "$0")"
# Exactly this torch: a looser spec would pull a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
python -m pip install -q "torch_geometric>=2.8,<2.9"
python -m pip install -q -e . --no-deps
python - <<'PY'
import torch, torch_geometric
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
print(f"graphembed-gnn CI: torch {torch.__version__}, torch_geometric {torch_geometric.__version__}, "
      f"CUDA {'yes' if torch.cuda.is_available() else 'no'}")
PY
python -m pytest -q -p no:cacheprovider tests
