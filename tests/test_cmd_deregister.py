"""``deregister``: never a revision in use (service, tasks, EventBridge), never the newest implicitly."""

from __future__ import annotations

import sys

import pytest

from ecs_fixtures import (
    ACCOUNT,
    REGION,
    FakeTTY,
    client,
    make_app,
    make_project,
    mutating_calls,
    register,
    run_task,
    schedule,
    seed_service,
    start_recording,
    td_status,
)
from ecspresso.commands.deregister import DeregisterOption, deregister, in_use_revisions
from ecspresso.errors import EcspressoError, UsageError

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"


def _active(sandbox, family="app"):
    arns = client(sandbox, "ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")[
        "taskDefinitionArns"
    ]
    return sorted(int(a.rsplit(":", 1)[1]) for a in arns)


@pytest.fixture
def batch(sandbox, tmp_path):
    """A task-definition-only project (no service) with revisions app:1..3."""
    config = make_project(tmp_path, service=None)
    seed_service(sandbox, config, revisions=3)
    return config


@pytest.fixture
def web(sandbox, tmp_path):
    """Service web running app:1, then app:2 and app:3 registered but not deployed."""
    config = make_project(tmp_path)
    seed_service(sandbox, config)
    register(sandbox, config, count=2)
    return config


def test_in_use_revisions_names_service_tasks_and_pinned_schedules(sandbox, web):
    run_task(sandbox, web, f"{TD}/app:2")
    schedule(sandbox, "nightly", f"{TD}/app:3")
    schedule(sandbox, "hourly", f"{TD}/app")  # family only: pins nothing

    in_use = in_use_revisions(make_app(sandbox, web), "app")

    assert in_use[f"{TD}/app:1"] == "PRIMARY deployment"
    assert in_use[f"{TD}/app:2"].endswith(" task")
    assert in_use[f"{TD}/app:3"] == "EventBridge rule nightly"
    assert set(in_use) == {f"{TD}/app:1", f"{TD}/app:2", f"{TD}/app:3"}


@pytest.mark.parametrize(
    ("setup", "revision", "reason"),
    [
        ("service", "1", "PRIMARY deployment"),
        ("task", "2", r"\w+ task"),
        ("schedule", "3", "EventBridge rule nightly"),
    ],
)
def test_refuses_a_revision_in_use(sandbox, web, setup, revision, reason):
    if setup == "task":
        run_task(sandbox, web, f"{TD}/app:2")
    if setup == "schedule":
        schedule(sandbox, "nightly", f"{TD}/app:3")
    app = make_app(sandbox, web)

    with pytest.raises(EcspressoError, match=rf"^app:{revision} is in use by {reason}$"):
        deregister(app, DeregisterOption(revision=revision, force=True))

    assert td_status(sandbox, f"app:{revision}") == "ACTIVE"
    assert mutating_calls(app) == []


def test_refuses_a_revision_run_by_a_task_without_a_service(sandbox, batch):
    run_task(sandbox, batch, f"{TD}/app:2")

    with pytest.raises(EcspressoError, match=r"app:2 is in use by \w+ task"):
        deregister(make_app(sandbox, batch), DeregisterOption(revision="2", force=True))


def test_deregisters_an_unused_revision(sandbox, web):
    schedule(sandbox, "hourly", f"{TD}/app")  # a family-only target does not pin app:2
    app = make_app(sandbox, web)

    result = deregister(app, DeregisterOption(revision="2", force=True))

    assert (result.result, result.task_definition_arn) == ("deregistered", f"{TD}/app:2")
    assert _active(sandbox) == [1, 3]


def test_revision_latest_deregisters_the_newest_of_a_batch_family(sandbox, batch):
    result = deregister(make_app(sandbox, batch), DeregisterOption(revision="latest", force=True))

    assert result.task_definition_arn == f"{TD}/app:3"
    assert _active(sandbox) == [1, 2]


