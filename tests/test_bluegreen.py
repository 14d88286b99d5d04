"""ECS service deployments and native strategies (BLUE_GREEN, LINEAR, CANARY) against the sandbox:
deploy, wait targets, PAUSE hooks and `continue`, rollbacks through StopServiceDeployment, and the
DescribeServices fallback where the service-deployment API is not answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, service_definition, set_image
from ecspresso.cli import run
from ecspresso.deployments import STAGES

PULL_ERROR = "CannotPullContainerError: nginx:broken not found"


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), *args])


def make(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **deployment: Any) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="web", desired=2,
                          service_def=service_definition(2, deploymentConfiguration=deployment) if deployment else None)  # fmt: skip
    seed_service(sandbox, config)
    assert cli(config, "wait")[0] == 0
    sandbox.operations.clear()
    return config


def service_deployments(sandbox: Any) -> list[dict[str, Any]]:
    return list(sandbox.peek_service("web")["service_deployments"])


def primary_td(sandbox: Any) -> str:
    deps = sandbox.peek_service("web")["deployments"]
    return str(next(d for d in deps if d["status"] == "PRIMARY")["taskDefinition"]).rsplit("/", 1)[-1]


@pytest.fixture
def rolling(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make(sandbox, tmp_path, monkeypatch)


@pytest.fixture
def bluegreen(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make(sandbox, tmp_path, monkeypatch, strategy="BLUE_GREEN", bakeTimeInMinutes=1)


def test_a_rolling_deploy_is_judged_from_its_service_deployment(sandbox: Any, rolling: Path) -> None:
    sandbox.scenario("web", "stable", polls=2)
    set_image(rolling, "nginx:2")
    code, result = cli(rolling, "deploy")
    assert (code, result.result) == (0, "deployed")
    newest = service_deployments(sandbox)[0]
    assert result.service_deployment_arn == newest["serviceDeploymentArn"]
    assert newest["status"] == "SUCCESSFUL"
    assert "DescribeServiceDeployments" in sandbox.operations
    assert result.lifecycle_stages == []  # ROLLING has none


def test_the_describe_services_judgement_is_the_fallback(sandbox: Any, rolling: Path) -> None:
    for op in ("ListServiceDeployments", "DescribeServiceDeployments"):
        sandbox.fault(op, "UnknownOperationException", status=400, times=-1)
    sandbox.scenario("web", "fail", polls=2, rollback=True, reason=PULL_ERROR)
    set_image(rolling, "nginx:broken")
    code, result = cli(rolling, "deploy")
    assert code == 1 and result.result == "rolled-back" and result.rolled_back_by == "ecs"
    assert ":service-deployment/" in result.service_deployment_arn  # named by ECS's answer, though never read
    assert sandbox.operations.count("DescribeServiceDeployments") == 1  # asked once, then not again


def test_blue_green_deploy_walks_every_stage(sandbox: Any, bluegreen: Path, capfd: Any) -> None:
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy")
    err = capfd.readouterr().err
    assert (code, result.result) == (0, "deployed"), err
    assert result.lifecycle_stages == [s for s in STAGES if s in result.lifecycle_stages]  # in order
    assert {"TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"} <= set(
        result.lifecycle_stages
    )
    assert "production 100%" in err and "target app:2" in err
    assert primary_td(sandbox) == "app:2"


def test_blue_green_failing_at_test_traffic_is_reported_rolled_back(sandbox: Any, bluegreen: Path) -> None:
    sandbox.scenario("web", fail_at_stage="TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy")
    assert code == 1 and result.result == "rolled-back" and result.rolled_back
    assert "TEST_TRAFFIC_SHIFT" in result.lifecycle_stages
    assert "PRODUCTION_TRAFFIC_SHIFT" not in result.lifecycle_stages
    assert sandbox.operations.count("UpdateService") == 1  # ECS rolled back; no second rollback
    assert service_deployments(sandbox)[0]["status"] == "ROLLBACK_SUCCESSFUL"
    assert primary_td(sandbox) == "app:1"


def test_wait_until_a_stage_returns_there(sandbox: Any, bluegreen: Path) -> None:
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy", "--wait-until", "ecs:PRODUCTION_TRAFFIC_SHIFT")
    assert (code, result.result) == (0, "stage-reached")
    sd = service_deployments(sandbox)[0]
    assert sd["status"] == "IN_PROGRESS" and sd["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    assert result.lifecycle_stages[-1] == "PRODUCTION_TRAFFIC_SHIFT"


def test_a_pause_hook_is_waited_on_then_released_by_continue(
    sandbox: Any, bluegreen: Path, capfd: Any
) -> None:
    sandbox.scenario("web", pause_at="POST_TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy", "--wait-until", "paused")
    assert (code, result.result) == (0, "paused"), capfd.readouterr().err
    sd = service_deployments(sandbox)[0]
    assert sd["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT" and sd["status"] == "IN_PROGRESS"
    code, result = cli(bluegreen, "continue")
    assert (code, result.result) == (0, "deployed")
    assert "ContinueServiceDeployment" in sandbox.operations
    assert service_deployments(sandbox)[0]["status"] == "SUCCESSFUL" and primary_td(sandbox) == "app:2"
    assert cli(bluegreen, "continue")[0] == 1  # nothing paused any more


def test_a_pause_is_warned_about_while_waiting_for_deployed(
    sandbox: Any, bluegreen: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0.01")
    sandbox.scenario("web", pause_at="POST_TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    code, _ = cli(bluegreen, "deploy", "--timeout", "400ms", "--no-rollback-on-failure")
    err = capfd.readouterr().err
    assert code == 1 and "timed out" in err
    assert err.count("paused at POST_TEST_TRAFFIC_SHIFT by a PAUSE hook") == 1  # warned once
    assert "ecspresso continue" in err


def test_continue_with_rollback_rolls_the_paused_deployment_back(sandbox: Any, bluegreen: Path) -> None:
    sandbox.scenario("web", pause_at="POST_TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    assert cli(bluegreen, "deploy", "--wait-until", "paused")[0] == 0
    code, result = cli(bluegreen, "continue", "--rollback")
    assert (code, result.result) == (0, "rolled-back")
    assert primary_td(sandbox) == "app:1"


@pytest.mark.parametrize(
    ("config", "weights"),
    [({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25}}, ["25%", "50%", "75%", "100%"]),
     ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10}}, ["10%", "100%"])],
)  # fmt: skip
def test_linear_and_canary_deploys_show_each_traffic_step(
    sandbox: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: Any,
    config: dict[str, Any],
    weights: list[str],
) -> None:
    project = make(sandbox, tmp_path, monkeypatch, **config)
    capfd.readouterr()
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert (code, result.result) == (0, "deployed"), err
    shown = [w for w in ("10%", "25%", "50%", "75%", "100%") if f"production {w}" in err]
    assert shown == weights
    assert primary_td(sandbox) == "app:2"


def test_rollback_of_an_in_progress_deployment_goes_through_ecs(sandbox: Any, bluegreen: Path) -> None:
    sandbox.scenario("web", pause_at="POST_TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    assert cli(bluegreen, "deploy", "--wait-until", "paused")[0] == 0
    sandbox.operations.clear()
    code, result = cli(bluegreen, "rollback", "--no-deregister")
    assert (code, result.result) == (0, "rolled-back")
    assert "StopServiceDeployment" in sandbox.operations and "UpdateService" not in sandbox.operations
    assert result.rollback_target_arn == "app:1" and primary_td(sandbox) == "app:1"
    assert service_deployments(sandbox)[0]["status"] == "ROLLBACK_SUCCESSFUL"


def test_automatic_rollback_of_a_stuck_deployment_asks_ecs(
    sandbox: Any, rolling: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0.01")
    sandbox.scenario("web", "never")
    set_image(rolling, "nginx:2")
    code, result = cli(rolling, "deploy", "--rollback-on-failure", "--timeout", "300ms")
    assert code == 1 and result.result == "rolled-back" and result.rolled_back_by == "ecspresso"
    assert "StopServiceDeployment" in sandbox.operations
    assert sandbox.operations.count("UpdateService") == 1  # the deploy's; the rollback is ECS's own
    assert primary_td(sandbox) == "app:1"


def test_tasks_scaled_in_by_the_rollback_are_not_given_as_the_cause(sandbox: Any, bluegreen: Path) -> None:
    sandbox.scenario("web", fail_at_stage="TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy")
    assert code == 1
    assert "Scaling activity" not in result.message
    assert all("Scaling activity" not in t.stopped_reason for t in result.stopped_tasks)


def test_status_shows_the_deployment_in_progress_and_its_pause(
    sandbox: Any, bluegreen: Path, capsys: Any
) -> None:
    sandbox.scenario("web", pause_at="POST_TEST_TRAFFIC_SHIFT")
    set_image(bluegreen, "nginx:2")
    assert cli(bluegreen, "deploy", "--wait-until", "paused")[0] == 0
    capsys.readouterr()
    assert cli(bluegreen, "status")[0] == 0
    out = capsys.readouterr().out
    line = out.split("InProgress:\n", 1)[1].splitlines()[0]
    assert (
        "IN_PROGRESS POST_TEST_TRAFFIC_SHIFT app:2 (from app:1), paused" in line
        and "ecspresso continue" in line
    )


def test_the_service_deployment_named_in_the_answer_is_followed_without_listing(
    sandbox: Any, rolling: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_image(rolling, "nginx:2")
    code, result = cli(rolling, "deploy")
    assert (
        code == 0 and result.service_deployment_arn == service_deployments(sandbox)[0]["serviceDeploymentArn"]
    )
    assert (
        "ListServiceDeployments" not in sandbox.operations
    )  # UpdateService named it (currentServiceDeployment)
    # an endpoint whose answer does not name it: found by listing, created since the command started
    from ecspresso.strategies import ecs as ecs_strategy

    real = ecs_strategy.update_service
    monkeypatch.setattr(ecs_strategy, "update_service", lambda *a: {k: v for k, v in real(*a).items()
                                                                   if k != "currentServiceDeployment"})  # fmt: skip
    sandbox.operations.clear()
    set_image(rolling, "nginx:3")
    code, result = cli(rolling, "deploy")
    assert (
        code == 0 and result.service_deployment_arn == service_deployments(sandbox)[0]["serviceDeploymentArn"]
    )
    assert "ListServiceDeployments" in sandbox.operations


def test_a_strategy_with_stages_falls_back_once_when_the_api_is_not_answered(
    sandbox: Any, bluegreen: Path
) -> None:
    sandbox.fault("DescribeServiceDeployments", "UnknownOperationException", status=400, times=-1)
    set_image(bluegreen, "nginx:2")
    code, result = cli(bluegreen, "deploy")
    assert (code, result.result) == (0, "deployed")  # judged from DescribeServices
    assert sandbox.operations.count("DescribeServiceDeployments") == 1  # asked once, then not again
