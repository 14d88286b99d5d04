"""The sandbox's CodeDeploy blue/green deployments of ECS services, driven with plain boto3 against the
in-process server: lifecycle events, traffic shifting, the ECS task sets following, failure,
automatic rollback, StopDeployment, ContinueDeployment, discovery at scale, faults and reset."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

CLUSTER, SERVICE, APP, GROUP = "default", "web", "app", "dg"
TARGET = f"{CLUSTER}:{SERVICE}"
TD = {"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 128}]}
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:{}"
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef"
EVENTS = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# -- helpers ---------------------------------------------------------------------------------------
def setup(sandbox, *, desired=2, group=None):
    """Service ``web`` (CODE_DEPLOY, app:1, serving) and application ``app`` / group ``dg`` for it."""
    ecs, cd = sandbox.client("ecs"), sandbox.client("codedeploy")
    ecs.create_cluster(clusterName=CLUSTER)
    for _ in range(3):
        ecs.register_task_definition(**TD)
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition="app:1",
        desiredCount=desired,
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": TG_ARN, "containerName": "app", "containerPort": 80}],
    )
    assert describe(ecs)["taskSets"][0]["stabilityStatus"] == "STEADY_STATE"  # one poll: serving
    cd.create_application(applicationName=APP, computePlatform="ECS")
    params = {
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
        "ecsServices": [{"clusterName": CLUSTER, "serviceName": SERVICE}],
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                    "prodTrafficRoute": {
                        "listenerArns": ["arn:aws:elasticloadbalancing:us-east-1:1:listener/x"]
                    },
                }
            ]
        },
        **(group or {}),
    }
    cd.create_deployment_group(**params)
    return ecs, cd


def appspec(revision, hooks=None):
    spec = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": TD_ARN.format(revision) if isinstance(revision, int) else revision,
                        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
                    },
                }
            }
        ],
    }
    if hooks:
        spec["Hooks"] = [{k: v} for k, v in hooks.items()]
    return yaml.safe_dump(spec)


def deploy(cd, revision=2, **extra):
    content = extra.pop("content", None) or appspec(revision)
    return cd.create_deployment(
        applicationName=APP,
        deploymentGroupName=GROUP,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
        **extra,
    )["deploymentId"]


def get(cd, dep_id):
    """One GetDeployment: one step of time."""
    return cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]


def target(cd, dep_id):
    """GetDeploymentTarget (no step of time)."""
    return cd.get_deployment_target(deploymentId=dep_id, targetId=TARGET)["deploymentTarget"]["ecsTarget"]


def statuses(ecs_target):
    return [e["status"] for e in ecs_target["lifecycleEvents"]]


def sets(ecs_target):
    """{label: (status, trafficWeight, running, pending)} of taskSetsInfo."""
    return {
        ts["taskSetLabel"]: (ts["status"], ts["trafficWeight"], ts["runningCount"], ts["pendingCount"])
        for ts in ecs_target["taskSetsInfo"]
    }


def describe(ecs):
    """One DescribeServices (steps the ECS side only)."""
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def task_sets(sandbox):
    """The service's task sets without a DescribeServices."""
    return [
        (ts["status"], ts["taskDefinition"].rsplit("/", 1)[-1])
        for ts in sandbox.peek_service(SERVICE)["taskSets"]
    ]


def until_done(cd, dep_id, limit=60):
    for _ in range(limit):
        info = get(cd, dep_id)
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
    raise AssertionError(f"deployment {dep_id} did not finish")


def code(exc_info):
    return exc_info.value.response["Error"]["Code"]


