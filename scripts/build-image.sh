#!/usr/bin/env bash
# Build the Action's image from the real Dockerfile without Docker and without a registry:
# buildah with chroot isolation, on a Debian bookworm base made locally with debootstrap, with
# the locked wheels downloaded beforehand (the builder itself has no route to PyPI).
#
#   scripts/build-image.sh                   build localhost/ecspresso-py:dev
#   scripts/build-image.sh --smoke           ... then smoke-test it the way the runner starts it:
#                                              the quick checks below, then scripts/smoke-image.py
#                                              (deploy, failed deploy rolled back, cancel, against
#                                              the sandbox on 127.0.0.1; image size, start-up time)
#   scripts/build-image.sh --deploy-smoke    ... only scripts/smoke-image.py after the build
#   scripts/build-image.sh --smoke --no-build   only the smoke test, on the image already built
#
# Environment:
#   IMAGE   tag to build                      (default localhost/ecspresso-py:dev)
#   BASE    local base image                  (default localhost/debian-py:bookworm-slim, made
#                                              and cached on first use: ~1 min)
#   MIRROR  Debian mirror for debootstrap     (default http://deb.debian.org/debian)
#   VERSION the image's org.opencontainers.image.version label (default dev; a release: its tag)
#   PYTHON  interpreter whose pip downloads the wheels (default python3)
#   VENV_PYTHON  the project's venv, which runs the sandbox and smoke-image.py (default .venv/bin/python)
#   SMOKE_ARGS   extra arguments for smoke-image.py, e.g. "--keep --json figures.json"
#
# Debian bookworm's python3 is 3.11, so this also proves requirements.lock installs on 3.11;
# the released image uses python:3.12-slim-bookworm (the Dockerfile's default BASE). The local
# base is "slim" as that one is (debian:bookworm-slim): no documentation, manual pages or
# translations, copyright files kept. So the size measured here is the product's plus a base like
# the released one, not ~50 MB of /usr/share the released base does not carry either.
# Needs root. Not part of pytest: it takes about a minute and installs packages.
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/ecspresso-py:dev}
BASE=${BASE:-localhost/debian-py:bookworm-slim}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PYTHON=${PYTHON:-python3}
VERSION=${VERSION:-dev}
VENV_PYTHON=${VENV_PYTHON:-.venv/bin/python}
SMOKE_ARGS=${SMOKE_ARGS:-}
smoke=false
deploy_smoke=false
build=true
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=true; deploy_smoke=true ;;
    --deploy-smoke) deploy_smoke=true ;;
    --no-build) build=false ;;
    *) echo "usage: $0 [--smoke | --deploy-smoke] [--no-build]" >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "build-image.sh: run as root (buildah --isolation chroot and debootstrap need it)" >&2
  exit 2
fi

missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

workdir=$(mktemp -d)
ctr=
made_wheels=false
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  if $made_wheels; then rm -rf wheels; fi
  rm -rf "$workdir"
}
trap cleanup EXIT
start=$SECONDS

# --- 1. the base image (cached) -------------------------------------------------------------
# What debian:bookworm-slim leaves out (the paths of debuerreotype's slimify), in the rootfs given
# as $1 and only there: removed now, and kept out of any later dpkg install by the same rules.
slim() {
  local root=$1
  # never the host's /usr/share: only a rootfs made under this run's scratch directory
  case "$(realpath -e -- "${root:-/}")/" in
    "$(realpath -e -- "$workdir")"/?*) ;;
    *) echo "build-image.sh: slim: '$root' is not a rootfs under $workdir" >&2; exit 1 ;;
  esac
  printf '%s\n' \
    '# as debian:*-slim: no documentation, manual pages or translations; copyright files stay' \
    'path-exclude /usr/share/doc/*' \
    'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/groff/*' \
    'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/linda/*' \
    'path-exclude /usr/share/lintian/overrides/*' \
    'path-exclude /usr/share/locale/*' \
    'path-include /usr/share/locale/locale.alias' \
    'path-exclude /usr/share/man/*' >"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -depth -type d -empty -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/linda/* \
    "$root"/usr/share/lintian/overrides/* "$root"/usr/share/man/*
}

