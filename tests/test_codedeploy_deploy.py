"""Services deployed by CodeDeploy (deploymentController CODE_DEPLOY) against the sandbox's
CodeDeploy model: deploy, lifecycle events, failure and CodeDeploy's own rollback,
codedeploy:<event> wait targets, rollback of an in-progress deployment, and the Action outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, service_definition, set_image
from ecspresso.cli import run

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef"


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), *args])


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    sv = service_definition(2, deploymentController={"type": "CODE_DEPLOY"},
                            loadBalancers=[{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}])  # fmt: skip
    sv.pop("deploymentConfiguration", None)
    config = make_project(tmp_path, service="web", service_def=sv,
                          config_extra={"codedeploy": {"application_name": "app-web", "deployment_group_name": "dg-web"}})  # fmt: skip
    sandbox.seed(config)
    sandbox.operations.clear()
    return config


def service(sandbox: Any) -> dict[str, Any]:
    return dict(sandbox.peek_service("web"))


def serving(sandbox: Any) -> str:
    return str(service(sandbox)["taskDefinition"]).rsplit("/", 1)[-1]


def test_a_codedeploy_deploy_succeeds_and_reports_its_lifecycle_events(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert (code, result.result) == (0, "deployed"), err
    assert result.deployment_id.startswith("d-") and result.controller == "CODE_DEPLOY"
    assert result.console_url.endswith(f"/deployments/{result.deployment_id}?region=us-east-1")
    assert "lifecycle event AfterAllowTraffic Succeeded" in err
    assert result.lifecycle_stages[-1] == "AfterAllowTraffic"
    assert "CreateDeployment" in sandbox.operations
    assert "taskDefinition" not in str(sandbox.operations)  # (operation names only)
    assert serving(sandbox) == "app:2"


def test_a_failure_at_after_allow_test_traffic_names_the_event_and_codedeploy_rolls_back(
    sandbox: Any, project: Path
) -> None:
    sandbox.codedeploy_scenario("web", "fail", at="AfterAllowTestTraffic", reason="smoke test failed")
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and result.result == "rolled-back" and result.rolled_back_by == "codedeploy"
    assert "lifecycle event AfterAllowTestTraffic failed" in result.message
    assert "CodeDeploy rolled back to app:1" in result.message
    assert sandbox.operations.count("CreateDeployment") == 1  # CodeDeploy's rollback, not a second deploy
    assert serving(sandbox) == "app:1"


def test_without_automatic_rollback_the_failure_is_left_as_it_is(sandbox: Any, project: Path) -> None:
    sandbox.codedeploy_scenario("web", "fail", at="AfterAllowTestTraffic")
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--no-rollback-on-failure")
    assert code == 1 and result.result == "failed" and not result.rolled_back
    assert "lifecycle event AfterAllowTestTraffic failed" in result.message


def test_wait_until_a_lifecycle_event_returns_there(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--wait-until", "codedeploy:AfterAllowTestTraffic")
    assert (code, result.result) == (0, "stage-reached")
    assert service(sandbox)["codedeploy"]["status"] == "InProgress"


def test_rollback_stops_an_in_progress_deployment_and_waits_for_its_rollback(
    sandbox: Any, project: Path
) -> None:
    sandbox.codedeploy_scenario("web", "never", at="AllowTraffic")
    set_image(project, "nginx:2")
    assert cli(project, "deploy", "--no-wait")[0] == 0
    code, result = cli(project, "rollback", "--no-deregister")
    assert (code, result.result) == (0, "rolled-back"), result
    assert "StopDeployment" in sandbox.operations
    assert result.rollback_target_arn == "app:1" and serving(sandbox) == "app:1"


def test_rollback_of_a_finished_deployment_deploys_the_previous_revision(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    code, result = cli(project, "rollback")
    assert (code, result.result) == (0, "rolled-back")
    assert sandbox.operations.count("CreateDeployment") == 2 and serving(sandbox) == "app:1"


def test_a_stage_target_is_refused_for_codedeploy(sandbox: Any, project: Path) -> None:
    assert cli(project, "deploy", "--wait-until", "ecs:TEST_TRAFFIC_SHIFT")[0] == 2
    assert sandbox.mutating_operations() == []


def test_the_action_reports_the_codedeploy_deployment(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from action_harness import run_step

    ws = tmp_path / "workspace"
    sv = service_definition(2, deploymentController={"type": "CODE_DEPLOY"},
                            loadBalancers=[{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}])  # fmt: skip
    sv.pop("deploymentConfiguration", None)
    config = make_project(ws, service="web", service_def=sv,
                          config_extra={"codedeploy": {"application_name": "app-web", "deployment_group_name": "dg-web"}})  # fmt: skip
    sandbox.seed(config)
    sandbox.codedeploy_scenario("web", "fail", at="AfterAllowTestTraffic", reason="smoke test failed")
    set_image(config, "nginx:2")
    step = run_step(ws, sandbox, tmp_path)
    assert step.code == 1
    out = step.outputs
    assert out["result"] == "rolled-back" and out["rolled-back-by"] == "codedeploy"
    assert out["codedeploy-deployment-id"].startswith("d-")
    assert out["console-url"].endswith(f"/deployments/{out['codedeploy-deployment-id']}?region=us-east-1")
    assert "| AfterAllowTestTraffic | Failed |" in step.summary
    assert (
        "in the AWS console](https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/"
        in step.summary
    )


def test_refresh_and_scale_know_the_controller(sandbox: Any, project: Path) -> None:
    code, result = cli(project, "refresh")
    assert (code, result.result) == (0, "deployed")
    assert sandbox.operations.count("CreateDeployment") == 1 and serving(sandbox) == "app:1"
    sandbox.operations.clear()
    code, _ = cli(project, "scale", "--tasks", "3")
    assert code == 0
    assert "CreateDeployment" not in sandbox.operations and "UpdateService" in sandbox.operations


def test_wait_follows_the_deployment_in_progress_or_returns_when_there_is_none(
    sandbox: Any, project: Path
) -> None:
    assert cli(project, "wait")[0] == 0  # nothing in progress
    set_image(project, "nginx:2")
    assert cli(project, "deploy", "--no-wait")[0] == 0
    assert cli(project, "wait", "--until", "codedeploy:AfterAllowTestTraffic")[0] == 0
    assert service(sandbox)["codedeploy"]["status"] == "InProgress"
    assert cli(project, "wait")[0] == 0
    assert serving(sandbox) == "app:2"


def test_a_crashing_replacement_task_set_explains_itself_with_its_container_lines(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    import json

    td_path = project.parent / "ecs-task-def.json"
    td = json.loads(td_path.read_text())
    td["containerDefinitions"][0]["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ecs/app",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "web",
        },
    }
    td_path.write_text(json.dumps(td))
    # a target group gone from ELBv2 (the seed creates the definition's): one note, not a second failure
    svc = sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][0]
    sandbox.client("elbv2").delete_target_group(TargetGroupArn=svc["loadBalancers"][0]["targetGroupArn"])
    set_image(project, "nginx:2")
    sandbox.codedeploy_scenario(
        "web", "fail", exit_code=3, failed_tasks=2, log_lines=["boot", "config missing: DB_URL"]
    )
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert code == 1
    (group,) = result.explanation.groups
    assert (group.count, group.container, group.log_lines) == (2, "app", ["boot", "config missing: DB_URL"])
    assert err.count("| config missing: DB_URL") == 1
    assert "2 tasks: container app: exit code 3" in err
    assert "could not read the health of target group web-blue: TargetGroupNotFound" in err