# -- a deployment through every lifecycle event ----------------------------------------------------
def test_a_deployment_walks_every_lifecycle_event_and_the_service_follows(sandbox):
    ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    assert re.fullmatch(r"d-[A-Z0-9]{9}", dep_id)
    assert sandbox.peek_service(SERVICE)["codedeploy"]["status"] == "Created"
    with pytest.raises(ClientError) as err:
        target(cd, dep_id)
    assert code(err) == "DeploymentNotStartedException"

    seen, ecs_side = [], []
    for _ in range(20):
        info = get(cd, dep_id)
        t = target(cd, dep_id)
        assert target(cd, dep_id) == t  # reading the target is not a step of time
        seen.append((info["status"], t["status"], statuses(t)))
        ecs_side.append(
            (task_sets(sandbox), sandbox.peek_service(SERVICE)["taskDefinition"].rsplit("/", 1)[-1])
        )
        if info["status"] == "Succeeded":
            break
    blue, both, swapped, green = (
        [("PRIMARY", "app:1")],
        [("PRIMARY", "app:1"), ("ACTIVE", "app:2")],
        [("ACTIVE", "app:1"), ("PRIMARY", "app:2")],
        [("PRIMARY", "app:2")],
    )
    # before Install: blue alone; Install … AllowTraffic: green beside it; after AllowTraffic green
    # is PRIMARY and the service on app:2; at the end green alone
    assert ecs_side == [(blue, "app:1")] + [(both, "app:1")] * 6 + [(swapped, "app:2"), (green, "app:2")]
    # one event InProgress per step, Succeeded at the next one, in ECS order
    expected = []
    for i in range(len(EVENTS)):
        expected.append(["Succeeded"] * i + ["InProgress"] + ["Pending"] * (len(EVENTS) - i - 1))
    assert [s[2] for s in seen[:-1]] == expected
    assert seen[-1] == ("Succeeded", "Succeeded", ["Succeeded"] * len(EVENTS))
    assert all(s[:2] == ("InProgress", "InProgress") for s in seen[:-1])

    t = target(cd, dep_id)
    assert t["targetId"] == TARGET and t["deploymentId"] == dep_id
    assert t["targetArn"] == "arn:aws:ecs:us-east-1:123456789012:service/default/web"
    assert all(e["startTime"] <= e["endTime"] for e in t["lifecycleEvents"])
    green = next(ts for ts in t["taskSetsInfo"] if ts["taskSetLabel"] == "Green")
    assert green["identifer"].startswith("ecs-svc/") and green["targetGroup"] == {"name": "web-green"}
    assert (green["status"], green["trafficWeight"], green["desiredCount"], green["runningCount"]) == (
        "PRIMARY",
        100.0,
        2,
        2,
    )
    # the ECS service: the replacement is the only task set, on the new revision and target group
    svc = describe(ecs)
    assert svc["taskDefinition"] == TD_ARN.format(2)
    assert [(ts["status"], ts["taskDefinition"], ts["stabilityStatus"]) for ts in svc["taskSets"]] == [
        ("PRIMARY", TD_ARN.format(2), "STEADY_STATE")
    ]
    assert svc["taskSets"][0]["id"] == green["identifer"]
    assert "/web-green/" in svc["loadBalancers"][0]["targetGroupArn"]
    assert (svc["runningCount"], svc["pendingCount"]) == (2, 0)
    running = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"]
    described = ecs.describe_tasks(cluster=CLUSTER, tasks=running)["tasks"]
    assert {t["taskDefinitionArn"] for t in described} == {TD_ARN.format(2)}
    assert {t["startedBy"] for t in described} == {green["identifer"]}
    stopped = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="STOPPED")["taskArns"]
    assert len(stopped) == 2  # the original task set's

    info = get(cd, dep_id)
    assert info["deploymentOverview"]["Succeeded"] == 1 and info["creator"] == "user"
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert "errorInformation" not in info and "rollbackInfo" not in info
    assert info["startTime"] <= info["completeTime"]


