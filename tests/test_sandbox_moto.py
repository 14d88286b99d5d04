"""One test per moto pitfall (reference/moto.md) that the sandbox works around, plus the canary."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

CLUSTER = "default"
TD = {"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}


def setup(sandbox, revisions=1):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    for _ in range(revisions):
        ecs.register_task_definition(**TD)
    return ecs


def describe(ecs, service="web"):
    return ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]


def test_moto_internals_the_sandbox_patches_are_unchanged():
    """Fails loudly when a moto upgrade changes what ecspresso.sandbox.patches relies on."""
    from ecspresso.sandbox import patches

    patches.install()
    problems = patches.check_internals()
    assert problems == [], "moto internals changed, the sandbox patches need a review:\n" + "\n".join(
        problems
    )


def test_create_service_keeps_the_parameters_moto_drops(sandbox):
    ecs = setup(sandbox)
    config = {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 150,
        "minimumHealthyPercent": 50,
    }
    svc = ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="app:1",
        desiredCount=1,
        launchType="FARGATE",
        deploymentConfiguration=config,
        enableExecuteCommand=True,
        enableECSManagedTags=True,
        healthCheckGracePeriodSeconds=30,
        placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"}],
    )["service"]
    again = describe(ecs)
    for got in (svc, again):
        assert got["deploymentConfiguration"] == config
        assert got["enableExecuteCommand"] is True and got["enableECSManagedTags"] is True
        assert got["healthCheckGracePeriodSeconds"] == 30
        assert got["launchType"] == "FARGATE" and got["platformVersion"] == "LATEST"
        assert got["placementStrategy"] == [{"type": "spread", "field": "attribute:ecs.availability-zone"}]


def test_create_service_with_capacity_provider_strategy_has_no_launch_type(sandbox):
    ecs = setup(sandbox)
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    svc = ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="app:1",
        desiredCount=1,
        capacityProviderStrategy=strategy,
    )["service"]
    assert "launchType" not in svc and svc["capacityProviderStrategy"] == strategy
    assert svc["deployments"][0]["capacityProviderStrategy"] == strategy
    assert "launchType" not in svc["deployments"][0]
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}


def test_create_service_without_launch_type_or_strategy_is_ec2(sandbox):
    ecs = setup(sandbox)
    svc = ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)[
        "service"
    ]
    assert svc["launchType"] == "EC2" and svc["enableExecuteCommand"] is False


def test_update_service_stores_the_task_definition_arn_not_the_raw_string(sandbox):
    ecs = setup(sandbox, revisions=2)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)
    svc = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")["service"]
    assert svc["taskDefinition"].endswith(":task-definition/app:2") and svc["taskDefinition"].startswith(
        "arn:"
    )
    with pytest.raises(ClientError, match="ClientException"):
        ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:9")


def test_update_service_creates_a_new_primary_deployment_with_events(sandbox):
    ecs = setup(sandbox, revisions=2)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)
    svc = ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2", forceNewDeployment=True)[
        "service"
    ]
    assert [d["status"] for d in svc["deployments"]] == ["PRIMARY", "ACTIVE"]  # moto keeps one deployment
    assert svc["deployments"][0]["taskDefinition"] == svc["taskDefinition"]
    assert describe(ecs)["events"]  # moto's events are always []


def test_services_stable_waiter_passes_after_create_service(sandbox):
    ecs = setup(sandbox)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=3)
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=["web"], WaiterConfig={"Delay": 0.01})
    svc = describe(ecs)
    assert svc["runningCount"] == 3 and svc["deployments"][0]["rolloutState"] == "COMPLETED"


def test_list_task_definitions_sorts_and_paginates(sandbox):
    ecs = setup(sandbox)
    for family in ("zeta", "alpha", "app"):
        ecs.register_task_definition(**{**TD, "family": family})
        ecs.register_task_definition(**{**TD, "family": family})
    names = lambda arns: [a.rsplit("/", 1)[1] for a in arns]  # noqa: E731
    asc = ecs.list_task_definitions()["taskDefinitionArns"]
    assert names(asc) == ["alpha:1", "alpha:2", "app:1", "app:2", "app:3", "zeta:1", "zeta:2"]
    desc = ecs.list_task_definitions(familyPrefix="app", sort="DESC")["taskDefinitionArns"]
    assert names(desc) == ["app:3", "app:2", "app:1"]

    page = ecs.list_task_definitions(maxResults=3)
    assert len(page["taskDefinitionArns"]) == 3 and page["nextToken"]
    rest = ecs.list_task_definitions(maxResults=3, nextToken=page["nextToken"])
    assert names(rest["taskDefinitionArns"]) == ["app:2", "app:3", "zeta:1"]
    paged = [
        arn
        for p in ecs.get_paginator("list_task_definitions").paginate(
            sort="DESC", PaginationConfig={"PageSize": 2}
        )
        for arn in p["taskDefinitionArns"]
    ]
    assert paged == list(reversed(asc))
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.list_task_definitions(nextToken="not-a-token")


def test_list_tasks_honours_service_name_started_by_and_paginates(sandbox):
    ecs = setup(sandbox)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=3)
    ecs.create_service(cluster=CLUSTER, serviceName="api", taskDefinition="app:1", desiredCount=1)
    web = describe(ecs, "web")
    describe(ecs, "api")
    ecs.run_task(
        cluster=CLUSTER, taskDefinition="app:1", startedBy="me", launchType="FARGATE"
    )  # a one-off task, no service

    assert len(ecs.list_tasks(cluster=CLUSTER, serviceName="web")["taskArns"]) == 3
    assert len(ecs.list_tasks(cluster=CLUSTER, serviceName="api")["taskArns"]) == 1
    assert len(ecs.list_tasks(cluster=CLUSTER)["taskArns"]) == 5
    started_by = ecs.list_tasks(cluster=CLUSTER, startedBy=web["deployments"][0]["id"])["taskArns"]
    assert len(started_by) == 3
    assert len(ecs.list_tasks(cluster=CLUSTER, startedBy="me")["taskArns"]) == 1
    page = ecs.list_tasks(cluster=CLUSTER, maxResults=2)
    assert len(page["taskArns"]) == 2 and "nextToken" in page
    with pytest.raises(ClientError, match="ServiceNotFoundException"):
        ecs.list_tasks(cluster=CLUSTER, serviceName="nope")


def test_list_tasks_defaults_to_desired_status_running(sandbox):
    ecs = setup(sandbox)
    arn = ecs.run_task(cluster=CLUSTER, taskDefinition="app:1", launchType="FARGATE")["tasks"][0]["taskArn"]
    ecs.stop_task(cluster=CLUSTER, task=arn, reason="done")
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == []
    assert ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"] == [arn]


def test_simulated_tasks_do_not_stop_by_themselves(sandbox):
    ecs = setup(sandbox)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)
    describe(ecs)
    describe(ecs)
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName="web")["taskArns"]
    for _ in range(6):  # moto's own tasks move RUNNING -> DEACTIVATING -> ... on every describe
        task = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"][0]
        assert (task["lastStatus"], task["desiredStatus"]) == ("RUNNING", "RUNNING")
    assert task["containers"][0]["lastStatus"] == "RUNNING"
    assert task["taskArn"] == arns[0] and task["containers"][0]["taskArn"] == arns[0]
    stopped = ecs.stop_task(cluster=CLUSTER, task=arns[0], reason="by hand")["task"]
    assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"] == "by hand"


def test_service_deployments_api_missing_from_moto_is_answered_by_the_sandbox(sandbox):
    """moto 5.2.5 has no ListServiceDeployments (HTTP 500); the sandbox answers it (and the canary
    above fails if moto starts implementing it)."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    from ecspresso.sandbox import patches

    assert "EC2ContainerServiceResponse.list_service_deployments" not in patches.ORIGINALS
    assert (
        EC2ContainerServiceResponse.list_service_deployments
        is patches._NEW_ACTIONS["list_service_deployments"]
    )
    ecs = setup(sandbox)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1)
    client = sandbox.client("ecs", config=_no_retry())
    assert len(client.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"]) == 1


def _no_retry():
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1})


def test_update_service_with_a_capacity_provider_strategy_drops_the_launch_type(sandbox):
    ecs = setup(sandbox)
    ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition="app:1", desiredCount=1, launchType="FARGATE"
    )
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    svc = ecs.update_service(
        cluster=CLUSTER, service="web", capacityProviderStrategy=strategy, forceNewDeployment=True
    )["service"]
    assert "launchType" not in svc and svc["capacityProviderStrategy"] == strategy
    assert svc["deployments"][0]["capacityProviderStrategy"] == strategy


def test_code_deploy_services_refuse_a_new_task_definition(sandbox):
    ecs = setup(sandbox, revisions=2)
    svc = ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="app:1",
        desiredCount=1,
        deploymentController={"type": "CODE_DEPLOY"},
    )["service"]
    assert svc["deployments"] == []
    with pytest.raises(ClientError, match="CODE_DEPLOY deployment controller"):
        ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="app:2")
    assert ecs.update_service(cluster=CLUSTER, service="web", desiredCount=2)["service"]["desiredCount"] == 2
