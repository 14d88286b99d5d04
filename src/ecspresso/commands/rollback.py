"""``rollback``: back to the previous good revision.

The command rolls the service back to the newest ACTIVE revision of its family older than the
current one that did not fail to deploy (or to ``--revision N``), waits, and deregisters the
revision it rolled back from (default, as ecspresso) unless it is in use. It never targets an
INACTIVE revision. The automatic rollback after a failed ``deploy --rollback-on-failure`` lives
in :mod:`ecspresso.recovery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ecspresso import autoscaling, ecs, failed_marks
from ecspresso.app import App
from ecspresso.deployments import WaitUntil
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.options import Command, DryRunOptions, SuspendAutoScalingOptions, WaitOptions, option
from ecspresso.recovery import stop_and_wait, update_and_wait
from ecspresso.report import Result, failed
from ecspresso.rollout import State
from ecspresso.strategies import InProgress, Strategy, of_service
from ecspresso.watch import WaitOutcome, explain_failure


@dataclass
class RollbackOption(DryRunOptions, WaitOptions, SuspendAutoScalingOptions):
    deregister_task_definition: bool = option(
        True, "deregister the revision rolled back from", negatable=True, aliases=("--deregister",)
    )
    wait_until: str = option("stable", "what to wait for", choices=("stable", "deployed"))
    revision: int = option(0, "roll back to revision N of the family (default: the previous ACTIVE one)")
    rollback_events: str = option("", "CodeDeploy only (accepted for compatibility)")


def rollback(app: App, opts: RollbackOption) -> Result:
    if opts.deregister_task_definition and not opts.wait:
        raise UsageError(
            "--deregister-task-definition needs waiting: add --no-deregister-task-definition or drop --no-wait"
        )
    cfg = app.config
    log = app.log
    started = datetime.now(UTC)
    t0 = app.timing.now()
    service, strategy, until = of_service(app, opts.wait_until, command="rollback", tags=True)
    current = str(service.get("taskDefinition") or "")
    running = strategy.in_progress(app)
    if running is not None:
        return _stop_in_progress(app, opts, strategy, running, until, t0)
    target = rollback_target(app, current, opts.revision)
    result = Result(command="rollback", service=cfg.service, cluster=cfg.cluster,
                    task_definition_arn=target, previous_task_definition_arn=current, rollback_target_arn=target)  # fmt: skip
    log.info(f"Rolling back to {ecs.short_name(target)} (from {ecs.short_name(current)})")
    autoscaling.apply(app, autoscaling.Request.of(opts), dry_run=opts.dry_run)
    if opts.dry_run:
        if opts.deregister_task_definition:
            log.info(f"task definition {ecs.short_name(current)} will be deregistered")
        log.info("DRY RUN OK")
        result.result = "dry-run"
        return result
    try:
        outcome = update_and_wait(app, strategy, target, until=until, wait=opts.wait, started=started,
                                  result=result, previous=current)  # fmt: skip
    except KeyboardInterrupt as exc:
        result.result = "failed"
        result.message = (f"interrupted by {getattr(exc, 'signal_name', 'SIGINT')} during UpdateService: the rollback "
                          f"to {ecs.short_name(target)} may have started; run 'ecspresso status' to see it")  # fmt: skip
        raise failed(result, exit_code=130) from None
    result.duration = app.timing.now() - t0
    _raise_if_not_ok(app, result, outcome, target)
    result.result = "rolled-back"
    result.rolled_back = True
    result.rolled_back_by = "ecspresso"
    result.current_task_definition_arn = target
    log.info(f"Service is rolled back to {ecs.short_name(target)}")
    if opts.deregister_task_definition:
        deregister_if_unused(app, current, result)
    return result


def _raise_if_not_ok(
    app: App, result: Result, outcome: WaitOutcome | None, target: str, *, rolled_back_is_ok: bool = False
) -> None:
    """Raise DeployFailed unless the rollback's wait ended well (``rolled_back_is_ok``: the
    rollback is ECS's own, through StopServiceDeployment, so ROLLED_BACK is its success)."""
    if outcome is None or outcome.ok or (rolled_back_is_ok and outcome.verdict.state is State.ROLLED_BACK):
        if outcome is not None:
            result.service_deployment_arn = result.service_deployment_arn or str(
                outcome.service_deployment_arn
            )
        return
    result.explanation = explain_failure(app, outcome)
    result.result = "failed"
    if outcome.interrupted:
        result.message = f"rollback to {ecs.short_name(target)} not confirmed: {outcome.verdict.reason}"
        raise failed(result, exit_code=130)
    result.message = f"rollback to {ecs.short_name(target)} failed: {outcome.verdict.reason}"
    raise failed(result)


