#!/usr/bin/env bash
# Rehearse .github/workflows/release.yml on this machine, against a registry on 127.0.0.1:
#
#   1. start a registry (Debian's docker-registry, the CNCF distribution registry) on a free port
#      of 127.0.0.1, storage in a scratch directory, no credentials;
#   2. build the image with buildah from the real Dockerfile (scripts/build-image.sh), with the
#      release's VERSION label;
#   3. push it as the workflow's build-push-action does: an image index (manifest list) with one
#      image per platform built, and read back the digest the registry gives it (the
#      Docker-Content-Digest header, the digest of the raw index, buildah's --digestfile: all three
#      must agree); check it is pullable without credentials (the workflow's imagetools inspect);
#   4. run scripts/release-branch.sh, the workflow's own release commit (pin-action-image.sh,
#      releases/vN, tags vX.Y.Z and vN), in a scratch clone of this repository's HEAD, and check
#      that action.yml on both tags says `image: docker://127.0.0.1:PORT/...@sha256:<digest>`
#      and differs from main's by that line only;
#   5. pull the image that action.yml names, by digest, into an empty container storage (so
#      every layer comes from the registry), check it is the image built (same image ID, the
#      VERSION label) and run its /entrypoint.sh version.
#
# Not rehearsed here: the arm64 half of the multi-arch build (no arm64 base or emulation is set
# up on this machine: only linux/$(uname -m) is built and pushed), the push of the branch and
# tags to GitHub, and any provenance attestation (GitHub's attestations need its OIDC token).
#
#   scripts/release-rehearsal.sh              build, then rehearse
#   scripts/release-rehearsal.sh --no-build   rehearse with the image IMAGE already built
#
# Environment: VERSION (default v0.0.0), IMAGE (default localhost/ecspresso-py:release-rehearsal),
# KEEP=1 keeps the scratch directory. Needs root (buildah --isolation chroot); installs
# docker-registry, skopeo and buildah with apt when missing. Stops the registry it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=${VERSION:-v0.0.0}
IMAGE=${IMAGE:-localhost/ecspresso-py:release-rehearsal}
build=true
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*" >&2; }
check() { # description, then the command that must succeed
  local what=$1
  shift
  if "$@"; then
    printf '    ok: %s\n' "$what" >&2
  else
    printf '    FAILED: %s\n' "$what" >&2
    failures=$((failures + 1))
  fi
}
failures=0

if [ "$(id -u)" -ne 0 ]; then
  echo "release-rehearsal.sh: run as root (buildah --isolation chroot)" >&2
  exit 2
