# The ecspresso-py image: the GitHub Action (action.yml builds this file) and a CLI for any CI.
#
#   docker build -t ecspresso-py .
#   docker run --rm -e INPUT_COMMAND=render -e INPUT_ARGS=config -v "$PWD:/github/workspace" \
#     -w /github/workspace ecspresso-py
#
# No USER (the runner's files and workspace need root), no WORKDIR (the runner sets
# /github/workspace), no CMD (inputs come as INPUT_* variables, not arguments).

# python:3.12-slim-bookworm, multi-arch index (linux/amd64, linux/arm64) of 3.12.14 as of
# 2026-09-24. Bump tag and digest together.
ARG BASE=python:3.12-slim-bookworm@sha256:392307d22300de8b5986851a12d9176dfc0fc073e65bf6523ebd7dcbeb23564e

# ---------------------------------------------------------------- build: /opt/venv
FROM ${BASE} AS build

# OFFLINE=1 installs from the wheels/ directory of the context and never asks an index
# (scripts/build-image.sh: its builder has no route to PyPI). Otherwise wheels/ is left out of
# the context by .dockerignore and the wildcard below copies nothing but the lock.
ARG OFFLINE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY requirements.lock wheel[s] /deps/
RUN if [ -n "$OFFLINE" ]; then export PIP_NO_INDEX=1 PIP_FIND_LINKS=/deps; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r /deps/requirements.lock

COPY pyproject.toml README.md /src/
COPY src/ /src/src/
# Only the botocore models of the services the product calls (ecspresso.aws_services.KEEP; the
# other ~430 are ~21 MB), no boto3 resource models; the script then creates a client of each kept
# service, so a model pruned too far fails here.
COPY scripts/prune-botocore.py /deps/
RUN if [ -n "$OFFLINE" ]; then export PIP_NO_INDEX=1 PIP_FIND_LINKS=/deps; fi \
 && /opt/venv/bin/pip install --no-deps /src \
 && /opt/venv/bin/python /deps/prune-botocore.py \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && /opt/venv/bin/python -m compileall -q -j0 --invalidation-mode unchecked-hash /opt/venv/lib

# ---------------------------------------------------------------- runtime
FROM ${BASE}

ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/org/ecspresso-py
LABEL org.opencontainers.image.title="ecspresso-py" \
      org.opencontainers.image.description="Deploy to Amazon ECS from CI: a Python port of ecspresso (GitHub Action and CLI)" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# The .pyc files are compiled above (unchecked-hash: valid whatever the file times); the
# container is thrown away after each step, so writing new ones would be wasted work.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

COPY --from=build /opt/venv /opt/venv
# executable in git (mode 100755; tests/test_action_static.py checks it): no --chmod, which
# the legacy builder of older self-hosted runners lacks
COPY entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/entrypoint.sh"]
