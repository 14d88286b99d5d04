"""Shared fixtures: one in-process sandbox (moto + simulator) per test session, reset per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Never let a test reach real AWS or read the developer's profile.
for _k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_k, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

COMPAT = Path(__file__).parent / "compat"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[object]:
    from ecspresso.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(sandbox_server):  # type: ignore[no-untyped-def]
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def compat_dir() -> Path:
    return COMPAT
