"""The in-use check (``ecspresso.inuse``): every cluster, service, event bus and schedule; bounded;
an incomplete answer says so. Pure helpers first, then the check against the sandbox."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from ecs_fixtures import (
    ACCOUNT,
    REGION,
    client,
    default_network,
    make_app,
    make_project,
    register,
    schedule,
    seed_service,
)
from ecspresso import inuse
from ecspresso.inuse import (
    Gap,
    InUse,
    as_task_definition_arn,
    in_use_revisions,
    is_ecs_cluster_arn,
    pinned_revisions,
    refusal,
    service_revisions,
)

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsEventsRole"
DENIED = "AccessDeniedException"


# ---------------------------------------------------------------------------------------------
# pure


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ([(f"{TD}/app:3", "rule a")], {f"{TD}/app:3": "rule a"}),
        ([(f"{TD}/app", "rule a")], {}),  # family only: runs the newest ACTIVE revision, pins nothing
        ([(f"{TD}/api:3", "rule a")], {}),  # another family
        ([(f"{TD}/application:3", "rule a")], {}),  # a family whose name starts with ours
        ([("", "rule a")], {}),  # a target without EcsParameters
        ([(f"{TD}/app:3", "rule a"), (f"{TD}/app:3", "rule b")], {f"{TD}/app:3": "rule a"}),
        ([(f"{TD}/app:3", "a"), (f"{TD}/app:4", "b")], {f"{TD}/app:3": "a", f"{TD}/app:4": "b"}),
    ],
    ids=["pinned", "family-only", "other-family", "prefix-family", "no-ecs", "first-wins", "two"],
)
def test_pinned_revisions(targets, expected):
    assert pinned_revisions(targets, "app") == expected


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (
            {
                "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web",
                "taskDefinition": f"{TD}/app:3",
                "deployments": [
                    {"status": "PRIMARY", "taskDefinition": f"{TD}/app:3"},
                    {"status": "ACTIVE", "taskDefinition": "app:2"},  # short form: made an ARN
                ],
            },
            [
                (f"{TD}/app:3", "PRIMARY deployment"),
                (f"{TD}/app:2", "ACTIVE deployment"),
                (f"{TD}/app:3", "service"),
            ],
        ),
        (
            {  # CODE_DEPLOY / EXTERNAL: task sets, no deployments
                "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web",
                "taskSets": [
                    {"status": "PRIMARY", "taskDefinition": f"{TD}/app:5"},
                    {"status": "ACTIVE", "taskDefinition": f"{TD}/app:6"},
                ],
            },
            [(f"{TD}/app:5", "PRIMARY task set"), (f"{TD}/app:6", "ACTIVE task set")],
        ),
        ({"serviceArn": "x", "deployments": [{"status": "PRIMARY"}]}, []),
    ],
    ids=["deployments", "task-sets", "no-task-definition"],
)
def test_service_revisions(service, expected):
    assert service_revisions(service) == expected


@pytest.mark.parametrize(
    ("ref", "like", "expected"),
    [
        ("app:2", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/c/web", f"{TD}/app:2"),
        (f"{TD}/app:2", "anything", f"{TD}/app:2"),
        ("app:2", "", "app:2"),
    ],
)
def test_as_task_definition_arn(ref, like, expected):
    assert as_task_definition_arn(ref, like) == expected


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (f"{CLUSTER}/default", True),
        ("arn:aws-cn:ecs:cn-north-1:1:cluster/x", True),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", False),
        (f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/web", False),
        ("", False),
    ],
)
def test_is_ecs_cluster_arn(arn, expected):
    assert is_ecs_cluster_arn(arn) is expected


@pytest.mark.parametrize(
    ("gaps", "names", "expected"),
    [
        (
            [Gap("schedule", "events:ListRules", f"denied ({DENIED})", denied=True)],
            ["app:3"],
            f"cannot tell whether app:3 is pinned by a schedule: events:ListRules denied ({DENIED}); "
            "grant it or pass --force to deregister anyway",
        ),
        (
            [
                Gap("service", "ecs:ListServices", f"denied ({DENIED})", denied=True),
                Gap("schedule", "events:ListRules", f"denied ({DENIED})", denied=True),
            ],
            ["app:1", "app:2"],
            "cannot tell whether app:1, app:2 are used by a service or pinned by a schedule: "
            f"ecs:ListServices denied ({DENIED}); events:ListRules denied ({DENIED}); "
            "grant them or pass --force to deregister anyway",
        ),
        (
            [Gap("cluster", "ecs:ListClusters", "more than 50 clusters (the in-use check's bound)")],
            [f"app:{i}" for i in range(1, 8)],
            "cannot tell whether app:1, app:2, app:3, app:4, app:5 and 2 more are used by a service or "
            "task in another cluster: ecs:ListClusters more than 50 clusters (the in-use check's bound); "
            "pass --force to deregister anyway",
        ),
    ],
    ids=["denied", "two-denied", "bound"],
)
def test_refusal_names_what_could_not_be_checked(gaps, names, expected):
    assert refusal(InUse({}, gaps), names) == expected


def test_in_use_is_a_mapping_with_gaps():
    in_use = InUse({f"{TD}/app:1": "PRIMARY deployment"}, [Gap("task", "ecs:ListTasks", "x")] * 2)
    assert dict(in_use) == {f"{TD}/app:1": "PRIMARY deployment"}
    assert in_use.why("app:1") == "PRIMARY deployment" and in_use.why("app:2") == ""
    assert not in_use.complete and len(in_use.gaps) == 1  # the same gap twice is one gap
    assert InUse({}).complete


# ---------------------------------------------------------------------------------------------
# the check against the sandbox


def add_service(sandbox: Any, cluster: str, name: str, task_definition: str) -> None:
    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName=cluster)
    subnets, groups = default_network(sandbox)
    ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=task_definition,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}},
    )


def run_task_in(sandbox: Any, cluster: str, task_definition: str) -> None:
    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName=cluster)
    subnets, groups = default_network(sandbox)
    ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}},
    )


def bus_rule(sandbox: Any, bus: str, rule: str, task_definition: str) -> None:
    """A rule on a custom event bus (event pattern: schedules live on the default bus only)."""
    events = client(sandbox, "events")
    if bus not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=bus)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[
            {
                "Id": "ecs",
                "Arn": f"{CLUSTER}/default",
                "RoleArn": ROLE,
                "EcsParameters": {"TaskDefinitionArn": task_definition, "TaskCount": 1},
            }
        ],
    )


def scheduler_schedule(sandbox: Any, name: str, task_definition: str, *, group: str = "default") -> None:
    """An EventBridge Scheduler schedule with an ECS target."""
    scheduler = client(sandbox, "scheduler")
    if group != "default":
        scheduler.create_schedule_group(Name=group)
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"{CLUSTER}/default",
            "RoleArn": ROLE,
            "EcsParameters": {"TaskDefinitionArn": task_definition, "TaskCount": 1},
        },
    )


@pytest.fixture
def web(sandbox, tmp_path):
    """Service default/web on app:1; app:2..app:6 registered, unused."""
    config = make_project(tmp_path)
    seed_service(sandbox, config)
    register(sandbox, config, count=5)
    return config


def test_finds_every_user_in_every_cluster_bus_and_schedule_group(sandbox, web):
    add_service(sandbox, "default", "worker", f"{TD}/app:2")  # second service, same cluster
    add_service(sandbox, "other", "api", f"{TD}/app:3")  # a service in another cluster
    run_task_in(sandbox, "batch", f"{TD}/app:4")  # a standalone task in a cluster without services
    bus_rule(sandbox, "orders", "on-order", f"{TD}/app:5")  # a rule on a custom event bus
    scheduler_schedule(sandbox, "nightly", f"{TD}/app:6", group="jobs")  # EventBridge Scheduler
    scheduler_schedule(sandbox, "hourly", f"{TD}/app")  # family only: pins nothing

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert in_use.complete, in_use.gaps
    assert {k.rsplit("/", 1)[1]: v for k, v in in_use.items()} == {
        "app:1": "PRIMARY deployment",
        "app:2": "PRIMARY deployment of service default/worker",
        "app:3": "PRIMARY deployment of service other/api",
        "app:4": in_use[f"{TD}/app:4"],
        "app:5": "EventBridge rule on-order on event bus orders",
        "app:6": "EventBridge Scheduler schedule nightly in group jobs",
    }
    assert in_use[f"{TD}/app:4"].endswith(" task in cluster batch")


def test_the_configured_service_reads_as_ecspresso_writes_it(sandbox, web):
    add_service(sandbox, "other", "web", f"{TD}/app:1")  # the same revision elsewhere too

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert in_use.why("app:1") == "PRIMARY deployment"


def test_a_typical_account_costs_nine_calls_plus_one_per_rule_and_ecs_schedule(sandbox, web):
    for i in range(9):  # 10 services in 1 cluster (web included)
        add_service(sandbox, "default", f"svc{i}", f"{TD}/app:1")
    schedule(sandbox, "nightly", f"{TD}/app:2")  # R = 1
    scheduler_schedule(sandbox, "hourly", f"{TD}/app:3")  # S = 1
    app = make_app(sandbox, web)

    in_use = in_use_revisions(app, "app")

    assert in_use.complete and set(map(in_use.why, ["app:1", "app:2", "app:3"])) != {""}
    assert Counter(app.aws.calls) == {
        "ListClusters": 1,
        "ListServices": 1,
        "DescribeServices": 1,
        "ListTasks": 2,  # desired RUNNING and STOPPED
        "DescribeTasks": 1,  # the tasks of web (and of the other services running app:1)
        "ListEventBuses": 1,
        "ListRules": 1,
        "ListTargetsByRule": 1,  # R
        "ListSchedules": 1,
        "GetSchedule": 1,  # S
    }
    assert len(app.aws.calls) == 9 + 1 + 1


def test_follows_pages_of_every_listing(sandbox, web, monkeypatch):
    monkeypatch.setattr(inuse, "PAGE_SIZE", 1)
    for i in range(3):
        schedule(sandbox, f"rule{i}", f"{TD}/app:{i + 2}")
    bus_rule(sandbox, "orders", "on-order", f"{TD}/app:5")
    scheduler_schedule(sandbox, "s1", f"{TD}/app")
    scheduler_schedule(sandbox, "s2", f"{TD}/app:6")
    app = make_app(sandbox, web)

    in_use = in_use_revisions(app, "app")

    assert in_use.complete
    assert sorted(in_use.why(f"app:{i}").split()[0] for i in range(1, 7)) == ["EventBridge"] * 5 + ["PRIMARY"]
    assert app.aws.calls.count("ListRules") >= 4  # one page per rule on two buses


@pytest.mark.parametrize(
    ("bound", "value", "setup", "gap"),
    [
        ("MAX_CLUSTERS", 1, "cluster", "ecs:ListClusters more than 1 clusters"),
        ("MAX_SERVICES", 1, "service", "ecs:ListServices more than 1 services"),
        ("MAX_RULES", 1, "rules", "events:ListRules more than 1 EventBridge rules"),
        ("MAX_ECS_SCHEDULES", 1, "schedules", "scheduler:GetSchedule more than 1 schedules"),
    ],
)
def test_a_bound_exceeded_makes_the_check_incomplete(sandbox, web, monkeypatch, bound, value, setup, gap):
    monkeypatch.setattr(inuse, bound, value)
    if setup == "cluster":
        add_service(sandbox, "other", "api", f"{TD}/app:3")
    elif setup == "service":
        add_service(sandbox, "default", "worker", f"{TD}/app:3")
    elif setup == "rules":
        schedule(sandbox, "a", f"{TD}/app:3")
        schedule(sandbox, "b", f"{TD}/app:4")
    else:
        scheduler_schedule(sandbox, "a", f"{TD}/app:3")
        scheduler_schedule(sandbox, "b", f"{TD}/app:4")

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert not in_use.complete
    assert in_use.gap_text().startswith(gap)


@pytest.mark.parametrize(
    ("operation", "gap", "still_known"),
    [
        ("events:ListRules", "events:ListRules denied", "app:1"),
        ("events:ListEventBuses", "events:ListEventBuses denied", "app:2"),  # the default bus still checked
        ("events:ListTargetsByRule", "events:ListTargetsByRule denied", "app:1"),
        ("scheduler:ListSchedules", "scheduler:ListSchedules denied", "app:2"),
        ("scheduler:GetSchedule", "scheduler:GetSchedule denied", "app:2"),
        ("ecs:ListClusters", "ecs:ListClusters denied", "app:1"),  # the configured cluster still checked
        ("ecs:ListServices", "ecs:ListServices denied", "app:1"),  # the configured service still checked
        ("ecs:DescribeServices", "ecs:DescribeServices denied", "app:2"),
        ("ecs:ListTasks", "ecs:ListTasks denied", "app:1"),
    ],
)
def test_a_denied_call_is_a_gap_and_what_is_known_stays_known(sandbox, web, operation, gap, still_known):
    schedule(sandbox, "nightly", f"{TD}/app:2")
    scheduler_schedule(sandbox, "hourly", f"{TD}/app:3")
    sandbox.fault(operation, DENIED, status=400, times=-1)

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert in_use.gap_text() == f"{gap} ({DENIED})"
    assert in_use.why(still_known)


def test_any_other_error_is_a_gap_too(sandbox, web, monkeypatch):
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    sandbox.fault("events:ListRules", "ServiceUnavailableException", status=503, times=-1)

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert in_use.gap_text() == "events:ListRules failed (ServiceUnavailableException)"
    assert not in_use.gaps[0].denied


# ---------------------------------------------------------------------------------------------
# the other users of the check: revisions, and the deregistration after an automatic rollback


def test_revisions_warns_that_its_in_use_column_may_be_incomplete(sandbox, web, capsys):
    from ecs_fixtures import stdout_of
    from ecspresso.commands.revisions import RevisionsOption, revisions

    sandbox.fault("events:ListRules", DENIED, status=400, times=-1)
    app = make_app(sandbox, web)

    revisions(app, RevisionsOption(output="tsv"))

    assert stdout_of(app).startswith("app:1\tPRIMARY deployment\napp:2\t\n")
    assert (
        f"the IN USE column may be incomplete: events:ListRules denied ({DENIED})" in capsys.readouterr().err
    )


def test_a_rolled_back_deploy_keeps_the_failed_revision_it_cannot_vouch_for(
    sandbox, tmp_path, monkeypatch, capfd
):
    import botocore.retries.standard

    from ecs_fixtures import set_image
    from ecspresso.cli import run

    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    config = make_project(tmp_path)
    seed_service(sandbox, config)
    assert run(["--config", str(config), "wait"])[0] == 0
    sandbox.scenario("web", "fail", polls=2, reason="CannotPullContainerError: nginx:broken not found")
    set_image(config, "nginx:broken")
    sandbox.fault("events:ListRules", DENIED, status=400, times=-1)

    code, result = run(["--config", str(config), "deploy", "--rollback-on-failure", "--deregister-failed"])

    assert code == 1 and result is not None and result.result == "rolled-back"  # not "failed"
    assert (
        client(sandbox, "ecs").describe_task_definition(taskDefinition="app:2")["taskDefinition"]["status"]
        == "ACTIVE"
    )
    assert (
        "not deregistering app:2: cannot tell whether app:2 is pinned by a schedule" in capfd.readouterr().err
    )