@pytest.mark.parametrize(
    ("keeps", "remaining"),
    [
        (1, [3, 5]),  # app:3 runs in the service, app:5 is the newest
        (2, [3, 4, 5]),
        (3, [2, 3, 4, 5]),
        (9, [1, 2, 3, 4, 5]),
    ],
)
def test_keeps_counts_unused_revisions_and_keeps_the_newest(sandbox, tmp_path, keeps, remaining):
    config = make_project(tmp_path)
    seed_service(sandbox, config, revisions=3)  # service on app:3
    register(sandbox, config, count=2)  # app:4, app:5

    deregister(make_app(sandbox, config), DeregisterOption(keeps=keeps, force=True))

    assert _active(sandbox) == remaining


def test_keeps_never_deregisters_a_pinned_or_newest_revision(sandbox, batch):
    schedule(sandbox, "nightly", f"{TD}/app:1")

    result = deregister(make_app(sandbox, batch), DeregisterOption(keeps=1, force=True))

    assert result.message == "app:2"
    assert _active(sandbox) == [1, 3]


@pytest.mark.parametrize(
    "opts",
    [DeregisterOption(revision="2", dry_run=True), DeregisterOption(keeps=1, dry_run=True, delete=True)],
    ids=["revision", "keeps"],
)
def test_dry_run_makes_no_mutating_call(sandbox, web, opts):
    app = make_app(sandbox, web)
    start_recording(sandbox)

    result = deregister(app, opts)

    assert result.result == "dry-run"
    assert mutating_calls(app, sandbox) == []
    assert _active(sandbox) == [1, 2, 3]


def test_delete_also_deletes_the_revisions(sandbox, batch):
    app = make_app(sandbox, batch)

    deregister(app, DeregisterOption(keeps=1, force=True, delete=True))

    assert app.aws.calls.count("DeregisterTaskDefinition") == 2
    assert app.aws.calls.count("DeleteTaskDefinitions") == 1
    assert _active(sandbox) == [3]


def test_without_force_and_without_a_terminal_refuses(sandbox, web, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115
    app = make_app(sandbox, web)

    with pytest.raises(EcspressoError, match="stdin is not a terminal: pass --force"):
        deregister(app, DeregisterOption(revision="2"))

    assert _active(sandbox) == [1, 2, 3]


@pytest.mark.parametrize(("answer", "remaining"), [("y", [1, 3]), ("n", [1, 2, 3]), ("", [1, 2, 3])])
def test_prompt_on_a_terminal(sandbox, web, monkeypatch, answer, remaining):
    monkeypatch.setattr(sys, "stdin", FakeTTY(answer))
    app = make_app(sandbox, web)

    if answer == "y":
        deregister(app, DeregisterOption(revision="2"))
    else:
        with pytest.raises(EcspressoError, match="confirmation failed"):
            deregister(app, DeregisterOption(revision="2"))

    assert _active(sandbox) == remaining


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (DeregisterOption(), "--revision or --keeps required"),
        (DeregisterOption(keeps=0), "--revision or --keeps required"),
        (DeregisterOption(revision="two"), "invalid --revision"),
        (DeregisterOption(revision="1", keeps=1), "mutually exclusive"),
    ],
)
def test_usage_errors(sandbox, batch, opts, message):
    with pytest.raises(UsageError, match=message):
        deregister(make_app(sandbox, batch), opts)


def test_batch_family_in_a_cluster_that_does_not_exist(sandbox, tmp_path):
    config = make_project(tmp_path, service=None, cluster="batch")
    register(sandbox, config, count=2)  # no cluster "batch" at all

    result = deregister(make_app(sandbox, config), DeregisterOption(revision="latest", force=True))

    assert result.task_definition_arn == f"{TD}/app:2"
    assert _active(sandbox) == [1]


# ---------------------------------------------------------------------------------------------
# an incomplete in-use check refuses (issue 8, item 8); every user counts (item 9)

DENIED_RULES = (
    "cannot tell whether {names} pinned by a schedule: events:ListRules denied (AccessDeniedException); "
    "grant it or pass --force to deregister anyway"
)


