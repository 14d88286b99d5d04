"""rollout_verdict: the judgement of one DescribeServices answer (pure, table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecspresso.rollout import (
    State,
    deployment_line,
    new_events,
    newer_deployment,
    pending_description,
    rollout_verdict,
    serving_task_definition,
)

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:2"


NEWER = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:3"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # when our deployment (d2) was created
BREAKER = "ECS deployment circuit breaker: rolling back to deploymentId d1."


def dep(id_: str, status: str, td: str, rollout: str, running: int = 0, desired: int = 2, failed: int = 0,
        reason: str = "", at: int | None = None) -> dict[str, Any]:  # fmt: skip
    """A deployment; ``at``: createdAt in seconds after T0 (d1 -600, d2 0, later ones positive)."""
    created = {"d1": -600, "d2": 0}.get(id_, 60) if at is None else at
    return {"id": id_, "status": status, "taskDefinition": td, "rolloutState": rollout, "runningCount": running,
            "desiredCount": desired, "pendingCount": desired - running, "failedTasks": failed,
            "rolloutStateReason": reason, "createdAt": T0 + timedelta(seconds=created)}  # fmt: skip


def svc(*deps: dict[str, Any], running: int = 2, desired: int = 2, status: str = "ACTIVE",
        events: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    return {"status": status, "deployments": list(deps), "runningCount": running, "desiredCount": desired,
            "events": [{"id": str(i), "message": m} for i, m in enumerate(events)]}  # fmt: skip


FAILED_EVENT = "(service web) (deployment d2) deployment failed: tasks failed to start."

CASES = [
    # (name, service, deployment_id, until, fail_after, expected state, expected cause)
    ("in progress", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 1), dep("d1", "ACTIVE", OLD, "COMPLETED", 2)),
     "d2", "deployed", 0, State.PENDING, ""),
    ("completed", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)), "d2", "deployed", 0, State.DONE, ""),
    ("completed but old tasks still draining is not stable",
     svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2), dep("d1", "ACTIVE", OLD, "COMPLETED", 1), running=3),
     "d2", "stable", 0, State.PENDING, ""),
    ("stable: one deployment, running == desired", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)),
     "d2", "stable", 0, State.DONE, ""),
    ("circuit breaker failed, no rollback",
     svc(dep("d2", "PRIMARY", NEW, "FAILED", 0, failed=3, reason="ECS deployment circuit breaker: tasks failed to start.")),
     "d2", "deployed", 0, State.FAILED, ""),
    ("circuit breaker failed, ECS rolling back",
     svc(dep("d3", "PRIMARY", OLD, "IN_PROGRESS", 1, reason=BREAKER), dep("d2", "ACTIVE", NEW, "FAILED", 0, failed=3)),
     "d2", "deployed", 0, State.ROLLING_BACK, "ecs-rollback"),
    ("our deployment gone, ECS rollback complete: the failed event says so (ecspresso#732)",
     svc(dep("d3", "PRIMARY", OLD, "COMPLETED", 2), events=(FAILED_EVENT,)), "d2", "deployed", 0,
     State.ROLLED_BACK, "ecs-rollback"),
    ("our deployment gone, ECS rollback still in progress",
     svc(dep("d3", "PRIMARY", OLD, "IN_PROGRESS", 1, reason=BREAKER)), "d2", "deployed", 0,
     State.ROLLING_BACK, "ecs-rollback"),
    ("a read that predates our UpdateService is pending, never a rollback",
     svc(dep("d1", "PRIMARY", OLD, "COMPLETED", 2)), "d2", "deployed", 0, State.PENDING, ""),
    ("superseded by a newer release while ours is still rolling out",
     svc(dep("d4", "PRIMARY", NEWER, "IN_PROGRESS", 0), dep("d2", "ACTIVE", NEW, "IN_PROGRESS", 1)),
     "d2", "deployed", 0, State.SUPERSEDED, "superseded"),
    ("superseded by a newer release after ours timed out and vanished",
     svc(dep("d4", "PRIMARY", NEWER, "COMPLETED", 2)), "d2", "deployed", 0, State.SUPERSEDED, "superseded"),
    ("a newer release after ours failed (no ECS rollback) is not an ECS rollback",
     svc(dep("d4", "PRIMARY", NEWER, "IN_PROGRESS", 0), dep("d2", "ACTIVE", NEW, "FAILED", 0, failed=3)),
     "d2", "deployed", 0, State.SUPERSEDED, "superseded"),
    ("someone put the old revision back while ours was healthy: a manual change, not ECS",
     svc(dep("d4", "PRIMARY", OLD, "IN_PROGRESS", 1), dep("d2", "ACTIVE", NEW, "IN_PROGRESS", 1)),
     "d2", "deployed", 0, State.SUPERSEDED, "manual"),
    ("a newer deployment of our revision (force-new-deployment) is followed",
     svc(dep("d5", "PRIMARY", NEW, "COMPLETED", 2)), "d2", "deployed", 0, State.DONE, ""),
    ("fail fast after N failed tasks", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=2)),
     "d2", "deployed", 2, State.FAILED, ""),
    ("fail fast off by default", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=5)),
     "d2", "deployed", 0, State.PENDING, ""),
    ("below the fail-fast threshold", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=1)),
     "d2", "deployed", 2, State.PENDING, ""),
    ("service draining", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS"), status="DRAINING"),
     "d2", "deployed", 0, State.GONE, ""),
    ("no deployment id: judge the PRIMARY", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)),
     "", "stable", 0, State.DONE, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "service", "dep_id", "until", "fail_after", "expected", "cause"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_rollout_verdict(
    name: str, service: dict[str, Any], dep_id: str, until: str, fail_after: int, expected: State, cause: str
) -> None:
    verdict = rollout_verdict(
        service, deployment_id=dep_id, task_definition=NEW, until=until, fail_after_task_failures=fail_after,
        created_at=T0, previous_task_definition=OLD,
    )  # fmt: skip
    assert (verdict.state, verdict.cause) == (expected, cause), verdict


def test_missing_service_is_gone_not_failed() -> None:
    assert rollout_verdict(None, deployment_id="d2").state is State.GONE


def test_completed_on_the_wrong_revision_is_a_failure() -> None:
    # PRIMARY complete but running another task definition than the one we deployed (confirmPrimaryTD)
    verdict = rollout_verdict(
        svc(dep("d2", "PRIMARY", OLD, "COMPLETED", 2)), task_definition=NEW, until="stable"
    )
    assert verdict.state is State.FAILED
    assert "is not deployed" in verdict.reason


def test_failed_reason_is_carried() -> None:
    reason = "ECS deployment circuit breaker: tasks failed to start."
    verdict = rollout_verdict(
        svc(dep("d2", "PRIMARY", NEW, "FAILED", reason=reason)), deployment_id="d2", task_definition=NEW
    )
    assert verdict.reason == reason


def test_ecs_rollback_and_superseded_name_the_revision_and_deployment() -> None:
    rolled = rollout_verdict(svc(dep("d3", "PRIMARY", OLD, "COMPLETED", 2), events=(FAILED_EVENT,)),
                             deployment_id="d2", task_definition=NEW, created_at=T0)  # fmt: skip
    assert (rolled.other_task_definition, rolled.other_deployment) == (OLD, "d3")
    newer = rollout_verdict(svc(dep("d4", "PRIMARY", NEWER, "IN_PROGRESS")), deployment_id="d2",
                            task_definition=NEW, created_at=T0)  # fmt: skip
    assert (newer.other_task_definition, newer.other_deployment) == (NEWER, "d4")
    assert "superseded by deployment d4 (app:3)" in newer.reason


def test_newer_deployment_ignores_ours_older_ones_and_ecs_rollbacks() -> None:
    base = [dep("d2", "PRIMARY", NEW, "FAILED"), dep("d1", "ACTIVE", OLD, "COMPLETED", 2)]
    assert newer_deployment(svc(*base), deployment_id="d2", created_at=T0) is None
    rollback = dep("d3", "PRIMARY", OLD, "IN_PROGRESS", reason=BREAKER)
    assert newer_deployment(svc(rollback, *base), deployment_id="d2", created_at=T0) is None
    other = dep("d4", "PRIMARY", NEWER, "IN_PROGRESS")
    assert newer_deployment(svc(other, *base), deployment_id="d2", created_at=T0) is other


SERVING = [
    # (name, deployments, expected task definition or "" when it cannot be established)
    ("the completed PRIMARY", [dep("d1", "PRIMARY", OLD, "COMPLETED", 2)], OLD),
    ("a deploy in progress: the completed ACTIVE one, not the new PRIMARY",
     [dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0), dep("d1", "ACTIVE", OLD, "COMPLETED", 2)], OLD),
    ("a failed PRIMARY beside the completed one that still serves",
     [dep("d2", "PRIMARY", NEW, "FAILED", 0), dep("d1", "ACTIVE", OLD, "COMPLETED", 2)], OLD),
    ("the newest of two completed", [dep("d2", "PRIMARY", NEW, "COMPLETED", 1), dep("d1", "ACTIVE", OLD, "COMPLETED", 1)], NEW),
    ("a failed PRIMARY alone: do not guess", [dep("d2", "PRIMARY", NEW, "FAILED", 0)], ""),
    ("a first deployment still starting with no task running: do not guess", [dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0)], ""),
    ("no rollout state reported: the only deployment with running tasks",
     [{**dep("d1", "PRIMARY", OLD, "", 2), "rolloutState": None}], OLD),
]  # fmt: skip


@pytest.mark.parametrize(("name", "deployments", "expected"), SERVING, ids=[c[0] for c in SERVING])
def test_serving_task_definition(name: str, deployments: list[dict[str, Any]], expected: str) -> None:
    td, why = serving_task_definition(svc(*deployments))
    assert td == expected, why
    assert why


def test_deployment_line_matches_ecspresso_shape() -> None:
    line = deployment_line(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 1))
    assert line == " PRIMARY app:2 desired:2 pending:1 running:1 IN_PROGRESS"


def test_pending_description_names_what_is_outstanding() -> None:
    text = pending_description(
        svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 1), dep("d1", "ACTIVE", OLD, "COMPLETED", 2))
    )
    assert "1/2 tasks running" in text and "1 older deployment(s) with 2 task(s) still running" in text


def test_new_events_oldest_first_once() -> None:
    service = {"events": [{"id": "b", "createdAt": "2026-01-01T00:00:02", "message": "second"},
                          {"id": "a", "createdAt": "2026-01-01T00:00:01", "message": "first"}]}  # fmt: skip
    seen: set[str] = set()
    assert [e["message"] for e in new_events(service, seen)] == ["first", "second"]
    assert new_events(service, seen) == []
