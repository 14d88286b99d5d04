"""``delete``: dry run, name confirmation (refused without a terminal), --terminate."""

from __future__ import annotations

import sys

import pytest

from ecs_fixtures import (
    FakeTTY,
    client,
    make_app,
    make_project,
    mutating_calls,
    seed_service,
    start_recording,
    stdout_of,
)
from ecspresso.commands.delete import DeleteOption, delete
from ecspresso.errors import AwsError, EcspressoError


@pytest.fixture
def web(sandbox, tmp_path):
    config = make_project(tmp_path, desired=1)
    seed_service(sandbox, config)
    return config


def _service_status(sandbox):
    out = client(sandbox, "ecs").describe_services(cluster="default", services=["web"])
    return out["services"][0]["status"] if out["services"] else "MISSING"


def test_dry_run_changes_nothing(sandbox, web):
    app = make_app(sandbox, web)
    start_recording(sandbox)

    result = delete(app, DeleteOption(dry_run=True, terminate=True))

    assert result.result == "dry-run"
    assert stdout_of(app).startswith("Service: web\n")
    assert mutating_calls(app, sandbox) == []
    assert _service_status(sandbox) == "ACTIVE"


def test_force_terminate_deletes_a_running_service(sandbox, web):
    app = make_app(sandbox, web)

    result = delete(app, DeleteOption(force=True, terminate=True))

    assert (result.result, result.service) == ("deleted", "web")
    assert app.aws.calls.count("DeleteService") == 1
    assert _service_status(sandbox) in ("DRAINING", "INACTIVE", "MISSING")


def test_without_terminate_a_scaled_service_is_not_deleted(sandbox, web):
    with pytest.raises(AwsError, match="pass --terminate"):
        delete(make_app(sandbox, web), DeleteOption(force=True))
    assert _service_status(sandbox) == "ACTIVE"


def test_without_force_and_without_a_terminal_refuses(sandbox, web, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115

    with pytest.raises(EcspressoError, match="stdin is not a terminal: pass --force"):
        delete(make_app(sandbox, web), DeleteOption(terminate=True))
    assert _service_status(sandbox) == "ACTIVE"


@pytest.mark.parametrize(("answer", "deleted"), [("web", True), ("we", False), ("", False)])
def test_typing_the_service_name_confirms(sandbox, web, monkeypatch, answer, deleted):
    monkeypatch.setattr(sys, "stdin", FakeTTY(answer))
    app = make_app(sandbox, web)

    if deleted:
        assert delete(app, DeleteOption(terminate=True)).result == "deleted"
    else:
        with pytest.raises(EcspressoError, match="confirmation failed"):
            delete(app, DeleteOption(terminate=True))
    assert (_service_status(sandbox) == "ACTIVE") is not deleted


def test_missing_service(sandbox, tmp_path):
    config = make_project(tmp_path)
    seed_service(sandbox, config, create_service=False)
    with pytest.raises(EcspressoError, match="not found"):
        delete(make_app(sandbox, config), DeleteOption(force=True))
