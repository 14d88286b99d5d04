"""The deployment watcher: poll DescribeServices (and the service deployment), stream events,
judge with rollout.py and deployments.py.

Prints each new service event once, in order, and a deployment line whenever a deployment's
counts change; backs off while nothing changes; on failure gathers the stopped tasks of the
deployment so the user sees *why* (CannotPullContainerError, exit codes…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.config import format_duration
from ecspresso.deployments import WaitUntil, judge
from ecspresso.errors import AwsError
from ecspresso.polling import backoff, imminent, next_interval
from ecspresso.report import Explanation, StoppedTask
from ecspresso.rollout import (
    State,
    Verdict,
    deployment_line,
    new_events,
    pending_description,
    rollout_verdict,
)
from ecspresso.tracking import ServiceDeploymentTracker

if TYPE_CHECKING:
    from ecspresso.app import App

#: consecutive DescribeServices answers without the service before it counts as gone: one
#: MISSING answer (eventual consistency, a regional hiccup) is not a verdict to act on
MISSING_CONFIRMATIONS = 3
#: a service event that starts ECS's own rollback: it and what follows belong to the rollback
ROLLBACK_EVENT = re.compile(r"\brolling back to\b", re.IGNORECASE)


@dataclass
class WaitRequest:
    deployment_id: str = ""  # the deployment this command created ("" = judge the PRIMARY)
    task_definition: str = ""  # the ARN it should run ("" = any)
    until: WaitUntil = field(default_factory=lambda: WaitUntil("deployed"))
    timeout: float = 600.0  # seconds; 0 = none
    fail_after_task_failures: int = 0
    since: datetime | None = None  # events older than this are not printed
    wait_for_ecs_rollback: bool = True  # keep polling while ECS rolls back, to report its outcome
    created_at: datetime | None = (
        None  # our deployment's createdAt (tells newer deployments from stale reads)
    )
    previous_task_definition: str = ""  # what served before: an ECS rollback goes back to it
    #: follow the service deployment (ListServiceDeployments/DescribeServiceDeployments) too
    service_deployments: bool = True
    service_deployment_arn: str = ""  # when already known (a rollback through StopServiceDeployment)
    newest_service_deployment: bool = False  # `wait`: whoever started it
    service_deployment_detail: bool = True  # DescribeServiceDeployments (stages, hooks) or the brief only


@dataclass
class WaitOutcome:
    verdict: Verdict
    service: dict[str, Any] | None
    polls: int = 0
    elapsed: float = 0.0
    #: messages seen until the failure was decided (all of them when it did not fail), oldest first
    events: list[str] = field(default_factory=list)
    #: messages seen after the failure was decided: ECS's rollback, not why it failed
    rollback_events: list[str] = field(default_factory=list)
    stopped_tasks: list[StoppedTask] = field(default_factory=list)
    explanation: Explanation = field(default_factory=Explanation)  # filled by explain_failure
    interrupted: str = ""  # signal name when the wait was interrupted
    timed_out: bool = False
    service_deployment: dict[str, Any] | None = None  # the last DescribeServiceDeployments answer
    service_deployment_arn: str = ""  # the service deployment followed (known even when not read)
    stages: list[str] = field(default_factory=list)  # lifecycle stages seen, in order
    lifecycle_events: list[str] = field(
        default_factory=list
    )  # CodeDeploy: "AfterInstall Succeeded", in order

    @property
    def ok(self) -> bool:
        return self.verdict.state is State.DONE


def watch_rollout(app: App, req: WaitRequest) -> WaitOutcome:
    """Poll until the rollout is final, times out, or a signal arrives. Never raises for a failed
    rollout; throttling and 5xx answers while waiting mean "back off and keep waiting" (until the
    time-out), and a service missing from one answer is confirmed before it counts."""
    log = app.log
    timing = app.timing
    start = timing.now()
    seen: set[str] = set()
    lines: dict[str, str] = {}
    messages: list[str] = []
    interval = timing.poll_interval
    service: dict[str, Any] | None = None
    verdict = Verdict(State.PENDING, "not polled yet")
    polls = 0
    missing = 0
    timed_out = False
    tracker = ServiceDeploymentTracker(
        app, arn=req.service_deployment_arn, since=req.since, created_at=req.created_at,
        enabled=req.service_deployments and bool(req.deployment_id or req.service_deployment_arn or req.newest_service_deployment),
        newest=req.newest_service_deployment, detailed=req.service_deployment_detail,
    )  # fmt: skip
    quiet = 0
    said = start  # when the last progress line was printed (for the heartbeat)
    near_since: float | None = None  # since when the rollout has looked about to change
    decided: int | None = None  # len(messages) when the failure was decided
    try:
        while True:
            changed = False
            polled_at = timing.now()  # intervals run from poll start to poll start
            try:
                answer = ecs.describe_service(app, include_tags=False)
            except AwsError as exc:
                if not exc.transient:
                    raise
                log.warning(f"{exc}; still waiting (backing off)")
                interval = backoff(interval, fast=timing.poll_interval, slow=timing.max_poll_interval)
            else:
                polls += 1
                if answer is None and missing + 1 < MISSING_CONFIRMATIONS:
                    missing += 1
                    log.warning(
                        f"DescribeServices did not return the service ({missing}/{MISSING_CONFIRMATIONS}); checking again"
                    )
                else:
                    missing = 0
                    service = answer
                    first_new = len(messages)
                    changed = _report_progress(log, service, seen, lines, messages, req.since)
                    base = rollout_verdict(
                        service,
                        deployment_id=req.deployment_id,
                        task_definition=req.task_definition,
                        until="stable" if req.until.kind == "stable" else "deployed",
                        fail_after_task_failures=req.fail_after_task_failures,
                        created_at=req.created_at,
                        previous_task_definition=req.previous_task_definition,
                    )
                    # ROLLING: the service deployment confirms what DescribeServices shows as final
                    # (one call at the end, not one per poll); strategies with stages are read each poll
                    ask = service is not None and (tracker.detailed or base.final)
                    verdict = judge(base, tracker.poll() if ask else tracker.last, req.until)
                    if decided is None and verdict.state not in (State.PENDING, State.DONE):
                        decided = decision_point(messages, first_new)
                    if verdict.final or (
                        verdict.state is State.ROLLING_BACK and not req.wait_for_ecs_rollback
                    ):
                        break
                quiet = 0 if changed else quiet + 1
                said = _heartbeat(log, service, start=start, said=timing.now() if changed else said,
                                  now=timing.now())  # fmt: skip
                near = imminent(service, req.deployment_id)
                near_since = (near_since if near_since is not None else timing.now()) if near else None
                interval = next_interval(
                    elapsed=timing.now() - start, quiet_polls=quiet, previous=interval, about_to_change=near,
                    fast=timing.poll_interval, slow=timing.max_poll_interval,
                    imminent_for=timing.now() - near_since if near_since is not None else 0.0,
                )  # fmt: skip
            elapsed = timing.now() - start
            if req.timeout and elapsed >= req.timeout:
                timed_out = True
                verdict = _timed_out(verdict, service, req.timeout)
                break
            if req.timeout:
                interval = max(0.0, min(interval, req.timeout - elapsed))
            timing.sleep_after(polled_at, interval)  # "every second" stays every second
    except KeyboardInterrupt as exc:  # Interrupted (SIGINT/SIGTERM) included
        name = getattr(exc, "signal_name", "SIGINT")
        state = pending_description(service) if service else "unknown"
        verdict = Verdict(
            State.FAILED,
            f"interrupted by {name} while waiting; the deployment is still in progress ({state})",
        )
        return WaitOutcome(verdict, service, polls, timing.now() - start, messages[:decided],
                           messages[decided:] if decided is not None else [], interrupted=name,
                           service_deployment=tracker.last, service_deployment_arn=tracker.arn,
                           stages=tracker.stages)  # fmt: skip
    outcome = WaitOutcome(
        verdict,
        service,
        polls,
        timing.now() - start,
        messages[:decided],
        messages[decided:] if decided is not None else [],
        timed_out=timed_out,
        service_deployment=tracker.last,
        service_deployment_arn=tracker.arn,
        stages=tracker.stages,
    )
    if verdict.state is not State.DONE and req.deployment_id:
        outcome.stopped_tasks = stopped_tasks(app, req.deployment_id)
    return outcome


#: seconds without a progress line before "still waiting …" is printed
HEARTBEAT = 60.0


def _heartbeat(log: Any, service: dict[str, Any] | None, *, start: float, said: float, now: float) -> float:
    """After HEARTBEAT seconds of silence, one line saying what is outstanding; returns when the
    last line was printed."""
    if service is None or now - said < HEARTBEAT:
        return said
    log.info(f"still waiting {format_duration(round(now - start))}: {pending_description(service)}")
    return now


def decision_point(messages: list[str], first_new: int) -> int:
    """Where the failure was decided in ``messages``: the events before belong to the failure,
    the rest to ECS's rollback. ``first_new``: the first message of the poll that decided it
    (that poll may also carry the rollback's first event)."""
    for i in range(first_new, len(messages)):
        if ROLLBACK_EVENT.search(messages[i]):
            return i
    return len(messages)


def _timed_out(last: Verdict, service: dict[str, Any] | None, timeout: float) -> Verdict:
    """The verdict at the time-out: an ECS rollback in progress stays one (never a second rollback)."""
    waited = format_duration(timeout)
    if last.state is State.ROLLING_BACK:
        return Verdict(
            State.ROLLING_BACK,
            f"timed out after {waited}; ECS is still rolling back to {ecs.short_name(last.other_task_definition)}: {last.reason}",
            last.other_task_definition,
            last.other_deployment,
            last.cause,
        )
    outstanding = pending_description(service) if service else "service not found"
    return Verdict(State.FAILED, f"timed out after {waited} waiting for the deployment: {outstanding}")


def _report_progress(
    log: Any,
    service: dict[str, Any] | None,
    seen: set[str],
    lines: dict[str, str],
    messages: list[str],
    since: datetime | None,
) -> bool:
    if service is None:
        return False
    changed = False
    for event in new_events(service, seen):
        created = event.get("createdAt")
        if since is not None and isinstance(created, datetime) and created < since:
            continue
        messages.append(str(event.get("message", "")))
        log.info(str(event.get("message", "")))
        changed = True
    for dep in service.get("deployments", []):
        line = deployment_line(dep)
        if lines.get(dep.get("id", "")) != line:
            lines[dep.get("id", "")] = line
            log.info(line)
            changed = True
    return changed


def report_events(
    app: App,
    service: dict[str, Any] | None,
    seen: set[str],
    lines: dict[str, str],
    messages: list[str],
    since: datetime | None,
) -> bool:
    """Print the service's new events and changed deployment lines (``seen`` and ``lines``
    remember what was printed); True when something changed."""
    return _report_progress(app.log, service, seen, lines, messages, since)


def stopped_tasks(app: App, deployment_id: str, limit: int = 10) -> list[StoppedTask]:
    """STOPPED tasks started by ``deployment_id`` (``""``: the service's, whoever started them, as
    for CodeDeploy task sets), newest first, with their reasons."""
    try:
        arns = ecs.list_service_task_arns(
            app, desired_status="STOPPED", service=app.config.service, started_by=deployment_id
        )
        tasks = ecs.describe_tasks(app, arns[:100]) if arns else []
    except Exception as exc:  # the explanation is best effort; never hide the real failure
        app.log.warning(f"could not list the stopped tasks: {exc}")
        return []
    if deployment_id:
        tasks = [t for t in tasks if not t.get("startedBy") or t.get("startedBy") == deployment_id]
    # tasks the scheduler scaled in (a rollback or a newer deployment replaced them) are not why it failed
    tasks = [
        t for t in tasks if not str(t.get("stoppedReason") or "").startswith("Scaling activity initiated by")
    ]
    tasks.sort(key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)
    out = []
    for t in tasks[:limit]:
        containers = [
            {k: c.get(k) for k in ("name", "reason", "exitCode", "lastStatus") if c.get(k) is not None}
            for c in t.get("containers", [])
        ]
        out.append(
            StoppedTask(
                task_id=str(t.get("taskArn", "")).rsplit("/", 1)[-1],
                stop_code=str(t.get("stopCode") or ""),
                stopped_reason=str(t.get("stoppedReason") or ""),
                containers=[c for c in containers if c.get("reason") or c.get("exitCode") not in (None, 0)],
                task_definition=ecs.short_name(str(t.get("taskDefinitionArn", ""))),
            )
        )
    return out


def failure_reason(outcome: WaitOutcome) -> str:
    """The cause first, then the verdict: ``CannotPullContainerError: … (TaskFailedToStart, 3 tasks);
    ECS deployment circuit breaker: tasks failed to start``."""
    from ecspresso.explain import group_stopped_tasks

    reason = outcome.verdict.reason.rstrip(".")
    groups = outcome.explanation.groups or group_stopped_tasks(outcome.stopped_tasks)
    if not groups:
        return reason
    first = groups[0]
    count = f"{first.count} task{'s' if first.count != 1 else ''}"
    cause = f"{first.task.cause()} ({', '.join(filter(None, (first.task.stop_code, count)))})"
    if len(groups) > 1:
        cause += f" and {len(groups) - 1} other failure{'s' if len(groups) > 2 else ''}"
    return f"{cause}; {reason}"


def explain_failure(app: App, outcome: WaitOutcome, *, last_events: int = 5) -> Explanation:
    """Log why the deployment failed: the verdict, the last events before the failure was decided
    (not ECS's rollback), the stopped tasks grouped with their containers' last lines and the
    unhealthy targets (ecspresso.explain, best effort). The explanation is kept on ``outcome``
    and returned, for the command's Result."""
    from ecspresso.explain import explain, render

    log = app.log
    if not outcome.interrupted:  # after a signal: no more calls than needed
        outcome.explanation = explain(app, outcome.stopped_tasks, outcome.service)
    why = outcome.explanation
    log.error(f"Deployment failed: {outcome.verdict.reason}")
    for message in outcome.events[-last_events:]:
        log.error(f"  event: {message}")
    for line in render(why):
        log.error(line)
    return why
