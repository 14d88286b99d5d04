#!/usr/bin/env bash
# The whole product in under a minute, without an AWS account:
# start the sandbox seeded from this folder, deploy a new image (success), deploy a broken image
# with --rollback-on-failure (failure explained, rolled back), list the revisions; then rehearse a
# blue/green release (ECS-native BLUE_GREEN): stop at a PAUSE hook, continue, and one that fails
# at TEST_TRAFFIC_SHIFT and is rolled back by ECS; stop the sandbox.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# `make demo` passes its .venv-demo; run by hand, the first of .venv-demo and .venv that exists
bin=${ECSPRESSO_BIN:-}
if [ -z "$bin" ]; then
  bin=$here/../.venv-demo/bin
  [ -x "$bin/ecspresso" ] || bin=$here/../.venv/bin
fi
cd "$here"

export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export ECSPRESSO_EXT_STR="type=web" ECSPRESSO_POLL_INTERVAL=1

url_file=$(mktemp)
"$bin/ecspresso-sandbox" --port 0 --seed . --seed bluegreen >"$url_file" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null; rm -f "$url_file"' EXIT
# up to 60 s: importing moto takes a few seconds, many more on a busy machine or the first time
for _ in $(seq 600); do
  [ -s "$url_file" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || break
  sleep 0.1
done
url=$(head -n 1 "$url_file")
[ -n "$url" ] || { echo "the sandbox did not start" >&2; exit 1; }
export AWS_ENDPOINT_URL=$url

scenario() { # how the sandbox's ECS treats the next deployment of a service
  "$bin/python" - "$url" "$1" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/_sandbox/scenario", data=sys.argv[2].encode(), method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Sandbox at $url, seeded with service web (demo-web:1)"
"$bin/ecspresso" status --events 2

step "Deploy nginx 1.29: the rollout takes a few seconds"
scenario '{"cluster": "demo", "service": "web", "kind": "stable", "seconds": 3}'
IMAGE_TAG=1.29 RELEASE=v2 "$bin/ecspresso" deploy

step "Deploy an image that does not exist, with --rollback-on-failure"
scenario '{"cluster": "demo", "service": "web", "kind": "fail", "seconds": 3,
           "reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s): public.ecr.aws/nginx/nginx:no-such-tag: not found"}'
if IMAGE_TAG=no-such-tag RELEASE=v3 "$bin/ecspresso" deploy --rollback-on-failure --deregister-failed; then
  echo "unexpected: the broken deploy succeeded" >&2
  exit 1
else
  echo "exit code $? (a failed deploy is a red step, even when it was rolled back)"
fi

step "Revisions: demo-web:3 serves again, the broken demo-web:4 was deregistered"
"$bin/ecspresso" revisions

step "Blue/green (service web-bg): deploy and stop at a PAUSE hook after the test traffic shift"
export ECSPRESSO_POLL_INTERVAL=0.3
bg=(--config bluegreen/ecspresso.yml)
scenario '{"cluster": "demo", "service": "web-bg", "pause_at": "POST_TEST_TRAFFIC_SHIFT"}'
IMAGE_TAG=1.29 RELEASE=v2 "$bin/ecspresso" "${bg[@]}" deploy --wait-until paused

step "Continue: production traffic shifts to green, bake time, blue is cleaned up"
"$bin/ecspresso" "${bg[@]}" continue

step "A blue/green release that fails at TEST_TRAFFIC_SHIFT: ECS rolls it back, the step is red"
scenario '{"cluster": "demo", "service": "web-bg", "fail_at_stage": "TEST_TRAFFIC_SHIFT"}'
if IMAGE_TAG=1.30 RELEASE=v3 "$bin/ecspresso" "${bg[@]}" deploy; then
  echo "unexpected: the failed blue/green deploy succeeded" >&2
  exit 1
else
  echo "exit code $? (rolled back by ECS: reported, never called success)"
fi
