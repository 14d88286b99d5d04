"""``status``: service, deployments, auto scaling and the last N events on stdout."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from ecs_fixtures import client, make_app, make_project, seed_service, stdout_of
from ecspresso.commands.status import StatusOption, format_event, last_events, status
from ecspresso.errors import EcspressoError

STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"


@pytest.fixture
def web(sandbox, tmp_path):
    """Service web on app:1, rolled out (the sandbox completes the deployment on the next poll)."""
    config = make_project(tmp_path, desired=1)
    seed_service(sandbox, config)
    client(sandbox, "ecs").describe_services(cluster="default", services=["web"])
    return config


def test_status_shows_service_deployments_and_events(sandbox, web):
    app = make_app(sandbox, web)

    result = status(app, StatusOption())

    lines = stdout_of(app).splitlines()
    assert lines[:4] == ["Service: web", "Cluster: default", "TaskDefinition: app:1", "Deployments:"]
    assert re.match(r"^   PRIMARY app:1 desired:1 pending:0 running:1 COMPLETED", lines[4])
    assert lines[5] == "Events:"
    assert "AutoScaling:" not in lines
    assert all(re.match(f"^{STAMP} ", e) for e in lines[6:])
    events = [e.split(" ", 2)[2] for e in lines[6:]]  # oldest first
    assert len(events) == 3
    assert events[0].startswith("(service web) has started 1 tasks")
    assert "deployment completed" in events[1]
    assert events[2] == "(service web) has reached a steady state."
    assert result.task_definition_arn.endswith("task-definition/app:1")
    assert result.events[-1] == "(service web) has reached a steady state."


def test_events_limits_to_the_newest(sandbox, web):
    app = make_app(sandbox, web)

    status(app, StatusOption(events=1))

    out = stdout_of(app)
    assert out.endswith("Events:\n" + out.splitlines()[-1] + "\n")
    assert out.splitlines()[-1].endswith("(service web) has reached a steady state.")


def test_auto_scaling_block(sandbox, web):
    aas = client(sandbox, "application-autoscaling")
    dims = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/default/web",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(**dims, MinCapacity=1, MaxCapacity=4,
                                 SuspendedState={"DynamicScalingInSuspended": True})  # fmt: skip
    aas.put_scaling_policy(
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
        **dims,
    )
    app = make_app(sandbox, web)

    status(app, StatusOption())

    out = stdout_of(app)
    assert (
        "AutoScaling:\n"
        "  Capacity min:1 max:4\n"
        "  Suspended in:true out:false scheduled:false\n"
        "  Policy name:cpu type:TargetTrackingScaling\n"
        "Events:\n"
    ) in out


def test_json_log_format_prints_one_json_document(sandbox, web):
    app = make_app(sandbox, web, log_format="json")

    status(app, StatusOption(events=2))

    doc = json.loads(stdout_of(app))
    assert doc["service"] == "web"
    assert doc["deployments"][0]["status"] == "PRIMARY"
    assert [e["message"] for e in doc["events"]][-1] == "(service web) has reached a steady state."
    assert len(doc["events"]) == 2


def test_missing_service_is_an_error(sandbox, tmp_path):
    config = make_project(tmp_path)
    seed_service(sandbox, config, create_service=False)

    with pytest.raises(EcspressoError, match="service web is not found"):
        status(make_app(sandbox, config), StatusOption())


def test_events_are_ordered_oldest_first_even_with_equal_times():
    t = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    service = {"events": [{"createdAt": t, "message": "new"}, {"createdAt": t, "message": "old"}]}
    assert [e["message"] for e in last_events(service, 10)] == ["old", "new"]
    assert (
        format_event({"createdAt": t, "message": "m"}) == t.astimezone().strftime("%Y/%m/%d %H:%M:%S") + " m"
    )