fi
if ! [[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "release-rehearsal.sh: VERSION '$VERSION' is not vMAJOR.MINOR.PATCH" >&2
  exit 2
fi
missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d keeps Debian's docker-registry service from starting where there is no init
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
registry_pid=
list=
storage=("--root" "$work/storage" "--runroot" "$work/run")
cleanup() {
  local rc=$?
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    log "registry (pid $registry_pid) stopped"
  fi
  if [ -n "$list" ]; then buildah manifest rm "$list" >/dev/null 2>&1 || true; fi
  buildah "${storage[@]}" rm --all >/dev/null 2>&1 || true
  buildah "${storage[@]}" rmi --all --force >/dev/null 2>&1 || true
  if [ "${KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
start=$SECONDS

# --- 1. the registry --------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null
log "registry $(docker-registry --version 2>/dev/null | awk '{print $NF}') on 127.0.0.1:$port (pid $registry_pid)"
name=127.0.0.1:$port/org/ecspresso-py
tls=(--tls-verify=false) # plain HTTP on the loopback; ghcr.io is HTTPS

# --- 2. the image -----------------------------------------------------------------------------
if $build; then
  log "build $IMAGE (VERSION=$VERSION) with scripts/build-image.sh"
  IMAGE=$IMAGE VERSION=$VERSION bash scripts/build-image.sh
fi
image_id=$(buildah inspect --type image --format '{{.FromImageID}}' "$IMAGE")
arch=$(buildah inspect --type image --format '{{.OCIv1.Architecture}}' "$IMAGE")
log "image $IMAGE: ${image_id:0:12}, linux/$arch"

# --- 3. push, as build-push-action does: an index of the platforms built -----------------------
list=localhost/release-rehearsal-list-$$
buildah manifest create "$list" >/dev/null
buildah manifest add "$list" "containers-storage:$IMAGE" >/dev/null
buildah manifest push --quiet --all "${tls[@]}" --digestfile "$work/digestfile" "$list" "docker://$name:$VERSION"
pushed=$(cat "$work/digestfile")
log "pushed $name:$VERSION (index digest $pushed)"
accept='application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json'
header=$(curl -fsSI -H "Accept: $accept" "http://127.0.0.1:$port/v2/org/ecspresso-py/manifests/$VERSION" |
  tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}')
skopeo inspect "${tls[@]}" --raw "docker://$name:$VERSION" >"$work/index.json"
raw=sha256:$(sha256sum <"$work/index.json" | cut -d' ' -f1)
platforms=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(" ".join(p["platform"]["os"] + "/" + p["platform"]["architecture"] for p in m["manifests"]))' "$work/index.json")
log "registry: Docker-Content-Digest $header, raw index $raw, platforms: $platforms"
check "the registry's digest is buildah's (--digestfile)" test "$header" = "$pushed"
check "the digest is that of the index the registry serves" test "$raw" = "$pushed"
check "the index holds linux/$arch" test "$platforms" = "linux/$arch"
ref=$name@$pushed
anonymous() { skopeo inspect "${tls[@]}" --no-creds --raw "docker://$ref" >/dev/null; }
check "pullable without credentials (the workflow's imagetools inspect)" anonymous

# --- 4. the release commit, by the workflow's own script --------------------------------------
clone=$work/clone
git clone --quiet "$ROOT" "$clone"
git -C "$clone" config user.name "release rehearsal"
git -C "$clone" config user.email "rehearsal@localhost"
main_commit=$(git -C "$clone" rev-parse HEAD)
branch=$(cd "$clone" && bash scripts/release-branch.sh "$VERSION" "$ref")
major=${VERSION%%.*}
want="  image: docker://$ref"
log "release commit $(git -C "$clone" rev-parse --short HEAD) on $branch"
check "branch releases/$major" test "$branch" = "releases/$major"
action_at() { git -C "$clone" show "$1:action.yml"; }
pins() { [ "$(action_at "$1" | grep -c '^  image: ')" = 1 ] && action_at "$1" | grep -Fqx "$want"; }
for t in "$VERSION" "$major"; do
  check "action.yml at tag $t: '$want'" pins "$t"
done
main_builds() { action_at "$main_commit" | grep -qx '  image: Dockerfile'; }
check "main's action.yml still builds the Dockerfile" main_builds
check "the release commit changes that one line of action.yml only" \
  test "$(git -C "$clone" diff --numstat "$main_commit" "$VERSION")" = "$(printf '1\t1\taction.yml')"

# --- 5. pull what action.yml names, as the runner does -----------------------------------------
pull=$(git -C "$clone" show "$VERSION:action.yml" | sed -n 's|^  image: docker://||p')
log "pull $pull into an empty storage"
mkdir -p "$work/storage" "$work/run"
buildah "${storage[@]}" pull --quiet "${tls[@]}" "docker://$pull" >"$work/pulled"
pulled=$(cat "$work/pulled")
check "the pulled image is the one built (image ID ${image_id:0:12})" test "$pulled" = "$image_id"
label=$(buildah "${storage[@]}" inspect --type image \
  --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' "$pulled")
check "its org.opencontainers.image.version label is $VERSION" test "$label" = "$VERSION"
ctr=$(buildah "${storage[@]}" from --quiet "$pulled")
out=$(buildah "${storage[@]}" run --isolation chroot "$ctr" -- /entrypoint.sh version 2>&1 || true)
log "its /entrypoint.sh version: $out"
prints_version() { [[ "$out" == "ecspresso-py v"* ]]; }
check "it runs: /entrypoint.sh version" prints_version

binfmt=none
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then binfmt=qemu-aarch64; fi
log "not rehearsed: linux/arm64 (built here: linux/$arch only; binfmt handler for arm64: $binfmt)," \
  "the push to GitHub, provenance attestations (GitHub OIDC)"
log "release rehearsal: $((SECONDS - start)) s, $failures check(s) failed"
[ "$failures" -eq 0 ]
