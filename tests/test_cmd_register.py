"""``register``: registers the local task definition, with or without a service, and says what it made."""

from __future__ import annotations

import json

import pytest

from ecs_fixtures import client, make_app, make_project, mutating_calls, start_recording, stdout_of
from ecspresso.commands.register import RegisterOption, register


def _revisions(sandbox, family="app"):
    return client(sandbox, "ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"]


@pytest.mark.parametrize("service", ["web", None], ids=["with-service", "task-definition-only"])
def test_register_prints_family_revision_and_arn(sandbox, tmp_path, service):
    config = make_project(tmp_path, service=service)
    app = make_app(sandbox, config)

    result = register(app, RegisterOption())

    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1"
    assert stdout_of(app) == f"app:1\t{arn}\n"
    assert (result.result, result.task_definition_arn, result.family, result.revision) == (
        "registered", arn, "app", "1",
    )  # fmt: skip
    assert _revisions(sandbox) == [arn]


def test_register_json_log_format_prints_a_json_line(sandbox, tmp_path):
    config = make_project(tmp_path, service=None)
    register(make_app(sandbox, config), RegisterOption())  # app:1
    app = make_app(sandbox, config, log_format="json")

    register(app, RegisterOption())

    assert json.loads(stdout_of(app)) == {
        "family": "app",
        "revision": 2,
        "arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:2",
    }


def test_register_output_prints_the_registered_task_definition(sandbox, tmp_path):
    config = make_project(tmp_path, service=None, image="busybox:2")
    app = make_app(sandbox, config)

    register(app, RegisterOption(output=True))

    td = json.loads(stdout_of(app))
    assert td["taskDefinitionArn"].endswith("task-definition/app:1")
    assert (td["family"], td["revision"], td["status"]) == ("app", 1, "ACTIVE")
    assert td["containerDefinitions"][0]["image"] == "busybox:2"


def test_register_dry_run_prints_the_definition_and_registers_nothing(sandbox, tmp_path):
    config = make_project(tmp_path, service=None)
    app = make_app(sandbox, config)
    start_recording(sandbox)

    result = register(app, RegisterOption(dry_run=True))

    assert result.result == "dry-run"
    td = json.loads(stdout_of(app))
    assert td["family"] == "app" and "taskDefinitionArn" not in td
    assert mutating_calls(app, sandbox) == []
    assert _revisions(sandbox) == []


def test_register_through_the_cli(sandbox, tmp_path, monkeypatch, capsys):
    from ecspresso.cli import run

    config = make_project(tmp_path, service=None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)

    code, result = run(["--config", str(config), "register"])

    assert code == 0 and result is not None and result.result == "registered"
    assert capsys.readouterr().out.startswith("app:1\tarn:aws:ecs:")
