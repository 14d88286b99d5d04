"""Failures explained in the container's own words: stopped tasks grouped (cause first, stop code
once), the explaining container's last awslogs lines, the load balancer's target-health reasons,
best-effort notes instead of second failures, the rollback's events kept out of the failure, and
one final error line."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import (
    make_project,
    seed_service,
    service_definition,
    set_image,
    task_definition,
)
from ecspresso import log
from ecspresso.action import annotation_text, summary_markdown
from ecspresso.cli import run
from ecspresso.explain import group_stopped_tasks, group_target_health, render, short_explanation
from ecspresso.report import Explanation, Result, StoppedTask, TaskGroup
from ecspresso.rollout import new_events
from ecspresso.watch import decision_point

PULL = "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:broken not found"
EXITED = "Essential container in task exited"
CRASH_LINES = [f"starting worker {i}" for i in range(25)] + [
    "Error: connect ECONNREFUSED 10.0.0.9:5432",
    "panic: database unreachable",
]
AWSLOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"},
}


def stopped(task_id: str, code: str = "TaskFailedToStart", why: str = PULL, **container: Any) -> StoppedTask:
    containers = [{"name": "app", **container}] if container else []
    return StoppedTask(task_id=task_id, stop_code=code, stopped_reason=why, containers=containers,
                       task_definition="app:2")  # fmt: skip


# -- pure ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([], []),
        # three identical pull failures: one group of 3 with the newest as its representative
        ([stopped("t3"), stopped("t2"), stopped("t1")], [("t3", 3)]),
        (
            [stopped("c1", "EssentialContainerExited", EXITED, exitCode=1), stopped("p1"),
             stopped("c2", "EssentialContainerExited", EXITED, exitCode=1), stopped("p2"), stopped("p3")],
            [("p1", 3), ("c1", 2)],
        ),
        # different exit codes are different failures
        (
            [stopped("a", "EssentialContainerExited", EXITED, exitCode=1),
             stopped("b", "EssentialContainerExited", EXITED, exitCode=137, reason="OutOfMemoryError")],
            [("a", 1), ("b", 1)],
        ),
    ],
)  # fmt: skip
def test_group_stopped_tasks(tasks: list[StoppedTask], expected: list[tuple[str, int]]) -> None:
    groups = group_stopped_tasks(tasks)
    assert [(g.task.task_id, g.count) for g in groups] == expected
    if expected == [("t3", 3)]:
        assert groups[0].headline() == f"3 tasks: {PULL} (TaskFailedToStart)"
        assert groups[0].task_ids == ["t3", "t2", "t1"]


@pytest.mark.parametrize(
    ("task", "summary"),
    [
        (stopped("a"), f"{PULL} (TaskFailedToStart)"),
        (stopped("b", "EssentialContainerExited", EXITED, exitCode=1),
         f"container app: exit code 1; {EXITED} (EssentialContainerExited)"),
        (stopped("c", "EssentialContainerExited", EXITED, exitCode=137, reason="OutOfMemoryError: Container killed"),
         f"container app: OutOfMemoryError: Container killed, exit code 137; {EXITED} (EssentialContainerExited)"),
        # a container reason equal to the task's is said once
        (stopped("d", reason=PULL), f"{PULL} (TaskFailedToStart)"),
        (StoppedTask("e"), "stopped"),
    ],
)  # fmt: skip
def test_summary_puts_the_cause_first_and_the_stop_code_once(task: StoppedTask, summary: str) -> None:
    assert task.summary() == summary
    if task.stop_code:
        assert task.summary().count(task.stop_code) == 1


def test_group_target_health_keeps_failing_targets_grouped_by_reason() -> None:
    def d(target: str, state: str, reason: str = "", description: str = "") -> dict[str, Any]:
        return {"Target": {"Id": target, "Port": 80},
                "TargetHealth": {"State": state, "Reason": reason, "Description": description}}  # fmt: skip

    out = group_target_health("web-tg", [
        d("10.0.0.1", "healthy"),
        d("10.0.0.2", "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]"),
        d("10.0.0.3", "draining", "Target.DeregistrationInProgress"),
        d("10.0.0.4", "initial", "Elb.RegistrationInProgress"),
        d("10.0.0.5", "unhealthy", "Target.FailedHealthChecks", "Health checks failed"),
        d("10.0.0.6", "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]"),
    ])  # fmt: skip
    assert [(u.reason, u.targets) for u in out] == [
        ("Target.ResponseCodeMismatch", ["10.0.0.2:80", "10.0.0.6:80"]),
        ("Target.FailedHealthChecks", ["10.0.0.5:80"]),
    ]
    assert out[0].line() == (
        "target group web-tg: 2 unhealthy targets: Target.ResponseCodeMismatch "
        "(Health checks failed with these codes: [502])"
    )


@pytest.mark.parametrize(
    ("messages", "first_new", "expected"),
    [
        (["started", "deployment failed", "rolling back to deployment d1", "steady"], 1, 2),
        (["started", "deployment failed"], 1, 2),  # no rollback event: all of them are the failure's
        (["rolling back to deployment d0 (an old one)", "started", "failed"], 1, 3),  # only this poll's count
        ([], 0, 0),
    ],
)
def test_decision_point_splits_the_rollbacks_events_off(
    messages: list[str], first_new: int, expected: int
) -> None:
    assert decision_point(messages, first_new) == expected


def test_new_events_with_the_same_timestamp_keep_ecs_order_oldest_first() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    service = {"events": [  # ECS lists the newest first
        {"id": "c", "createdAt": t + timedelta(seconds=1), "message": "rolling back"},
        {"id": "b", "createdAt": t + timedelta(seconds=1), "message": "deployment failed"},
        {"id": "a", "createdAt": t, "message": "started"},
    ]}  # fmt: skip
    assert [e["message"] for e in new_events(service, set())] == [
        "started",
        "deployment failed",
        "rolling back",
    ]


def _crash_explanation(lines: list[str]) -> Explanation:
    task = stopped("0123456789abcdef", "EssentialContainerExited", EXITED, exitCode=1)
    group = TaskGroup(task=task, task_ids=["0123456789abcdef", "fedcba98", "aaaabbbb"], container="app",
                      log_lines=lines)  # fmt: skip
    return Explanation(groups=[group], notes=["could not read the health of target group tg: AccessDenied"])


def test_render_shows_each_line_once_under_its_group() -> None:
    lines = render(_crash_explanation(CRASH_LINES[-20:]))
    assert lines[0].startswith("  3 tasks: container app: exit code 1")
    assert "(EssentialContainerExited)" in lines[0] and lines[0].count("EssentialContainerExited") == 1
    for line in CRASH_LINES[-20:]:
        assert sum(line in x for x in lines) == 1


def test_summary_why_it_failed_fences_the_lines_and_redacts_secrets() -> None:
    log.add_mask("hunter2-db-password")
    lines = ["connecting with hunter2-db-password", "```", "</details> <b>x</b>", "panic: boom"]
    result = Result(command="deploy", service="web", cluster="default", result="failed",
                    explanation=_crash_explanation(lines))  # fmt: skip
    text = summary_markdown("deploy", result, 1, "deploy failed: container app: exit code 1", 1.0)
    assert "#### Why it failed" in text
    assert (
        "**3 tasks: container app: exit code 1; Essential container in task exited (EssentialContainerExited)**"
        in text
    )
    assert "hunter2-db-password" not in text and "connecting with ***" in text
    block = text.split("````text\n", 1)[1].split("\n````", 1)[0]  # a fence longer than the ``` inside
    assert block.splitlines() == ["connecting with ***", "```", "</details> <b>x</b>", "panic: boom"]
    assert "_could not read the health of target group tg: AccessDenied_" in text
    assert "Stop code" not in text  # no table repeating the stop code per task


def test_annotation_is_the_message_and_the_last_three_lines() -> None:
    result = Result(command="deploy", explanation=_crash_explanation(CRASH_LINES[-20:]))
    text = annotation_text("deploy failed: container app: exit code 1", result)
    assert text.splitlines() == [
        "deploy failed: container app: exit code 1",
        "last lines of container app (task 01234567):",
        *CRASH_LINES[-3:],
    ]
    assert short_explanation(Explanation()) == []
    assert annotation_text("x", None) == "x"


# -- against the sandbox -------------------------------------------------------------------------
@pytest.fixture
def env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    monkeypatch.delenv("AWS_REGION", raising=False)
    return sandbox


def project(
    sandbox: Any, tmp_path: Path, *, logs: bool = True, service_def: dict[str, Any] | None = None
) -> Path:
    td = task_definition("app", "nginx:1")
    if logs:
        td["containerDefinitions"][0]["logConfiguration"] = copy.deepcopy(AWSLOGS)
    config = make_project(tmp_path, service="web", desired=3, task_def=td, service_def=service_def)
    seed_service(sandbox, config)
    code, _ = run(["--config", str(config), "wait"])
    assert code == 0
    set_image(config, "nginx:2")
    return config


def deploy(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), "deploy", *args])


def failure_block(err: str) -> list[str]:
    """The lines from "Deployment failed:" up to (not including) the next non-error line."""
    lines = err.splitlines()
    start = next(i for i, x in enumerate(lines) if "[ERROR]" in x and "Deployment failed:" in x)
    block = []
    for line in lines[start:]:
        if "[ERROR]" not in line:
            break
        block.append(line)
    return block


def test_a_crashing_container_fails_with_its_last_lines_once(env: Any, tmp_path: Path, capfd: Any) -> None:
    config = project(env, tmp_path)
    env.scenario("web", "fail", polls=2, exit_code=1, failed_tasks=3, log_lines=CRASH_LINES)
    code, result = deploy(config)
    err = capfd.readouterr().err
    assert code == 1
    block = failure_block(err)
    heads = [x for x in block if "3 tasks: container app: exit code 1" in x]
    assert len(heads) == 1 and heads[0].count("EssentialContainerExited") == 1  # one group, stop code once
    for line in CRASH_LINES[-20:]:
        assert sum(x.endswith(f"| {line}") for x in err.splitlines()) == 1, line
    assert CRASH_LINES[4] not in err  # only the last 20
    group = result.explanation.groups[0]
    assert (group.count, group.container, group.log_lines) == (3, "app", CRASH_LINES[-20:])
    final = [x for x in err.splitlines() if "FAILED." in x]
    assert len(final) == 1 and final[0] == err.strip().splitlines()[-1]
    assert "FAILED. deploy failed: container app: exit code 1" in final[0]  # the cause first


def test_no_awslogs_driver_is_a_note_and_the_real_reason_stays(env: Any, tmp_path: Path, capfd: Any) -> None:
    config = project(env, tmp_path, logs=False)
    env.scenario("web", "fail", polls=2, exit_code=1, log_lines=CRASH_LINES)
    code, result = deploy(config)
    err = capfd.readouterr().err
    assert code == 1
    assert result.explanation.groups[0].note == "no log lines: container app uses no log driver, not awslogs"
    assert sum("no log lines: container app uses no log driver" in x for x in err.splitlines()) == 1
    assert "GetLogEvents" not in env.operations
    assert "FAILED. deploy failed: container app: exit code 1" in err


def test_access_denied_on_get_log_events_is_a_note_not_a_crash(env: Any, tmp_path: Path, capfd: Any) -> None:
    config = project(env, tmp_path)
    env.scenario("web", "fail", polls=2, exit_code=1, log_lines=CRASH_LINES)
    env.fault("logs:GetLogEvents", "AccessDeniedException", times=-1, message="not authorized")
    code, result = deploy(config)
    err = capfd.readouterr().err
    assert code == 1
    note = "could not read logs of container app: AccessDeniedException on logs:GetLogEvents"
    assert result.explanation.groups[0].note == note and note in err
    assert "Traceback" not in err and "internal error" not in err
    assert "FAILED. deploy failed: container app: exit code 1" in err


def test_target_health_reasons_of_a_service_behind_a_load_balancer(
    env: Any, tmp_path: Path, capfd: Any
) -> None:
    elbv2 = env.client("elbv2")
    vpc = env.client("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    tg = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    arn = tg["TargetGroups"][0]["TargetGroupArn"]
    sv = service_definition(
        3, loadBalancers=[{"targetGroupArn": arn, "containerName": "app", "containerPort": 80}]
    )
    config = project(env, tmp_path, service_def=sv)
    env.scenario("web", "fail", polls=2, failed_tasks=2, target_health="Target.ResponseCodeMismatch",
                 log_lines=["GET /health 502"])  # fmt: skip
    code, result = deploy(config)
    err = capfd.readouterr().err
    assert code == 1
    (unhealthy,) = result.explanation.targets
    assert (unhealthy.target_group, unhealthy.reason, len(unhealthy.targets)) == (
        "web-tg",
        "Target.ResponseCodeMismatch",
        2,
    )
    assert (
        "target group web-tg: 2 unhealthy targets: Target.ResponseCodeMismatch (Health checks failed with these codes: [502])"
        in err
    )
    assert "2 tasks: Task failed ELB health checks in (target-group " in err
    assert "| GET /health 502" in err  # the container ran: its lines are there too


def test_the_rollbacks_events_are_not_listed_under_the_failure(env: Any, tmp_path: Path, capfd: Any) -> None:
    config = project(env, tmp_path)
    env.scenario("web", "fail", polls=2, rollback=True, exit_code=1, failed_tasks=3, log_lines=CRASH_LINES)
    code, result = deploy(config)
    err = capfd.readouterr().err
    assert code == 1 and result.rolled_back_by == "ecs"
    assert "rolling back to deployment" in err  # streamed while waiting…
    block = "\n".join(failure_block(err))
    for rollback_event in ("rolling back to deployment", "steady state", "deployment completed"):
        assert rollback_event not in block  # …but not under the failure
        assert not any(rollback_event in e for e in result.events)
    assert "deployment failed: tasks failed to start" in block


def test_ecspresso_rollback_events_stay_out_of_the_failure_too(env: Any, tmp_path: Path, capfd: Any) -> None:
    config = project(env, tmp_path)
    env.scenario("web", "fail", polls=2, exit_code=1, log_lines=CRASH_LINES)
    code, result = deploy(config, "--rollback-on-failure")
    err = capfd.readouterr().err
    assert code == 1 and result.rolled_back_by == "ecspresso"
    assert not any("steady state" in e for e in result.events)
    assert err.count("| panic: database unreachable") == 1  # the rollback's wait explains nothing again
    assert [x for x in err.splitlines() if "FAILED." in x] == [err.strip().splitlines()[-1]]


def test_the_sandbox_http_scenario_takes_log_lines_and_target_health(env: Any) -> None:
    import json
    import urllib.request

    body = {
        "service": "web",
        "kind": "fail",
        "exit_code": 1,
        "log_lines": ["a", "b"],
        "target_health": "Target.Timeout",
    }
    req = urllib.request.Request(f"{env.url}/_sandbox/scenario", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read()) == {"ok": True}
    from ecspresso.sandbox.simulator import SIMULATOR

    pending = SIMULATOR.pending("default", "web")
    assert (
        pending is not None and pending.log_lines == ("a", "b") and pending.target_health == "Target.Timeout"
    )