build_base() {
  if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    log "base $BASE: cached"
  elif [ "$BASE" = localhost/debian-py:bookworm-slim ]; then
    log "base $BASE: debootstrap bookworm (minbase + python3-minimal, python3-venv), slim"
    rootfs=$workdir/rootfs
    debootstrap --variant=minbase --include=python3-minimal,python3-venv \
      bookworm "$rootfs" "$MIRROR" >"$workdir/debootstrap.log" 2>&1 ||
      { tail -n 30 "$workdir/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    slim "$rootfs"
    tar -C "$rootfs" -cf "$workdir/rootfs.tar" .
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$workdir/rootfs.tar" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env LANG=C.UTF-8 --cmd /bin/bash "$ctr"
    buildah commit --quiet --rm "$ctr" "$BASE" >/dev/null
    ctr=
    rm -rf "$rootfs" "$workdir/rootfs.tar"
    log "base $BASE: built in $((SECONDS - start)) s"
  else
    echo "build-image.sh: base image $BASE not found locally" >&2
    exit 1
  fi
}

# --- 2. the wheels, for the base's Python and this machine's architecture -------------------
download_wheels() {
  ctr=$(buildah from "$BASE")
  pyver=$(buildah run --isolation chroot "$ctr" -- python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  buildah rm "$ctr" >/dev/null
  ctr=
  arch=$(uname -m)
  log "wheels for CPython $pyver on $arch"
  if [ -e wheels ]; then
    echo "build-image.sh: ./wheels exists; it is this script's scratch directory: remove it first" >&2
    exit 1
  fi
  made_wheels=true
  mkdir wheels
  platforms=(--platform "manylinux_2_28_$arch" --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch")
  "$PYTHON" -m pip download --quiet --dest wheels --only-binary=:all: --no-deps \
    --python-version "$pyver" --implementation cp "${platforms[@]}" \
    --require-hashes -r requirements.lock
  # the project's build backend, for `pip install /src` (build isolation) inside the builder
  "$PYTHON" -m pip download --quiet --dest wheels --only-binary=:all: \
    --python-version "$pyver" --implementation cp "${platforms[@]}" hatchling
}

# --- 3. the image -------------------------------------------------------------------------------
build_image() {
  # the Dockerfile's own context rules, plus wheels/
  ignorefile=$workdir/dockerignore
  cat .dockerignore >"$ignorefile"
  printf '!wheels/\n' >>"$ignorefile"
  log "buildah bud $IMAGE (BASE=$BASE, OFFLINE=1)"
  built=$SECONDS
  buildah bud --isolation chroot --quiet \
    --build-arg "BASE=$BASE" --build-arg OFFLINE=1 --build-arg "VERSION=$VERSION" \
    --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --ignorefile "$ignorefile" -f Dockerfile -t "$IMAGE" . >/dev/null
  rm -rf wheels
  made_wheels=false
  size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)
  log "built $IMAGE: $size, bud $((SECONDS - built)) s, total $((SECONDS - start)) s"
}

# --- 4. smoke ---------------------------------------------------------------------------------
# The runner's docker run, as far as buildah run goes: /github/workspace (owned by the runner's
# user, 1001 on hosted runners) as working directory, /github/file_commands, translated env.
# What runs inside the image: the imports, and ecspresso.gha against the runner's files.
inside_py=$(cat <<'PY'
import time; t = time.perf_counter()
import boto3, _gojsonnet, yaml, structlog, ecspresso, ecspresso.cli
from ecspresso import gha
print("imports ok, ecspresso", ecspresso.__version__, "in %.0f ms" % ((time.perf_counter() - t) * 1000))
assert gha.get_input("command") == "render" and gha.get_bool_input("dry-run") is False
gha.set_output("result", "ok")
gha.set_output("task-definition-arn", "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1\n::error::x")
gha.append_summary("### smoke")
with open("out.json", "w") as f:
    f.write("{}")
gha.chown_to_workspace("out.json")
with gha.group("group"):
    gha.annotation("notice", "from the image", file="/github/workspace/out.json", line=1)
PY
)
# What the runner then reads, checked with tests/runner_oracle.py on the host.
outside_py=$(cat <<'PY'
import os, sys
from runner_oracle import RunnerLog, parse_env_file
fc, stdout, ws = sys.argv[1:]
outputs = parse_env_file(open(f"{fc}/set_output_1", encoding="utf-8").read())
assert outputs["result"] == "ok", outputs
assert outputs["task-definition-arn"].endswith("\n::error::x"), outputs
assert open(f"{fc}/step_summary_1").read() == "### smoke\n"
log = RunnerLog().feed(open(stdout).read())
assert log.groups == ["group"] and [a.message for a in log.annotations] == ["from the image"]
owner = os.stat(f"{ws}/out.json").st_uid
assert owner == 1001, owner
print("outputs, summary, annotations and file ownership: ok")
PY
)

smoke() {
  ctr=$(buildah from "$IMAGE")
  local ws=$workdir/workspace fc=$workdir/file_commands
  mkdir -p "$ws" "$fc"
  chown 1001:127 "$ws"
  : >"$fc/set_output_1"
  : >"$fc/step_summary_1"
  local runner=(buildah run --isolation chroot --workingdir /github/workspace
    -v "$ws:/github/workspace" -v "$fc:/github/file_commands"
    -e GITHUB_ACTIONS=true -e CI=true -e GITHUB_WORKSPACE=/github/workspace -e HOME=/github/home
    -e GITHUB_OUTPUT=/github/file_commands/set_output_1
    -e GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_1
    -e INPUT_COMMAND=render -e INPUT_CONFIG=ecspresso.yml -e INPUT_DRY-RUN=false)

  log "imports and ecspresso.gha inside the image"
  "${runner[@]}" "$ctr" -- /opt/venv/bin/python -I -u -c "$inside_py" | tee "$workdir/stdout"
  PYTHONPATH=tests "$PYTHON" -c "$outside_py" "$fc" "$workdir/stdout" "$ws"

  log "/entrypoint.sh hands hyphenated inputs (INPUT_DRY-RUN) to Python"
  printf '#!/opt/venv/bin/python -I\nimport os, sys\nprint("argv", sys.argv[1:], "INPUT_DRY-RUN=" + repr(os.environ.get("INPUT_DRY-RUN")))\n' \
    >"$ws/probe.py"
  chmod 755 "$ws/probe.py"
  "${runner[@]}" -e ECSPRESSO_PYTHON=/github/workspace/probe.py "$ctr" -- /entrypoint.sh | tee "$workdir/probe"
  grep -q "INPUT_DRY-RUN='false'" "$workdir/probe"

  log "/entrypoint.sh as the runner starts it: render config"
  printf '%s\n' 'region: us-east-1' 'cluster: default' 'service: app' \
    'service_definition: ecs-service-def.json' 'task_definition: ecs-task-def.json' >"$ws/ecspresso.yml"
  : >"$fc/set_output_1"
  local rc=0
  time "${runner[@]}" -e INPUT_ARGS=config "$ctr" -- /entrypoint.sh || rc=$?
  log "/entrypoint.sh exited with $rc; outputs as the runner reads them:"
  PYTHONPATH=tests "$PYTHON" -c 'import sys; from runner_oracle import parse_env_file; print(parse_env_file(open(sys.argv[1]).read()))' \
    "$fc/set_output_1"
}

# --- 5. deploy smoke (issue #5) -------------------------------------------------------------------
# The Action's real work inside the image: deploy, a failed deploy rolled back, and a cancelled
# one, against the sandbox started on the host; then image size and start-up time. The driver
# runs in the project's venv (the sandbox needs moto; the checks use boto3 and runner_oracle).
deploy_smoke() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; ctr=; fi
  if ! "$VENV_PYTHON" -c 'import boto3, moto, yaml, ecspresso.sandbox' 2>/dev/null; then
    echo "build-image.sh: $VENV_PYTHON lacks boto3/moto/ecspresso (make setup?)" >&2
    exit 1
  fi
  log "deploy smoke: scripts/smoke-image.py --image $IMAGE"
  local extra=()
  read -r -a extra <<<"$SMOKE_ARGS"
  "$VENV_PYTHON" scripts/smoke-image.py --image "$IMAGE" --base "$BASE" "${extra[@]}"
}

if $build; then
  build_base
  download_wheels
  build_image
fi
if $smoke; then
  smoke
fi
if $deploy_smoke; then
  deploy_smoke
fi
