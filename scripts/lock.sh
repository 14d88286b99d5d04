#!/usr/bin/env bash
# Regenerate the hash-locked requirement files from pyproject.toml:
#   requirements.lock      runtime dependencies (the image, the Action, CI's runtime checks)
#   requirements-dev.lock  runtime + the `dev` extra (tests, linters), constrained to the same
#                          versions as requirements.lock
#   requirements-demo.lock runtime + the `sandbox` extra (moto), for `make demo` without the dev
#                          toolchain; constrained to requirements-dev.lock, so the demo runs the
#                          very versions the tests run
#   requirements-uv.lock   uv alone: scripts/demo-venv.sh installs it into a scratch directory and
#                          lets it install the demo's venv (seconds instead of pip's tens of seconds)
# Both are universal: one file for Python >= 3.11 (Debian bookworm's 3.11, the image's 3.12)
# on x86_64 and aarch64 Linux (and anything else PyPI has wheels for).
#
# Usage: scripts/lock.sh [--upgrade | --upgrade-package NAME ...]
# Needs uv (`pip install uv`, or set UV=/path/to/uv).
set -euo pipefail
cd "$(dirname "$0")/.."

UV=${UV:-uv}
if ! command -v "$UV" >/dev/null 2>&1; then
  echo "lock.sh: uv not found; install it (pip install uv) or set UV=/path/to/uv" >&2
  exit 2
fi


common=(
  pip compile
  --universal --python-version 3.11
  --generate-hashes
  --index-url https://pypi.org/simple
  --custom-compile-command "scripts/lock.sh"
  --quiet
)

"$UV" "${common[@]}" "$@" pyproject.toml --output-file requirements.lock
"$UV" "${common[@]}" "$@" pyproject.toml --extra dev --constraints requirements.lock --output-file requirements-dev.lock
"$UV" "${common[@]}" "$@" pyproject.toml --extra sandbox --constraints requirements-dev.lock --output-file requirements-demo.lock
echo uv | "$UV" "${common[@]}" "$@" - --output-file requirements-uv.lock
for f in requirements.lock requirements-dev.lock requirements-demo.lock requirements-uv.lock; do
  echo "lock.sh: wrote $f ($(grep -c '==' "$f") packages)"
done
