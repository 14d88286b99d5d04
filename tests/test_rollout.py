"""rollout_verdict: the judgement of one DescribeServices answer (pure, table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from ecspresso.rollout import State, deployment_line, new_events, pending_description, rollout_verdict

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:2"


def dep(id_: str, status: str, td: str, rollout: str, running: int = 0, desired: int = 2, failed: int = 0,
        reason: str = "") -> dict[str, Any]:  # fmt: skip
    return {"id": id_, "status": status, "taskDefinition": td, "rolloutState": rollout, "runningCount": running,
            "desiredCount": desired, "pendingCount": desired - running, "failedTasks": failed,
            "rolloutStateReason": reason}  # fmt: skip


def svc(*deps: dict[str, Any], running: int = 2, desired: int = 2, status: str = "ACTIVE") -> dict[str, Any]:
    return {"status": status, "deployments": list(deps), "runningCount": running, "desiredCount": desired}


CASES = [
    # (name, service, deployment_id, until, fail_after, expected state)
    ("in progress", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 1), dep("d1", "ACTIVE", OLD, "COMPLETED", 2)),
     "d2", "deployed", 0, State.PENDING),
    ("completed", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)), "d2", "deployed", 0, State.DONE),
    ("completed but old tasks still draining is not stable",
     svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2), dep("d1", "ACTIVE", OLD, "COMPLETED", 1), running=3),
     "d2", "stable", 0, State.PENDING),
    ("stable: one deployment, running == desired", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)),
     "d2", "stable", 0, State.DONE),
    ("circuit breaker failed, no rollback",
     svc(dep("d2", "PRIMARY", NEW, "FAILED", 0, failed=3, reason="ECS deployment circuit breaker: tasks failed to start.")),
     "d2", "deployed", 0, State.FAILED),
    ("circuit breaker failed, ECS rolling back",
     svc(dep("d3", "PRIMARY", OLD, "IN_PROGRESS", 1), dep("d2", "ACTIVE", NEW, "FAILED", 0, failed=3)),
     "d2", "deployed", 0, State.ROLLING_BACK),
    ("our deployment gone, PRIMARY back on the old revision and complete (ecspresso#732)",
     svc(dep("d3", "PRIMARY", OLD, "COMPLETED", 2)), "d2", "deployed", 0, State.ROLLED_BACK),
    ("our deployment gone, rollback still in progress",
     svc(dep("d3", "PRIMARY", OLD, "IN_PROGRESS", 1)), "d2", "deployed", 0, State.ROLLING_BACK),
    ("fail fast after N failed tasks", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=2)),
     "d2", "deployed", 2, State.FAILED),
    ("fail fast off by default", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=5)),
     "d2", "deployed", 0, State.PENDING),
    ("below the fail-fast threshold", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS", 0, failed=1)),
     "d2", "deployed", 2, State.PENDING),
    ("service draining", svc(dep("d2", "PRIMARY", NEW, "IN_PROGRESS"), status="DRAINING"),
     "d2", "deployed", 0, State.FAILED),
    ("no deployment id: judge the PRIMARY", svc(dep("d2", "PRIMARY", NEW, "COMPLETED", 2)),
     "", "stable", 0, State.DONE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "service", "dep_id", "until", "fail_after", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_rollout_verdict(
    name: str, service: dict[str, Any], dep_id: str, until: str, fail_after: int, expected: State
) -> None:
    verdict = rollout_verdict(
        service, deployment_id=dep_id, task_definition=NEW, until=until, fail_after_task_failures=fail_after
    )
    assert verdict.state is expected, verdict


def test_missing_service_fails() -> None:
    assert rollout_verdict(None, deployment_id="d2").state is State.FAILED


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


def test_rolled_back_names_the_revision() -> None:
    verdict = rollout_verdict(
        svc(dep("d3", "PRIMARY", OLD, "COMPLETED", 2)), deployment_id="d2", task_definition=NEW
    )
    assert verdict.rollback_task_definition == OLD


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