def test_task_sets_during_the_deployment(sandbox):
    ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    get(cd, dep_id)  # BeforeInstall
    assert task_sets(sandbox) == [("PRIMARY", "app:1")]
    get(cd, dep_id)  # Install: the replacement starts, tasks PENDING
    svc = describe(ecs)
    assert [(ts["status"], ts["taskDefinition"][-5:], ts["stabilityStatus"]) for ts in svc["taskSets"]] == [
        ("PRIMARY", "app:1", "STEADY_STATE"),
        ("ACTIVE", "app:2", "STABILIZING"),
    ]
    assert (svc["taskSets"][1]["pendingCount"], svc["taskSets"][1]["runningCount"]) == (2, 0)
    assert svc["taskSets"][1]["startedBy"] == "CodeDeploy"
    assert svc["taskDefinition"] == TD_ARN.format(1)
    assert sets(target(cd, dep_id)) == {
        "Blue": ("PRIMARY", 100.0, 2, 0),
        "Green": ("ACTIVE", 0.0, 0, 2),
    }
    described = ecs.describe_task_sets(cluster=CLUSTER, service=SERVICE)["taskSets"]
    assert len(described) == 2
    get(cd, dep_id)  # AfterInstall: Install succeeded, the replacement runs
    assert sets(target(cd, dep_id))["Green"] == ("ACTIVE", 0.0, 2, 0)
    assert describe(ecs)["taskSets"][1]["stabilityStatus"] == "STEADY_STATE"


@pytest.mark.parametrize(
    ("config", "weights"),
    [
        ("CodeDeployDefault.ECSAllAtOnce", [100.0]),
        ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", [10.0 * k for k in range(1, 11)]),
        ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", [10.0 * k for k in range(1, 11)]),
        ("CodeDeployDefault.ECSCanary10Percent5Minutes", [10.0, 100.0]),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", [10.0, 100.0]),
        ("MyCustomConfig", [100.0]),
    ],
)
def test_allow_traffic_shifts_by_the_deployment_config(sandbox, config, weights):
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2, deploymentConfigName=config)
    seen = []
    for _ in range(40):
        info = get(cd, dep_id)
        t = target(cd, dep_id)
        if t["lifecycleEvents"][6]["status"] == "InProgress":
            green, blue = sets(t)["Green"], sets(t)["Blue"]
            assert green[1] + blue[1] == 100.0
            seen.append(green[1])
        if info["status"] == "Succeeded":
            break
    assert seen == weights
    assert info["deploymentConfigName"] == config


def test_hook_events_are_reported_with_or_without_lambdas(sandbox):
    _ecs, cd = setup(sandbox)
    content = appspec(2, hooks={"AfterAllowTestTraffic": "ValidateTestTraffic"})
    dep_id = deploy(cd, content=content)
    assert until_done(cd, dep_id)["status"] == "Succeeded"
    assert statuses(target(cd, dep_id)) == ["Succeeded"] * 8


# -- failure and rollback --------------------------------------------------------------------------
def test_failure_at_after_allow_test_traffic_without_rollback(sandbox):
    ecs, cd = setup(sandbox)
    sandbox.codedeploy_scenario(SERVICE, "fail", at="AfterAllowTestTraffic", reason="smoke test: HTTP 500")
    dep_id = deploy(cd, 2, content=appspec(2, hooks={"AfterAllowTestTraffic": "SmokeTest"}))
    info = until_done(cd, dep_id)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "AfterAllowTestTraffic" in info["errorInformation"]["message"]
    assert "smoke test: HTTP 500" in info["errorInformation"]["message"]
    assert "rollbackInfo" not in info
    t = target(cd, dep_id)
    assert t["status"] == "Failed"
    assert statuses(t) == ["Succeeded"] * 4 + ["Failed", "Pending", "Pending", "Pending"]
    failed = t["lifecycleEvents"][4]
    assert failed["diagnostics"]["errorCode"] == "ScriptFailed"
    assert failed["diagnostics"]["scriptName"] == "SmokeTest"
    assert failed["diagnostics"]["message"] == "smoke test: HTTP 500"
    # without rollback the service is left as it is: production on blue, the replacement beside it
    assert task_sets(sandbox) == [("PRIMARY", "app:1"), ("ACTIVE", "app:2")]
    assert describe(ecs)["taskDefinition"] == TD_ARN.format(1)
    assert get(cd, dep_id)["status"] == "Failed"  # stays failed
    # the next deployment replaces the left-over task set
    dep2 = deploy(cd, 3)
    assert until_done(cd, dep2)["status"] == "Succeeded"
    assert task_sets(sandbox) == [("PRIMARY", "app:3")]


