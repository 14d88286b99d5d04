"""What to do after a deploy failed, and pointing a service back at a revision.

* :func:`update_and_wait`: point the service at a revision through its strategy and watch that
  deployment (``rollback`` and the automatic rollback). The strategy's start survives an
  ambiguous failure (strategies/ecs.py ``update_service``).
* :func:`after_failed_deploy`: the decision after a failed deploy, in this order: a newer deploy
  (another job's, someone's change) is never undone; an ECS circuit-breaker rollback is reported
  as ECS's, never repeated; a service that cannot be seen is left alone; otherwise, when asked,
  roll back to the revision that was last *successfully* serving, and to nothing when that cannot
  be established. Every message keeps the original reason, whatever happens after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecspresso import ecs, failed_marks
from ecspresso.codedeploy_rollout import CODEDEPLOY_ROLLBACK
from ecspresso.deployments import WaitUntil
from ecspresso.errors import AwsError, EcspressoError
from ecspresso.report import Result
from ecspresso.rollout import (
    ECS_ROLLBACK,
    State,
    is_newer_release,
    newer_deployment,
    primary,
    replacement_verdict,
)
from ecspresso.strategies import StartRequest
from ecspresso.watch import WaitOutcome, WaitRequest, explain_failure, failure_reason

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.strategies import Strategy


def update_and_wait(
    app: App,
    strategy: Strategy,
    target: str,
    *,
    until: WaitUntil,
    wait: bool,
    started: datetime,
    result: Result,
    previous: str = "",
) -> WaitOutcome | None:
    """Point the service at ``target`` and watch the deployment that starts (None with ``wait=False``)."""
    cfg = app.config
    service = ecs.describe_service(app, include_tags=False) or {}
    before = primary(service) or {}
    params = {"cluster": cfg.cluster, "service": cfg.service, "taskDefinition": target}
    began = strategy.start(app, StartRequest(service, params, str(before.get("id") or "")))
    result.deployment_id = began.deployment_id
    if not wait:
        app.log.info("Service is rolled back (not waiting).")
        return None
    request = WaitRequest(deployment_id=result.deployment_id, task_definition=target, until=until,
                          timeout=cfg.timeout, since=started, created_at=began.created_at,
                          previous_task_definition=previous,
                          service_deployment_arn=began.service_deployment_arn)  # fmt: skip
    with app.reporter.phase("Wait for the rollback"):
        return strategy.wait(app, request)


def after_failed_deploy(
    app: App,
    strategy: Strategy,
    result: Result,
    outcome: WaitOutcome,
    *,
    serving: str,
    serving_note: str,
    created_at: datetime | None,
    roll_back: bool,
    deregister_failed: bool,
) -> int:
    """Fill ``result`` (message, result, rolled_back, current revision) for a deploy that did not
    come up, rolling back when ``roll_back``; returns the exit code (1, or 130 when a signal
    stopped the rollback). The caller raises DeployFailed with it."""
    reason = failure_reason(outcome)
    verdict = outcome.verdict
    failed_td = result.task_definition_arn
    result.result, result.exit_code = "failed", 1
    result.current_task_definition_arn = _current_td(outcome.service)
    if verdict.state is State.SUPERSEDED:
        result.result = "superseded"
        result.message = f"deploy of {ecs.short_name(failed_td)} did not finish: {verdict.reason}; not rolling back (that would undo it)"
        return 1
    if verdict.state is State.GONE:
        result.message = f"deploy failed: {verdict.reason}; nothing was rolled back"
        return 1
    if failed_td and failed_td != serving:
        failed_marks.mark_failed(app, failed_td, result.deployment_id)
    if verdict.cause in (ECS_ROLLBACK, CODEDEPLOY_ROLLBACK):
        return _ecs_rollback(result, outcome, reason)
    if not roll_back:
        result.message = f"deploy failed: {reason}"
        return 1
    with app.reporter.phase("Rollback"):
        return _roll_back(app, strategy, result, outcome, reason, serving=serving, serving_note=serving_note,
                          created_at=created_at, deregister_failed=deregister_failed)  # fmt: skip


def _ecs_rollback(result: Result, outcome: WaitOutcome, reason: str) -> int:
    """The deployment controller rolled back itself (ECS's circuit breaker or a failed lifecycle
    stage; CodeDeploy's automatic rollback): reported as theirs, never repeated."""
    target = outcome.verdict.other_task_definition
    who, by = ("CodeDeploy", "codedeploy") if outcome.verdict.cause == CODEDEPLOY_ROLLBACK else ("ECS", "ecs")
    result.rollback_target_arn = target
    if outcome.verdict.state is State.ROLLED_BACK:
        result.rolled_back, result.rolled_back_by, result.result = True, by, "rolled-back"
        result.message = f"deploy failed: {reason}; {who} rolled back to {ecs.short_name(target)}"
    else:
        result.message = (
            f"deploy failed: {reason}; {who}'s rollback to {ecs.short_name(target)} had not finished"
        )
    return 1


def _roll_back(
    app: App,
    strategy: Strategy,
    result: Result,
    outcome: WaitOutcome,
    reason: str,
    *,
    serving: str,
    serving_note: str,
    created_at: datetime | None,
    deregister_failed: bool,
) -> int:
    log = app.log
    failed_td = result.task_definition_arn
    head = f"deploy failed: {reason}"
    try:
        service = ecs.describe_service(app, include_tags=False)
    except AwsError as exc:
        result.message = f"{head}; not rolling back: the service could not be read ({exc})"
        return 1
    if service is None:
        result.message = f"{head}; not rolling back: the service cannot be seen"
        return 1
    result.current_task_definition_arn = _current_td(service)
    if result.deployment_id:
        replaced = replacement_verdict(service, deployment_id=result.deployment_id, task_definition=failed_td,
                                       created_at=created_at, previous_task_definition=serving)  # fmt: skip
        if replaced is not None and replaced.cause == ECS_ROLLBACK:
            result.rollback_target_arn = replaced.other_task_definition
            result.message = f"{head}; ECS is rolling back to {ecs.short_name(replaced.other_task_definition)} itself: not starting another rollback"
            return 1
    newer = newer_deployment(service, deployment_id=result.deployment_id, created_at=created_at)
    if newer is not None:
        result.result = "superseded"
        newer_td = str(newer.get("taskDefinition") or "")
        kind = "a newer release" if is_newer_release(newer_td, failed_td) else "a change made by someone else"
        result.message = (f"{head}; not rolling back: deployment {newer.get('id')} "
                          f"({ecs.short_name(str(newer.get('taskDefinition')))}), {kind}, started after this one")  # fmt: skip
        return 1
    if not serving:
        result.message = f"{head}; not rolling back: the revision that last served cannot be established ({serving_note}); the service is left as it is"
        return 1
    if serving == failed_td:
        result.message = f"{head}; the failed deployment ran the revision that served before ({ecs.short_name(serving)}): nothing to roll back to"
        return 1
    status = ecs.describe_task_definition(app, serving, tags=False).get("status")
    if status != "ACTIVE":
        result.message = f"{head}; not rolling back to {ecs.short_name(serving)}: it is {status}"
        return 1
    log.info(f"Rolling back to {ecs.short_name(serving)}, the revision last serving ({serving_note})")
    back_result = Result(command="rollback")
    try:
        back_result.deployment_id = result.deployment_id
        back = _stop_in_progress(app, strategy, outcome, serving, back_result) or update_and_wait(
            app, strategy, serving, until=WaitUntil("stable"), wait=True, started=datetime.now(UTC),
            result=back_result, previous=failed_td)  # fmt: skip
    except KeyboardInterrupt as exc:
        name = getattr(exc, "signal_name", "SIGINT")
        result.message = f"{head}; interrupted by {name} while starting the rollback to {ecs.short_name(serving)}: it may have started; check with 'ecspresso status'"
        return 130
    except EcspressoError as exc:
        result.message = f"{head}; the rollback to {ecs.short_name(serving)} failed too: {exc}"
        return 1
    assert back is not None
    if back.interrupted:
        result.message = f"{head}; interrupted by {back.interrupted} while waiting for the rollback to {ecs.short_name(serving)} (deployment {back_result.deployment_id or '?'}, still in progress)"
        result.current_task_definition_arn = serving
        return 130
    result.current_task_definition_arn = _current_td(back.service) or result.current_task_definition_arn
    if not back.ok and back.verdict.state is not State.ROLLED_BACK:
        explain_failure(app, back)
        result.message = (
            f"{head}; the rollback to {ecs.short_name(serving)} failed too: {back.verdict.reason}"
        )
        return 1
    result.rolled_back, result.rolled_back_by, result.result = True, "ecspresso", "rolled-back"
    result.rollback_target_arn = serving
    result.message = f"{head}; rolled back to {ecs.short_name(serving)}"
    log.info(f"Service is rolled back to {ecs.short_name(serving)}")
    if deregister_failed and failed_td and failed_td != serving:
        from ecspresso.commands.rollback import deregister_if_unused

        deregister_if_unused(app, failed_td, result)
    return 1


def _stop_in_progress(
    app: App, strategy: Strategy, outcome: WaitOutcome, serving: str, back_result: Result
) -> WaitOutcome | None:
    """When our service deployment is still in progress, ask ECS to roll it back itself
    (StopServiceDeployment ROLLBACK) and wait for that; None when it is not (then the caller
    updates the service to ``serving``). ECS returns to the deployment's source revision, which
    is the revision that was serving."""
    ours = {outcome.service_deployment_arn, back_result.deployment_id} - {""}
    running = strategy.in_progress(app) if ours else None
    if running is None or running.id not in ours:
        return None
    arn = running.id
    try:
        outcome_back = stop_and_wait(app, strategy, arn, until=WaitUntil("deployed"), task_definition=serving)
    except AwsError as exc:
        if exc.transient:
            raise
        app.log.warning(f"ECS cannot roll the service deployment back ({exc}): updating the service instead")
        return None
    back_result.service_deployment_arn = arn
    return outcome_back


def stop_and_wait(
    app: App,
    strategy: Strategy,
    deployment_id: str,
    *,
    until: WaitUntil,
    task_definition: str = "",
    wait: bool = True,
) -> WaitOutcome | None:
    """Ask the deployment controller to roll an in-progress deployment back itself
    (StopServiceDeployment ROLLBACK, CodeDeploy's StopDeployment with rollback) and follow it
    (None with ``wait=False``): ``rollback`` and the automatic rollback both go this way."""
    strategy.stop_in_progress(app, deployment_id)
    if not wait:
        return None
    request = WaitRequest(task_definition=task_definition, until=until, timeout=app.config.timeout,
                          since=datetime.now(UTC), service_deployment_arn=deployment_id)  # fmt: skip
    with app.reporter.phase("Wait for the rollback"):
        return strategy.wait(app, request)


def _current_td(service: dict[str, Any] | None) -> str:
    if not service:
        return ""
    return str((primary(service) or {}).get("taskDefinition") or service.get("taskDefinition") or "")
