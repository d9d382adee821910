#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install the project with its dev tools.
# Re-runs are quick: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidate version_ok
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3 \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv root)"/versions/3.1[2-9]*/bin/python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    version_ok=$("$candidate" -c 'import sys; print(sys.version_info >= (3, 12))' 2>/dev/null || true)
    if [ "$version_ok" = "True" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

stamp=.venv/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ -x .venv/bin/guanxi ]; then
  exit 0
fi
python=$(find_python) || { echo "bootstrap: Python >= 3.12 not found (set PYTHON=/path/to/python3.12)" >&2; exit 1; }
echo "bootstrap: using $python ($("$python" --version))"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# Compile the model's numba loops (sim/model/kernels.py, attitude.py, following.py)
# now, once: numba keeps them in sim/model/__pycache__ (or, where that is not
# writable, in the cache sim/model/_numba_cache.py picks), so the first run or test
# does not wait for the compiler. The model says so on stderr when it compiles.
.venv/bin/python -c 'from sim.model import kernels
from sim.model import MarketModel
model = MarketModel("baseline", model__n_users=10_000)
while kernels.not_loaded() and model.steps < 120:
    model.step()'
touch "$stamp"
