"""The sandbox's ECS rollout simulator, driven with plain boto3 against the in-process server."""

from __future__ import annotations

import re
import time

import pytest

CLUSTER = "default"
TD = {
    "family": "app",
    "containerDefinitions": [
        {"name": "app", "image": "nginx:1.27", "memory": 128, "essential": True},
        {"name": "sidecar", "image": "busybox", "memory": 64, "essential": False},
    ],
}
DEP_ID = re.compile(r"^ecs-svc/\d{19}$")
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:{}"


def stable_service(sandbox, desired=2, **create):
    """Cluster ``default``, task definitions app:1 and app:2, service ``web`` on app:1, rolled out."""
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**TD)
    ecs.register_task_definition(**TD)
    ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=desired, **create
    )
    wait(ecs, "COMPLETED")
    return ecs


def describe(ecs, service="web"):
    return ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]


def wait(ecs, state, limit=20, service="web"):
    """Poll like a deploy tool; the number of DescribeServices it took to see ``state``."""
    for n in range(1, limit + 1):
        svc = describe(ecs, service)
        if svc["deployments"][0]["rolloutState"] == state:
            return n
    raise AssertionError(f"{service} never reached {state}: {svc['deployments']}")


def messages(svc):
    return [e["message"] for e in svc["events"]]


def tasks(ecs, **filters):
    arns = ecs.list_tasks(cluster=CLUSTER, **filters)["taskArns"]
    return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def test_update_service_rolls_out_a_new_primary_after_the_configured_polls(sandbox):
    ecs = stable_service(sandbox)
    old = describe(ecs)["deployments"][0]
    sandbox.scenario("web", "stable", polls=3)

    svc = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")["service"]

    new, demoted = svc["deployments"]
    assert new["status"] == "PRIMARY" and new["rolloutState"] == "IN_PROGRESS"
    assert DEP_ID.match(new["id"]) and new["id"] != old["id"]
    assert new["taskDefinition"] == svc["taskDefinition"] == TD_ARN.format(2)  # ARN, not "app:2"
    assert (new["runningCount"], new["desiredCount"], new["failedTasks"]) == (0, 2, 0)
    assert demoted["id"] == old["id"] and demoted["status"] == "ACTIVE"
    assert {"createdAt", "updatedAt", "launchType", "rolloutStateReason", "pendingCount"} <= new.keys()

    seen = []
    for _ in range(3):
        svc = describe(ecs)
        seen.append((svc["deployments"][0]["rolloutState"], svc["deployments"][0]["runningCount"]))
    assert seen == [("IN_PROGRESS", 0), ("IN_PROGRESS", 1), ("COMPLETED", 2)]  # ramps up, done at poll 3
    assert [d["id"] for d in svc["deployments"]] == [new["id"]]  # old deployment drained
    assert (svc["runningCount"], svc["pendingCount"]) == (2, 0)

    events = messages(svc)
    assert events[0] == "(service web) has reached a steady state."
    assert events[1] == f"(service web) (deployment {new['id']}) deployment completed."
    assert re.fullmatch(
        r"\(service web\) has stopped 2 running tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.",
        events[2],
    )
    assert re.fullmatch(
        r"\(service web\) has started 2 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.", events[3]
    )
    assert all({"id", "createdAt", "message"} <= e.keys() for e in svc["events"])
    stamps = [e["createdAt"] for e in svc["events"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first

    running = tasks(ecs, serviceName="web")
    assert {t["taskDefinitionArn"] for t in running} == {TD_ARN.format(2)}
    assert {t["startedBy"] for t in running} == {new["id"]}
    stopped = tasks(ecs, serviceName="web", desiredStatus="STOPPED")
    assert {t["startedBy"] for t in stopped} == {old["id"]}
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}


def test_default_is_stable_after_two_polls_including_the_first_deployment(sandbox):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**TD)
    svc = ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app", desiredCount=1)[
        "service"
    ]
    assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert svc["taskDefinition"] == TD_ARN.format(1)
    assert wait(ecs, "COMPLETED") == 2
    ecs.register_task_definition(**TD)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    assert wait(ecs, "COMPLETED") == 2


def test_botocore_services_stable_waiter_completes(sandbox):
    ecs = stable_service(sandbox)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=["web"], WaiterConfig={"Delay": 0.01})
    svc = describe(ecs)
    assert len(svc["deployments"]) == 1 and svc["runningCount"] == svc["desiredCount"] == 2


