"""``rollback``, and the automatic rollback after a failed ``deploy --rollback-on-failure``.

The command rolls the service back to the previous ACTIVE revision of its family (or to
``--revision N``), waits, and deregisters the revision it rolled back from (default, as
ecspresso). The automatic rollback goes back to the revision that was PRIMARY before the deploy
began; if ECS's circuit breaker already rolled back, it waits for that and reports it. Neither
ever targets an INACTIVE revision, and neither triggers another rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ecspresso import autoscaling, ecs
from ecspresso.app import App
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.options import Command, option
from ecspresso.report import Result, failed
from ecspresso.rollout import State, primary
from ecspresso.watch import WaitOutcome, WaitRequest, explain_failure, failure_reason, watch_rollout


@dataclass
class RollbackOption:
    dry_run: bool = option(False, "show what would be done; make no change")
    deregister_task_definition: bool = option(
        True, "deregister the revision rolled back from", negatable=True, aliases=("--deregister",)
    )
    wait: bool = option(True, "wait for the rollback", negatable=True)
    wait_until: str = option("stable", "what to wait for", choices=("stable", "deployed"))
    revision: int = option(0, "roll back to revision N of the family (default: the previous ACTIVE one)")
    rollback_events: str = option("", "CodeDeploy only (accepted for compatibility)")
    suspend_auto_scaling: bool = option(False, "suspend Application Auto Scaling of the service")
    resume_auto_scaling: bool = option(False, "resume Application Auto Scaling of the service")


def rollback(app: App, opts: RollbackOption) -> Result:
    if opts.deregister_task_definition and not opts.wait:
        raise UsageError(
            "--deregister-task-definition needs waiting: add --no-deregister-task-definition or drop --no-wait"
        )
    cfg = app.config
    log = app.log
    started = datetime.now(UTC)
    t0 = app.timing.now()
    service = ecs.describe_service(app)
    if service is None:
        raise EcspressoError(f"service {cfg.service} not found in cluster {cfg.cluster}")
    current = str(service.get("taskDefinition") or "")
    target = rollback_target(app, current, opts.revision)
    result = Result(command="rollback", service=cfg.service, cluster=cfg.cluster,
                    task_definition_arn=target, previous_task_definition_arn=current, rollback_target_arn=target)  # fmt: skip
    log.info(f"Rolling back to {ecs.short_name(target)} (from {ecs.short_name(current)})")
    autoscaling.apply(app, opts, dry_run=opts.dry_run)
    if opts.dry_run:
        if opts.deregister_task_definition:
            log.info(f"task definition {ecs.short_name(current)} will be deregistered")
        log.info("DRY RUN OK")
        result.result = "dry-run"
        return result
    outcome = _update_and_wait(
        app, target, until=opts.wait_until, wait=opts.wait, started=started, result=result
    )
    result.duration = app.timing.now() - t0
    if outcome is not None and not outcome.ok:
        explain_failure(app, outcome)
        result.result = "failed"
        result.message = f"rollback to {ecs.short_name(target)} failed: {outcome.verdict.reason}"
        raise failed(result)
    result.result = "rolled-back"
    result.rolled_back = True
    log.info(f"Service is rolled back to {ecs.short_name(target)}")
    if opts.deregister_task_definition:
        deregister_if_unused(app, current)
    return result


def rollback_target(app: App, current: str, revision: int = 0) -> str:
    """``family:revision`` if given, else the ACTIVE revision just before ``current``. Never INACTIVE."""
    family = ecs.family_of(current)
    if revision:
        td = ecs.describe_task_definition(app, f"{family}:{revision}", tags=False)
        if td.get("status") != "ACTIVE":
            raise EcspressoError(f"cannot roll back to {family}:{revision}: it is {td.get('status')}")
        return str(td["taskDefinitionArn"])
    arns = sorted((a for a in ecs.list_task_definition_arns(app, family, sort="DESC") if ecs.family_of(a) == family),
                  key=ecs.revision_of, reverse=True)  # fmt: skip
    older = [a for a in arns if ecs.revision_of(a) < ecs.revision_of(current)]
    if not older:
        raise EcspressoError(
            f"no ACTIVE revision of {family} older than {ecs.short_name(current)} to roll back to"
        )
    return older[0]


def _update_and_wait(
    app: App, target: str, *, until: str, wait: bool, started: datetime, result: Result
) -> WaitOutcome | None:
    cfg = app.config
    before = primary(ecs.describe_service(app, include_tags=False) or {}) or {}
    updated = ecs.call(f"UpdateService {cfg.service}", app.client("ecs").update_service,
                       cluster=cfg.cluster, service=cfg.service, taskDefinition=target)["service"]  # fmt: skip
    dep = primary(updated) or {}
    result.deployment_id = str(dep.get("id") or "")
    if not wait:
        app.log.info("Service is rolled back (not waiting).")
        return None
    created = dep.get("id") != before.get("id")
    request = WaitRequest(deployment_id=result.deployment_id if created else "", task_definition=target,
                          until=until, timeout=cfg.timeout, since=started)  # fmt: skip
    with app.reporter.phase("Wait for the rollback"):
        return watch_rollout(app, request)


def rollback_after_failed_deploy(
    app: App, result: Result, outcome: WaitOutcome, *, deregister_failed: bool
) -> None:
    """Fill ``result`` with what the automatic rollback did. The caller raises DeployFailed after."""
    log = app.log
    failed_td, previous = result.task_definition_arn, result.previous_task_definition_arn
    reason = failure_reason(outcome)
    state = outcome.verdict.state
    ecs_target = outcome.verdict.rollback_task_definition
    if state is State.ROLLED_BACK:
        _mark_rolled_back(
            result, ecs_target, f"deploy failed: {reason}; ECS rolled back to {ecs.short_name(ecs_target)}"
        )
    elif not previous:
        result.message = f"deploy failed: {reason}; no previous revision to roll back to"
        return
    elif previous == failed_td:
        result.message = f"deploy failed: {reason}; the failed deployment ran the same revision ({ecs.short_name(previous)}), nothing to roll back to"
        return
    else:
        status = ecs.describe_task_definition(app, previous, tags=False).get("status")
        if status != "ACTIVE":
            result.message = (
                f"deploy failed: {reason}; not rolling back to {ecs.short_name(previous)}: it is {status}"
            )
            return
        log.info(f"Rolling back to {ecs.short_name(previous)} (the revision running before this deploy)")
        started = datetime.now(UTC)
        back = _update_and_wait(
            app, previous, until="stable", wait=True, started=started, result=Result(command="rollback")
        )
        assert back is not None
        if not back.ok:
            explain_failure(app, back)
            result.message = f"deploy failed: {reason}; the rollback to {ecs.short_name(previous)} failed too: {back.verdict.reason}"
            return
        _mark_rolled_back(
            result, previous, f"deploy failed: {reason}; rolled back to {ecs.short_name(previous)}"
        )
    log.info(f"Service is rolled back to {ecs.short_name(result.rollback_target_arn)}")
    if deregister_failed and failed_td and failed_td != result.rollback_target_arn:
        deregister_if_unused(app, failed_td)


def _mark_rolled_back(result: Result, target: str, message: str) -> None:
    result.rolled_back = True
    result.rollback_target_arn = target
    result.result = "rolled-back"
    result.message = message


def deregister_if_unused(app: App, arn: str) -> bool:
    """Deregister ``arn`` unless something uses it (see :mod:`ecspresso.inuse`). When the in-use
    check cannot be completed it is left alone (warned about, ``False``): the rollback itself
    succeeded and must not turn into a failure, nor take a schedule's revision away."""
    from ecspresso.inuse import in_use_revisions, uncertainty

    name = ecs.short_name(arn)
    users = in_use_revisions(app, ecs.family_of(arn))
    why = users.why(arn)
    if why:
        app.log.warning(f"not deregistering {name}: in use by {why}")
        return False
    if not users.complete:
        app.log.warning(
            f"not deregistering {name}: {uncertainty(users, [name])}; deregister it later with "
            f"`ecspresso deregister --revision {ecs.revision_of(arn)}`"
        )
        return False
    ecs.call(
        f"DeregisterTaskDefinition {name}", app.client("ecs").deregister_task_definition, taskDefinition=arn
    )
    app.log.info(f"Task definition {name} is deregistered")
    return True


COMMANDS = [
    Command("rollback", "roll the service back to the previous task definition", RollbackOption, rollback)
]
