"""``run``: one-off tasks against the sandbox (its RunTask tasks run to a chosen exit code and write
their log lines into CloudWatch Logs a share per DescribeTasks).

The CLI runs in-process (``ecspresso.cli.run``) with ``AWS_ENDPOINT_URL`` on the sandbox; the
interrupt tests run it as a subprocess and send it a signal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, task_definition, write_json
from ecspresso.cli import run
from ecspresso.errors import UsageError
from ecspresso.oneoff import (
    judge_stopped,
    merge_tags,
    parse_tags,
    run_task_input,
    task_volume_configurations,
    watched_container,
)

PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): migrate:broken not found"
)
LINES = [f"migrating step {i}" for i in range(25)]


def awslogs() -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ecs/app",
            "awslogs-stream-prefix": "ecs",
            "awslogs-region": "us-east-1",
        },
    }


def two_containers() -> dict[str, Any]:
    td = task_definition("app", tags=[{"key": "team", "value": "db"}])
    app = td["containerDefinitions"][0]
    app["logConfiguration"] = awslogs()
    sidecar = {"name": "sidecar", "image": "envoy:1", "essential": False, "memory": 64,
               "logConfiguration": awslogs()}  # fmt: skip
    td["containerDefinitions"].append(sidecar)
    return td


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    monkeypatch.delenv("AWS_REGION", raising=False)
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    config = make_project(tmp_path, service="web", task_def=two_containers())
    seed_service(sandbox, config)
    sandbox.client("ecs").tag_resource(
        resourceArn=sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][
            0
        ]["serviceArn"],
        tags=[{"key": "service-tag", "value": "web"}],
    )
    sandbox.operations.clear()
    return config


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), "run", *args])


def task_of(sandbox: Any, arn: str) -> dict[str, Any]:
    """The task as ECS shows it, without advancing it (ListTasks does not; DescribeTasks would)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    task = ecs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tasks["default"][arn]
    return {"lastStatus": task.last_status, "desiredStatus": task.desired_status, "tags": task.tags,
            "overrides": task.overrides, "taskDefinitionArn": task.task_definition_arn,
            "launchType": task.launch_type, "stopCode": task.stop_code, "stoppedReason": task.stopped_reason}  # fmt: skip


# -- the container's verdict and its lines -----------------------------------------------------------


