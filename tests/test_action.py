"""The Action as the runner runs it: entrypoint.sh in a workspace, INPUT_* set, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, AWS pointed at the sandbox; what it wrote is parsed with the runner's rules
(tests/runner_oracle.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from action_harness import run_step
from ecs_fixtures import make_project, seed_service, set_image

PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:broken not found"
)


@pytest.fixture
def workspace(sandbox: Any, tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    config = make_project(ws, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    sandbox.client("ecs").describe_services(
        cluster="default", services=["web"]
    )  # settle (stable after 2 polls)
    sandbox.client("ecs").describe_services(cluster="default", services=["web"])
    sandbox.operations.clear()
    return ws


def test_deploy_success_sets_outputs_and_summary(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    set_image(workspace / "ecspresso.yml", "nginx:2")
    step = run_step(workspace, sandbox, tmp_path)
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "deployed"
    assert step.outputs["rolled-back"] == "false"
    assert step.outputs["task-definition-family"] == "app"
    assert step.outputs["task-definition-revision"] == "2"
    assert step.outputs["task-definition-arn"].endswith(":task-definition/app:2")
    assert step.outputs["previous-task-definition-arn"].endswith(":task-definition/app:1")
    assert step.outputs["deployment-id"].startswith("ecs-svc/")
    assert {"Task definition", "Wait for the deployment"} <= set(step.log.groups)
    # no empty group: each ::group:: is followed by a line before its ::endgroup::
    raw = step.raw.splitlines()
    opened = [i for i, line in enumerate(raw) if line.startswith("::group::")]
    assert opened and all(not raw[i + 1].startswith("::endgroup::") for i in opened), step.raw
    assert not [a for a in step.log.annotations if a.level == "error"]
    assert "| web | default | app:1 | app:2 |" in step.summary
    assert '-      "image": "nginx:1",\n+      "image": "nginx:2",' in step.summary  # what changed
    assert not step.log.errors


def test_failed_deploy_rolls_back_by_default(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    sandbox.scenario("web", "fail", polls=2, reason=PULL_ERROR)
    set_image(workspace / "ecspresso.yml", "nginx:broken")
    step = run_step(workspace, sandbox, tmp_path)
    assert step.code == 1  # a red step
    assert step.outputs["result"] == "rolled-back"
    assert step.outputs["rolled-back"] == "true"
    errors = [a for a in step.log.annotations if a.level == "error"]
    assert len(errors) == 1 and "CannotPullContainerError" in errors[0].message
    assert errors[0].title == "deployment failed"
    assert "Rollback" in step.log.groups
    assert "Rolled back** by ecspresso (--rollback-on-failure) to `app:1`" in step.summary
    assert step.outputs["rolled-back-by"] == "ecspresso"
    assert step.outputs["current-task-definition-arn"].endswith(":task-definition/app:1")  # what runs now
    assert "CannotPullContainerError" in step.summary  # stopped tasks table
    svc = sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][0]
    assert svc["taskDefinition"].endswith("app:1")


def test_rollback_on_failure_false_leaves_the_failure(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    sandbox.scenario("web", "fail", polls=2, reason=PULL_ERROR)
    set_image(workspace / "ecspresso.yml", "nginx:broken")
    step = run_step(workspace, sandbox, tmp_path, rollback_on_failure="false")
    assert step.code == 1, step.raw
    assert step.outputs["result"] == "failed" and step.outputs["rolled-back"] == "false"
    assert "UpdateService" in sandbox.operations and sandbox.operations.count("UpdateService") == 1


def test_register_for_an_ecschedule_batch_job(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "batch"
    make_project(ws, service=None, family="nightly", image="batch:7")
    step = run_step(ws, sandbox, tmp_path, command="register")
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "registered"
    assert step.outputs["task-definition-family"] == "nightly"
    assert step.outputs["task-definition-revision"] == "1"
    assert step.outputs["task-definition-arn"].endswith(":task-definition/nightly:1")


def test_deregister_latest_rolls_back_a_batch_release(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "batch"
    make_project(ws, service=None, family="nightly", image="batch:7")
    assert run_step(ws, sandbox, tmp_path, command="register").code == 0
    set_image(ws / "ecspresso.yml", "batch:8-broken")
    assert run_step(ws, sandbox, tmp_path, command="register").outputs["task-definition-revision"] == "2"
    step = run_step(ws, sandbox, tmp_path, command="deregister", revision="latest", args="--force")
    assert step.code == 0, step.raw
    status = sandbox.client("ecs").describe_task_definition(taskDefinition="nightly:2")["taskDefinition"][
        "status"
    ]
    assert status == "INACTIVE"
    assert (
        sandbox.client("ecs").describe_task_definition(taskDefinition="nightly:1")["taskDefinition"]["status"]
        == "ACTIVE"
    )


def test_multi_line_ext_str_reaches_jsonnet(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "jsonnet"
    ws.mkdir()
    (ws / "ecspresso.yml").write_text("region: us-east-1\ncluster: default\ntask_definition: td.jsonnet\n")
    (ws / "td.jsonnet").write_text(
        "local type = std.extVar('type');\n"
        "{ family: 'app-' + type, containerDefinitions: [{ name: 'app', image: 'app:' + std.extVar('tag'),\n"
        "  memory: 128, command: if type == 'batch' then ['run-batch'] else ['serve'] }] }\n"
    )
    step = run_step(ws, sandbox, tmp_path, command="render", args="taskdef", ext_str="type=batch\ntag=v2;rc1")
    assert step.code == 0, step.raw
    rendered = json.loads("\n".join(step.log.lines[step.log.lines.index("{") :]).split("\n}\n")[0] + "\n}")
    assert rendered["family"] == "app-batch"
    assert rendered["containerDefinitions"][0]["image"] == "app:v2;rc1"
    assert rendered["containerDefinitions"][0]["command"] == ["run-batch"]
    assert sandbox.operations == []  # render makes no AWS call


@pytest.mark.parametrize(
    ("inputs", "names"),
    [
        ({"command": "bogus"}, "command"),
        ({"dry_run": "yes"}, "dry-run"),
        ({"no_wait": "1"}, "no-wait"),
        ({"tasks": "two"}, "tasks"),
        ({"revision": "abc"}, "revision"),
        ({"ext_str": "type=web\nnovalue"}, "ext-str"),
        ({"log_format": "xml"}, "log-format"),
        ({"command": "register", "tasks": "2"}, "tasks"),
        ({"args": "--tasks 'unclosed"}, "args"),
        ({"wait_until": "soon"}, "wait-until"),
        ({"timeout": "ten minutes"}, "timeout"),
        ({"args": "--no-such-flag"}, "args"),
    ],
)
def test_bad_inputs_fail_before_any_aws_call(
    sandbox: Any, workspace: Path, tmp_path: Path, inputs: dict[str, str], names: str
) -> None:
    step = run_step(workspace, sandbox, tmp_path, **inputs)
    assert step.code == 2, step.raw
    errors = [a for a in step.log.annotations if a.level == "error"]
    assert len(errors) == 1 and f"'{names}'" in errors[0].message and errors[0].title == "invalid input"
    assert sum(errors[0].message in line for line in step.log.lines) == 1  # the error line once
    assert sandbox.operations == []
    assert step.outputs["result"] == "failed"


def test_args_help_prints_the_command_help_once(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    step = run_step(workspace, sandbox, tmp_path, command="deploy", args="--help")
    assert step.code == 0, step.raw
    assert step.raw.count("usage: ecspresso deploy") == 1
    assert "result" in step.outputs and sandbox.operations == []


def test_bad_args_flag_is_a_usage_error(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    step = run_step(workspace, sandbox, tmp_path, args="--no-such-flag")
    assert step.code == 2
    assert sandbox.operations == []


def test_dry_run_writes_nothing_and_echoes_inside_stop_commands(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    td_path = workspace / "ecs-task-def.json"
    td = json.loads(td_path.read_text())
    td["containerDefinitions"][0]["environment"] = [{"name": "X", "value": "::error::injected"}]
    td_path.write_text(json.dumps(td))
    step = run_step(workspace, sandbox, tmp_path, dry_run="true")
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "dry-run"
    assert step.outputs["changed"] == "true"  # the environment variable is new
    assert (
        "**Would change:** yes" in step.summary and '+          "value": "::error::injected"' in step.summary
    )
    assert sandbox.mutating_operations() == []
    assert not [a for a in step.log.annotations if a.level == "error"]  # the echoed text ran no command
    assert any("::error::injected" in line for line in step.log.lines)


def test_secret_from_ssm_is_masked_before_it_is_printed(sandbox: Any, tmp_path: Path) -> None:
    sandbox.client("ssm").put_parameter(Name="/app/token", Value="s3cr3t-value", Type="SecureString")
    ws = tmp_path / "secret"
    ws.mkdir()
    (ws / "ecspresso.yml").write_text("region: us-east-1\ncluster: default\ntask_definition: td.json\n")
    (ws / "td.json").write_text(json.dumps({"family": "app", "containerDefinitions": [
        {"name": "app", "image": "app:1", "memory": 128,
         "environment": [{"name": "TOKEN", "value": '{{ ssm `/app/token` }}'}]}]}))  # fmt: skip
    step = run_step(ws, sandbox, tmp_path, command="render", args="taskdef")
    assert step.code == 0, step.raw
    assert "s3cr3t-value" in step.log.masks
    assert not any("s3cr3t-value" in line for line in step.log.lines)  # the runner shows *** instead
    assert step.raw.index("::add-mask::s3cr3t-value") < step.raw.index('"value": "s3cr3t-value"')


def test_hyphenated_inputs_survive_the_entrypoint(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    """The runner names inputs INPUT_DRY-RUN; a POSIX sh (dash) entrypoint would drop them."""
    set_image(workspace / "ecspresso.yml", "nginx:2")
    step = run_step(workspace, sandbox, tmp_path, dry_run="true", log_format="json")
    assert step.outputs["result"] == "dry-run"
    assert sandbox.mutating_operations() == []


def test_text_from_ecs_cannot_inject_workflow_commands(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    sandbox.scenario(
        "web", "fail", polls=2, reason="CannotPullContainerError: ##[warning title=x]injected ::error::also"
    )
    set_image(workspace / "ecspresso.yml", "nginx:broken")
    step = run_step(workspace, sandbox, tmp_path)
    assert step.code == 1
    assert not [a for a in step.log.annotations if a.level == "warning"]
    assert len([a for a in step.log.annotations if a.level == "error"]) == 1  # ours, carrying the text
    assert not step.log.errors


def test_version_command(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    step = run_step(workspace, sandbox, tmp_path, command="version")
    assert step.code == 0, step.raw
    assert "ecspresso-py v" in step.raw


def test_superseded_outputs_and_summary_say_so_and_no_rollback() -> None:
    """A deploy replaced by a newer one is neither "rolled-back" nor a plain "failed"."""
    from ecspresso.action import summary_markdown, write_outputs
    from ecspresso.report import Result

    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:"
    result = Result(command="deploy", result="superseded", service="web", cluster="default",
                    task_definition_arn=arn + "2", current_task_definition_arn=arn + "3", exit_code=1)  # fmt: skip
    import io
    import sys

    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        outputs = write_outputs(result, 1)
    finally:
        sys.stdout = saved
    assert outputs["result"] == "superseded" and outputs["rolled-back"] == "false"
    assert outputs["current-task-definition-arn"].endswith("app:3")
    summary = summary_markdown("deploy", result, 1, "superseded by deployment ecs-svc/9 (app:3)", 1.0)
    assert summary.startswith("### ❌ ecspresso deploy: superseded")
    assert "**Superseded:**" in summary and "**Now running:** `app:3`" in summary
    assert "Rolled back" not in summary


def test_a_plan_job_of_an_unchanged_service_says_nothing_would_change(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    step = run_step(workspace, sandbox, tmp_path, dry_run="true")
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "dry-run" and step.outputs["changed"] == "false"
    assert "**Would change:** no" in step.summary
    assert "=> nothing would change in what the service runs" in step.summary
    assert sandbox.mutating_operations() == []


def test_diff_summary_shows_the_diff_and_says_it_differs(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    set_image(workspace / "ecspresso.yml", "nginx:2")
    step = run_step(workspace, sandbox, tmp_path, command="diff")
    assert step.code == 0, step.raw
    assert step.outputs["changed"] == "true"
    assert "**Differences:** the local definitions differ" in step.summary
    assert '+      "image": "nginx:2",' in step.summary and "<details><summary>Diff" not in step.summary
    set_image(workspace / "ecspresso.yml", "nginx:1")
    step = run_step(workspace, sandbox, tmp_path, command="diff")
    assert step.outputs["changed"] == "false" and "**Differences:** none" in step.summary


def test_a_crashing_container_explains_itself_in_the_summary_and_one_annotation(
    sandbox: Any, tmp_path: Path
) -> None:
    from ecs_fixtures import task_definition

    ws = tmp_path / "crash"
    td = task_definition("app", "nginx:1")
    td["containerDefinitions"][0]["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ecs/app",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "web",
        },
    }
    seed_service(sandbox, make_project(ws, service="web", desired=3, task_def=td))
    sandbox.client("ecs").describe_services(cluster="default", services=["web"])
    sandbox.client("ecs").describe_services(cluster="default", services=["web"])
    lines = [f"worker {i} ready" for i in range(22)] + [
        "FATAL: password authentication failed",
        "exit status 1",
    ]
    sandbox.scenario("web", "fail", polls=2, exit_code=1, failed_tasks=3, log_lines=lines)
    set_image(ws / "ecspresso.yml", "nginx:2")
    step = run_step(ws, sandbox, tmp_path, rollback_on_failure="false")
    assert step.code == 1, step.raw
    assert "#### Why it failed" in step.summary
    assert (
        step.summary.count("**3 tasks: container app: exit code 1; Essential container in task exited") == 1
    )
    block = step.summary.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines() == lines[-20:]  # each line once, the last 20
    (error,) = [a for a in step.log.annotations if a.level == "error"]
    assert error.message.splitlines()[0].startswith("deploy failed: container app: exit code 1")
    assert error.message.splitlines()[1].startswith("last lines of container app (task ")
    assert error.message.splitlines()[2:] == lines[-3:]  # shortened: 3 lines, not 20
    # the final error line once: the annotation is that line in the runner's log, no "FAILED." after it
    assert not [x for x in step.log.lines if "FAILED." in x]
    assert sum(x.startswith("##[error]deploy failed:") for x in step.log.lines) == 1
    assert sum("| FATAL: password authentication failed" in x for x in step.log.lines) == 1  # the log's block


def test_run_as_a_migration_step_outputs_task_arn_and_exit_code(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    td_path = workspace / "ecs-task-def.json"
    td = json.loads(td_path.read_text())
    td["containerDefinitions"][0]["logConfiguration"] = {
        "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs"},
    }  # fmt: skip
    td_path.write_text(json.dumps(td))
    sandbox.run_task_scenario("app", lines=["migrated 3 tables", "::error::from the container"])
    step = run_step(workspace, sandbox, tmp_path, command="run", args="--overrides '{\"containerOverrides\": [{\"name\": \"app\", \"command\": [\"migrate\"]}]}'")  # fmt: skip
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "ok" and step.outputs["exit-code"] == "0"
    assert step.outputs["task-arn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/default/")
    assert step.outputs["task-definition-arn"].endswith(":task-definition/app:2")
    assert "migrated 3 tables" in step.log.lines
    assert not [a for a in step.log.annotations if a.level == "error"]  # container text runs no command

    sandbox.run_task_scenario("app", exit_code=2, reason="migration failed")
    step = run_step(workspace, sandbox, tmp_path, command="run", revision="2")
    assert step.code == 1, step.raw
    assert step.outputs["result"] == "failed" and step.outputs["exit-code"] == "2"
    assert "**Task** `" in step.summary and "of `app:2`: exit code 2" in step.summary
    errors = [a for a in step.log.annotations if a.level == "error"]
    assert (
        len(errors) == 1 and "container app exited with code 2 (reason: migration failed" in errors[0].message
    )
