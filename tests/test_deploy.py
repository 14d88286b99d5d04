"""deploy, refresh, scale, rollback and wait against the sandbox (moto + rollout simulator).

Each test drives the real CLI in-process (``ecspresso.cli.run``) with ``AWS_ENDPOINT_URL`` on the
sandbox, so flags, option building, the engine and the exit code are all exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, set_image
from ecspresso.cli import run

PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:broken not found"
)


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    monkeypatch.delenv("AWS_REGION", raising=False)
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    config = make_project(tmp_path, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    code, _ = run(["--config", str(config), "wait"])  # let the first deployment settle
    assert code == 0
    sandbox.operations.clear()
    return config


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), *args])


def service_of(sandbox: Any) -> dict[str, Any]:
    return sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][0]


def primary_td(sandbox: Any) -> str:
    svc = service_of(sandbox)
    return next(d["taskDefinition"] for d in svc["deployments"] if d["status"] == "PRIMARY").rsplit("/", 1)[
        -1
    ]


def td_status(sandbox: Any, name: str) -> str:
    return str(
        sandbox.client("ecs").describe_task_definition(taskDefinition=name)["taskDefinition"]["status"]
    )


def test_deploy_succeeds_after_the_rollout_completes(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "stable", polls=3)
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert code == 0, err
    assert result.result == "deployed"
    assert result.task_definition_arn.endswith("app:2")
    assert result.previous_task_definition_arn.endswith("app:1")
    assert result.deployment_id.startswith("ecs-svc/")
    assert primary_td(sandbox) == "app:2"
    assert "Task definition is registered app:2" in err
    assert "has reached a steady state" in err  # events are streamed
    assert "PRIMARY app:2" in err  # deployment lines
    assert sandbox.operations.count("UpdateService") == 1  # one call (ecspresso#929)


def test_circuit_breaker_failure_without_rollback_is_a_failure_with_reasons(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    sandbox.scenario("web", "fail", polls=3, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert code == 1
    assert result.result == "failed" and not result.rolled_back
    assert "circuit breaker" in err
    assert "CannotPullContainerError" in err  # the stopped tasks' reason is shown
    assert result.stopped_tasks and all(
        "CannotPullContainerError" in t.summary() for t in result.stopped_tasks
    )
    assert err.strip().splitlines()[-1].split(" ", 1)[1].startswith("[ERROR] FAILED. deploy failed")


def test_ecs_circuit_breaker_rollback_is_reported_as_failure(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "fail", polls=2, rollback=True, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy")
    err = capfd.readouterr().err
    assert code == 1  # never "success" when ECS rolled back (ecspresso#732, aws-actions#191)
    assert result.result == "rolled-back" and result.rolled_back
    assert result.rollback_target_arn.endswith("app:1")
    assert "ECS rolled back to app:1" in err
    assert primary_td(sandbox) == "app:1"


def test_timeout_says_what_is_pending(
    sandbox: Any, project: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0.02")
    sandbox.scenario("web", "never")
    set_image(project, "nginx:2")
    code, _ = cli(project, "deploy", "--timeout", "300ms")
    err = capfd.readouterr().err
    assert code == 1
    assert "timed out after 300ms" in err and "tasks running" in err


def test_fail_fast_after_task_failures(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "fail", polls=50, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, _ = cli(project, "deploy", "--fail-after-task-failures", "2")
    err = capfd.readouterr().err
    assert code == 1
    assert "2 task(s) of the new deployment failed to start" in err
    assert sandbox.operations.count("DescribeServices") < 10  # did not sit until the rollout gave up
    assert "CannotPullContainerError" in err


def test_automatic_rollback_to_the_previous_revision(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "fail", polls=2, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure", "--deregister-failed")
    err = capfd.readouterr().err
    assert code == 1  # a rolled-back deploy is still a red step
    assert result.result == "rolled-back" and result.rolled_back
    assert result.rollback_target_arn.endswith("app:1")
    assert primary_td(sandbox) == "app:1"
    assert td_status(sandbox, "app:2") == "INACTIVE"
    assert "rolled back to app:1" in err
    assert sandbox.operations.count("UpdateService") == 2  # the deploy and one rollback: never loops


def test_rollback_events_deployment_failure_turns_on_automatic_rollback(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "fail", polls=2, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-events", "DEPLOYMENT_FAILURE")
    assert code == 1 and result.result == "rolled-back"
    assert primary_td(sandbox) == "app:1"
    assert td_status(sandbox, "app:2") == "ACTIVE"  # not deregistered without --deregister-failed


def test_automatic_rollback_when_ecs_already_rolled_back_does_not_update_again(
    sandbox: Any, project: Path
) -> None:
    sandbox.scenario("web", "fail", polls=2, rollback=True, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and result.result == "rolled-back"
    assert sandbox.operations.count("UpdateService") == 1
    assert primary_td(sandbox) == "app:1"


def test_throttling_and_5xx_on_every_operation_do_not_fail_a_deploy(sandbox: Any, project: Path) -> None:
    for op in ("DescribeServices", "RegisterTaskDefinition", "UpdateService", "DescribeTaskDefinition"):
        sandbox.fault(op, "ThrottlingException", status=400, times=2)
    sandbox.fault("UpdateService", "ServerException", status=500, times=1)
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy")
    assert code == 0 and result.result == "deployed"
    assert sandbox.operations.count("UpdateService") >= 4  # 3 refused, then accepted
    assert primary_td(sandbox) == "app:2"


def test_dry_run_makes_no_write(sandbox: Any, project: Path, capsys: Any) -> None:
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--dry-run", "--tasks", "3", "--force-new-deployment")
    out = capsys.readouterr().out
    assert code == 0 and result.result == "dry-run"
    assert sandbox.mutating_operations() == []
    # the plan: the task definition's diff, then what a deploy would do
    assert '-      "image": "nginx:1",\n+      "image": "nginx:2",' in out
    assert "  task definition: register a new revision of app (2 changed lines against app:1)" in out
    assert "  desired count: 2 -> 3" in out and "--force-new-deployment: every task would be replaced" in out
    assert result.changed is True and out.rstrip().endswith("=> changes would be made")
    assert len(out.splitlines()) < 30  # a plan, not a dump of every field


def test_dry_run_of_what_already_runs_says_nothing_would_change(
    sandbox: Any, project: Path, capsys: Any
) -> None:
    code, result = cli(project, "deploy", "--dry-run")
    out = capsys.readouterr().out
    assert code == 0 and result.changed is False and result.diff == ""
    assert "task definition: no difference from app:1" in out and "service attributes: no change" in out
    assert out.rstrip().endswith("=> nothing would change in what the service runs")
    assert sandbox.mutating_operations() == []


def test_dry_run_shows_a_service_attribute_change(sandbox: Any, project: Path, capsys: Any) -> None:
    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["enableExecuteCommand"] = True
    sv_path.write_text(json.dumps(sv))
    code, result = cli(project, "deploy", "--dry-run", "--skip-task-definition")
    out = capsys.readouterr().out
    assert code == 0 and result.changed is True
    assert '+  "enableExecuteCommand": true' in out and "task definition: keep app:1" in out
    assert "service attributes: " in out and "changed lines" in out
    assert sandbox.mutating_operations() == []


def test_create_path_creates_a_missing_service(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="api", desired=2)
    seed_service(sandbox, config, create_service=False)
    code, result = cli(config, "deploy")
    assert code == 0, result
    svc = sandbox.client("ecs").describe_services(cluster="default", services=["api"])["services"][0]
    assert svc["desiredCount"] == 2 and svc["taskDefinition"].endswith("app:2")
    assert svc["launchType"] == "FARGATE"


def test_auto_scaling_suspend_and_resume(sandbox: Any, project: Path) -> None:
    aas = sandbox.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/default/web",
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4)  # fmt: skip

    def suspended() -> dict[str, bool]:
        target = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/default/web"])[
            "ScalableTargets"
        ][0]
        return dict(target.get("SuspendedState", {}))

    assert cli(project, "deploy", "--suspend-auto-scaling", "--auto-scaling-max", "8")[0] == 0
    assert suspended()["DynamicScalingInSuspended"] is True
    target = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/default/web"])[
        "ScalableTargets"
    ][0]
    assert target["MaxCapacity"] == 8
    assert cli(project, "scale", "--resume-auto-scaling")[0] == 0
    assert suspended()["DynamicScalingOutSuspended"] is False


def test_service_attribute_change_is_applied_in_the_same_update(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    import json

    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["enableExecuteCommand"] = True
    sv_path.write_text(json.dumps(sv))
    code, _ = cli(project, "deploy")
    assert code == 0
    assert "service attributes will change" in capfd.readouterr().err
    assert service_of(sandbox)["enableExecuteCommand"] is True
    assert sandbox.operations.count("UpdateService") == 1


def test_refresh_replaces_tasks_without_registering(sandbox: Any, project: Path) -> None:
    before = service_of(sandbox)["deployments"][0]["id"]
    code, result = cli(project, "refresh")
    assert code == 0 and result.result == "deployed"
    assert "RegisterTaskDefinition" not in sandbox.operations
    assert result.deployment_id != before
    assert primary_td(sandbox) == "app:1"


def test_refresh_failure_does_not_roll_back_to_the_same_revision(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    sandbox.scenario("web", "fail", polls=2, reason="Essential container in task exited")
    code, result = cli(
        project, "deploy", "--skip-task-definition", "--force-new-deployment", "--rollback-on-failure"
    )
    assert code == 1 and result.result == "failed"
    assert "nothing to roll back to" in capfd.readouterr().err


def test_scale_sets_the_desired_count_and_waits_until_stable(sandbox: Any, project: Path) -> None:
    code, _ = cli(project, "scale", "--tasks", "3")
    assert code == 0
    assert service_of(sandbox)["desiredCount"] == 3
    assert "RegisterTaskDefinition" not in sandbox.operations


def test_deploy_explicit_revision_and_latest(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "register")[0] == 0  # app:2, not deployed
    assert cli(project, "deploy", "--latest-task-definition")[0] == 0
    assert primary_td(sandbox) == "app:2"
    assert cli(project, "deploy", "--revision", "1")[0] == 0
    assert primary_td(sandbox) == "app:1"


def test_rollback_command_goes_to_the_previous_revision_and_deregisters(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    code, result = cli(project, "rollback")
    assert code == 0 and result.result == "rolled-back"
    assert primary_td(sandbox) == "app:1"
    assert td_status(sandbox, "app:2") == "INACTIVE"


def test_rollback_dry_run_and_no_wait_rules(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    sandbox.operations.clear()
    code, result = cli(project, "rollback", "--dry-run")
    assert code == 0 and result.result == "dry-run"
    assert sandbox.mutating_operations() == []
    assert cli(project, "rollback", "--no-wait")[0] == 2  # needs --no-deregister-task-definition
    assert cli(project, "rollback", "--no-wait", "--no-deregister")[0] == 0


def test_rollback_never_targets_an_inactive_revision(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    set_image(project, "nginx:3")
    assert cli(project, "deploy")[0] == 0
    sandbox.client("ecs").deregister_task_definition(taskDefinition="app:2")
    code, _ = cli(project, "rollback", "--no-deregister")
    assert code == 0 and primary_td(sandbox) == "app:1"  # skipped the INACTIVE app:2
    assert cli(project, "rollback", "--revision", "2")[0] == 1


def test_wait_reports_a_failed_deployment(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "fail", polls=2, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    assert cli(project, "deploy", "--no-wait")[0] == 0
    code, result = cli(project, "wait", "--until", "deployed")
    assert code == 1 and "circuit breaker" in result.message


def test_deploy_of_the_running_revision_changes_nothing(sandbox: Any, project: Path) -> None:
    code, result = cli(project, "deploy", "--skip-task-definition")
    assert code == 0 and result.result == "no-change"
    assert result.deployment_id == ""  # no deployment was created by this step
    code, result = cli(project, "deploy", "--skip-task-definition", "--tasks", "3")
    assert code == 0 and result.result == "deployed"


def test_deploy_result_carries_the_diff_of_what_changed_where_it_is_shown(
    sandbox: Any, project: Path
) -> None:
    from ecspresso.report import Reporter

    class Showing(Reporter):
        shows_diff = True  # as the Action's reporter: its job summary shows the diff

    set_image(project, "nginx:2")
    code, result = run(["--config", str(project), "deploy"], reporter=Showing())
    assert code == 0
    changed = [
        line
        for line in result.diff.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    assert changed == ['-      "image": "nginx:1",', '+      "image": "nginx:2",']


def test_a_plain_cli_deploy_makes_five_calls(sandbox: Any, project: Path) -> None:
    """The CLI shows no task definition diff, so it does not pay a DescribeTaskDefinition for one."""
    sandbox.scenario("web", "stable", polls=0)
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy")
    assert code == 0 and result.result == "deployed" and result.diff == ""
    assert sorted(sandbox.operations) == sorted(
        ["DescribeServices", "RegisterTaskDefinition", "UpdateService", "DescribeServices",
         "DescribeServiceDeployments"]
    ), sandbox.operations  # fmt: skip


def test_every_operation_of_a_deploy_survives_throttling(sandbox: Any, project: Path) -> None:
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    operations = set(sandbox.operations)
    assert {"DescribeServices", "RegisterTaskDefinition", "UpdateService"} <= operations
    sandbox.operations.clear()
    for op in operations:
        sandbox.fault(op, "ThrottlingException", status=400, times=2)
    set_image(project, "nginx:3")
    code, result = cli(project, "deploy")
    assert code == 0 and result.result == "deployed"
    for op in operations:
        assert sandbox.operations.count(op) >= 3, op  # two throttled attempts, then the real one
