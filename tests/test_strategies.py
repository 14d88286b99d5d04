"""The strategy seam: chosen once from the service; what each strategy accepts; refusals before
any write. (Blue/green, linear and canary rollouts against the sandbox: test_bluegreen.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, set_image
from ecspresso.cli import run
from ecspresso.deployments import WaitUntil
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.strategies import choose


@pytest.mark.parametrize(
    ("service", "controller", "name"),
    [
        (None, "ECS", "ROLLING"),
        ({}, "ECS", "ROLLING"),
        ({"deploymentConfiguration": {"strategy": "BLUE_GREEN"}}, "ECS", "BLUE_GREEN"),
        ({"deploymentConfiguration": {"strategy": "LINEAR"}}, "ECS", "LINEAR"),
        ({"deploymentConfiguration": {"strategy": "CANARY"}}, "ECS", "CANARY"),
        ({"deploymentController": {"type": "CODE_DEPLOY"}}, "CODE_DEPLOY", "CODE_DEPLOY"),
        ({"deploymentController": {"type": "EXTERNAL"}}, "EXTERNAL", "EXTERNAL"),
    ],
)
def test_chosen_once_from_the_service(service: dict[str, Any] | None, controller: str, name: str) -> None:
    strategy = choose(service)
    assert (strategy.controller, strategy.name) == (controller, name)


def test_codedeploy_takes_lifecycle_events_not_ecs_stages() -> None:
    codedeploy = choose({"deploymentController": {"type": "CODE_DEPLOY"}})
    assert codedeploy.wait_until("codedeploy:AfterAllowTestTraffic") == WaitUntil(
        "event", "AfterAllowTestTraffic"
    )
    with pytest.raises(UsageError, match="codedeploy:<event>"):
        codedeploy.wait_until("ecs:TEST_TRAFFIC_SHIFT")
    with pytest.raises(UsageError, match="unknown lifecycle event"):
        codedeploy.wait_until("codedeploy:Nope")
    with pytest.raises(UsageError, match="services deployed by CodeDeploy"):
        choose({}).wait_until("codedeploy:AllowTraffic")


def test_stage_and_pause_targets_need_a_strategy_with_stages() -> None:
    bluegreen = choose({"deploymentConfiguration": {"strategy": "BLUE_GREEN"}})
    assert bluegreen.wait_until("ecs:PRODUCTION_TRAFFIC_SHIFT") == WaitUntil(
        "stage", "PRODUCTION_TRAFFIC_SHIFT"
    )
    assert bluegreen.wait_until("paused") == WaitUntil("paused")
    rolling = choose({})
    assert rolling.wait_until("deployed") == WaitUntil("deployed")
    for target in ("ecs:TEST_TRAFFIC_SHIFT", "paused"):
        with pytest.raises(UsageError, match="ROLLING strategy"):
            rolling.wait_until(target)
    with pytest.raises(UsageError, match="unknown lifecycle stage"):
        bluegreen.wait_until("ecs:TRAFFIC")


def test_unsupported_controllers_refuse_before_anything(sandbox: Any) -> None:
    strategy = choose({"deploymentController": {"type": "EXTERNAL"}})
    with pytest.raises(EcspressoError, match="EXTERNAL is not supported"):
        strategy.ensure_supported()
    choose({"deploymentController": {"type": "CODE_DEPLOY"}}).ensure_supported()


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    assert run(["--config", str(config), "wait"])[0] == 0
    sandbox.operations.clear()
    return config


def test_a_stage_target_on_a_rolling_service_is_a_usage_error_with_no_write(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    set_image(project, "nginx:2")
    code, _ = run(["--config", str(project), "deploy", "--wait-until", "ecs:PRODUCTION_TRAFFIC_SHIFT"])
    assert code == 2
    assert "ROLLING strategy" in capfd.readouterr().err
    assert sandbox.mutating_operations() == []


def test_a_bad_wait_target_is_refused_by_the_parser(project: Path, capfd: Any) -> None:
    assert run(["--config", str(project), "deploy", "--wait-until", "soon"])[0] == 2
    assert "--wait-until 'soon'" in capfd.readouterr().err


def test_continue_with_nothing_paused_says_so(sandbox: Any, project: Path, capfd: Any) -> None:
    code, _ = run(["--config", str(project), "continue"])
    assert code == 1
    assert "nothing to continue" in capfd.readouterr().err
    assert sandbox.mutating_operations() == []
