#!/usr/bin/env bash
# Build the demo's virtual environment (`make demo`): the runtime and the sandbox (moto) from the
# hash-locked requirements-demo.lock, plus this package, and nothing of the dev toolchain.
#
#   scripts/demo-venv.sh [DIR]        (default .venv-demo)
#
# The fastest installer at hand does the work; each one installs the same hash-checked files:
#   1. uv, if it is on PATH (or UV=/path/to/uv): a few seconds;
#   2. else the pip of $PYTHON, run for the new venv with `pip --python` (pip >= 22.3), so the venv
#      is made without pip of its own (ensurepip costs seconds);
#   3. else the venv's own pip.
# pip runs with --no-compile: compiling all of moto's dependencies to bytecode takes longer than
# the demo; Python compiles only what the demo imports, the first time it does.
#
# Environment: PYTHON (default python3), UV (default: uv if found), DEMO_INSTALLER=uv|pip|venv-pip
# to force one path (tests, measurements).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${1:-.venv-demo}
PYTHON=${PYTHON:-python3}
UV=${UV:-$(command -v uv 2>/dev/null || true)}
lock=requirements-demo.lock
quiet=(--quiet --disable-pip-version-check)

installer=${DEMO_INSTALLER:-}
if [ -z "$installer" ]; then
  if [ -n "$UV" ]; then
    installer=uv
  elif "$PYTHON" -m pip --python "$PYTHON" --version >/dev/null 2>&1; then
    installer=pip
  else
    installer=venv-pip
  fi
fi

rm -rf "$venv"
case "$installer" in
  uv)
    "$UV" venv --quiet --python "$PYTHON" "$venv"
    "$UV" pip install --quiet --python "$venv/bin/python" --require-hashes --no-deps -r "$lock"
    "$UV" pip install --quiet --python "$venv/bin/python" --no-deps -e .
    ;;
  pip)
    "$PYTHON" -m venv --without-pip "$venv"
    pip=("$PYTHON" -m pip --python "$venv/bin/python")
    "${pip[@]}" install "${quiet[@]}" --no-compile --require-hashes --no-deps -r "$lock"
    "${pip[@]}" install "${quiet[@]}" --no-compile --no-deps -e .
    ;;
  venv-pip)
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install "${quiet[@]}" --no-compile --require-hashes --no-deps -r "$lock"
    "$venv/bin/python" -m pip install "${quiet[@]}" --no-compile --no-deps -e .
    ;;
  *)
    echo "demo-venv.sh: DEMO_INSTALLER must be uv, pip or venv-pip, not '$installer'" >&2
    exit 2
    ;;
esac
echo "demo-venv.sh: $venv ready ($installer, $(grep -c '==' "$lock") locked packages + ecspresso-py)" >&2
