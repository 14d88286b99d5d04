"""Judging a rollout from one DescribeServices answer: pure functions, no AWS.

:func:`rollout_verdict` decides whether the deployment this command created is still going, has
succeeded, has failed, or was rolled back by ECS (circuit breaker); the watcher (watch.py) only
polls, prints and sleeps around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"  # still rolling out
    DONE = "done"  # our deployment is complete (or the service is stable on our task definition)
    FAILED = "failed"  # our deployment failed, or fail-fast fired; no ECS rollback seen
    ROLLING_BACK = "rolling-back"  # ECS replaced our deployment with a rollback that is not finished
    ROLLED_BACK = "rolled-back"  # ECS rolled back and the service is stable again on the old revision
    SUPERSEDED = "superseded"  # another deployment (a newer release, or someone's change) replaced ours
    GONE = "gone"  # the service is not there any more (confirmed), or DRAINING/INACTIVE


#: why our deployment is no longer PRIMARY (Verdict.cause)
ECS_ROLLBACK = "ecs-rollback"  # ECS's deployment circuit breaker rolled it back
NEWER_RELEASE = "superseded"  # a newer revision of the family was deployed after ours
MANUAL_CHANGE = "manual"  # someone else put another (older, or foreign) revision on the service


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str = ""
    #: the task definition the service moved to when our deployment was replaced (ECS rollback,
    #: newer release or manual change)
    other_task_definition: str = ""
    #: the deployment that replaced ours
    other_deployment: str = ""
    #: ECS_ROLLBACK, NEWER_RELEASE or MANUAL_CHANGE when our deployment was replaced
    cause: str = ""

    @property
    def final(self) -> bool:
        return self.state in (State.DONE, State.FAILED, State.ROLLED_BACK, State.SUPERSEDED, State.GONE)


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


def _created(dep: dict[str, Any]) -> datetime | None:
    value = dep.get("createdAt")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def created_after(dep: dict[str, Any], moment: datetime | None) -> bool | None:
    """Whether ``dep`` was created after ``moment``; None when either time is unknown."""
    created = _created(dep)
    if created is None or moment is None:
        return None
    return created > (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _family_revision(arn: str) -> tuple[str, int]:
    tail = arn.rsplit("/", 1)[-1]
    family, _, rev = tail.partition(":")
    return family, int(rev) if rev.isdigit() else 0


def is_newer_release(theirs: str, ours: str) -> bool:
    """Whether task definition ``theirs`` is a later revision of ``ours``'s family."""
    family, revision = _family_revision(ours)
    their_family, their_revision = _family_revision(theirs)
    return family == their_family and their_revision > revision


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _failed_event(service: dict[str, Any], deployment_id: str) -> str:
    """The service event saying ``deployment_id`` failed, if ECS still lists it."""
    marker = f"(deployment {deployment_id}) deployment failed"
    return next(
        (str(e.get("message")) for e in service.get("events", []) if marker in str(e.get("message"))), ""
    )


def replacement_verdict(
    service: dict[str, Any],
    *,
    deployment_id: str,
    task_definition: str,
    created_at: datetime | None = None,
    previous_task_definition: str = "",
) -> Verdict | None:
    """Our deployment ``deployment_id`` is not PRIMARY: say who replaced it, or None when the
    PRIMARY is simply our revision again (then that deployment is judged instead).

    * ECS_ROLLBACK: the PRIMARY says "circuit breaker ... rolling back", or it runs the revision
      that served before our deploy (``previous_task_definition``) and ours failed;
    * a read that predates our UpdateService (our deployment not listed, the PRIMARY older than
      ours) is PENDING, never a rollback;
    * anything else is another deployment: a newer revision of the family (NEWER_RELEASE) or
      some other change (MANUAL_CHANGE). Either way it is not ours to undo.
    """
    prim = primary(service)
    ours = find_deployment(service, deployment_id)
    if prim is None or prim is ours:
        return None
    newer = created_after(prim, created_at)
    prim_td = str(prim.get("taskDefinition") or "")
    reason = str(prim.get("rolloutStateReason") or "")
    ours_failed = (ours or {}).get("rolloutState") == "FAILED"
    failed_event = _failed_event(service, deployment_id)
    breaker = "circuit breaker" in reason.lower() and "rolling back" in reason.lower()
    if ours is None and newer is not True and not breaker and not failed_event:
        return Verdict(State.PENDING, f"deployment {deployment_id} is not visible yet")
    if breaker or (
        (ours_failed or failed_event)
        and (not previous_task_definition or prim_td == previous_task_definition)
    ):
        why = str((ours or {}).get("rolloutStateReason") or "") if ours_failed else ""
        why = why or (failed_event.split(") ", 2)[-1] if failed_event else "the deployment failed")
        state = State.ROLLED_BACK if _is_complete(prim, service, "deployed") else State.ROLLING_BACK
        return Verdict(state, f"ECS rolled the deployment back (deployment circuit breaker): {why}".rstrip(": "),
                       prim_td, str(prim.get("id") or ""), ECS_ROLLBACK)  # fmt: skip
    if task_definition and prim_td == task_definition:
        return None
    if is_newer_release(prim_td, task_definition):
        return Verdict(State.SUPERSEDED, f"superseded by deployment {prim.get('id')} ({_short(prim_td)}), "
                       "a newer release started after this one", prim_td, str(prim.get("id") or ""),
                       NEWER_RELEASE)  # fmt: skip
    return Verdict(State.SUPERSEDED, f"replaced by deployment {prim.get('id')} ({_short(prim_td)}): the service "
                   "was changed by someone else, not by ECS's circuit breaker", prim_td, str(prim.get("id") or ""),
                   MANUAL_CHANGE)  # fmt: skip


