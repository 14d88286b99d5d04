"""codedeploy_rollout: judging a CodeDeploy deployment from GetDeployment/GetDeploymentTarget (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from ecspresso.codedeploy_rollout import CODEDEPLOY_ROLLBACK, progress, verdict
from ecspresso.deployments import CODEDEPLOY_EVENTS, WaitUntil
from ecspresso.rollout import State

DEPLOYED = WaitUntil("deployed")


def dep(status: str, **extra: Any) -> dict[str, Any]:
    return {"deploymentId": "d-1", "status": status, **extra}


def target(upto: str = "", status: str = "Succeeded", green: float | None = None) -> dict[str, Any]:
    events = []
    for name in CODEDEPLOY_EVENTS:
        if upto and CODEDEPLOY_EVENTS.index(name) < CODEDEPLOY_EVENTS.index(upto):
            events.append({"lifecycleEventName": name, "status": "Succeeded"})
        elif name == upto:
            events.append({"lifecycleEventName": name, "status": status,
                           "diagnostics": {"errorCode": "ScriptFailed", "message": "hook said no"}})  # fmt: skip
        else:
            events.append({"lifecycleEventName": name, "status": "Pending"})
    sets = (
        []
        if green is None
        else [{"taskSetLabel": "Green", "trafficWeight": green, "runningCount": 2, "desiredCount": 2}]
    )
    return {"lifecycleEvents": events, "taskSetsInfo": sets}


CASES = [
    ("in progress", dep("InProgress"), target("AllowTestTraffic", "InProgress"), DEPLOYED, None, State.PENDING),
    ("succeeded", dep("Succeeded"), target(), DEPLOYED, None, State.DONE),
    ("failed without rollback names the event", dep("Failed"), target("AfterAllowTestTraffic", "Failed"), DEPLOYED,
     None, State.FAILED),
    ("failed, CodeDeploy rolling back", dep("Failed", rollbackInfo={"rollbackDeploymentId": "d-2"}),
     target("AfterAllowTestTraffic", "Failed"), DEPLOYED, {"deploymentId": "d-2", "status": "InProgress"},
     State.ROLLING_BACK),
    ("failed, CodeDeploy rolled back", dep("Failed", rollbackInfo={"rollbackDeploymentId": "d-2"}),
     target("AfterAllowTestTraffic", "Failed"), DEPLOYED, {"deploymentId": "d-2", "status": "Succeeded"},
     State.ROLLED_BACK),
    ("the rollback failed too", dep("Stopped", rollbackInfo={"rollbackDeploymentId": "d-2"}), target(),
     DEPLOYED, {"deploymentId": "d-2", "status": "Failed"}, State.FAILED),
    ("event target reached", dep("InProgress"), target("BeforeAllowTraffic", "InProgress"),
     WaitUntil("event", "AfterAllowTestTraffic"), None, State.DONE),
    ("event target not yet", dep("InProgress"), target("AllowTestTraffic", "InProgress"),
     WaitUntil("event", "AfterAllowTestTraffic"), None, State.PENDING),
    ("event target failed", dep("InProgress"), target("AfterAllowTestTraffic", "Failed"),
     WaitUntil("event", "AfterAllowTestTraffic"), None, State.FAILED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "deployment", "tgt", "until", "rollback", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_verdict(
    name: str, deployment: Any, tgt: Any, until: WaitUntil, rollback: Any, expected: State
) -> None:
    assert verdict(deployment, tgt, until, rollback=rollback).state is expected


def test_a_failure_names_the_lifecycle_event_and_its_diagnostics() -> None:
    v = verdict(dep("Failed"), target("AfterAllowTestTraffic", "Failed"), DEPLOYED)
    assert v.reason == "lifecycle event AfterAllowTestTraffic failed: hook said no"


def test_a_codedeploy_rollback_is_attributed_to_codedeploy() -> None:
    v = verdict(dep("Failed", rollbackInfo={"rollbackDeploymentId": "d-2"}), target("AllowTraffic", "Failed"),
                DEPLOYED, rollback={"deploymentId": "d-2", "status": "Succeeded"}, rollback_task_definition="app:1")  # fmt: skip
    assert (v.cause, v.other_task_definition, v.other_deployment) == (CODEDEPLOY_ROLLBACK, "app:1", "d-2")


def test_progress_shows_the_event_and_the_green_traffic() -> None:
    line = progress(dep("InProgress"), target("AllowTraffic", "InProgress", green=40.0))
    assert line == "CodeDeploy deployment d-1 InProgress: AllowTraffic InProgress, green 40% (2/2 running)"