def _deregistered(sandbox):
    return [op for op in sandbox.mutating_operations() if op.startswith("Deregister")]


@pytest.fixture
def confirmed(monkeypatch):
    """Someone at a terminal who answers y: the refusal is not the confirmation prompt's."""
    monkeypatch.setattr(sys, "stdin", FakeTTY("y"))


@pytest.mark.parametrize(
    ("opts", "names"),
    [(DeregisterOption(keeps=1), "app:1, app:2 are"), (DeregisterOption(revision="1"), "app:1 is")],
    ids=["keeps", "revision"],
)
def test_refuses_when_rules_cannot_be_listed(sandbox, batch, confirmed, opts, names):
    schedule(sandbox, "nightly", f"{TD}/app:1")  # pinned, but the role may not see it
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)
    app = make_app(sandbox, batch)
    start_recording(sandbox)

    with pytest.raises(EcspressoError) as err:
        deregister(app, opts)

    assert str(err.value) == DENIED_RULES.format(names=names)
    assert _deregistered(sandbox) == []
    assert _active(sandbox) == [1, 2, 3]


def test_keeps_names_every_revision_it_cannot_vouch_for(sandbox, batch, confirmed):
    register(sandbox, batch, count=2)  # app:1..5: app:1..3 would go
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)

    with pytest.raises(
        EcspressoError, match=r"^cannot tell whether app:1, app:2, app:3 are pinned by a schedule"
    ):
        deregister(make_app(sandbox, batch), DeregisterOption(keeps=2))

    assert _active(sandbox) == [1, 2, 3, 4, 5]


def test_dry_run_reports_the_same_refusal(sandbox, batch):
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)
    app = make_app(sandbox, batch)
    start_recording(sandbox)

    with pytest.raises(EcspressoError, match=r"^cannot tell whether app:1, app:2 are pinned by a schedule"):
        deregister(app, DeregisterOption(keeps=1, dry_run=True))

    assert mutating_calls(app, sandbox) == []


def test_force_warns_and_deregisters_what_is_not_known_to_be_in_use(sandbox, web, capsys):
    register(sandbox, web, count=1)  # service on app:1; app:2, app:3, app:4 (newest)
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)

    result = deregister(make_app(sandbox, web), DeregisterOption(keeps=1, force=True))

    assert result.message == "app:2, app:3"
    assert _active(sandbox) == [1, 4]  # app:1 is still known to run in the service
    err = capsys.readouterr().err
    assert (
        "the in-use check is incomplete (events:ListRules denied (AccessDeniedException)): app:2, app:3 "
        "may be pinned by a schedule; deregistering anyway (--force)"
    ) in err


def test_refusal_through_the_cli_is_one_line_and_exit_1(sandbox, batch, monkeypatch, capfd):
    from ecspresso.cli import run

    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)

    code, _ = run(["--config", str(batch), "deregister", "--keeps", "1"])

    assert code == 1
    errors = [line for line in capfd.readouterr().err.splitlines() if "FAILED" in line]
    assert len(errors) == 1 and errors[0].endswith(DENIED_RULES.format(names="app:1, app:2 are"))
    assert _active(sandbox) == [1, 2, 3]


def _other_service(sandbox, cluster, name, revision):
    from ecs_fixtures import default_network

    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName=cluster)
    subnets, groups = default_network(sandbox)
    ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=f"{TD}/app:{revision}",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}},
    )


@pytest.mark.parametrize("cluster", ["other", "default"], ids=["another-cluster", "same-cluster"])
def test_a_revision_another_service_runs_survives(sandbox, web, cluster):
    _other_service(sandbox, cluster, "api", 2)  # web runs app:1; api runs app:2; app:3 newest

    deregister(make_app(sandbox, web), DeregisterOption(keeps=1, force=True))
    with pytest.raises(
        EcspressoError, match=f"^app:2 is in use by PRIMARY deployment of service {cluster}/api$"
    ):
        deregister(make_app(sandbox, web), DeregisterOption(revision="2", force=True))

    assert _active(sandbox) == [1, 2, 3]


