"""What users must be able to trust, tried as an attacker would (issue: trust).

Concurrent jobs on one service, transient and ambiguous AWS answers, faults after a call took
effect, signals outside the main wait, rollbacks that fail. Each test drives the real CLI
in-process against the sandbox and fails when the guarded line is broken (see README, "Plant the
bug").
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, set_image
from ecspresso.cli import run

PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:broken not found"
)
MISSING = {"services": [], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/default/web", "reason": "MISSING"}]}  # fmt: skip


@pytest.fixture
def project(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    monkeypatch.delenv("AWS_REGION", raising=False)
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    config = make_project(tmp_path, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    assert run(["--config", str(config), "wait"])[0] == 0
    sandbox.operations.clear()
    return config


def cli(config: Path, *args: str) -> tuple[int, Any]:
    return run(["--config", str(config), *args])


def primary_of(sandbox: Any) -> dict[str, Any]:
    """The PRIMARY deployment as the simulator holds it (no DescribeServices: no step of time)."""
    return next(d for d in sandbox.peek_service("web")["deployments"] if d["status"] == "PRIMARY")


def primary_td(sandbox: Any) -> str:
    return str(primary_of(sandbox)["taskDefinition"]).rsplit("/", 1)[-1]


def deploying(sandbox: Any, name: str) -> bool:
    """Whether the simulator has started a deployment of ``name`` (the request has been applied,
    not only received)."""
    return any(
        str(d["taskDefinition"]).endswith("/" + name) for d in sandbox.peek_service("web")["deployments"]
    )


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


def in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        box["value"] = fn(*args)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


# -- 1, 2: concurrent deploys ---------------------------------------------------------------------


def test_a_newer_deploy_by_another_job_is_never_rolled_back(sandbox: Any, project: Path, capfd: Any) -> None:
    """Job A (rollback on failure) and job B deploy the same service; B's newer release wins and
    A neither undoes it nor calls it an ECS rollback."""
    sandbox.scenario("web", "never")
    set_image(project, "nginx:2")
    job_a, box = in_thread(cli, project, "deploy", "--rollback-on-failure", "--timeout", "60s")
    wait_for(lambda: deploying(sandbox, "app:2"))  # A's deployment exists
    sandbox.scenario("web", "stable", polls=3)
    set_image(project, "nginx:3")
    code_b, result_b = cli(project, "deploy")
    job_a.join(30)
    code_a, result_a = box["value"]
    err = capfd.readouterr().err
    assert (code_b, result_b.result) == (0, "deployed"), err
    assert code_a == 1 and result_a.result == "superseded" and not result_a.rolled_back, err
    assert "superseded by deployment" in result_a.message and "app:3" in result_a.message
    assert "ECS rolled" not in result_a.message and "circuit breaker" not in result_a.message
    assert primary_td(sandbox) == "app:3"
    assert sandbox.operations.count("UpdateService") == 2  # A's and B's deploys, no rollback
    assert "rolled back" not in err.lower()


def test_a_manual_change_during_a_deploy_is_named_and_kept(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "never")
    set_image(project, "nginx:2")
    job, box = in_thread(cli, project, "deploy", "--rollback-on-failure", "--timeout", "60s")
    wait_for(lambda: deploying(sandbox, "app:2"))
    sandbox.client("ecs").update_service(cluster="default", service="web", taskDefinition="app:1")
    job.join(30)
    code, result = box["value"]
    assert code == 1 and result.result == "superseded" and not result.rolled_back
    assert "changed by someone else" in result.message
    assert primary_td(sandbox) == "app:1"
    assert sandbox.operations.count("UpdateService") == 2  # the deploy and the person's change


def test_no_automatic_rollback_over_a_deploy_that_started_after_ours(sandbox: Any, project: Path) -> None:
    """The failure was decided before the newer deploy was seen: the re-read before rolling back
    finds it and stands down."""
    from ecs_fixtures import make_app
    from ecspresso.recovery import after_failed_deploy
    from ecspresso.report import Result
    from ecspresso.rollout import State, Verdict, primary
    from ecspresso.strategies import choose
    from ecspresso.watch import WaitOutcome

    sandbox.scenario("web", "never")
    set_image(project, "nginx:2")
    assert cli(project, "deploy", "--no-wait")[0] == 0
    app = make_app(sandbox, project)
    ours = primary(
        sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][0]
    )
    assert ours is not None
    set_image(project, "nginx:3")
    assert cli(project, "deploy", "--no-wait")[0] == 0  # another job's newer release
    result = Result(command="deploy", task_definition_arn=ours["taskDefinition"], deployment_id=ours["id"])
    outcome = WaitOutcome(Verdict(State.FAILED, "timed out after 10m0s waiting for the deployment"), None)
    code = after_failed_deploy(app, choose(None), result, outcome, serving=_arn("app:1"), serving_note="completed",
                               created_at=ours["createdAt"], roll_back=True, deregister_failed=False)  # fmt: skip
    assert code == 1 and result.result == "superseded" and not result.rolled_back
    assert "a newer release, started after this one" in result.message
    assert primary_td(sandbox) == "app:3"


def _arn(name: str) -> str:
    return f"arn:aws:ecs:us-east-1:123456789012:task-definition/{name}"


# -- 3: a transient MISSING answer ---------------------------------------------------------------


def test_one_missing_answer_mid_wait_is_not_a_verdict(sandbox: Any, project: Path, capfd: Any) -> None:
    sandbox.scenario("web", "stable", polls=3)
    sandbox.fault("DescribeServices", body=MISSING, skip=1, times=1)  # the first poll after the update
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert (code, result.result) == (0, "deployed"), capfd.readouterr().err
    assert sandbox.operations.count("UpdateService") == 1
    assert primary_td(sandbox) == "app:2"


def test_a_service_that_stays_missing_is_never_rolled_back(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "never")
    sandbox.fault("DescribeServices", body=MISSING, skip=1, times=-1)
    set_image(project, "nginx:2")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and result.result == "failed" and not result.rolled_back
    assert "not found" in result.message and "nothing was rolled back" in result.message
    assert sandbox.operations.count("UpdateService") == 1


# -- 4: the rollback target -----------------------------------------------------------------------


def test_automatic_rollback_goes_to_the_revision_serving_not_a_failed_primary(
    sandbox: Any, project: Path
) -> None:
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)  # app:2 fails, no rollback: PRIMARY FAILED
    set_image(project, "nginx:broken")
    assert cli(project, "deploy")[0] == 1
    assert primary_td(sandbox) == "app:2"  # the failed revision is PRIMARY, app:1 still serves
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:broken-again")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and result.result == "rolled-back"
    assert result.rollback_target_arn.endswith("app:1") and primary_td(sandbox) == "app:1"
    assert result.previous_task_definition_arn.endswith("app:1")


def test_no_rollback_when_no_revision_ever_served(sandbox: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="web", image="nginx:broken", desired=2)
    seed_service(sandbox, config, create_service=False)
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    assert cli(config, "deploy")[0] == 1  # created, first deployment FAILED
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(config, "nginx:still-broken")
    sandbox.operations.clear()
    code, result = cli(config, "deploy", "--rollback-on-failure")
    assert code == 1 and not result.rolled_back
    assert "cannot be established" in result.message and "left as it is" in result.message
    assert sandbox.operations.count("UpdateService") == 1


def test_rollback_after_an_automatic_rollback_skips_the_failed_revision(
    sandbox: Any, project: Path, capsys: Any
) -> None:
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    assert cli(project, "deploy", "--rollback-on-failure")[0] == 1  # app:2 failed, back on app:1
    set_image(project, "nginx:3")
    assert cli(project, "deploy")[0] == 0  # app:3 serves
    code, _ = cli(project, "rollback", "--no-deregister")
    assert code == 0 and primary_td(sandbox) == "app:1"  # not the failed app:2
    capsys.readouterr()
    assert cli(project, "revisions", "--output", "tsv")[0] == 0
    rows = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert "failed" in rows["app:2"] and "failed" not in rows["app:1"]


def test_a_successful_redeploy_clears_the_failed_mark(sandbox: Any, project: Path) -> None:
    from ecspresso.failed_marks import FAILED_TAG

    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:2")
    assert cli(project, "deploy", "--rollback-on-failure")[0] == 1
    tags = sandbox.client("ecs").list_tags_for_resource(resourceArn=_arn("app:2"))["tags"]
    assert FAILED_TAG in {t["key"] for t in tags}
    assert cli(project, "deploy", "--revision", "2")[0] == 0  # the image was pushed after all
    tags = sandbox.client("ecs").list_tags_for_resource(resourceArn=_arn("app:2"))["tags"]
    assert FAILED_TAG not in {t["key"] for t in tags}


def test_no_automatic_rollback_to_an_inactive_revision(sandbox: Any, project: Path) -> None:
    sandbox.client("ecs").deregister_task_definition(taskDefinition="app:1")  # still serving, but INACTIVE
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and not result.rolled_back
    assert "not rolling back to app:1: it is INACTIVE" in result.message
    assert sandbox.operations.count("UpdateService") == 1


# -- 5: faults after a call took effect ----------------------------------------------------------


def test_update_service_that_failed_after_taking_effect_is_followed(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    sandbox.scenario("web", "stable", polls=2)
    sandbox.fault("UpdateService", "ServerException", status=500, times=-1, after=True)
    set_image(project, "nginx:2")
    code, result = cli(project, "--max-attempts", "2", "deploy")
    err = capfd.readouterr().err
    assert (code, result.result) == (0, "deployed"), err
    assert result.deployment_id.startswith("ecs-svc/")
    assert "failed after it took effect" in err
    assert primary_td(sandbox) == "app:2"


def test_update_service_that_failed_without_effect_says_so(sandbox: Any, project: Path) -> None:
    sandbox.fault("UpdateService", "ServerException", status=500, times=-1)
    set_image(project, "nginx:2")
    code, _ = cli(project, "--max-attempts", "2", "deploy")
    assert code == 1
    assert primary_td(sandbox) == "app:1"


def test_throttling_beyond_the_retry_budget_mid_wait_keeps_waiting(
    sandbox: Any, project: Path, capfd: Any
) -> None:
    sandbox.scenario("web", "stable", polls=2)
    sandbox.fault("DescribeServices", "ThrottlingException", status=400, skip=1, times=6)
    set_image(project, "nginx:2")
    code, result = cli(project, "--max-attempts", "2", "deploy")
    err = capfd.readouterr().err
    assert (code, result.result) == (0, "deployed"), err
    assert "still waiting" in err


# -- 6, 7: when the rollback fails, and when ECS is already rolling back --------------------------


def test_a_failed_rollback_keeps_the_original_reason(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    sandbox.fault("UpdateService", "AccessDeniedException", status=400, skip=1, times=-1)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 1 and result.result == "failed" and not result.rolled_back
    assert "CannotPullContainerError" in result.message
    assert "rollback to app:1 failed too" in result.message and "AccessDenied" in result.message
    assert result.current_task_definition_arn.endswith("app:2")  # what is true now
    assert result.task_definition_arn.endswith("app:2")


def test_time_out_while_ecs_rolls_back_sends_no_second_rollback(
    sandbox: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0.01")
    sandbox.scenario("web", "fail", polls=1, rollback=True, rollback_polls=100_000, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure", "--timeout", "500ms")
    assert code == 1 and not result.rolled_back
    assert "ECS's rollback to app:1 had not finished" in result.message
    assert sandbox.operations.count("UpdateService") == 1


def test_an_ecs_rollback_is_reported_complete_only_once_it_is(sandbox: Any, project: Path) -> None:
    sandbox.scenario("web", "fail", polls=1, rollback=True, rollback_polls=4, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy")
    assert code == 1 and result.result == "rolled-back" and result.rolled_back_by == "ecs"
    prim = primary_of(sandbox)
    assert prim["taskDefinition"].endswith("app:1") and prim["rolloutState"] == "COMPLETED"


# -- 10: every input before the first write ------------------------------------------------------


def test_a_bad_service_definition_registers_nothing(sandbox: Any, project: Path, capfd: Any) -> None:
    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["desiredCount"] = "two"
    sv_path.write_text(json.dumps(sv))
    set_image(project, "nginx:2")
    code, _ = cli(project, "deploy")
    assert code == 1
    assert "ecs-service-def.json" in capfd.readouterr().err
    assert sandbox.mutating_operations() == []


# -- 14: signals outside the main wait ------------------------------------------------------------


def test_a_signal_while_waiting_for_the_rollback_exits_130(
    sandbox: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecspresso.app import Timing
    from ecspresso.errors import Interrupted

    real_sleep = Timing.sleep

    def sleep(self: Timing, seconds: float) -> None:
        if sandbox.operations.count("UpdateService") >= 2:  # the rollback has started
            raise Interrupted("SIGTERM")
        real_sleep(self, seconds)

    monkeypatch.setattr(Timing, "sleep", sleep)
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    code, result = cli(project, "deploy", "--rollback-on-failure")
    assert code == 130
    assert "interrupted by SIGTERM while waiting for the rollback to app:1" in result.message
    assert "CannotPullContainerError" in result.message and "failed too" not in result.message


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_during_update_service_says_a_deployment_may_have_started(
    sandbox: Any, project: Path
) -> None:
    from ecspresso.cli import install_signal_handlers

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    install_signal_handlers()
    sandbox.fault("UpdateService", "delay", delay=1.0)  # in flight long enough to be interrupted

    def kill_when_in_flight() -> None:
        wait_for(lambda: "UpdateService" in sandbox.operations)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=kill_when_in_flight, daemon=True)
    killer.start()
    try:
        set_image(project, "nginx:2")
        code, result = cli(project, "deploy")
    finally:
        killer.join(5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert code == 130
    assert "during UpdateService: a deployment of app:2 may have been started" in result.message
    wait_for(lambda: deploying(sandbox, "app:2"))  # and it was: the call was applied after the signal


# -- 15: rollback with auto scaling, empty tags ----------------------------------------------------


def test_rollback_with_auto_scaling_flags_on_a_scalable_service(sandbox: Any, project: Path) -> None:
    sandbox.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/default/web", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=4)  # fmt: skip
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0
    code, result = cli(project, "rollback", "--suspend-auto-scaling", "--no-deregister")
    assert (code, result.result) == (0, "rolled-back")
    assert "RegisterScalableTarget" in sandbox.operations


def test_empty_tags_are_dropped_as_ecs_refuses_them(sandbox: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service="web", desired=2)
    seed_service(sandbox, config, create_service=False)
    for name in ("ecs-task-def.json", "ecs-service-def.json"):
        doc = json.loads((tmp_path / name).read_text())
        (tmp_path / name).write_text(json.dumps({**doc, "tags": []}))
    code, result = cli(config, "deploy")  # the create path: RegisterTaskDefinition + CreateService
    assert code == 0, result
    set_image(config, "nginx:2")
    assert cli(config, "deploy")[0] == 0  # the update path


# -- promises: dry-run -----------------------------------------------------------------------------


def test_dry_run_writes_nothing_with_tags_and_auto_scaling_to_change(sandbox: Any, project: Path) -> None:
    sandbox.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/default/web", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=4)  # fmt: skip
    set_image(project, "nginx:2")
    assert cli(project, "deploy")[0] == 0  # app:2, so that rollback has somewhere to go
    sv_path = project.parent / "ecs-service-def.json"
    sv = json.loads(sv_path.read_text())
    sv["tags"] = [{"key": "team", "value": "payments"}]
    sv_path.write_text(json.dumps(sv))
    set_image(project, "nginx:3")
    sandbox.operations.clear()
    for args in (("deploy", "--suspend-auto-scaling", "--auto-scaling-max", "9"), ("scale", "--tasks", "3", "--suspend-auto-scaling"),
                 ("rollback", "--suspend-auto-scaling"), ("refresh",)):  # fmt: skip
        code, result = cli(project, *args, "--dry-run")
        assert (code, result.result) == (0, "dry-run"), args
    assert sandbox.mutating_operations() == []


def test_rollback_goes_to_the_newest_older_revision_not_the_oldest(sandbox: Any, project: Path) -> None:
    for image in ("nginx:2", "nginx:3"):
        set_image(project, image)
        assert cli(project, "deploy")[0] == 0
    code, result = cli(project, "rollback", "--no-deregister")
    assert code == 0 and result.rollback_target_arn.endswith("app:2")
    assert primary_td(sandbox) == "app:2"


def test_events_are_printed_once_and_old_ones_never(sandbox: Any, project: Path, capfd: Any) -> None:
    set_image(project, "nginx:2")
    _, first = cli(project, "deploy")
    capfd.readouterr()
    sandbox.scenario("web", "stable", polls=4)
    set_image(project, "nginx:3")
    _, second = cli(project, "deploy")
    err = capfd.readouterr().err
    assert f"(deployment {first.deployment_id}) deployment completed" not in err  # the earlier deploy's
    done = f"(deployment {second.deployment_id}) deployment completed"
    assert err.count(done) == 1
    events = [line.split("] ", 2)[-1] for line in err.splitlines() if "(service web)" in line]
    assert events and len(events) == len(set(events)), events


def test_the_failed_mark_is_not_a_difference(sandbox: Any, project: Path, capsys: Any) -> None:
    sandbox.scenario("web", "fail", polls=1, reason=PULL_ERROR)
    set_image(project, "nginx:broken")
    assert cli(project, "deploy")[0] == 1  # app:2 failed and stays PRIMARY, tagged as failed
    capsys.readouterr()
    assert cli(project, "diff")[0] == 0
    out = capsys.readouterr().out
    assert "ecspresso-py:" not in out and "deploy-failed" not in out