def _stop_in_progress(
    app: App,
    opts: RollbackOption,
    strategy: Strategy,
    deployment: InProgress,
    until: WaitUntil,
    t0: float,
) -> Result:
    """A service deployment is in progress: ECS rolls it back to its source revision
    (StopServiceDeployment ROLLBACK), as ecspresso does; no new UpdateService."""
    cfg = app.config
    arn = deployment.id
    target_name = deployment.source_task_definition
    leaving = deployment.target_task_definition
    if opts.revision:
        raise UsageError(f"--revision: service deployment {arn.rsplit('/', 1)[-1]} is in progress; ECS rolls it "
                         "back to its source revision (stop it first to choose another revision)")  # fmt: skip
    result = Result(command="rollback", service=cfg.service, cluster=cfg.cluster, task_definition_arn=target_name,
                    previous_task_definition_arn=leaving, rollback_target_arn=target_name,
                    service_deployment_arn=arn)  # fmt: skip
    app.log.info(f"Service deployment {arn.rsplit('/', 1)[-1]} is in progress ({leaving or '?'}): "
                 f"asking ECS to roll it back to {target_name or 'its source revision'}")  # fmt: skip
    if opts.dry_run:
        app.log.info("DRY RUN OK")
        result.result = "dry-run"
        return result
    outcome = stop_and_wait(app, strategy, arn, until=until, wait=opts.wait)
    result.duration = app.timing.now() - t0
    _raise_if_not_ok(app, result, outcome, target_name or "its source revision", rolled_back_is_ok=True)
    result.result, result.rolled_back, result.rolled_back_by = "rolled-back", True, "ecspresso"
    result.current_task_definition_arn = target_name
    app.log.info(f"Service is rolled back to {target_name or 'its source revision'}")
    if opts.deregister_task_definition and leaving:
        deregister_if_unused(
            app, str(ecs.describe_task_definition(app, leaving, tags=False)["taskDefinitionArn"]), result
        )
    return result


def rollback_target(app: App, current: str, revision: int = 0) -> str:
    """``family:revision`` if given (ACTIVE only), else the newest ACTIVE revision older than
    ``current`` that is not marked failed (:mod:`ecspresso.failed_marks`). Reads ListTaskDefinitions
    newest first and stops at the first page holding a candidate."""
    family = ecs.family_of(current)
    if revision:
        td = ecs.describe_task_definition(app, f"{family}:{revision}", tags=False)
        if td.get("status") != "ACTIVE":
            raise EcspressoError(f"cannot roll back to {family}:{revision}: it is {td.get('status')}")
        if failed_marks.FAILED_TAG in {
            t.get("key") for t in td.get("tags") or []
        } or failed_marks.is_marked_failed(app, str(td["taskDefinitionArn"])):
            app.log.warning(
                f"{family}:{revision} is marked as failed ({failed_marks.FAILED_TAG}); rolling back to it as asked"
            )
        return str(td["taskDefinitionArn"])
    marked = failed_marks.failed_revisions(app, family)
    skipped: list[str] = []
    for arn in ecs.iter_task_definition_arns(app, family, sort="DESC"):
        if ecs.family_of(arn) != family or ecs.revision_of(arn) >= ecs.revision_of(current):
            continue
        failed = arn in marked if marked is not None else failed_marks.is_marked_failed(app, arn)
        if failed:
            skipped.append(ecs.short_name(arn))
            continue
        if skipped:
            app.log.info(f"skipping {', '.join(skipped)}: marked as failed by an earlier deploy")
        return arn
    extra = f" (skipped {', '.join(skipped)}: marked as failed)" if skipped else ""
    raise EcspressoError(
        f"no ACTIVE revision of {family} older than {ecs.short_name(current)} to roll back to{extra}"
    )


def deregister_if_unused(app: App, arn: str, result: Result | None = None) -> bool:
    """Deregister ``arn`` unless something uses it (see :mod:`ecspresso.inuse`). When the in-use
    check cannot be completed it is left alone (warned about, ``False``): the rollback itself
    succeeded and must not turn into a failure, nor take a schedule's revision away."""
    from ecspresso.inuse import in_use_revisions, uncertainty

    name = ecs.short_name(arn)
    users = in_use_revisions(app, ecs.family_of(arn))
    why = users.why(arn)
    if why:
        app.log.warning(f"not deregistering {name}: in use by {why}")
        if result is not None:
            result.kept.append(f"{name}: in use by {why}")
        return False
    if not users.complete:
        app.log.warning(
            f"not deregistering {name}: {uncertainty(users, [name])}; deregister it later with "
            f"`ecspresso deregister --revision {ecs.revision_of(arn)}`"
        )
        if result is not None:
            result.kept.append(f"{name}: {uncertainty(users, [name])}")
        return False
    ecs.call(
        f"DeregisterTaskDefinition {name}", app.client("ecs").deregister_task_definition, taskDefinition=arn
    )
    app.log.info(f"Task definition {name} is deregistered")
    if result is not None:
        result.removed.append(name)
    return True


COMMANDS = [
    Command(
        "rollback",
        "roll the service back to the previous task definition",
        RollbackOption,
        rollback,
        examples=(
            "rollback",
            "rollback --dry-run",
            "rollback --no-deregister-task-definition --wait-until deployed",
        ),
    )
]
