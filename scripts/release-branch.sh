#!/usr/bin/env bash
# The release commit: action.yml pinned to the image the release built, committed on
# releases/vMAJOR (a new branch from the tagged commit), with the tags vX.Y.Z and vMAJOR moved
# onto it. Run in a checkout of the tag by release.yml (which then pushes the branch and both
# tags), and by scripts/release-rehearsal.sh (which checks the result in a scratch clone).
#
#   scripts/release-branch.sh vX.Y.Z REF      prints the branch name (releases/vX) on stdout
#
# REF: NAME@sha256:DIGEST (see scripts/pin-action-image.sh). Needs git user.name/email.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$(git rev-parse --show-toplevel)"

[ "$#" -eq 2 ] || { echo "usage: release-branch.sh vX.Y.Z REF" >&2; exit 2; }
version=$1
ref=$2
if ! [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "release-branch.sh: '$version' is not vMAJOR.MINOR.PATCH" >&2
  exit 2
fi
major=${version%%.*}
branch=releases/$major

bash "$here/pin-action-image.sh" "$ref" action.yml
git switch --quiet --create "$branch"
git commit --quiet -m "Release $version: run the prebuilt image" -- action.yml
git tag --force "$version" >/dev/null
git tag --force "$major" >/dev/null
echo "$branch"