@pytest.mark.parametrize("where", ["deployment", "group"])
def test_failure_with_automatic_rollback_puts_the_service_back_on_blue(sandbox, where):
    rollback = {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    ecs, cd = setup(sandbox, group={"autoRollbackConfiguration": rollback} if where == "group" else None)
    sandbox.scenario(SERVICE, codedeploy_fail_at="AfterAllowTestTraffic", reason="validation failed")
    extra = {"autoRollbackConfiguration": rollback} if where == "deployment" else {}
    dep_id = deploy(cd, 2, **extra)
    info = until_done(cd, dep_id)
    assert info["status"] == "Failed"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert re.fullmatch(r"d-[A-Z0-9]{9}", rollback_id)
    # the rollback deployment: ListDeployments finds it in progress, newest first
    in_progress = cd.list_deployments(
        applicationName=APP, deploymentGroupName=GROUP, includeOnlyStatuses=["Created", "InProgress", "Ready"]
    )["deployments"]
    assert in_progress == [rollback_id]
    assert cd.list_deployments(applicationName=APP, deploymentGroupName=GROUP)["deployments"] == [
        rollback_id,
        dep_id,
    ]
    rb = until_done(cd, rollback_id)
    assert rb["status"] == "Succeeded"
    assert rb["creator"] == "codeDeployRollback"
    assert rb["rollbackInfo"]["rollbackTriggeringDeploymentId"] == dep_id
    revision = cd.get_application_revision(applicationName=APP, revision=rb["revision"])["revision"]
    assert TD_ARN.format(1) in revision["appSpecContent"]["content"]
    assert statuses(target(cd, rollback_id)) == ["Skipped"] * 5 + ["Succeeded"] * 3
    # the service is back on the original task set alone; the replacement's tasks stopped
    svc = describe(ecs)
    assert svc["taskDefinition"] == TD_ARN.format(1)
    assert [(ts["status"], ts["taskDefinition"]) for ts in svc["taskSets"]] == [("PRIMARY", TD_ARN.format(1))]
    assert "/web-blue/" in svc["loadBalancers"][0]["targetGroupArn"]
    running = ecs.describe_tasks(cluster=CLUSTER, tasks=ecs.list_tasks(cluster=CLUSTER)["taskArns"])["tasks"]
    assert {t["taskDefinitionArn"] for t in running} == {TD_ARN.format(1)} and len(running) == 2
    assert "Succeeded" in get(cd, dep_id)["rollbackInfo"]["rollbackMessage"]


def test_failed_tasks_at_install_carry_their_stopped_reason(sandbox):
    ecs, cd = setup(sandbox)
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
    sandbox.scenario(SERVICE, "fail", reason=reason, failed_tasks=3)  # the ECS scenario counts too
    dep_id = deploy(cd, 2, autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})
    info = until_done(cd, dep_id)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert reason in info["errorInformation"]["message"]
    t = target(cd, dep_id)
    assert statuses(t)[:2] == ["Succeeded", "Failed"]
    assert t["lifecycleEvents"][1]["diagnostics"]["errorCode"] == "UnknownError"
    green = next(ts for ts in t["taskSetsInfo"] if ts["taskSetLabel"] == "Green")
    stopped = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=stopped)["tasks"]
    assert len(tasks) == 3
    assert {t["startedBy"] for t in tasks} == {green["identifer"]}
    assert {t["stoppedReason"] for t in tasks} == {reason}
    assert {t["stopCode"] for t in tasks} == {"TaskFailedToStart"}
    until_done(cd, info["rollbackInfo"]["rollbackDeploymentId"])
    assert task_sets(sandbox) == [("PRIMARY", "app:1")]