def test_fail_stops_tasks_with_reasons_and_fails_the_rollout(sandbox):
    ecs = stable_service(sandbox)
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:nope: not found"
    sandbox.scenario("web", "fail", polls=3, reason=reason)
    new = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")["service"][
        "deployments"
    ][0]

    failed = []
    for _ in range(3):
        dep = describe(ecs)["deployments"][0]
        failed.append((dep["rolloutState"], dep["failedTasks"]))
    assert failed == [("IN_PROGRESS", 1), ("IN_PROGRESS", 2), ("FAILED", 3)]

    svc = describe(ecs)
    primary, old = svc["deployments"]
    assert primary["id"] == new["id"] and primary["status"] == "PRIMARY"
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert old["status"] == "ACTIVE" and old["runningCount"] == 2  # the old tasks keep serving
    assert f"(service web) (deployment {new['id']}) deployment failed: tasks failed to start." in messages(
        svc
    )

    stopped = tasks(ecs, serviceName="web", desiredStatus="STOPPED", startedBy=new["id"])
    assert len(stopped) == 3
    for task in stopped:
        assert (task["lastStatus"], task["desiredStatus"], task["stopCode"]) == (
            "STOPPED",
            "STOPPED",
            "TaskFailedToStart",
        )
        assert task["stoppedReason"] == reason
        assert task["group"] == "service:web" and task["taskDefinitionArn"] == TD_ARN.format(2)
        assert {c["reason"] for c in task["containers"]} == {reason}
    for _ in range(3):  # stays failed, no rollback
        assert describe(ecs)["deployments"][0]["rolloutState"] == "FAILED"


def test_fail_with_rollback_rolls_back_to_the_previous_task_definition(sandbox):
    ecs = stable_service(sandbox)
    old = describe(ecs)["deployments"][0]
    sandbox.scenario("web", "fail", polls=2, rollback=True)
    new = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")["service"][
        "deployments"
    ][0]
    describe(ecs)
    svc = describe(ecs)  # poll 2: the circuit breaker trips and ECS starts its rollback

    rollback, failed, previous = svc["deployments"]
    assert failed["id"] == new["id"] and failed["rolloutState"] == "FAILED" and failed["status"] == "ACTIVE"
    assert previous["id"] == old["id"]
    assert rollback["status"] == "PRIMARY" and rollback["rolloutState"] == "IN_PROGRESS"
    assert rollback["taskDefinition"] == svc["taskDefinition"] == TD_ARN.format(1)
    assert (
        rollback["rolloutStateReason"]
        == f"ECS deployment circuit breaker: rolling back to deploymentId {old['id']}."
    )
    assert f"(service web) rolling back to deployment {old['id']}." in messages(svc)

    assert wait(ecs, "COMPLETED") == 2  # the rollback behaves normally (the scenario was used up)
    svc = describe(ecs)
    assert [d["taskDefinition"] for d in svc["deployments"]] == [TD_ARN.format(1)]
    assert {t["taskDefinitionArn"] for t in tasks(ecs, serviceName="web")} == {TD_ARN.format(1)}

    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")  # next deploy: default
    assert wait(ecs, "COMPLETED") == 2


def test_service_circuit_breaker_rollback_setting_triggers_ecs_rollback(sandbox):
    config = {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    ecs = stable_service(sandbox, deploymentConfiguration=config)
    sandbox.scenario("web", "fail", polls=1)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    svc = describe(ecs)
    assert svc["deployments"][0]["rolloutStateReason"].startswith(
        "ECS deployment circuit breaker: rolling back"
    )


def test_fail_with_an_essential_container_exit_code(sandbox):
    ecs = stable_service(sandbox)
    sandbox.scenario("web", "fail", polls=1, exit_code=137, failed_tasks=2)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    assert describe(ecs)["deployments"][0]["failedTasks"] == 2
    stopped = tasks(ecs, serviceName="web", desiredStatus="STOPPED")
    assert len(stopped) == 2
    for task in stopped:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        app = next(c for c in task["containers"] if c["name"] == "app")
        assert app["exitCode"] == 137


def test_never_stays_in_progress(sandbox):
    ecs = stable_service(sandbox)
    sandbox.scenario("web", "never")
    ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)
    for _ in range(10):
        svc = describe(ecs)
        assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
        assert len(svc["deployments"]) == 2
    assert svc["deployments"][0]["pendingCount"] == 2 and svc["deployments"][0]["runningCount"] == 0
    ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)  # a new deploy gets out of it
    assert wait(ecs, "COMPLETED") == 2
    assert len(describe(ecs)["deployments"]) == 1


