#!/usr/bin/env bash
# Build the demo's virtual environment (`make demo`): the runtime and the sandbox (moto) from the
# hash-locked requirements-demo.lock, plus this package, and nothing of the dev toolchain.
#
#   scripts/demo-venv.sh [DIR]        (default .venv-demo)
#
# Who installs (every path installs the same hash-checked files):
#   - uv, when it is on PATH (or UV=/path/to/uv);
#   - else uv from requirements-uv.lock (hash-checked), installed by pip into a scratch directory
#     and removed afterwards: pip takes ~2 s of CPU for it, and uv then does in ~3 s what takes pip
#     ~20 s (pip installs one package after the other);
#   - else (no uv wheel for this platform, or DEMO_INSTALLER=pip) pip alone.
# The venv is made without pip of its own when the interpreter's pip can install into it
# (`pip --python`, pip >= 22.3): ensurepip alone costs seconds. pip runs with --no-compile;
# Python compiles what the demo imports, the first time it does.
#
# Environment: PYTHON (default python3), UV, DEMO_INSTALLER=uv|pip (default: uv if it can be had).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${1:-.venv-demo}
PYTHON=${PYTHON:-python3}
UV=${UV:-$(command -v uv 2>/dev/null || true)}
installer=${DEMO_INSTALLER:-uv}
lock=requirements-demo.lock
case "$installer" in
  uv | pip) ;;
  *) echo "demo-venv.sh: DEMO_INSTALLER must be uv or pip, not '$installer'" >&2; exit 2 ;;
esac

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -rf "$venv"
"$PYTHON" -m venv --without-pip "$venv"
if "$PYTHON" -m pip --python "$venv/bin/python" --version >/dev/null 2>&1; then
  pip=("$PYTHON" -m pip --python "$venv/bin/python")
else
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  pip=("$venv/bin/python" -m pip)
fi
pip+=(install --quiet --disable-pip-version-check --no-compile)

if [ "$installer" = uv ] && [ -z "$UV" ]; then
  if "${pip[@]}" --require-hashes --no-deps --target "$scratch/uv" -r requirements-uv.lock; then
    UV=$scratch/uv/bin/uv
  else
    echo "demo-venv.sh: could not install uv from requirements-uv.lock; pip installs instead" >&2
  fi
fi
if [ "$installer" = uv ] && [ -n "$UV" ]; then
  "$UV" pip install --quiet --python "$venv/bin/python" --require-hashes --no-deps -r "$lock"
  "$UV" pip install --quiet --python "$venv/bin/python" --no-deps -e .
  how="uv $("$UV" --version | cut -d' ' -f2)"
else
  "${pip[@]}" --require-hashes --no-deps -r "$lock"
  "${pip[@]}" --no-deps -e .
  how=pip
fi
echo "demo-venv.sh: $venv ready ($how: $(grep -c '==' "$lock") locked packages + ecspresso-py)" >&2