def test_a_revision_run_by_a_task_in_another_cluster_survives(sandbox, batch):
    from ecs_fixtures import default_network

    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName="jobs")
    subnets, groups = default_network(sandbox)
    ecs.run_task(cluster="jobs", taskDefinition="app:1", launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}})  # fmt: skip

    result = deregister(make_app(sandbox, batch), DeregisterOption(keeps=1, force=True))

    assert result.message == "app:2"
    assert _active(sandbox) == [1, 3]


def test_a_revision_pinned_on_a_custom_event_bus_survives(sandbox, batch):
    events = client(sandbox, "events")
    events.create_event_bus(Name="orders")
    events.put_rule(Name="on-order", EventBusName="orders", EventPattern='{"source": ["orders"]}')
    events.put_targets(
        Rule="on-order",
        EventBusName="orders",
        Targets=[
            {
                "Id": "ecs",
                "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsEventsRole",
                "EcsParameters": {"TaskDefinitionArn": f"{TD}/app:1", "TaskCount": 1},
            }
        ],
    )

    result = deregister(make_app(sandbox, batch), DeregisterOption(keeps=1, force=True))

    assert result.message == "app:2"
    assert _active(sandbox) == [1, 3]


def test_a_revision_pinned_by_an_eventbridge_scheduler_schedule_survives(sandbox, batch):
    client(sandbox, "scheduler").create_schedule(
        Name="nightly",
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/schedulerRole",
            "EcsParameters": {"TaskDefinitionArn": f"{TD}/app:1", "TaskCount": 1},
        },
    )

    with pytest.raises(EcspressoError, match=r"^app:1 is in use by EventBridge Scheduler schedule nightly$"):
        deregister(make_app(sandbox, batch), DeregisterOption(revision="1", force=True))

    assert _active(sandbox) == [1, 2, 3]


def test_a_bound_exceeded_refuses(sandbox, web, monkeypatch, confirmed):
    from ecspresso import inuse

    monkeypatch.setattr(inuse, "MAX_CLUSTERS", 1)
    client(sandbox, "ecs").create_cluster(clusterName="other")
    start_recording(sandbox)

    with pytest.raises(EcspressoError) as err:
        deregister(make_app(sandbox, web), DeregisterOption(keeps=1))

    assert str(err.value) == (
        "cannot tell whether app:2 is used by a service or task in another cluster: ecs:ListClusters "
        "more than 1 clusters (the in-use check's bound); pass --force to deregister anyway"
    )
    assert _deregistered(sandbox) == []


def test_deregister_if_unused_leaves_a_revision_it_cannot_vouch_for(sandbox, web, capsys):
    from ecspresso.commands.rollback import deregister_if_unused

    schedule(sandbox, "nightly", f"{TD}/app:2")
    sandbox.fault("events:ListRules", "AccessDeniedException", status=400, times=-1)
    start_recording(sandbox)

    assert deregister_if_unused(make_app(sandbox, web), f"{TD}/app:2") is False

    assert _deregistered(sandbox) == []
    assert td_status(sandbox, "app:2") == "ACTIVE"
    assert (
        "not deregistering app:2: cannot tell whether app:2 is pinned by a schedule: events:ListRules "
        "denied (AccessDeniedException); deregister it later with `ecspresso deregister --revision 2`"
    ) in capsys.readouterr().err


def test_deregister_if_unused_deregisters_when_the_check_is_complete(sandbox, web):
    from ecspresso.commands.rollback import deregister_if_unused

    _other_service(sandbox, "other", "api", 3)

    assert deregister_if_unused(make_app(sandbox, web), f"{TD}/app:3") is False  # used in another cluster
    assert deregister_if_unused(make_app(sandbox, web), f"{TD}/app:2") is True
    assert _active(sandbox) == [1, 3]