def test_time_based_scenario(sandbox):
    ecs = stable_service(sandbox)
    sandbox.scenario("web", "stable", seconds=0.4)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    for _ in range(5):
        assert describe(ecs)["deployments"][0]["rolloutState"] == "IN_PROGRESS"  # polls do not count
    time.sleep(0.45)
    assert describe(ecs)["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_timed_rollout_drains_the_old_tasks_before_it_completes(sandbox, monkeypatch):
    """As on ECS: all new tasks run, the old ones still drain, the rollout is not COMPLETED yet."""
    from ecspresso.sandbox.simulator import DRAIN_FROM, SIMULATOR

    now = {"t": 0.0}
    monkeypatch.setattr(SIMULATOR, "clock", lambda: now["t"])
    ecs = stable_service(sandbox)
    sandbox.scenario("web", "stable", seconds=10)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    now["t"] = 10 * DRAIN_FROM / 2
    new, old = describe(ecs)["deployments"]
    assert (new["runningCount"], old["runningCount"], new["rolloutState"]) == (1, 2, "IN_PROGRESS")
    now["t"] = 10 * DRAIN_FROM + 0.1
    new, old = describe(ecs)["deployments"]
    assert (new["runningCount"], old["runningCount"], new["rolloutState"]) == (2, 2, "IN_PROGRESS")
    now["t"] = 10.0
    (new,) = describe(ecs)["deployments"]
    assert (new["runningCount"], new["rolloutState"]) == (2, "COMPLETED")


def test_time_based_failure(sandbox):
    ecs = stable_service(sandbox)
    sandbox.scenario("web", "fail", seconds=0.3)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    assert describe(ecs)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    time.sleep(0.35)
    dep = describe(ecs)["deployments"][0]
    assert (dep["rolloutState"], dep["failedTasks"]) == ("FAILED", 3)


def test_force_new_deployment_and_unchanged_task_definition(sandbox):
    ecs = stable_service(sandbox)
    before = describe(ecs)["deployments"][0]["id"]
    svc = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=TD_ARN.format(1))["service"]
    assert [d["id"] for d in svc["deployments"]] == [before]  # same task definition: no deployment
    svc = ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)["service"]
    assert len(svc["deployments"]) == 2 and svc["deployments"][0]["id"] != before
    assert svc["deployments"][0]["taskDefinition"] == TD_ARN.format(1)


def test_desired_count_change_scales_at_the_next_poll(sandbox):
    ecs = stable_service(sandbox)
    svc = ecs.update_service(cluster=CLUSTER, service="web", desiredCount=4)["service"]
    assert (svc["desiredCount"], svc["runningCount"]) == (4, 2)  # not at once, unlike plain moto
    svc = describe(ecs)
    assert (svc["desiredCount"], svc["runningCount"], len(svc["deployments"])) == (4, 4, 1)
    assert messages(svc)[0] == "(service web) has reached a steady state."
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=1)
    svc = describe(ecs)
    assert svc["runningCount"] == 1 and len(tasks(ecs, serviceName="web")) == 1


def test_scenarios_are_per_cluster_and_service(sandbox):
    ecs = stable_service(sandbox)
    ecs.create_service(cluster=CLUSTER, serviceName="api", taskDefinition="app:1", desiredCount=1)
    wait(ecs, "COMPLETED", service="api")
    sandbox.scenario("api", "fail", polls=1)
    sandbox.scenario("web", "never", cluster="other")
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    ecs.update_service(cluster=CLUSTER, service="api", taskDefinition="app:2")
    assert wait(ecs, "COMPLETED") == 2
    assert describe(ecs, "api")["deployments"][0]["rolloutState"] == "FAILED"


def test_zero_polls_completes_at_once(sandbox):
    ecs = stable_service(sandbox)
    sandbox.scenario("web", polls=0)
    svc = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")["service"]
    assert svc["deployments"][0]["rolloutState"] == "COMPLETED" and len(svc["deployments"]) == 1


def test_invalid_scenarios_are_refused(sandbox):
    with pytest.raises(ValueError, match="unknown scenario kind"):
        sandbox.scenario("web", "explode")
    with pytest.raises(ValueError, match="polls"):
        sandbox.scenario("web", polls=-1)


def test_delete_service_stops_its_tasks(sandbox):
    ecs = stable_service(sandbox)
    ecs.delete_service(cluster=CLUSTER, service="web", force=True)
    assert tasks(ecs) == []
    stopped = tasks(ecs, desiredStatus="STOPPED")
    assert len(stopped) == 2 and {t["stoppedReason"] for t in stopped} == {"Service deleted"}
