#!/usr/bin/env bash
# Point action.yml at a prebuilt image, by digest: the one change a release makes to the Action.
# Run by scripts/release-branch.sh (release.yml's release-branch job, and
# scripts/release-rehearsal.sh against a registry on 127.0.0.1).
#
#   scripts/pin-action-image.sh REF [FILE]      FILE defaults to action.yml
#
# REF is NAME@sha256:<64 hex digits>, NAME lower case with its registry host
# (ghcr.io/org/ecspresso-py@sha256:...). main's `  image: Dockerfile` line becomes
# `  image: docker://REF`, so the runner pulls that image instead of building the Dockerfile; by
# digest it pulls exactly the image the release built, whatever later happens to the tag. No tag
# beside the digest: Docker ignores it, but engines built on containers/image (podman on a
# self-hosted runner, skopeo, buildah) refuse such a reference ("both a tag and digest").
# Refuses (exit 2) any other REF, and (exit 1) a FILE without exactly one such line.
set -euo pipefail

fail() { # code message
  if [ "${GITHUB_ACTIONS:-}" = true ]; then echo "::error::$2" >&2; else echo "pin-action-image.sh: $2" >&2; fi
  exit "$1"
}

[ "$#" -ge 1 ] && [ "$#" -le 2 ] || fail 2 "usage: pin-action-image.sh NAME@sha256:DIGEST [FILE]"
ref=$1
file=${2:-action.yml}
component='[a-z0-9]+([._-]+[a-z0-9]+)*'
name="$component(:[0-9]+)?(/$component)+"
if ! [[ "$ref" =~ ^$name@sha256:[0-9a-f]{64}$ ]]; then
  fail 2 "'$ref' is not an image pinned by digest alone (registry/name@sha256:<64 hex digits>)"
fi
[ -f "$file" ] || fail 1 "$file not found"
count=$(grep -cx '  image: Dockerfile' "$file" || true)
[ "$count" = 1 ] || fail 1 "$file has $count '  image: Dockerfile' lines, not 1: it is not main's action.yml"

sed -i "s|^  image: Dockerfile\$|  image: docker://$ref|" "$file"
grep -Fqx "  image: docker://$ref" "$file" || fail 1 "$file: the image line was not rewritten"
echo "pin-action-image.sh: $file runs docker://$ref" >&2
