"""The sandbox's service deployments (ECS's record of each rollout) and ECS-native blue/green, linear
and canary deployments, driven with plain boto3 against the in-process server."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

CLUSTER = "default"
TD = {"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 128}]}
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:{}"
SD_ARN = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:service-deployment/default/web/[A-Za-z0-9_-]{21}$")
REV_ARN = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:service-revision/default/web/\d{19}$")
STAGES = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
]
BLUE_GREEN = {"strategy": "BLUE_GREEN", "maximumPercent": 200, "minimumHealthyPercent": 100}


def service(sandbox, config=None, desired=2, revisions=3):
    """Task definitions app:1..3, service ``web`` on app:1 with ``config``, its first rollout done."""
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    for _ in range(revisions):
        ecs.register_task_definition(**TD)
    extra = {"deploymentConfiguration": config} if config else {}
    ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=desired, **extra
    )
    for _ in range(30):
        if poll(ecs)["deployments"][0]["rolloutState"] == "COMPLETED":
            return ecs
    raise AssertionError("the first deployment did not complete")


def poll(ecs):
    """One DescribeServices: one step of time."""
    return ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0]


def sd(ecs, arn):
    """One DescribeServiceDeployments (no step of time)."""
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    assert answer["failures"] == []
    return answer["serviceDeployments"][0]


def deploy(ecs, **update):
    update.setdefault("taskDefinition", "app:2")
    svc = ecs.update_service(cluster=CLUSTER, service="web", **update)["service"]
    return svc, svc["currentServiceDeployment"]


def counts(summary):
    return summary["requestedTaskCount"], summary["runningTaskCount"], summary["pendingTaskCount"]


def dep_counts(dep):
    return dep["desiredCount"], dep["runningCount"], dep["pendingCount"]


def weights(summary):
    return summary["requestedProductionTrafficWeight"], summary["requestedTestTrafficWeight"]


def messages(svc):
    return [e["message"] for e in svc["events"]]


def error_code(exc_info):
    return exc_info.value.response["Error"]["Code"]


# -- rolling services ------------------------------------------------------------------------------------
def test_rolling_deployment_has_a_service_deployment_in_step_with_deployments(sandbox):
    ecs = service(sandbox, {"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    first = ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"]
    assert [b["status"] for b in first] == ["SUCCESSFUL"]
    sandbox.scenario("web", polls=3)

    svc, arn = deploy(ecs)
    assert SD_ARN.match(arn) and arn != first[0]["serviceDeploymentArn"]
    record = sd(ecs, arn)
    assert record["status"] == "IN_PROGRESS" and "lifecycleStage" not in record
    assert record["serviceArn"] == svc["serviceArn"] and record["clusterArn"] == svc["clusterArn"]
    assert REV_ARN.match(record["targetServiceRevision"]["arn"])
    assert [s["arn"] for s in record["sourceServiceRevisions"]] == [first[0]["targetServiceRevisionArn"]]
    assert "requestedProductionTrafficWeight" not in record["targetServiceRevision"]  # ROLLING: no traffic
    assert record["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert record["deploymentCircuitBreaker"] == {"status": "MONITORING", "failureCount": 0, "threshold": 3}
    assert {"createdAt", "startedAt", "updatedAt"} <= record.keys()
    assert not {"finishedAt", "stoppedAt", "rollback"} & record.keys()

    seen = []
    for _ in range(3):
        svc = poll(ecs)
        record = sd(ecs, arn)
        new, *old = svc["deployments"]
        assert counts(record["targetServiceRevision"]) == dep_counts(new)
        if old:
            assert counts(record["sourceServiceRevisions"][0]) == dep_counts(old[0])
        seen.append((new["rolloutState"], record["status"]))
    assert seen == [
        ("IN_PROGRESS", "IN_PROGRESS"),
        ("IN_PROGRESS", "IN_PROGRESS"),
        ("COMPLETED", "SUCCESSFUL"),
    ]
    assert counts(record["targetServiceRevision"]) == (2, 2, 0)
    assert counts(record["sourceServiceRevisions"][0]) == (0, 0, 0)  # drained
    assert record["finishedAt"] >= record["startedAt"] and "stoppedAt" not in record
    assert record["deploymentCircuitBreaker"]["status"] == "MONITORING_COMPLETE"
    assert svc["currentServiceDeployment"] == arn
    assert svc["currentServiceRevisions"] == [{"arn": record["targetServiceRevision"]["arn"], **dict(
        zip(("requestedTaskCount", "runningTaskCount", "pendingTaskCount"), (2, 2, 0), strict=True))}]  # fmt: skip

    revisions = ecs.describe_service_revisions(
        serviceRevisionArns=[
            record["targetServiceRevision"]["arn"],
            record["sourceServiceRevisions"][0]["arn"],
        ]
    )
    assert revisions["failures"] == []
    target, source = revisions["serviceRevisions"]
    assert (target["taskDefinition"], source["taskDefinition"]) == (TD_ARN.format(2), TD_ARN.format(1))
    assert target["containerImages"][0]["image"] == "nginx:1.27"
    assert target["containerImages"][0]["imageDigest"].startswith("sha256:")
    assert target["serviceArn"] == svc["serviceArn"]


def test_circuit_breaker_rollback_is_one_service_deployment_rolled_back(sandbox):
    ecs = service(sandbox)
    sandbox.scenario("web", "fail", polls=2, rollback=True, rollback_polls=2)
    _, arn = deploy(ecs)
    source = sd(ecs, arn)["sourceServiceRevisions"][0]["arn"]
    poll(ecs)
    assert sd(ecs, arn)["status"] == "IN_PROGRESS"

    svc = poll(ecs)  # the circuit breaker trips: ECS starts its rollback
    record = sd(ecs, arn)
    assert [d["rolloutState"] for d in svc["deployments"]] == ["IN_PROGRESS", "FAILED", "COMPLETED"]
    assert record["status"] == "ROLLBACK_IN_PROGRESS"
    assert record["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert record["rollback"]["reason"] == record["statusReason"]
    assert record["rollback"]["serviceRevisionArn"] == source and "startedAt" in record["rollback"]
    assert record["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 2, "threshold": 3}

    svc = poll(ecs)
    assert sd(ecs, arn)["status"] == "ROLLBACK_IN_PROGRESS"
    assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    svc = poll(ecs)
    record = sd(ecs, arn)
    assert [(d["status"], d["rolloutState"], d["taskDefinition"]) for d in svc["deployments"]] == [
        ("PRIMARY", "COMPLETED", TD_ARN.format(1))
    ]
    assert record["status"] == "ROLLBACK_SUCCESSFUL" and "finishedAt" in record
    assert counts(record["sourceServiceRevisions"][0]) == (2, 2, 0)  # the rollback runs the source revision
    assert counts(record["targetServiceRevision"]) == (0, 0, 0)
    briefs = ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"]
    assert [b["status"] for b in briefs] == ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"]  # no SD of its own


def test_failure_without_rollback_ends_stopped(sandbox):
    ecs = service(sandbox)
    sandbox.scenario("web", "fail", polls=1)
    _, arn = deploy(ecs)
    svc = poll(ecs)
    record = sd(ecs, arn)
    assert svc["deployments"][0]["rolloutState"] == "FAILED"
    assert record["status"] == "STOPPED"
    assert record["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert {"stoppedAt", "finishedAt"} <= record.keys() and "rollback" not in record
    assert record["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    for _ in range(3):
        poll(ecs)
    assert sd(ecs, arn)["status"] == "STOPPED"


def test_a_newer_deployment_stops_the_one_in_progress(sandbox):
    ecs = service(sandbox)
    sandbox.scenario("web", "never")
    _, stuck = deploy(ecs)
    poll(ecs)
    svc, newer = deploy(ecs, taskDefinition="app:3")
    record = sd(ecs, stuck)
    assert record["status"] == "STOPPED" and newer in record["statusReason"]
    assert "stoppedAt" in record
    assert sd(ecs, newer)["status"] == "IN_PROGRESS"
    # both earlier revisions were serving (app:1 running, app:2 pending) when the newer one started
    sources = sd(ecs, newer)["sourceServiceRevisions"]
    assert {s["arn"] for s in sources} == {
        record["targetServiceRevision"]["arn"],
        record["sourceServiceRevisions"][0]["arn"],
    }
    for _ in range(2):
        svc = poll(ecs)
    assert svc["deployments"][0]["rolloutState"] == "COMPLETED"
    assert sd(ecs, newer)["status"] == "SUCCESSFUL" and sd(ecs, stuck)["status"] == "STOPPED"


# -- blue/green, linear, canary -------------------------------------------------------------------------
def walk(ecs, arn, limit=40):
    """Poll until the SD finishes: [(stage, status, target counts, target weights, deployments)]."""
    steps = []
    for _ in range(limit):
        svc = poll(ecs)
        record = sd(ecs, arn)
        target = record["targetServiceRevision"]
        deployments = [(d["status"], d["rolloutState"], d["taskDefinition"][-5:], d["runningCount"])
                       for d in svc["deployments"]]  # fmt: skip
        steps.append(
            (record.get("lifecycleStage"), record["status"], counts(target), weights(target), deployments)
        )
        if record["status"] not in (
            "IN_PROGRESS",
            "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS",
            "STOP_REQUESTED",
        ):
            return steps, svc, record
    raise AssertionError(f"did not finish: {steps[-3:]}")


@pytest.mark.parametrize("bake", [0, 2])
def test_blue_green_walks_every_stage_in_order(sandbox, bake):
    ecs = service(sandbox, {**BLUE_GREEN, "bakeTimeInMinutes": bake})
    svc, arn = deploy(ecs)
    record = sd(ecs, arn)
    assert record["lifecycleStage"] == "RECONCILE_SERVICE" and record["status"] == "IN_PROGRESS"
    assert (
        svc["deployments"][0]["status"] == "PRIMARY"
        and svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    )

    steps, svc, record = walk(ecs, arn)
    stages = [s[0] for s in steps]
    expected = STAGES[1:8] + ["BAKE_TIME"] * bake + ["CLEAN_UP", "CLEAN_UP"]
    assert stages == expected
    assert [s[1] for s in steps] == ["IN_PROGRESS"] * (len(expected) - 1) + ["SUCCESSFUL"]
    by_stage = {s[0]: s for s in steps[:-1]}
    assert by_stage["PRE_SCALE_UP"][2] == (2, 0, 0) and by_stage["SCALE_UP"][2] == (2, 0, 2)
    assert by_stage["POST_SCALE_UP"][2] == (2, 2, 0)
    assert by_stage["POST_SCALE_UP"][3] == (0.0, 0.0)
    assert by_stage["TEST_TRAFFIC_SHIFT"][3] == (0.0, 100.0)  # test traffic on green
    assert by_stage["PRODUCTION_TRAFFIC_SHIFT"][3] == (100.0, 100.0)  # BLUE_GREEN: all at once
    for stage, _, _, _, deployments in steps[:-2]:  # blue keeps its tasks until CLEAN_UP
        assert deployments[0][:3] == ("PRIMARY", "IN_PROGRESS", "app:2"), stage
        assert deployments[1] == ("ACTIVE", "COMPLETED", "app:1", 0 if stage == "CLEAN_UP" else 2), stage
    assert steps[-1][4] == [("PRIMARY", "COMPLETED", "app:2", 2)]  # SUCCESSFUL exactly when COMPLETED alone
    assert counts(record["sourceServiceRevisions"][0]) == (0, 0, 0)
    assert weights(record["sourceServiceRevisions"][0]) == (0.0, 0.0)
    assert messages(svc)[:2] == [
        "(service web) has reached a steady state.",
        f"(service web) (deployment {svc['deployments'][0]['id']}) deployment completed.",
    ]
    assert any(m.startswith("(service web) has stopped 2 running tasks") for m in messages(svc))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0}}, [25.0, 50.0, 75.0, 100.0]),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 30.0}}, [30.0, 60.0, 90.0, 100.0]),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0}}, [10.0, 100.0]),
    ],
)
def test_linear_and_canary_shift_production_traffic_in_steps(sandbox, config, expected):
    ecs = service(sandbox, config)
    _, arn = deploy(ecs)
    shifting = []
    for _ in range(30):
        poll(ecs)
        record = sd(ecs, arn)
        if record["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT":
            target, (source,) = record["targetServiceRevision"], record["sourceServiceRevisions"]
            shifting.append(target["requestedProductionTrafficWeight"])
            assert source["requestedProductionTrafficWeight"] == 100.0 - shifting[-1]
        elif shifting:
            break
    assert shifting == expected
    assert record["lifecycleStage"] == "POST_PRODUCTION_TRAFFIC_SHIFT"


def test_fail_at_test_traffic_shift_rolls_back_to_the_source_revision(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    sandbox.scenario("web", fail_at_stage="TEST_TRAFFIC_SHIFT")
    _, arn = deploy(ecs)
    source = sd(ecs, arn)["sourceServiceRevisions"][0]["arn"]
    steps, svc, record = walk(ecs, arn)
    assert [(s[0], s[1]) for s in steps] == [
        ("PRE_SCALE_UP", "IN_PROGRESS"),
        ("SCALE_UP", "IN_PROGRESS"),
        ("POST_SCALE_UP", "IN_PROGRESS"),
        ("TEST_TRAFFIC_SHIFT", "ROLLBACK_IN_PROGRESS"),  # one poll
        ("TEST_TRAFFIC_SHIFT", "ROLLBACK_SUCCESSFUL"),
    ]
    rolling_back = steps[3]
    assert rolling_back[3] == (0.0, 0.0)  # traffic back on blue at once
    assert rolling_back[4] == [("PRIMARY", "FAILED", "app:2", 2), ("ACTIVE", "COMPLETED", "app:1", 2)]
    assert steps[4][4] == [("PRIMARY", "COMPLETED", "app:1", 2)]
    assert svc["taskDefinition"] == TD_ARN.format(1)
    assert "TEST_TRAFFIC_SHIFT" in record["statusReason"]
    assert record["rollback"]["reason"] == record["statusReason"]
    assert record["rollback"]["serviceRevisionArn"] == source
    assert counts(record["targetServiceRevision"]) == (0, 0, 0)
    events = messages(svc)
    old_id = svc["deployments"][0]["id"]
    assert events[0] == "(service web) has reached a steady state."
    assert events[1] == f"(service web) rolled back to deployment {old_id}."
    assert f"(service web) rolling back to deployment {old_id}." in events
    assert any("deployment failed: Service deployment failed at lifecycle stage TEST_TRAFFIC_SHIFT" in m
               for m in events)  # fmt: skip
    green = ecs.list_tasks(cluster=CLUSTER, serviceName="web", desiredStatus="STOPPED")["taskArns"]
    assert len(green) == 2
    assert {t["taskDefinitionArn"] for t in ecs.describe_tasks(cluster=CLUSTER, tasks=green)["tasks"]} == {
        TD_ARN.format(2)
    }


def test_pause_hook_holds_the_deployment_until_continue(sandbox):
    hook = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "CONTINUE"},
    }
    ecs = service(sandbox, {**BLUE_GREEN, "lifecycleHooks": [hook]})
    before = datetime.now(UTC)
    _, arn = deploy(ecs)
    for _ in range(5):
        poll(ecs)
    record = sd(ecs, arn)
    assert record["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT" and record["status"] == "IN_PROGRESS"
    (detail,) = record["lifecycleHookDetails"]
    assert re.fullmatch(r"ecs-pause-[A-Za-z0-9_-]{43}", detail["hookId"])
    assert (detail["targetType"], detail["status"], detail["timeoutAction"]) == (
        "PAUSE",
        "AWAITING_ACTION",
        "CONTINUE",
    )
    assert before + timedelta(minutes=59) < detail["expiresAt"] < before + timedelta(minutes=61)
    for _ in range(5):  # polls do not move it
        poll(ecs)
    assert sd(ecs, arn)["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"

    answer = ecs.continue_service_deployment(
        serviceDeploymentArn=arn, hookId=detail["hookId"], action="CONTINUE"
    )
    assert answer["serviceDeploymentArn"] == arn
    record = sd(ecs, arn)
    assert record["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    assert record["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"  # continuing is not a step of time
    poll(ecs)
    assert sd(ecs, arn)["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    _, svc, record = walk(ecs, arn)
    assert record["status"] == "SUCCESSFUL" and svc["deployments"][0]["taskDefinition"] == TD_ARN.format(2)
    with pytest.raises(ClientError) as exc:  # nothing awaits action any more
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=detail["hookId"])
    assert error_code(exc) == "InvalidParameterException"


def test_pause_at_scenario_then_continue_rollback_rolls_back(sandbox):
    ecs = service(sandbox, BLUE_GREEN)  # no hooks declared
    sandbox.scenario("web", pause_at="POST_SCALE_UP")
    _, arn = deploy(ecs)
    for _ in range(6):
        poll(ecs)
    record = sd(ecs, arn)
    assert record["lifecycleStage"] == "POST_SCALE_UP"
    (hook,) = record["lifecycleHookDetails"]
    assert hook["status"] == "AWAITING_ACTION" and hook["timeoutAction"] == "ROLLBACK"

    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="ROLLBACK")
    record = sd(ecs, arn)
    assert (
        record["status"] == "ROLLBACK_REQUESTED" and record["lifecycleHookDetails"][0]["status"] == "FAILED"
    )
    steps, svc, record = walk(ecs, arn)
    assert [s[1] for s in steps] == ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]
    assert [(d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [
        (TD_ARN.format(1), "COMPLETED")
    ]
    # the next deployment has no pause: the scenario was used up
    _, arn = deploy(ecs, taskDefinition="app:3")
    assert walk(ecs, arn)[2]["status"] == "SUCCESSFUL"


def test_lambda_hooks_succeed_at_once_and_fail_at_the_failing_stage(sandbox):
    lam = "arn:aws:lambda:us-east-1:123456789012:function:check"
    hooks = [{"targetType": "AWS_LAMBDA", "hookTargetArn": lam, "roleArn": "arn:aws:iam::123456789012:role/r",
              "lifecycleStages": ["PRE_SCALE_UP", "TEST_TRAFFIC_SHIFT"]}]  # fmt: skip
    ecs = service(sandbox, {**BLUE_GREEN, "lifecycleHooks": hooks})
    assert "lifecycleHookDetails" not in sd(ecs, poll(ecs)["currentServiceDeployment"])  # first: no stages
    _, arn = deploy(ecs)
    poll(ecs)
    (run,) = sd(ecs, arn)["lifecycleHookDetails"]
    assert (run["targetType"], run["status"], run["targetArn"]) == ("AWS_LAMBDA", "SUCCEEDED", lam)
    assert run["hookId"].startswith("ecs-lambda-")

    sandbox.scenario("web", fail_at_stage="TEST_TRAFFIC_SHIFT")
    _, arn = deploy(ecs, taskDefinition="app:3")
    _, _, record = walk(ecs, arn)
    assert [h["status"] for h in record["lifecycleHookDetails"]] == ["SUCCEEDED", "FAILED"]
    assert record["status"] == "ROLLBACK_SUCCESSFUL"
    assert record["lifecycleHookDetails"][1]["hookId"] in record["statusReason"]


def test_strategy_service_kinds_fail_and_never(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    sandbox.scenario("web", "fail", reason="CannotPullContainerError: nope", failed_tasks=2)
    _, arn = deploy(ecs)
    steps, svc, record = walk(ecs, arn)
    assert (steps[-1][0], record["status"]) == ("SCALE_UP", "STOPPED")  # no rollback asked for
    assert record["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert svc["deployments"][0]["failedTasks"] == 2 and svc["deployments"][0]["rolloutState"] == "FAILED"
    stopped = ecs.list_tasks(cluster=CLUSTER, serviceName="web", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in ecs.describe_tasks(cluster=CLUSTER, tasks=stopped)["tasks"]}
    assert reasons == {"CannotPullContainerError: nope"}

    sandbox.scenario("web", "fail", rollback=True)
    _, arn = deploy(ecs, taskDefinition="app:3")
    assert walk(ecs, arn)[2]["status"] == "ROLLBACK_SUCCESSFUL"

    sandbox.scenario("web", "never")
    _, arn = deploy(ecs, taskDefinition="app:3")
    for _ in range(8):
        poll(ecs)
    record = sd(ecs, arn)
    assert (record["lifecycleStage"], record["status"]) == ("SCALE_UP", "IN_PROGRESS")
    assert counts(record["targetServiceRevision"]) == (2, 0, 2)


def test_pre_production_traffic_shift_pause_holds_before_every_step(sandbox):
    config = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 20.0},
              "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]}  # fmt: skip
    ecs = service(sandbox, {**config, "lifecycleHooks": []})
    ecs.update_service(cluster=CLUSTER, service="web", deploymentConfiguration=config)
    _, arn = deploy(ecs)
    held = []
    for _ in range(30):
        poll(ecs)
        record = sd(ecs, arn)
        paused = [h for h in record.get("lifecycleHookDetails", []) if h["status"] == "AWAITING_ACTION"]
        if paused:
            held.append((record["lifecycleStage"], weights(record["targetServiceRevision"])[0]))
            ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=paused[0]["hookId"])
        if record["status"] == "SUCCESSFUL":
            break
    assert held == [("PRODUCTION_TRAFFIC_SHIFT", 0.0), ("PRODUCTION_TRAFFIC_SHIFT", 20.0)]
    assert len({h["hookId"] for h in record["lifecycleHookDetails"]}) == 2


def test_seconds_count_time_per_stage_not_polls(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    sandbox.scenario("web", seconds=0.3)
    _, arn = deploy(ecs)
    for _ in range(5):
        poll(ecs)
    assert sd(ecs, arn)["lifecycleStage"] == "RECONCILE_SERVICE"
    time.sleep(0.65)
    poll(ecs)
    assert sd(ecs, arn)["lifecycleStage"] == "SCALE_UP"  # two steps due at once


def test_update_service_keeps_the_strategy_configuration(sandbox):
    ecs = service(sandbox)
    config = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 3,
        "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1},
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
                            "timeoutConfiguration": {"timeoutInMinutes": 10, "action": "ROLLBACK"}}],
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }  # fmt: skip
    svc, arn = deploy(ecs, deploymentConfiguration=config)
    assert svc["deploymentConfiguration"] == config
    assert poll(ecs)["deploymentConfiguration"] == config
    assert sd(ecs, arn)["deploymentConfiguration"] == config
    assert sd(ecs, arn)["lifecycleStage"] == "PRE_SCALE_UP"


@pytest.mark.parametrize("stage", ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
def test_pause_hooks_where_traffic_shifts_are_refused(sandbox, stage):
    ecs = service(sandbox)
    config = {**BLUE_GREEN, "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": [stage]}]}
    with pytest.raises(ClientError) as exc:
        ecs.update_service(cluster=CLUSTER, service="web", deploymentConfiguration=config)
    assert error_code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ecs.create_service(
            cluster=CLUSTER, serviceName="api", taskDefinition="app:1", deploymentConfiguration=config
        )
    assert error_code(exc) == "InvalidParameterException"
    with pytest.raises(ValueError, match="PAUSE hook"):
        sandbox.scenario("web", pause_at=stage)
    with pytest.raises(ValueError, match="fail_at_stage"):
        sandbox.scenario("web", fail_at_stage="NO_SUCH_STAGE")


# -- StopServiceDeployment, errors -----------------------------------------------------------------------
def test_stop_rollback_of_a_rolling_deployment(sandbox):
    ecs = service(sandbox)
    sandbox.scenario("web", "never", rollback_polls=1)
    _, arn = deploy(ecs)
    poll(ecs)
    answer = ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert answer["serviceDeploymentArn"] == arn
    record = sd(ecs, arn)
    assert record["status"] == "ROLLBACK_REQUESTED"
    assert poll(ecs) and sd(ecs, arn)["status"] == "ROLLBACK_IN_PROGRESS"
    svc = poll(ecs)
    record = sd(ecs, arn)
    assert record["status"] == "ROLLBACK_SUCCESSFUL"
    assert record["rollback"]["serviceRevisionArn"] == record["sourceServiceRevisions"][0]["arn"]
    assert [(d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [
        (TD_ARN.format(1), "COMPLETED")
    ]


def test_stop_rollback_of_a_blue_green_deployment(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    _, arn = deploy(ecs)
    for _ in range(6):
        poll(ecs)
    assert sd(ecs, arn)["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    answer = ecs.stop_service_deployment(serviceDeploymentArn=arn)  # stopType defaults to ROLLBACK
    assert answer["serviceDeploymentArn"] == arn
    assert sd(ecs, arn)["status"] == "ROLLBACK_REQUESTED"
    steps, svc, record = walk(ecs, arn)
    assert [s[1] for s in steps] == ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]
    assert steps[0][3] == (0.0, 0.0) and weights(record["sourceServiceRevisions"][0])[0] == 100.0
    assert [(d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [
        (TD_ARN.format(1), "COMPLETED")
    ]


@pytest.mark.parametrize("config", [None, BLUE_GREEN])
def test_stop_abort_leaves_the_service_as_it_is(sandbox, config):
    ecs = service(sandbox, config)
    sandbox.scenario("web", "never")
    _, arn = deploy(ecs)
    for _ in range(3):
        poll(ecs)
    before = [dep_counts(d) for d in poll(ecs)["deployments"]]
    tasks = sorted(ecs.list_tasks(cluster=CLUSTER, serviceName="web")["taskArns"])
    assert len(tasks) == 4  # blue running, green pending
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    assert sd(ecs, arn)["status"] == "STOP_REQUESTED"
    svc = poll(ecs)
    record = sd(ecs, arn)
    assert record["status"] == "STOPPED" and "stoppedAt" in record
    assert [dep_counts(d) for d in svc["deployments"]] == before  # tasks left as they were
    assert svc["deployments"][0]["rolloutState"] == "FAILED"
    for _ in range(3):
        assert [dep_counts(d) for d in poll(ecs)["deployments"]] == before
    assert sorted(ecs.list_tasks(cluster=CLUSTER, serviceName="web")["taskArns"]) == tasks
    assert sd(ecs, arn)["status"] == "STOPPED"


def test_errors_for_finished_unknown_and_not_paused_deployments(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    first = poll(ecs)["currentServiceDeployment"]
    unknown = first[:-21] + "x" * 21
    with pytest.raises(ClientError) as exc:
        ecs.stop_service_deployment(serviceDeploymentArn=first)  # SUCCESSFUL
    assert error_code(exc) == "ConflictException"
    for call in (
        lambda: ecs.stop_service_deployment(serviceDeploymentArn=unknown),
        lambda: ecs.continue_service_deployment(serviceDeploymentArn=unknown, hookId="ecs-pause-x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ServiceDeploymentNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecs.continue_service_deployment(serviceDeploymentArn=first, hookId="ecs-pause-x")
    assert error_code(exc) == "InvalidParameterException"

    sandbox.scenario("web", pause_at="PRE_SCALE_UP")
    _, arn = deploy(ecs)
    poll(ecs)
    with pytest.raises(ClientError) as exc:  # paused, but not at this hook
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="ecs-pause-x")
    assert error_code(exc) == "InvalidParameterException"
    ecs.stop_service_deployment(serviceDeploymentArn=arn)
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")  # the rollback continues
    assert sd(ecs, arn)["status"] == "ROLLBACK_REQUESTED"

    answer = ecs.describe_service_deployments(serviceDeploymentArns=[first, unknown, "not-an-arn"])
    assert [d["serviceDeploymentArn"] for d in answer["serviceDeployments"]] == [first]
    assert answer["failures"] == [
        {"arn": unknown, "reason": "MISSING"},
        {"arn": "not-an-arn", "reason": "MISSING"},
    ]
    with pytest.raises(ClientError) as exc:
        ecs.describe_service_deployments(serviceDeploymentArns=[first] * 21)
    assert error_code(exc) == "InvalidParameterException"
    revision = sd(ecs, first)["targetServiceRevision"]["arn"]
    answer = ecs.describe_service_revisions(serviceRevisionArns=[revision, revision[:-1] + "x"])
    assert len(answer["serviceRevisions"]) == 1 and answer["failures"][0]["reason"] == "MISSING"


def test_stop_rollback_of_a_first_deployment_has_nothing_to_roll_back_to(sandbox):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**TD)
    sandbox.scenario("web", "never")
    arn = ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)[
        "service"
    ]["currentServiceDeployment"]
    assert sd(ecs, arn)["sourceServiceRevisions"] == []
    with pytest.raises(ClientError) as exc:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert error_code(exc) == "InvalidParameterException"
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    poll(ecs)
    assert sd(ecs, arn)["status"] == "STOPPED"


# -- ListServiceDeployments, reads, faults, reset ----------------------------------------------------------
def test_list_service_deployments_filters_and_pages_newest_first(sandbox):
    ecs = service(sandbox)  # SD 1: CreateService
    arns = [
        ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"][0][
            "serviceDeploymentArn"
        ]
    ]
    sandbox.scenario("web", polls=0)
    arns.append(deploy(ecs)[1])
    time.sleep(1.05)  # botocore sends createdAt filters in whole seconds
    sandbox.scenario("web", polls=0)
    arns.append(deploy(ecs, taskDefinition="app:3")[1])
    cutoff = sd(ecs, arns[2])["createdAt"]
    sandbox.scenario("web", "never")
    arns.append(deploy(ecs, forceNewDeployment=True)[1])

    def listed(**kw):
        return [b["serviceDeploymentArn"] for b in ecs.list_service_deployments(cluster=CLUSTER, service="web", **kw)[
            "serviceDeployments"]]  # fmt: skip

    assert listed() == arns[::-1]
    svc_arn = poll(ecs)["serviceArn"]
    assert [b["serviceDeploymentArn"] for b in ecs.list_service_deployments(service=svc_arn)["serviceDeployments"]] \
        == arns[::-1]  # fmt: skip
    assert listed(status=["IN_PROGRESS"]) == [arns[3]]
    assert listed(status=["SUCCESSFUL", "STOPPED"]) == arns[2::-1]
    assert listed(createdAt={"after": cutoff}) == [arns[3], arns[2]]
    assert listed(createdAt={"before": cutoff}) == [arns[1], arns[0]]
    assert (
        listed(createdAt={"after": cutoff - timedelta(hours=1), "before": cutoff - timedelta(minutes=59)})
        == []
    )

    pages, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = ecs.list_service_deployments(cluster=CLUSTER, service="web", maxResults=3, **kw)
        pages.append([b["serviceDeploymentArn"] for b in page["serviceDeployments"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [arns[:0:-1], [arns[0]]]
    brief = ecs.list_service_deployments(cluster=CLUSTER, service="web", maxResults=1)["serviceDeployments"][
        0
    ]
    assert set(brief) == {"serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt",
                          "targetServiceRevisionArn", "status"}  # fmt: skip

    for kw, code in (
        ({"maxResults": 101}, "InvalidParameterException"),
        ({"service": "nope"}, "ServiceNotFoundException"),
        ({"cluster": "nope"}, "ClusterNotFoundException"),
    ):
        with pytest.raises(ClientError) as exc:
            ecs.list_service_deployments(**{"cluster": CLUSTER, "service": "web", **kw})
        assert error_code(exc) == code


def test_reading_service_deployments_is_not_a_step_of_time(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    _, arn = deploy(ecs)
    poll(ecs)
    before = sandbox.peek_service("web")
    for _ in range(5):
        ecs.list_service_deployments(cluster=CLUSTER, service="web")
        record = sd(ecs, arn)
        ecs.describe_service_revisions(serviceRevisionArns=[record["targetServiceRevision"]["arn"]])
    after = sandbox.peek_service("web")
    assert after["deployments"] == before["deployments"]
    assert [(s.get("lifecycleStage"), s["status"]) for s in after["service_deployments"]] == [
        (s.get("lifecycleStage"), s["status"]) for s in before["service_deployments"]
    ]
    assert after["service_deployments"][0]["lifecycleStage"] == "PRE_SCALE_UP"
    assert {"taskDefinition", "desiredCount", "runningCount", "deployments"} <= after.keys()
    assert after["service_deployments"][0]["serviceDeploymentArn"] == arn
    assert [s["status"] for s in after["service_deployments"]] == ["IN_PROGRESS", "SUCCESSFUL"]


def test_fault_middleware_sees_and_fails_the_new_operations(sandbox):
    ecs = service(sandbox)
    _, arn = deploy(ecs)
    sandbox.operations.clear()
    ecs.list_service_deployments(cluster=CLUSTER, service="web")
    revision = sd(ecs, arn)["targetServiceRevision"]["arn"]
    ecs.describe_service_revisions(serviceRevisionArns=[revision])
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    with pytest.raises(ClientError):
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="ecs-pause-x")
    assert sandbox.operations == [
        "ListServiceDeployments",
        "DescribeServiceDeployments",
        "DescribeServiceRevisions",
        "StopServiceDeployment",
        "ContinueServiceDeployment",
    ]
    assert sandbox.mutating_operations() == ["StopServiceDeployment", "ContinueServiceDeployment"]

    sandbox.fault("ListServiceDeployments", "UnknownOperationException", status=400, times=-1)
    client = sandbox.client("ecs", config=Config(retries={"total_max_attempts": 1}))
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            client.list_service_deployments(cluster=CLUSTER, service="web")
        assert error_code(exc) == "UnknownOperationException"
    assert sd(ecs, arn)["status"] == "STOP_REQUESTED"  # only that operation fails


def test_reset_wipes_service_deployments_and_pending_scenarios(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    _, arn = deploy(ecs)
    sandbox.scenario("web", "never", pause_at="PRE_SCALE_UP")  # pending for the next deployment
    sandbox.reset()
    ecs = service(sandbox, BLUE_GREEN)  # completes: the scenario went with the reset
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    assert answer["serviceDeployments"] == [] and answer["failures"][0]["reason"] == "MISSING"
    assert len(ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"]) == 1
    _, arn = deploy(ecs)
    poll(ecs)
    record = sd(ecs, arn)
    assert record["lifecycleStage"] == "PRE_SCALE_UP" and "lifecycleHookDetails" not in record


def test_control_api_takes_the_new_scenario_keywords(sandbox):
    ecs = service(sandbox, BLUE_GREEN)
    body = {"service": "web", "fail_at_stage": "POST_SCALE_UP", "pause_at": ["PRE_SCALE_UP"]}
    request = urllib.request.Request(
        sandbox.url + "/_sandbox/scenario", data=json.dumps(body).encode(), method="POST"
    )
    assert json.loads(urllib.request.urlopen(request).read()) == {"ok": True}
    _, arn = deploy(ecs)
    poll(ecs)
    (hook,) = sd(ecs, arn)["lifecycleHookDetails"]
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    steps, _, _ = walk(ecs, arn)
    assert [(s[0], s[1]) for s in steps] == [
        ("SCALE_UP", "IN_PROGRESS"),
        ("POST_SCALE_UP", "ROLLBACK_IN_PROGRESS"),
        ("POST_SCALE_UP", "ROLLBACK_SUCCESSFUL"),
    ]


def test_the_blue_green_example_seeds_and_walks_its_stages(sandbox, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("ECSPRESSO_EXT_STR", "type=web")
    sandbox.seed(Path(__file__).parent.parent / "examples" / "bluegreen")
    ecs = sandbox.client("ecs")
    svc = ecs.describe_services(cluster="demo", services=["web-bg"])["services"][0]
    assert svc["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert svc["deployments"][0]["rolloutState"] == "COMPLETED"
    # its blue and green target groups exist under the definition's ARNs (a failure reads their health)
    lb = svc["loadBalancers"][0]
    for arn in (lb["targetGroupArn"], lb["advancedConfiguration"]["alternateTargetGroupArn"]):
        assert (
            sandbox.client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            == []
        )
    sandbox.scenario("web-bg", cluster="demo", pause_at="POST_TEST_TRAFFIC_SHIFT")
    arn = ecs.update_service(cluster="demo", service="web-bg", forceNewDeployment=True)["service"][
        "currentServiceDeployment"
    ]
    for _ in range(6):
        ecs.describe_services(cluster="demo", services=["web-bg"])
    record = sd(ecs, arn)
    assert record["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert record["lifecycleHookDetails"][0]["status"] == "AWAITING_ACTION"
    revision = ecs.describe_service_revisions(serviceRevisionArns=[record["targetServiceRevision"]["arn"]])
    (revision,) = revision["serviceRevisions"]
    assert revision["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"].endswith("6072")
    assert revision["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