def test_a_deployment_that_never_finishes_and_stop_with_rollback(sandbox):
    ecs, cd = setup(sandbox)
    sandbox.codedeploy_scenario(SERVICE, "never", at="AfterAllowTraffic")
    dep_id = deploy(cd, 2)
    for _ in range(30):
        info = get(cd, dep_id)
    assert info["status"] == "InProgress"
    assert statuses(target(cd, dep_id)) == ["Succeeded"] * 7 + ["InProgress"]
    assert describe(ecs)["taskDefinition"] == TD_ARN.format(2)  # traffic had moved: green is PRIMARY
    answer = cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    assert answer["status"] == "Pending"
    assert statuses(target(cd, dep_id))[-1] == "InProgress"  # carried out at the next GetDeployment
    info = get(cd, dep_id)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert statuses(target(cd, dep_id))[-1] == "Failed" and target(cd, dep_id)["status"] == "Failed"
    # GetDeployment of the stopped deployment moves its rollback on
    for _ in range(10):
        get(cd, dep_id)
    rb = get(cd, rollback_id)
    assert rb["status"] == "Succeeded" and rb["creator"] == "codeDeployRollback"
    svc = describe(ecs)
    assert svc["taskDefinition"] == TD_ARN.format(1)
    assert [ts["taskDefinition"] for ts in svc["taskSets"]] == [TD_ARN.format(1)]


def test_stop_without_rollback_leaves_the_service_as_it_is(sandbox):
    ecs, cd = setup(sandbox)
    sandbox.codedeploy_scenario(SERVICE, "never", at="AfterAllowTestTraffic")
    dep_id = deploy(cd, 2)
    for _ in range(8):
        get(cd, dep_id)
    before = task_sets(sandbox)
    assert before == [("PRIMARY", "app:1"), ("ACTIVE", "app:2")]
    assert cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=False)["status"] == "Pending"
    info = get(cd, dep_id)
    assert info["status"] == "Stopped" and "rollbackInfo" not in info
    assert task_sets(sandbox) == before
    assert describe(ecs)["taskDefinition"] == TD_ARN.format(1)
    assert cd.list_deployments(applicationName=APP, deploymentGroupName=GROUP)["deployments"] == [dep_id]


def test_errors(sandbox):
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    with pytest.raises(ClientError) as err:
        deploy(cd, 3)
    assert code(err) == "DeploymentLimitExceededException" and dep_id in str(err.value)
    get(cd, dep_id)
    with pytest.raises(ClientError) as err:
        cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    assert code(err) == "DeploymentIsNotInReadyStateException"
    with pytest.raises(ClientError) as err:
        cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="TERMINATION_WAIT")
    assert code(err) == "InvalidDeploymentStatusException"
    with pytest.raises(ClientError) as err:
        cd.get_deployment_target(deploymentId=dep_id, targetId="default:other")
    assert code(err) == "DeploymentTargetDoesNotExistException"
    until_done(cd, dep_id)
    for call in (
        lambda: cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True),
        lambda: cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "DeploymentAlreadyCompletedException"
    for call in (
        lambda: cd.get_deployment(deploymentId="d-NOSUCHONE"),
        lambda: cd.get_deployment_target(deploymentId="d-NOSUCHONE", targetId=TARGET),
        lambda: cd.stop_deployment(deploymentId="d-NOSUCHONE"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "DeploymentDoesNotExistException"


def test_a_bad_revision_fails_the_deployment(sandbox):
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, TD_ARN.format(9))
    info = until_done(cd, dep_id)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_REVISION"
    dep_id = deploy(cd, content="version: 0.0\nResources: []\n")
    assert until_done(cd, dep_id)["errorInformation"]["code"] == "INVALID_REVISION"


def test_ready_wait_until_continue_deployment(sandbox):
    option = {"deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}}
    ecs, cd = setup(sandbox, group={"blueGreenDeploymentConfiguration": option})
    dep_id = deploy(cd, 2)
    for _ in range(20):
        info = get(cd, dep_id)
    assert info["status"] == "Ready"
    t = target(cd, dep_id)
    assert t["status"] == "Ready" and statuses(t) == ["Succeeded"] * 5 + ["Pending"] * 3
    assert cd.list_deployments(applicationName=APP, deploymentGroupName=GROUP, includeOnlyStatuses=["Ready"])[
        "deployments"
    ] == [dep_id]
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    assert get(cd, dep_id)["status"] == "InProgress"
    assert statuses(target(cd, dep_id))[5] == "InProgress"
    assert until_done(cd, dep_id)["status"] == "Succeeded"
    assert describe(ecs)["taskDefinition"] == TD_ARN.format(2)


def test_termination_wait_keeps_the_original_task_set(sandbox):
    option = {
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": 5,
        }
    }
    _ecs, cd = setup(sandbox, group={"blueGreenDeploymentConfiguration": option})
    dep_id = deploy(cd, 2)
    for _ in range(12):
        info = get(cd, dep_id)
    assert info["status"] == "InProgress" and info["instanceTerminationWaitTimeStarted"] is True
    assert statuses(target(cd, dep_id)) == ["Succeeded"] * 8
    assert task_sets(sandbox) == [("ACTIVE", "app:1"), ("PRIMARY", "app:2")]
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="TERMINATION_WAIT")
    assert get(cd, dep_id)["status"] == "Succeeded"
    assert task_sets(sandbox) == [("PRIMARY", "app:2")]


