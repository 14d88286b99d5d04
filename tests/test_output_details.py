"""What the log says, line by line: heartbeats in long silent waits, a diff as one JSON record, a
final JSON ``result`` record, and the lines of register, scale and a service created without
waiting (issue: first contact, "output details")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, set_image
from ecspresso.cli import run


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    assert run(["--config", str(config), "wait"])[0] == 0
    sandbox.operations.clear()
    return config


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), *args])


class FakeClock:
    """Timing's clock: sleeping moves it on, no real time passes."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.5)


def test_a_long_silent_wait_says_it_is_still_waiting_once_a_minute(
    sandbox: Any, project: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecspresso.app import Timing

    clock = FakeClock()
    monkeypatch.setattr(Timing, "now", lambda self: clock.now())
    monkeypatch.setattr(Timing, "sleep", lambda self, s: clock.sleep(s))
    sandbox.scenario("web", "never")
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--timeout", "5m")
    err = capfd.readouterr().err
    assert code == 1 and "timed out after 5m0s" in result.message
    beats = [line for line in err.splitlines() if "still waiting" in line]
    assert 3 <= len(beats) <= 5, beats  # about one per minute of silence over five minutes
    assert "still waiting 1m" in beats[0] and "tasks running" in beats[0]


def test_a_busy_wait_has_no_heartbeat(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "stable", polls=3)
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    assert "still waiting" not in capfd.readouterr().err


def test_json_log_keeps_a_diff_as_one_record_and_ends_with_the_result(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["enableExecuteCommand"] = True
    sv_path.write_text(json.dumps(sv))
    set_image(project, "nginx:2")
    code, _ = cli(project, "--log-format", "json", "deploy")
    assert code == 0
    records = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    diffs = [r for r in records if "diff" in r]
    assert len(diffs) == 1 and '+  "enableExecuteCommand": true' in diffs[0]["diff"]
    assert diffs[0]["diff"].startswith("--- arn:aws:ecs:") and "\n+++ " in diffs[0]["diff"]
    assert not any(r["msg"].startswith(("+", "-", "@@")) for r in records)  # no record per diff line
    last = records[-1]
    assert last["msg"] == "result" and last["result"] == "deployed" and last["exit_code"] == 0
    assert last["task_definition"].endswith("app:2") and last["previous_task_definition"].endswith("app:1")
    assert last["rolled_back"] is False


def test_json_log_of_a_rolled_back_deploy_ends_with_why(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "fail", polls=1, reason="CannotPullContainerError: nginx:broken not found")
    set_image(project, "nginx:broken")
    code, _ = cli(project, "--log-format", "json", "deploy", "--rollback-on-failure")
    assert code == 1
    last = json.loads(capfd.readouterr().err.splitlines()[-1])
    assert last["msg"] == "result" and last["result"] == "rolled-back" and last["exit_code"] == 1
    assert last["rolled_back"] is True and "CannotPullContainerError" in last["reason"]


def test_text_log_prints_the_service_diff_with_its_names(sandbox: Any, project: Path, capfd: Any) -> None:
    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["enableExecuteCommand"] = True
    sv_path.write_text(json.dumps(sv))
    assert cli(project, "deploy", "--skip-task-definition")[0] == 0
    err = capfd.readouterr().err
    assert "] --- arn:aws:ecs:us-east-1:123456789012:service/default/web" in err
    assert "] +++ " in err and "ecs-service-def.json" in err
    assert '] +  "enableExecuteCommand": true' in err


def test_register_line_has_no_doubled_arn(sandbox: Any, project: Path, capfd: Any) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "register")[0] == 0
    out, err = capfd.readouterr()
    assert "Task definition is registered app:2" in err and "arn:arn:" not in err
    assert out.strip().endswith(":task-definition/app:2")


def test_scale_says_the_new_count(sandbox: Any, project: Path, capfd: Any) -> None:
    assert cli(project, "scale", "--tasks", "3")[0] == 0
    err = capfd.readouterr().err
    assert "desired count: 2 -> 3" in err and "Service is scaled: 3 tasks of app:1" in err


def test_creating_without_waiting_ends_with_a_closing_line(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    config = make_project(tmp_path, service="api", desired=1)
    seed_service(sandbox, config, create_service=False)
    assert cli(config, "deploy", "--no-wait")[0] == 0
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert "Service api is created with app:2 (not waiting for its tasks)." in last