def test_exit_0_prints_every_log_line_once_in_order(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", lines=LINES, steps=4)
    code, result = cli(project)
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out == "".join(line + "\n" for line in LINES)  # prefix-free, once each, in order
    assert result.result == "ok" and result.container_exit_code == 0
    assert result.task_arn.startswith("arn:aws:ecs:us-east-1:123456789012:task/default/")
    assert result.task_definition_arn.endswith(":task-definition/app:2")  # registered, then run
    assert "container app exited with code 0" in err
    assert sandbox.operations.count("DescribeTasks") >= 5  # lines arrived over several polls
    assert sandbox.mutating_operations() == ["RegisterTaskDefinition", "RunTask"]


def test_lines_arriving_over_many_polls_are_not_lost_or_repeated(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    lines = [f"row {i}" for i in range(200)]
    sandbox.run_task_scenario("app", lines=lines, steps=9, polls=2)  # a step every 2 DescribeTasks
    code, _ = cli(project, "--skip-task-definition")
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out.splitlines() == lines


def test_lines_delivered_after_the_task_stopped_are_read(sandbox: Any, project: Path, capfd: Any) -> None:
    """CloudWatch Logs may show the container's last lines after DescribeTasks shows it STOPPED."""
    sandbox.run_task_scenario("app", lines=LINES[:8], steps=3, late_lines=2)
    code, _ = cli(project, "--skip-task-definition")
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out.splitlines() == LINES[:8]


def test_non_zero_exit_names_container_code_and_reason(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", exit_code=3, reason="OutOfMemoryError: Container killed", lines=["boom"])
    code, result = cli(project)
    out, err = capfd.readouterr()
    assert code == 1
    assert out == "boom\n"
    assert result.result == "failed" and result.container_exit_code == 3
    failure = [ln for ln in err.splitlines() if "FAILED." in ln]
    assert len(failure) == 1
    assert (
        "container app exited with code 3 (reason: OutOfMemoryError: Container killed; task stopped: "
        in failure[0]
    )


def test_task_that_cannot_start_exits_1_with_the_reason(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", start_failure=PULL_ERROR)
    code, result = cli(project)
    _, err = capfd.readouterr()
    assert code == 1
    assert f"failed to start (TaskFailedToStart): {PULL_ERROR}" in err
    assert result.container_exit_code is None
    assert "stream" not in err  # no note about missing log lines: it never started


def test_watch_container_follows_that_container(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", container="sidecar", exit_code=7, lines=["proxy up", "proxy down"])
    code, result = cli(project, "--watch-container", "sidecar")
    out, err = capfd.readouterr()
    assert code == 1 and result.container_exit_code == 7
    assert out == "proxy up\nproxy down\n"
    assert "container sidecar exited with code 7" in err


@pytest.mark.parametrize("extra", [[], ["--skip-task-definition"], ["--dry-run"]])
def test_unknown_watch_container_fails_before_any_write(
    sandbox: Any, project: Path, capfd: Any, extra: list[str]
) -> None:
    code, _ = cli(project, "--watch-container", "migrate", *extra)
    _, err = capfd.readouterr()
    assert code == 2
    assert (
        "--watch-container: task definition app has no container 'migrate' (containers: app, sidecar)" in err
    )
    assert sandbox.mutating_operations() == []


def test_override_for_an_unknown_container_fails_before_any_write(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    code, _ = cli(project, "--overrides", '{"containerOverrides": [{"name": "web", "command": ["x"]}]}')
    assert code == 2
    assert "overrides: task definition app has no container 'web'" in capfd.readouterr().err
    assert sandbox.mutating_operations() == []


# -- dry run, flags ------------------------------------------------------------------------------


def test_dry_run_prints_definition_and_run_task_input_and_writes_nothing(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    overrides = '{"containerOverrides": [{"name": "app", "command": ["rake", "db:migrate"]}]}'
    code, result = cli(
        project, "--dry-run", "--overrides", overrides, "--tags", "job=migrate", "--count", "2"
    )
    out, _ = capfd.readouterr()
    assert code == 0 and result.result == "dry-run"
    assert sandbox.mutating_operations() == []
    first, _, rest = out.partition("}\n{")
    assert json.loads(first + "}")["family"] == "app"  # the task definition it would register
    params = json.loads("{" + rest)
    assert params["taskDefinition"] == "app:(to be registered)"
    assert params["launchType"] == "FARGATE" and params["count"] == 2
    assert params["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0].startswith("subnet-")
    assert params["overrides"]["containerOverrides"][0]["command"] == ["rake", "db:migrate"]
    assert params["tags"] == [{"key": "job", "value": "migrate"}]


def test_dry_run_of_an_existing_revision_names_it(sandbox: Any, project: Path, capfd: Any) -> None:
    code, _ = cli(project, "--dry-run", "--revision", "1")
    out, _ = capfd.readouterr()
    assert code == 0
    assert json.loads(out)["taskDefinition"].endswith(":task-definition/app:1")
    assert sandbox.mutating_operations() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be between 1 and 10, got 0"),
        (["--count", "11"], "--count must be between 1 and 10, got 11"),
        (["--revision", "1", "--latest-task-definition"], "cannot be used together"),
        (["--tags", "novalue"], "--tags: expected KEY=VALUE, got 'novalue'"),
        (["--overrides", "{nope"], "--overrides: invalid JSON"),
        (["--overrides", '{"containerOverrides": "x"}'], "--overrides: overrides.containerOverrides"),
        (["--overrides", "{}", "--overrides-file", "o.json"], "cannot be used together"),
        (["--wait-until", "healthy"], "invalid choice"),
        (["--propagate-tags", "ALL"], "invalid choice"),
        (["--task-def", "x.json", "--skip-task-definition"], "--task-def registers"),
    ],
)
def test_bad_flags_are_usage_errors_before_any_call(
    sandbox: Any, project: Path, capfd: Any, args: list[str], message: str
) -> None:
    code, _ = cli(project, *args)
    assert code == 2
    assert message in capfd.readouterr().err
    assert sandbox.operations == []


def test_count_runs_that_many_and_watches_the_first(sandbox: Any, project: Path, capfd: Any) -> None:
    code, result = cli(project, "--count", "3", "--latest-task-definition")
    _, err = capfd.readouterr()
    assert code == 0
    arns = sandbox.client("ecs").list_tasks(cluster="default", family="app", desiredStatus="STOPPED")[
        "taskArns"
    ]
    arns += sandbox.client("ecs").list_tasks(cluster="default", family="app")["taskArns"]
    assert len([a for a in arns if a != result.task_arn]) >= 2 and result.task_arn in arns
    assert err.count("(not watched)") == 2


def test_revision_latest_and_skip_choose_like_deploy(sandbox: Any, project: Path) -> None:
    ecs = sandbox.client("ecs")
    for _ in range(2):  # app:2, app:3
        ecs.register_task_definition(**two_containers())
    for args, want in ((["--revision", "2"], "app:2"), (["--latest-task-definition"], "app:3"),
                       (["--skip-task-definition"], "app:1")):  # fmt: skip
        code, result = cli(project, *args, "--no-wait")
        assert code == 0
        assert task_of(sandbox, result.task_arn)["taskDefinitionArn"].endswith(want), args
    ecs.deregister_task_definition(taskDefinition="app:2")
    code, _ = cli(project, "--revision", "2")
    assert code == 1


def test_task_definition_only_project_runs_the_latest_revision(
    sandbox: Any, tmp_path: Path, project: Path
) -> None:
    """No service (an ecschedule-style batch job): --skip-task-definition means the latest revision;
    the network still comes from the service definition file."""
    batch = make_project(tmp_path / "batch", service=None, family="nightly",
                         config_extra={"service_definition": "ecs-service-def.json"})  # fmt: skip
    (batch.parent / "ecs-service-def.json").write_text((project.parent / "ecs-service-def.json").read_text())
    assert run(["--config", str(batch), "register"])[0] == 0
    assert run(["--config", str(batch), "register"])[0] == 0
    code, result = run(["--config", str(batch), "run", "--skip-task-definition"])
    assert code == 0 and result.result == "ok"
    assert result.task_definition_arn.endswith(":task-definition/nightly:2")
    assert result.service == ""


def test_task_def_flag_registers_that_file(sandbox: Any, project: Path) -> None:
    other = task_definition("other-job")
    write_json(project.parent / "job.json", other)
    code, result = cli(project, "--task-def", str(project.parent / "job.json"), "--no-wait")
    assert code == 0
    assert result.task_definition_arn.endswith(":task-definition/other-job:1")


def test_tags_propagation_and_client_token(sandbox: Any, project: Path) -> None:
    code, result = cli(
        project, "--tags", "job=migrate,team=ops", "--propagate-tags", "TASK_DEFINITION", "--no-wait"
    )
    assert code == 0
    tags = {t["key"]: t["value"] for t in task_of(sandbox, result.task_arn)["tags"]}
    assert tags == {"job": "migrate", "team": "ops"}  # --tags, then the definition's (team: ours wins)
    code, result = cli(
        project, "--propagate-tags", "SERVICE", "--tags", "job=x", "--no-wait", "--skip-task-definition"
    )
    assert code == 0
    tags = {t["key"]: t["value"] for t in task_of(sandbox, result.task_arn)["tags"]}
    assert tags == {"service-tag": "web", "job": "x"}  # copied from the service (ECS takes no SERVICE)
    first = cli(project, "--client-token", "deploy-42", "--no-wait", "--skip-task-definition")[1].task_arn
    again = cli(project, "--client-token", "deploy-42", "--no-wait", "--skip-task-definition")[1].task_arn
    assert first == again


def test_overrides_file_is_rendered_like_definitions(
    sandbox: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATION", "20261129")
    (project.parent / "overrides.json").write_text(
        '{"ContainerOverrides": [{"Name": "app", "Command": ["migrate", "{{ must_env `MIGRATION` }}"]}]}'
    )
    code, result = cli(project, "--overrides-file", str(project.parent / "overrides.json"), "--no-wait")
    assert code == 0
    assert task_of(sandbox, result.task_arn)["overrides"]["containerOverrides"] == [
        {"name": "app", "command": ["migrate", "20261129"]}
    ]


def test_no_wait_returns_at_once_and_wait_until_running(sandbox: Any, project: Path) -> None:
    code, result = cli(project, "--no-wait")
    assert code == 0 and result.result == "ok" and result.container_exit_code is None
    assert "DescribeTasks" not in sandbox.operations
    sandbox.run_task_scenario("app", steps=50)
    code, result = cli(project, "--wait-until", "running", "--skip-task-definition")
    assert code == 0 and result.result == "ok"
    assert task_of(sandbox, result.task_arn)["lastStatus"] == "RUNNING"  # left running
    assert "StopTask" not in sandbox.operations


def test_timeout_says_the_task_keeps_running(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", steps=10**6)
    code, _ = run(["--config", str(project), "--timeout", "30ms", "run", "--skip-task-definition"])
    _, err = capfd.readouterr()
    assert code == 1
    assert "timed out after" in err and "(last status RUNNING); the task keeps running" in err


# -- log reading problems are notes -------------------------------------------------------------


def test_log_read_denied_is_a_warning_not_a_failure(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", lines=["hidden"])
    sandbox.fault("GetLogEvents", "AccessDeniedException", times=-1)
    code, _ = cli(project, "--skip-task-definition")
    out, err = capfd.readouterr()
    assert code == 0 and out == ""
    warnings = [ln for ln in err.splitlines() if "AccessDeniedException" in ln]
    assert len(warnings) == 1 and "[WARNING]" in warnings[0]
    assert "waiting for the task without its log lines" in warnings[0]


def test_a_throttled_log_read_loses_no_line(
    sandbox: Any, project: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSPRESSO_MAX_ATTEMPTS", "1")  # botocore does not retry: the tool sees it
    sandbox.run_task_scenario("app", lines=LINES, steps=4)
    sandbox.fault("GetLogEvents", "ThrottlingException", times=2, skip=2)
    code, _ = cli(project, "--skip-task-definition")
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out.splitlines() == LINES
    assert "ThrottlingException" in err and "reading the log lines again at the next poll" in err


def test_json_log_format_prints_lines_as_json(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.run_task_scenario("app", lines=["a", "b"])
    code, _ = run(["--config", str(project), "--log-format", "json", "run", "--skip-task-definition"])
    out, _ = capfd.readouterr()
    assert code == 0
    assert [(d["container"], d["message"]) for d in map(json.loads, out.splitlines())] == [
        ("app", "a"),
        ("app", "b"),
    ]


# -- signals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [True, False])
def test_sigterm_while_waiting_stops_the_task_only_if_asked(sandbox: Any, project: Path, stop: bool) -> None:
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/run_task_scenario", method="POST",
                                     data=json.dumps({"family": "app", "steps": 10**6}).encode())  # fmt: skip
    assert json.load(urllib.request.urlopen(request)) == {"ok": True}
    env = {**os.environ, "AWS_ENDPOINT_URL": sandbox.url, "ECSPRESSO_POLL_INTERVAL": "0.05"}
    argv = [sys.executable, "-m", "ecspresso", "--config", str(project), "run", "--skip-task-definition"]
    extra = ["--stop-on-interrupt", "--count", "2"] if stop else []
    proc = subprocess.Popen(argv + extra, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while sandbox.operations.count("DescribeTasks") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    arns = re.findall(r"Task is started: (\S+)", err)
    ids = " ".join(arn.rsplit("/", 1)[-1] for arn in arns)
    if stop:
        assert len(arns) == 2
        assert (
            f"interrupted by SIGTERM while waiting for the task: tasks {ids} were stopped (--stop-on-interrupt)"
            in err
        )
        for arn in arns:  # the one watched and the other one
            assert task_of(sandbox, arn)["stopCode"] == "UserInitiated"
            assert task_of(sandbox, arn)["stoppedReason"] == "ecspresso run interrupted by SIGTERM"
    else:
        assert (
            f"task {ids} keeps running (pass --stop-on-interrupt to stop it on a signal; to stop it now: "
            in err
        )
        assert f"aws ecs stop-task --cluster default --task {ids})" in err
        assert "StopTask" not in sandbox.operations
        assert task_of(sandbox, arns[0])["lastStatus"] == "RUNNING"


# -- the sandbox's one-off tasks -----------------------------------------------------------------------


def test_sandbox_task_steps_and_writes_its_lines_progressively(sandbox: Any, project: Path) -> None:
    from ecspresso.awslogs import LogFollower, log_target

    ecs = sandbox.client("ecs")
    sandbox.run_task_scenario("app", exit_code=4, reason="bad", lines=[str(i) for i in range(9)], steps=2)
    sv = json.loads((project.parent / "ecs-service-def.json").read_text())
    task = ecs.run_task(cluster="default", taskDefinition="app:1", launchType="FARGATE",
                        networkConfiguration=sv["networkConfiguration"])["tasks"][0]  # fmt: skip
    assert task["lastStatus"] == "PENDING"
    target = log_target(two_containers(), "app", task["taskArn"].rsplit("/", 1)[-1])
    follower = LogFollower(sandbox.client("logs"), target)  # type: ignore[arg-type]
    seen = []
    for want in ("RUNNING", "RUNNING", "STOPPED", "STOPPED"):
        got = ecs.describe_tasks(cluster="default", tasks=[task["taskArn"]])["tasks"][0]
        assert got["lastStatus"] == want
        seen.append([ln.message for ln in follower.poll()])
    assert seen == [["0", "1", "2"], ["3", "4", "5"], ["6", "7", "8"], []]  # a share per step
    assert got["stopCode"] == "EssentialContainerExited"
    assert [(c["name"], c.get("exitCode"), c.get("reason")) for c in got["containers"]] == [
        ("app", 4, "bad"), ("sidecar", 0, None)]  # fmt: skip
    other = ecs.run_task(cluster="default", taskDefinition="app:1", launchType="FARGATE",
                         networkConfiguration=sv["networkConfiguration"])["tasks"][0]  # fmt: skip
    assert (
        ecs.describe_tasks(cluster="default", tasks=[other["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"
    )
    stopped = ecs.stop_task(cluster="default", task=other["taskArn"], reason="enough")["task"]
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "enough",
    )
    with pytest.raises(Exception, match="count must be between 1 and 10"):
        ecs.run_task(cluster="default", taskDefinition="app:1", count=11, launchType="FARGATE",
                     networkConfiguration=sv["networkConfiguration"])  # fmt: skip
    with pytest.raises(Exception, match="Network Configuration must be provided"):
        ecs.run_task(cluster="default", taskDefinition="app:1", launchType="FARGATE")


# -- pure parts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("", []),
        ("a=b", [{"key": "a", "value": "b"}]),
        ("a=b, c=", [{"key": "a", "value": "b"}, {"key": "c", "value": ""}]),
        ("url=http://x/?q=1", [{"key": "url", "value": "http://x/?q=1"}]),
    ],
)
def test_parse_tags(text: str, tags: list[dict[str, str]]) -> None:
    assert parse_tags(text) == tags


@pytest.mark.parametrize("text", ["a", "=b", "a=b,c"])
def test_parse_tags_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_tags(text)


def test_merge_tags_later_wins() -> None:
    assert merge_tags(
        [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}], [{"key": "a", "value": "3"}]
    ) == [
        {"key": "a", "value": "3"},
        {"key": "b", "value": "2"},
    ]


def test_run_task_input_takes_placement_and_network_from_the_service() -> None:
    sv = {
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        "placementConstraints": [{"type": "distinctInstance"}],
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "platformVersion": "1.4.0",
        "enableExecuteCommand": True,
        "desiredCount": 4,
        "loadBalancers": [{"targetGroupArn": "tg"}],
        "volumeConfigurations": [{"name": "data", "managedEBSVolume": {"sizeInGiB": 10, "roleArn": "r",
                                  "tagSpecifications": [{"resourceType": "volume", "propagateTags": "SERVICE"}]}}],
    }  # fmt: skip
    params = run_task_input(cluster="c", task_definition="app:3", service_definition=sv, overrides=None, count=1,
                            tags=[], propagate_task_definition_tags=False, client_token="t",
                            ebs_delete_on_termination=False)  # fmt: skip
    assert params == {
        "cluster": "c", "taskDefinition": "app:3", "count": 1, "clientToken": "t",
        "capacityProviderStrategy": sv["capacityProviderStrategy"], "placementConstraints": sv["placementConstraints"],
        "placementStrategy": sv["placementStrategy"], "platformVersion": "1.4.0", "enableExecuteCommand": True,
        "volumeConfigurations": [{"name": "data", "managedEBSVolume": {
            "sizeInGiB": 10, "roleArn": "r", "tagSpecifications": [{"resourceType": "volume"}],
            "terminationPolicy": {"deleteOnTermination": False}}}],
    }  # fmt: skip


def test_task_volume_configurations_default_deletes_on_termination() -> None:
    out = task_volume_configurations([{"name": "v", "managedEBSVolume": {"sizeInGiB": 1}}], True)
    assert out[0]["managedEBSVolume"]["terminationPolicy"] == {"deleteOnTermination": True}


def test_watched_container_defaults_to_the_first() -> None:
    td = {"family": "f", "containerDefinitions": [{"name": "a", "essential": False}, {"name": "b"}]}
    assert watched_container(td, "") == "a"
    assert watched_container(td, "b") == "b"
    with pytest.raises(UsageError, match=r"no container 'c' \(containers: a, b\)"):
        watched_container(td, "c")


ARN = "arn:aws:ecs:us-east-1:1:task/default/abc"


@pytest.mark.parametrize(
    ("task", "ok", "code", "message"),
    [
        ({"taskArn": ARN, "stopCode": "EssentialContainerExited", "containers": [{"name": "app", "exitCode": 0}]},
         True, 0, "container app exited with code 0"),
        ({"taskArn": ARN, "stoppedReason": "Essential container in task exited",
          "containers": [{"name": "app", "exitCode": 137, "reason": "OutOfMemoryError"}]},
         False, 137, "container app exited with code 137 (reason: OutOfMemoryError; task stopped: Essential"),
        ({"taskArn": ARN, "stopCode": "TaskFailedToStart", "stoppedReason": "CannotPullContainerError: x",
          "containers": [{"name": "app", "reason": "CannotPullContainerError: x"}, {"name": "s", "reason": "y"}]},
         False, None, "task abc failed to start (TaskFailedToStart): CannotPullContainerError: x; container s: y"),
        ({"taskArn": ARN, "stopCode": "UserInitiated", "stoppedReason": "stopped", "containers": [{"name": "app"}]},
         False, None, "container app has no exit code (task stopped: stopped (UserInitiated))"),
        ({"taskArn": ARN, "containers": [{"name": "other", "exitCode": 0}]},
         False, None, "container app is not in task abc"),
    ],
)  # fmt: skip
def test_judge_stopped(task: dict[str, Any], ok: bool, code: int | None, message: str) -> None:
    end = judge_stopped(task, "app")
    assert (end.ok, end.exit_code) == (ok, code)
    assert end.message.startswith(message) or message in end.message