def rollout_verdict(
    service: dict[str, Any] | None,
    *,
    deployment_id: str = "",
    task_definition: str = "",
    until: str = "deployed",
    fail_after_task_failures: int = 0,
    created_at: datetime | None = None,
    previous_task_definition: str = "",
) -> Verdict:
    """Where the deployment ``deployment_id`` (running ``task_definition``) stands.

    Without ``deployment_id`` the PRIMARY deployment is judged (``wait`` command, or an update
    that created no new deployment). ``until`` is ``deployed`` (our rollout COMPLETED) or
    ``stable`` (one deployment, running == desired). ``fail_after_task_failures`` > 0 gives up
    once that many tasks of our deployment failed to start. ``created_at`` (our deployment's
    createdAt) and ``previous_task_definition`` (what served before) tell an ECS rollback from a
    newer deploy and from a read that predates ours (see :func:`replacement_verdict`).
    """
    if service is None:
        return Verdict(State.GONE, "the service was not found")
    status = service.get("status")
    if status in ("DRAINING", "INACTIVE"):
        return Verdict(State.GONE, f"the service is {status}")
    prim = primary(service)
    ours = find_deployment(service, deployment_id) if deployment_id else prim
    if deployment_id and ours is not prim:
        replaced = replacement_verdict(service, deployment_id=deployment_id, task_definition=task_definition,
                                       created_at=created_at, previous_task_definition=previous_task_definition)  # fmt: skip
        if replaced is not None:
            return replaced
        ours = prim  # a newer deployment of the same revision: judge that one
    if ours is None:
        return Verdict(State.PENDING, "no PRIMARY deployment yet")
    rollout = ours.get("rolloutState", "")
    if rollout == "FAILED":
        return Verdict(State.FAILED, ours.get("rolloutStateReason") or "the deployment failed")
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


def newer_deployment(
    service: dict[str, Any], *, deployment_id: str, created_at: datetime | None
) -> dict[str, Any] | None:
    """A deployment created after ours (``deployment_id``, created ``created_at``) that is not an
    ECS circuit-breaker rollback of it: another job's or person's deploy, which a rollback of ours
    must never undo."""
    for dep in service.get("deployments", []):
        if dep.get("id") == deployment_id:
            continue
        reason = str(dep.get("rolloutStateReason") or "").lower()
        if "circuit breaker" in reason and "rolling back" in reason:
            continue
        if created_after(dep, created_at):
            return dep
    return None


def serving_task_definition(service: dict[str, Any]) -> tuple[str, str]:
    """The revision that was last *successfully* serving, and how that is known; ``("", why)``
    when it cannot be established (then a rollback must not guess).

    The newest deployment whose rollout COMPLETED; where ECS reports no rollout state, the only
    deployment that has running tasks and did not fail.
    """
    deps = list(service.get("deployments", []))
    if not deps and service.get("taskSets"):  # CODE_DEPLOY: the PRIMARY task set serves
        steady = [t for t in service["taskSets"] if t.get("status") == "PRIMARY" and t.get("taskDefinition")]
        if steady:
            return str(steady[0]["taskDefinition"]), f"task set {steady[0].get('id')} is PRIMARY"
        return "", "no PRIMARY task set"
    completed = [d for d in deps if d.get("rolloutState") == "COMPLETED" and d.get("taskDefinition")]
    if completed:
        newest = max(completed, key=lambda d: _created(d) or datetime.min.replace(tzinfo=UTC))
        return str(newest["taskDefinition"]), f"deployment {newest.get('id')} completed"
    running = [d for d in deps if d.get("rolloutState") != "FAILED" and int(d.get("runningCount") or 0) > 0]
    if len(running) == 1 and running[0].get("taskDefinition"):
        return str(running[0]["taskDefinition"]), f"deployment {running[0].get('id')} runs tasks"
    if not deps:
        return "", "the service has no deployment"
    if len(running) > 1:
        return "", "several deployments run tasks and none has completed"
    return (
        "",
        "no deployment has completed and none runs tasks (the previous deploy failed or is still starting)",
    )


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
    """Service events not printed yet, oldest first; records them in ``seen``. ECS lists them
    newest first and several may share a timestamp (the API's is in milliseconds): those keep
    ECS's order, reversed."""
    fresh = [e for e in reversed(service.get("events", [])) if e.get("id") not in seen]
    fresh.sort(key=_event_time)  # stable: ties stay oldest first
    for e in fresh:
        seen.add(str(e.get("id")))
    return fresh


def _event_time(event: dict[str, Any]) -> float:
    created = event.get("createdAt")
    if isinstance(created, str):
        try:
            created = datetime.fromisoformat(created)
        except ValueError:
            return 0.0
    return created.timestamp() if isinstance(created, datetime) else 0.0
