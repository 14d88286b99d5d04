"""awslogs.py: where a container's lines are (pure), and reading them once each from CloudWatch Logs
(moto's, through the sandbox: GetLogEvents pages at 10,000 events and repeats the token at the end)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ecspresso.awslogs import LogFollower, LogTarget, NoLogs, essential_container, log_target, tail
from ecspresso.sandbox.container_logs import write

OPTIONS = {"awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs"}


def td(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"family": "app", "containerDefinitions": list(containers)}


def awslogs(**options: str) -> dict[str, Any]:
    return {"logDriver": "awslogs", "options": {**OPTIONS, **options}}


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        ({"name": "app", "logConfiguration": awslogs()}, LogTarget("app", "/ecs/app", "ecs/app/t1", None)),
        ({"name": "app", "logConfiguration": awslogs(**{"awslogs-region": "eu-west-1"})},
         LogTarget("app", "/ecs/app", "ecs/app/t1", "eu-west-1")),
        ({"name": "app"}, NoLogs("app", "container app uses no log driver, not awslogs")),
        ({"name": "app", "logConfiguration": {"logDriver": "fluentd"}},
         NoLogs("app", "container app uses the fluentd log driver, not awslogs")),
        ({"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-stream-prefix": "p"}}},
         NoLogs("app", "container app's awslogs options have no awslogs-group")),
        ({"name": "other", "logConfiguration": awslogs()}, NoLogs("app", "no container named 'app' in the task definition")),
    ],
)  # fmt: skip
def test_log_target(container: dict[str, Any], expected: LogTarget | NoLogs) -> None:
    assert log_target(td(container), "app", "t1") == expected


def test_log_target_without_stream_prefix_says_why() -> None:
    conf = {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}
    got = log_target(td({"name": "app", "logConfiguration": conf}), "app", "t1")
    assert isinstance(got, NoLogs) and "no awslogs-stream-prefix" in got.reason


def test_essential_container() -> None:
    assert essential_container(td({"name": "init", "essential": False}, {"name": "app"})) == "app"
    assert essential_container(td({"name": "a", "essential": False})) == "a"
    assert essential_container(td()) is None


TARGET = LogTarget("app", "/ecs/app", "ecs/app/task1", None)
NOW = int(time.time() * 1000) - 600_000  # CloudWatch Logs (and moto) refuse events over 14 days old


def logs_client(sandbox: Any) -> Any:
    return sandbox.client("logs")


def test_follower_reads_each_line_once_as_lines_arrive(sandbox: Any) -> None:
    follower = LogFollower(logs_client(sandbox), TARGET)
    assert follower.poll() == [] and not follower.found  # the stream does not exist yet
    write(TARGET, ["one", "two", "three"], region="us-east-1", start_ms=NOW + 1_000)
    assert [ln.message for ln in follower.poll()] == ["one", "two", "three"]
    assert follower.found
    assert follower.poll() == []  # nothing new: nothing again
    write(TARGET, ["four", "five\n"], region="us-east-1", start_ms=NOW + 2_000)
    lines = follower.poll()
    assert [(ln.timestamp, ln.message) for ln in lines] == [(NOW + 2_000, "four"), (NOW + 2_001, "five")]
    assert follower.poll() == []


def test_follower_reads_across_pages(sandbox: Any) -> None:
    many = [f"line {i}" for i in range(10_050)]  # GetLogEvents answers 10,000 at most per page
    write(TARGET, many, region="us-east-1", start_ms=NOW + 1_000)
    follower = LogFollower(logs_client(sandbox), TARGET)
    got = [ln.message for ln in follower.poll()]
    assert got == many
    write(TARGET, ["after"], region="us-east-1", start_ms=NOW + 20_000)
    assert [ln.message for ln in follower.poll()] == ["after"]


def test_follower_start_time_skips_older_lines(sandbox: Any) -> None:
    write(TARGET, ["old"], region="us-east-1", start_ms=NOW + 1_000)
    write(TARGET, ["new"], region="us-east-1", start_ms=NOW + 5_000)
    assert [
        ln.message for ln in LogFollower(logs_client(sandbox), TARGET, start_time=NOW + 2_000).poll()
    ] == ["new"]


def test_follower_raises_other_errors(sandbox: Any) -> None:
    from botocore.exceptions import ClientError

    sandbox.fault("GetLogEvents", "AccessDeniedException", times=-1)
    with pytest.raises(ClientError, match="AccessDenied"):
        LogFollower(sandbox.client("logs", config=_no_retry()), TARGET).poll()


def test_tail_returns_the_last_lines(sandbox: Any) -> None:
    assert tail(logs_client(sandbox), TARGET) == []
    write(TARGET, [str(i) for i in range(30)], region="us-east-1", start_ms=NOW + 1_000)
    assert [ln.message for ln in tail(logs_client(sandbox), TARGET, limit=3)] == ["27", "28", "29"]


def _no_retry() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 1, "mode": "standard"})
