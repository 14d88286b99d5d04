"""Judging a rollout from one DescribeServices answer: pure functions, no AWS.

:func:`rollout_verdict` decides whether the deployment this command created is still going, has
succeeded, has failed, or was rolled back by ECS (circuit breaker); the watcher (watch.py) only
polls, prints and sleeps around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"  # still rolling out
    DONE = "done"  # our deployment is complete (or the service is stable on our task definition)
    FAILED = "failed"  # our deployment failed, or fail-fast fired; no ECS rollback seen
    ROLLING_BACK = "rolling-back"  # ECS replaced our deployment with a rollback that is not finished
    ROLLED_BACK = "rolled-back"  # ECS rolled back and the service is stable again on the old revision


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str = ""
    #: task definition the service is on when ECS rolled back
    rollback_task_definition: str = ""

    @property
    def final(self) -> bool:
        return self.state in (State.DONE, State.FAILED, State.ROLLED_BACK)


def primary(service: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)


def find_deployment(service: dict[str, Any], deployment_id: str) -> dict[str, Any] | None:
    return next((d for d in service.get("deployments", []) if d.get("id") == deployment_id), None)


def _is_complete(dep: dict[str, Any], service: dict[str, Any], until: str) -> bool:
    """COMPLETED rollout (``deployed``), or the only deployment with running == desired (``stable``)."""
    steady = len(service.get("deployments", [])) == 1 and service.get("runningCount") == service.get(
        "desiredCount"
    )
    if until == "deployed" and dep.get("rolloutState"):
        return dep["rolloutState"] == "COMPLETED"
    return steady and dep.get("status") == "PRIMARY"


def rollout_verdict(
    service: dict[str, Any] | None,
    *,
    deployment_id: str = "",
    task_definition: str = "",
    until: str = "deployed",
    fail_after_task_failures: int = 0,
) -> Verdict:
    """Where the deployment ``deployment_id`` (running ``task_definition``) stands.

    Without ``deployment_id`` the PRIMARY deployment is judged (``wait`` command, or an update
    that created no new deployment). ``until`` is ``deployed`` (our rollout COMPLETED) or
    ``stable`` (one deployment, running == desired). ``fail_after_task_failures`` > 0 gives up
    once that many tasks of our deployment failed to start.
    """
    if service is None:
        return Verdict(State.FAILED, "the service no longer exists")
    status = service.get("status")
    if status in ("DRAINING", "INACTIVE"):
        return Verdict(State.FAILED, f"the service is {status}")
    prim = primary(service)
    ours = find_deployment(service, deployment_id) if deployment_id else prim
    if ours is None:
        # Our deployment is gone. If the PRIMARY runs another task definition, ECS rolled back.
        if prim is None:
            return Verdict(State.PENDING, "no PRIMARY deployment yet")
        if task_definition and prim.get("taskDefinition") != task_definition:
            reason = "ECS rolled the deployment back (deployment circuit breaker)"
            if _is_complete(prim, service, "deployed"):
                return Verdict(State.ROLLED_BACK, reason, prim.get("taskDefinition", ""))
            return Verdict(State.ROLLING_BACK, reason, prim.get("taskDefinition", ""))
        ours = prim  # replaced by a newer deployment of the same revision: judge that one
    rollout = ours.get("rolloutState", "")
    if rollout == "FAILED":
        reason = ours.get("rolloutStateReason") or "the deployment failed"
        if prim is not None and prim is not ours and prim.get("taskDefinition") != ours.get("taskDefinition"):
            # ECS started its own rollback: the old revision is PRIMARY again
            if _is_complete(prim, service, "deployed"):
                return Verdict(State.ROLLED_BACK, reason, prim.get("taskDefinition", ""))
            return Verdict(State.ROLLING_BACK, reason, prim.get("taskDefinition", ""))
        return Verdict(State.FAILED, reason)
    failed = int(ours.get("failedTasks") or 0)
    if fail_after_task_failures > 0 and failed >= fail_after_task_failures:
        return Verdict(
            State.FAILED,
            f"{failed} task(s) of the new deployment failed to start (--fail-after-task-failures {fail_after_task_failures})",
        )
    if _is_complete(ours, service, until):
        if task_definition and ours.get("taskDefinition") != task_definition:
            return Verdict(
                State.FAILED,
                f"task definition {task_definition} is not deployed: the PRIMARY deployment runs {ours.get('taskDefinition')}",
            )
        return Verdict(State.DONE, "deployment completed" if until == "deployed" else "service is stable")
    return Verdict(State.PENDING, pending_description(service, ours))


def pending_description(service: dict[str, Any], dep: dict[str, Any] | None = None) -> str:
    """What is still outstanding, for progress and time-out messages."""
    dep = dep or primary(service) or {}
    others = [d for d in service.get("deployments", []) if d is not dep]
    parts = [f"{dep.get('runningCount', 0)}/{dep.get('desiredCount', 0)} tasks running"]
    if dep.get("pendingCount"):
        parts.append(f"{dep['pendingCount']} pending")
    if dep.get("failedTasks"):
        parts.append(f"{dep['failedTasks']} failed")
    if dep.get("rolloutState"):
        parts.append(f"rollout {dep['rolloutState']}")
    if others:
        running_old = sum(int(d.get("runningCount") or 0) for d in others)
        parts.append(f"{len(others)} older deployment(s) with {running_old} task(s) still running")
    return ", ".join(parts)


def deployment_line(dep: dict[str, Any]) -> str:
    """ecspresso's deployment line: ``PRIMARY app:3 desired:2 pending:1 running:1 IN_PROGRESS``."""
    td = str(dep.get("taskDefinition", "")).rsplit("/", 1)[-1]
    line = (
        f"{dep.get('status', ''):>8} {td} desired:{dep.get('desiredCount', 0)} "
        f"pending:{dep.get('pendingCount', 0)} running:{dep.get('runningCount', 0)}"
    )
    if dep.get("failedTasks"):
        line += f" failed:{dep['failedTasks']}"
    if dep.get("rolloutState"):
        line += f" {dep['rolloutState']}"
        if dep.get("rolloutStateReason") and dep["rolloutState"] != "IN_PROGRESS":
            line += f"({dep['rolloutStateReason']})"
    return line


def new_events(service: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    """Service events not printed yet, oldest first; records them in ``seen``."""
    fresh = [e for e in service.get("events", []) if e.get("id") not in seen]
    fresh.sort(key=lambda e: str(e.get("createdAt", "")))
    for e in fresh:
        seen.add(str(e.get("id")))
    return fresh
