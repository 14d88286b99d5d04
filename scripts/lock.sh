#!/usr/bin/env bash
# Regenerate the hash-locked requirement files from pyproject.toml:
#   requirements.lock      runtime dependencies (the image, the Action, CI's runtime checks)
#   requirements-dev.lock  runtime + the `dev` extra (tests, linters), constrained to the same
#                          versions as requirements.lock
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
  pip compile pyproject.toml
  --universal --python-version 3.11
  --generate-hashes
  --index-url https://pypi.org/simple
  --custom-compile-command "scripts/lock.sh"
  --quiet
)

"$UV" "${common[@]}" "$@" --output-file requirements.lock
"$UV" "${common[@]}" "$@" --extra dev --constraints requirements.lock --output-file requirements-dev.lock
echo "lock.sh: wrote requirements.lock ($(grep -c '==' requirements.lock) packages)" \
  "and requirements-dev.lock ($(grep -c '==' requirements-dev.lock) packages)"