def test_seconds_count_real_time_instead_of_calls(sandbox):
    _ecs, cd = setup(sandbox)
    sandbox.codedeploy_scenario(SERVICE, seconds=0.2)
    dep_id = deploy(cd, 2)
    assert get(cd, dep_id)["status"] == "Created"
    assert get(cd, dep_id)["status"] == "Created"
    time.sleep(0.45)
    assert get(cd, dep_id)["status"] == "InProgress"
    assert statuses(target(cd, dep_id))[:2] == ["Succeeded", "InProgress"]  # two steps caught up


# -- revisions, listing and discovery --------------------------------------------------------------
def test_get_deployment_hides_the_appspec_content_get_application_revision_has_it(sandbox):
    _ecs, cd = setup(sandbox)
    content = appspec(2)
    dep_id = deploy(cd, content=content)
    revision = get(cd, dep_id)["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    assert "content" not in revision["appSpecContent"] and len(revision["appSpecContent"]["sha256"]) == 64
    answer = cd.get_application_revision(applicationName=APP, revision=revision)
    assert answer["revision"]["appSpecContent"]["content"] == content
    assert answer["revisionInfo"]["deploymentGroups"] == [GROUP]
    batch = cd.batch_get_deployments(deploymentIds=[dep_id])["deploymentsInfo"]
    assert "content" not in batch[0]["revision"]["appSpecContent"]
    with pytest.raises(ClientError) as err:
        cd.get_application_revision(
            applicationName=APP,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}},
        )
    assert code(err) == "RevisionDoesNotExistException"


def test_deployment_targets(sandbox):
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    with pytest.raises(ClientError) as err:
        cd.list_deployment_targets(deploymentId=dep_id)
    assert code(err) == "DeploymentNotStartedException"
    get(cd, dep_id)
    assert cd.list_deployment_targets(deploymentId=dep_id)["targetIds"] == [TARGET]
    filtered = cd.list_deployment_targets(deploymentId=dep_id, targetFilters={"TargetStatus": ["Succeeded"]})
    assert filtered["targetIds"] == []
    batch = cd.batch_get_deployment_targets(deploymentId=dep_id, targetIds=[TARGET])["deploymentTargets"]
    assert batch[0]["deploymentTargetType"] == "ECSTarget"
    assert batch[0]["ecsTarget"] == target(cd, dep_id)
    with pytest.raises(ClientError) as err:
        cd.batch_get_deployment_targets(deploymentId=dep_id, targetIds=[TARGET] * 26)
    assert code(err) == "DeploymentTargetListSizeExceededException"


def test_list_applications_pages_through_300_applications(sandbox):
    cd = sandbox.client("codedeploy")
    started = time.monotonic()
    for i in range(300):
        cd.create_application(applicationName=f"app-{i:03d}", computePlatform="ECS" if i % 3 else "Server")
    assert time.monotonic() - started < 20  # seconds, not minutes
    sandbox.operations.clear()
    pages = list(cd.get_paginator("list_applications").paginate())
    assert [len(p["applications"]) for p in pages] == [100, 100, 100]
    assert [p.get("nextToken") is not None for p in pages] == [True, True, False]
    names = [n for p in pages for n in p["applications"]]
    assert len(set(names)) == 300
    assert sandbox.operations == ["ListApplications"] * 3
    infos = cd.batch_get_applications(applicationNames=names[:100])["applicationsInfo"]
    assert len(infos) == 100 and {i["computePlatform"] for i in infos} == {"ECS", "Server"}
    with pytest.raises(ClientError) as err:
        cd.batch_get_applications(applicationNames=names[:101])
    assert code(err) == "BatchLimitExceededException"
    with pytest.raises(ClientError) as err:
        cd.list_applications(nextToken="not a token")
    assert code(err) == "InvalidNextTokenException"


def test_deployment_groups_page_and_batch_get(sandbox):
    _ecs, cd = setup(
        sandbox,
        group={
            "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
            "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
            "blueGreenDeploymentConfiguration": {
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": 0,
                },
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            },
        },
    )
    for i in range(149):
        cd.create_deployment_group(
            applicationName=APP,
            deploymentGroupName=f"other-{i:03d}",
            serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
            ecsServices=[{"clusterName": CLUSTER, "serviceName": f"svc-{i}"}],
        )
    pages = list(cd.get_paginator("list_deployment_groups").paginate(applicationName=APP))
    assert [len(p["deploymentGroups"]) for p in pages] == [100, 50]
    assert all(p["applicationName"] == APP for p in pages)
    groups = cd.batch_get_deployment_groups(
        applicationName=APP, deploymentGroupNames=[GROUP, "other-000", "nope"]
    )
    assert "nope" in groups["errorMessage"]
    info = {g["deploymentGroupName"]: g for g in groups["deploymentGroupsInfo"]}
    assert set(info) == {GROUP, "other-000"}
    mine = info[GROUP]
    assert mine["ecsServices"] == [{"serviceName": SERVICE, "clusterName": CLUSTER}]
    assert mine["computePlatform"] == "ECS"
    assert mine["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert mine["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    assert (
        mine["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]["actionOnTimeout"]
        == "CONTINUE_DEPLOYMENT"
    )
    assert mine["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"][1] == {"name": "web-green"}
    assert info["other-000"]["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"  # the ECS default
    assert info["other-000"]["autoRollbackConfiguration"] == {"enabled": False, "events": []}
    with pytest.raises(ClientError) as err:
        cd.batch_get_deployment_groups(
            applicationName=APP, deploymentGroupNames=[f"other-{i:03d}" for i in range(101)]
        )
    assert code(err) == "BatchLimitExceededException"
    for call in (
        lambda: cd.batch_get_deployment_groups(applicationName="nope", deploymentGroupNames=[GROUP]),
        lambda: cd.list_deployment_groups(applicationName="nope"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "ApplicationDoesNotExistException"
    dep_id = deploy(cd, 2)
    until_done(cd, dep_id)
    last = cd.get_deployment_group(applicationName=APP, deploymentGroupName=GROUP)["deploymentGroupInfo"]
    assert last["lastSuccessfulDeployment"]["deploymentId"] == dep_id


# -- faults, reset, control API, seed, peek ---------------------------------------------------------
def test_faults_apply_to_codedeploy_and_a_refused_call_is_no_step(sandbox, monkeypatch):
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    sandbox.fault("GetDeployment", "ThrottlingException", times=2)
    answer = cd.get_deployment(deploymentId=dep_id)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert answer["deploymentInfo"]["status"] == "InProgress"
    assert statuses(target(cd, dep_id))[0] == "InProgress"  # one step, not three
    sandbox.fault("codedeploy:GetDeploymentTarget", "InternalFailure", status=500, times=-1)
    strict = sandbox.client(
        "codedeploy", config=__import__("botocore.config").config.Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as err:
        strict.get_deployment_target(deploymentId=dep_id, targetId=TARGET)
    assert code(err) == "InternalFailure"
    assert "CreateDeployment" in sandbox.operations and "GetDeploymentTarget" in sandbox.operations
    assert "CreateDeployment" in sandbox.mutating_operations()
    assert "GetDeploymentTarget" not in sandbox.mutating_operations()


def test_reset_wipes_codedeploy_state_and_pending_scenarios(sandbox):
    _ecs, cd = setup(sandbox)
    deploy(cd, 2)
    sandbox.codedeploy_scenario(SERVICE, "fail", at="BeforeAllowTraffic")
    sandbox.reset()
    assert cd.list_applications()["applications"] == []
    assert sandbox.operations == ["ListApplications"]
    _ecs, cd = setup(sandbox)
    assert until_done(cd, deploy(cd, 2))["status"] == "Succeeded"  # the scenario went with the reset


def test_control_api_sets_a_codedeploy_scenario(sandbox):
    _ecs, cd = setup(sandbox)
    body = {"service": SERVICE, "kind": "fail", "at": "BeforeAllowTraffic", "reason": "no"}
    request = urllib.request.Request(
        sandbox.url + "/_sandbox/codedeploy_scenario", data=json.dumps(body).encode(), method="POST"
    )
    assert json.loads(urllib.request.urlopen(request).read()) == {"ok": True}
    info = until_done(cd, deploy(cd, 2))
    assert info["status"] == "Failed" and "BeforeAllowTraffic" in info["errorInformation"]["message"]
    bad = urllib.request.Request(
        sandbox.url + "/_sandbox/codedeploy_scenario",
        data=json.dumps({"service": SERVICE, "kind": "fail", "at": "Nowhere"}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad)
    assert err.value.code == 400


def test_peek_service_shows_the_codedeploy_deployment_without_a_step(sandbox):
    _ecs, cd = setup(sandbox)
    dep_id = deploy(cd, 2)
    get(cd, dep_id)
    get(cd, dep_id)
    peek = sandbox.peek_service(SERVICE)
    assert peek["codedeploy"]["deploymentId"] == dep_id
    assert peek["codedeploy"]["status"] == "InProgress"
    assert peek["codedeploy"]["lifecycleEvents"]["Install"] == "InProgress"
    assert sandbox.peek_service(SERVICE)["codedeploy"] == peek["codedeploy"]
    assert [ts["status"] for ts in peek["taskSets"]] == ["PRIMARY", "ACTIVE"]
    assert {"taskDefinition", "desiredCount", "runningCount", "deployments", "service_deployments"} <= set(
        peek
    )


def test_seed_creates_the_codedeploy_application_and_group(sandbox, monkeypatch):
    monkeypatch.setenv("ECSPRESSO_EXT_STR", "type=web")
    sandbox.seed(EXAMPLES / "codedeploy")
    ecs, cd = sandbox.client("ecs"), sandbox.client("codedeploy")
    svc = ecs.describe_services(cluster="demo", services=["web-cd"])["services"][0]
    assert svc["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert [(ts["status"], ts["stabilityStatus"], ts["runningCount"]) for ts in svc["taskSets"]] == [
        ("PRIMARY", "STEADY_STATE", 2)
    ]
    config = yaml.safe_load((EXAMPLES / "codedeploy" / "ecspresso.yml").read_text())["codedeploy"]
    group = cd.get_deployment_group(
        applicationName=config["application_name"], deploymentGroupName=config["deployment_group_name"]
    )["deploymentGroupInfo"]
    assert group["ecsServices"] == [{"serviceName": "web-cd", "clusterName": "demo"}]
    assert group["deploymentConfigName"] == config["deployment_config_name"]
    assert [tg["name"] for tg in group["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"]] == [
        "web-cd-blue",
        "web-cd-green",
    ]
    assert os.environ["ECSPRESSO_EXT_STR"] == "type=web"


def test_moto_codedeploy_internals_the_sandbox_patches_are_unchanged(sandbox):
    from ecspresso.sandbox import codedeploy_api

    assert codedeploy_api.check_internals() == []
