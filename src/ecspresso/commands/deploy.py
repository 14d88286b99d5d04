"""``deploy``: register a task definition, update (or create) the service, wait, explain, roll back.

The ECS rolling path follows ecspresso v2.8 (one UpdateService call carrying attributes, task
definition, desired count and force flag). What this port adds: the deployment created by our
UpdateService is tracked by id, a circuit-breaker rollback is a failure (never "success"), the
reasons of stopped tasks are printed, ``--fail-after-task-failures`` gives up early, and
``--rollback-on-failure`` puts the service back on the revision that was PRIMARY before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ecspresso import autoscaling, ecs, failed_marks
from ecspresso.app import App
from ecspresso.errors import EcspressoError, InputError, UsageError
from ecspresso.options import AutoScalingOptions, Command, DryRunOptions, WaitOptions, option
from ecspresso.recovery import after_failed_deploy
from ecspresso.report import Result, container_images, ecs_console_url, failed
from ecspresso.rollout import primary, serving_task_definition
from ecspresso.strategies import StartRequest, check_wait_until, choose
from ecspresso.watch import WaitOutcome, WaitRequest, explain_failure, failure_reason

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")


@dataclass
class DeployOption(DryRunOptions, WaitOptions, AutoScalingOptions):
    tasks: int = option(-1, "desired count (-1: from the service definition, else unchanged)")
    skip_task_definition: bool = option(False, "deploy the service's current task definition")
    revision: int = option(0, "deploy revision N of the current family instead of registering")
    latest_task_definition: bool = option(False, "deploy the latest ACTIVE revision, do not register")
    force_new_deployment: bool = option(False, "replace every task even if nothing changed")
    wait_until: str = option(
        "deployed", "deployed, stable, ecs:<STAGE> or paused (stages: BLUE_GREEN, LINEAR, CANARY)",
        parse=check_wait_until, metavar="UNTIL",
    )  # fmt: skip
    rollback_events: str = option(
        "", "comma list; DEPLOYMENT_FAILURE turns on --rollback-on-failure for ECS services"
    )
    update_service: bool = option(True, "apply the service definition's attributes", negatable=True)
    rollback_on_failure: bool = option(
        False, "on failure, roll the service back to the revision it ran before", negatable=True
    )
    deregister_failed: bool = option(False, "after a rollback, deregister the task definition that failed")
    fail_after_task_failures: int = option(
        0, "fail once N tasks of the new deployment failed to start (0: off)"
    )


def validate(opts: DeployOption) -> None:
    if opts.revision and opts.latest_task_definition:
        raise UsageError("--revision and --latest-task-definition cannot be used together")
    if opts.revision < 0:
        raise UsageError("--revision must be a positive revision number")
    if opts.tasks < -1:
        raise UsageError("--tasks must be 0 or more (-1 keeps the current count)")
    if opts.fail_after_task_failures < 0:
        raise UsageError("--fail-after-task-failures must be 0 or more")
    for ev in filter(None, (e.strip() for e in opts.rollback_events.split(","))):
        if ev not in ROLLBACK_EVENTS:
            raise UsageError(f"--rollback-events: unknown event {ev!r} (one of {', '.join(ROLLBACK_EVENTS)})")


def deploy(app: App, opts: DeployOption, *, command: str = "deploy") -> Result:
    validate(opts)
    if "DEPLOYMENT_FAILURE" in opts.rollback_events:
        opts = replace(opts, rollback_on_failure=True)
    cfg = app.config
    if not cfg.service:
        raise InputError(
            "service is not set in the config; use 'register' for task-definition-only setups",
            source=cfg.path.name,
        )
    result = Result(command=command, service=cfg.service, cluster=cfg.cluster)
    progress = _Progress()
    try:
        return _deploy(app, opts, result, progress)
    except KeyboardInterrupt as exc:
        raise _interrupted(app, result, progress, getattr(exc, "signal_name", "SIGINT")) from None


@dataclass
class _Progress:
    """How far a deploy got: what a signal interrupted (see :func:`_interrupted`)."""

    phase: str = "prepare"  # prepare -> register -> update -> (waiting is handled by the watcher)
    before_id: str = ""


def _deploy(app: App, opts: DeployOption, result: Result, progress: _Progress) -> Result:
    cfg = app.config
    log = app.log
    started = datetime.now(UTC)
    t0 = app.timing.now()
    with app.reporter.phase("Describe service"):
        service = ecs.describe_service(app)
    if service is None:
        return _create(app, opts, result, started, progress)
    strategy = choose(service)
    strategy.ensure_supported()
    until = strategy.wait_until(opts.wait_until)
    result.controller = strategy.controller
    if service.get("status") == "DRAINING":
        log.warning("the service is DRAINING")
    # every local input is loaded and checked before the first write
    td_local = app.load_task_definition() if _registers(opts) else None
    sv_local = app.load_service_definition() if opts.update_service else None
    prev = primary(service) or {}
    progress.before_id = str(prev.get("id") or "")
    serving, serving_note = serving_task_definition(service)
    result.previous_task_definition_arn = serving or str(
        prev.get("taskDefinition") or service.get("taskDefinition") or ""
    )
    if not serving:
        log.warning(f"the revision last serving cannot be established: {serving_note}")

    with app.reporter.phase("Task definition"):
        td_arn = _task_definition_for_deploy(app, opts, service, result, td_local, progress)
    result.task_definition_arn = td_arn
    result.images = container_images(td_local) if td_local else []
    td_diff = result.diff  # dry run: the local task definition against the service's

    params: dict[str, Any] = {"cluster": cfg.cluster, "service": cfg.service}
    if td_arn:
        params["taskDefinition"] = td_arn
    if sv_local is not None:
        with app.reporter.phase("Service attributes"):
            attrs, service_diff = _attribute_changes(app, service, sv_local, opts.dry_run)
            params.update(attrs)
            result.diff += service_diff
    count = desired_count(opts.tasks, sv_local, service)
    if count is not None:
        params["desiredCount"] = count
    if opts.force_new_deployment:
        params["forceNewDeployment"] = True
    scaling = autoscaling.apply(app, autoscaling.Request.of(opts), dry_run=opts.dry_run)

    if opts.dry_run:
        family = str((td_local or {}).get("family") or "")
        return _dry_run_plan(
            app, opts, service, result, params, td_diff, sv_local is not None, scaling, family
        )

    with app.reporter.phase("Update service"):
        progress.phase = "update"
        started_dep = strategy.start(app, StartRequest(service, params, progress.before_id, _events(opts)))
        progress.phase = "wait"
    created_deployment = bool(started_dep.deployment_id)
    result.deployment_id = started_dep.deployment_id
    result.console_url = started_dep.console_url or ecs_console_url(
        app.aws.resolved_region or "", cfg.cluster, cfg.service
    )
    if "desiredCount" in params and params["desiredCount"] != service.get("desiredCount"):
        log.info(f"desired count: {service.get('desiredCount')} -> {params['desiredCount']}")
    log.info(f"Service is updating: {ecs.short_name(td_arn or started_dep.task_definition)}"
             + (f" (deployment {result.deployment_id})" if created_deployment else " (no new deployment)"))  # fmt: skip
    if not opts.wait:
        log.info("Service is deployed (not waiting).")
        result.result = "deployed"
        result.duration = app.timing.now() - t0
        return result
    created_at = started_dep.created_at
    request = WaitRequest(
        deployment_id=result.deployment_id,
        task_definition=started_dep.task_definition or td_arn,
        until=until,
        timeout=cfg.timeout,
        fail_after_task_failures=opts.fail_after_task_failures,
        since=started,
        created_at=created_at,
        previous_task_definition=serving,
        service_deployment_arn=started_dep.service_deployment_arn,
    )
    with app.reporter.phase("Wait for the deployment"):
        outcome = strategy.wait(app, request)
    _fill_from_outcome(result, outcome)
    result.duration = app.timing.now() - t0
    if outcome.ok and until.kind in ("stage", "paused", "event"):
        log.info(
            f"{outcome.verdict.reason}: the deployment of {ecs.short_name(request.task_definition)} goes on"
        )
        result.result = "paused" if until.kind == "paused" else "stage-reached"
        return result
    if outcome.ok:
        if result.command == "scale" and "desiredCount" in params:
            log.info(
                f"Service is scaled: {params['desiredCount']} tasks of {ecs.short_name(request.task_definition)}"
            )
        else:
            log.info(f"Service is deployed: {ecs.short_name(request.task_definition)}")
        result.result = "deployed" if created_deployment or _changes(params, service) else "no-change"
        result.changed = result.result == "deployed"
        result.current_task_definition_arn = request.task_definition
        if created_deployment and not td_local:
            failed_marks.clear_failed(app, request.task_definition)
        return result
    result.explanation = explain_failure(app, outcome)
    if outcome.interrupted:
        result.result, result.exit_code = "failed", 130
        result.message = f"{outcome.verdict.reason}. Not rolling back an interrupted deploy: run 'ecspresso rollback' if needed."
        raise failed(result, exit_code=130)
    code = after_failed_deploy(app, strategy, result, outcome, serving=serving, serving_note=serving_note,
                               created_at=created_at, roll_back=opts.rollback_on_failure,
                               deregister_failed=opts.deregister_failed)  # fmt: skip
    result.duration = app.timing.now() - t0
    raise failed(result, exit_code=code)


def _dry_run_plan(
    app: App,
    opts: DeployOption,
    service: dict[str, Any],
    result: Result,
    params: dict[str, Any],
    td_diff: str,
    compared: bool,
    scaling: str,
    family: str,
) -> Result:
    """``--dry-run``: the diffs on stdout, then the plan (what a deploy would do); no write."""
    from ecspresso.normalize import to_api_json
    from ecspresso.plan import Plan, plan_lines

    current = ecs.short_name(str(service.get("taskDefinition") or ""))
    plan = Plan(
        service=app.config.service,
        cluster=app.config.cluster,
        current_task_definition=current,
        task_definition="register"
        if _registers(opts)
        else ecs.short_name(params.get("taskDefinition") or current),
        family=family or (ecs.family_of(current) if current else ""),
        task_definition_diff=td_diff,
        service_diff=result.diff[len(td_diff) :],
        service_compared=compared,
        desired_from=service.get("desiredCount"),
        desired_to=params.get("desiredCount"),
        force_new_deployment=opts.force_new_deployment,
        auto_scaling=scaling,
    )
    if result.diff:
        app.reporter.output(result.diff)
    lines = plan_lines(plan)
    app.reporter.output("\n".join(lines))
    app.log.debug(
        "UpdateService input: " + to_api_json({k: v for k, v in params.items() if k != "taskDefinition" or v})
    )
    app.log.info("DRY RUN OK")
    result.result, result.changed, result.plan = "dry-run", plan.changed, lines
    return result


def _events(opts: DeployOption) -> tuple[str, ...]:
    """--rollback-events; --rollback-on-failure asks for DEPLOYMENT_FAILURE (for a controller that
    rolls back itself, CodeDeploy, that is its own automatic rollback)."""
    events = tuple(e.strip() for e in opts.rollback_events.split(",") if e.strip())
    if opts.rollback_on_failure and "DEPLOYMENT_FAILURE" not in events:
        events += ("DEPLOYMENT_FAILURE",)
    return events


def _registers(opts: DeployOption) -> bool:
    """Whether this deploy registers the local task definition (so it must be loaded first)."""
    return not (opts.revision or opts.latest_task_definition or opts.skip_task_definition)


def _interrupted(app: App, result: Result, progress: _Progress, signal_name: str) -> EcspressoError:
    """A signal outside the wait (the watcher reports its own): say what may have happened."""
    td = ecs.short_name(result.task_definition_arn) or "the task definition"
    if progress.phase == "register":
        what = "while registering the task definition: a new revision may have been registered; the service was not changed"
    elif progress.phase == "update":
        what = f"during UpdateService: a deployment of {td} may have been started" + _service_now(app)
    elif progress.phase == "prepare":
        what = "before the service was changed" + (
            f" ({td} is registered)" if result.task_definition_arn else ""
        )
    else:
        what = f"after UpdateService: the deployment of {td} goes on" + _service_now(app)
    result.result = "failed"
    result.message = f"interrupted by {signal_name} {what}; run 'ecspresso status' to see it, 'ecspresso rollback' to undo it"
    return failed(result, exit_code=130)


def _service_now(app: App) -> str:
    """One quick read of the service after a signal, for the message (nothing if it fails)."""
    try:
        service = ecs.describe_service(app, include_tags=False)
    except BaseException:  # a second signal, or any error: the message goes out without it
        return ""
    prim = primary(service or {}) or {}
    if not prim:
        return ""
    return f" (the service's PRIMARY deployment is now {prim.get('id')} running {ecs.short_name(str(prim.get('taskDefinition')))}, {prim.get('rolloutState') or 'state unknown'})"


def _changes(params: dict[str, Any], service: dict[str, Any]) -> bool:
    """Whether the UpdateService call changed anything besides (re)stating the task definition."""
    extra = set(params) - {"cluster", "service", "taskDefinition", "desiredCount"}
    return bool(extra) or params.get("desiredCount", service.get("desiredCount")) != service.get(
        "desiredCount"
    )


def _fill_from_outcome(result: Result, outcome: WaitOutcome) -> None:
    result.events = outcome.events[-10:]
    result.stopped_tasks = outcome.stopped_tasks
    result.service_deployment_arn = outcome.service_deployment_arn
    result.lifecycle_stages = list(outcome.stages)
    result.lifecycle_events = list(outcome.lifecycle_events)


def desired_count(tasks: int, sv_local: dict[str, Any] | None, remote: dict[str, Any] | None) -> int | None:
    """ecspresso's calcDesiredCount: DAEMON -> None; --tasks wins; else the definition's; else unchanged."""
    scheduling = (sv_local or {}).get("schedulingStrategy") or (remote or {}).get("schedulingStrategy")
    if scheduling == "DAEMON":
        return None
    if tasks >= 0:
        return tasks
    if sv_local is not None and sv_local.get("desiredCount") is not None:
        return int(sv_local["desiredCount"])
    return None


def _task_definition_for_deploy(
    app: App,
    opts: DeployOption,
    service: dict[str, Any],
    result: Result,
    td: dict[str, Any] | None,
    progress: _Progress,
) -> str:
    current = str(service.get("taskDefinition") or "")
    log = app.log
    chosen = ecs.existing_task_definition(app, ecs.family_of(current), current=current, revision=opts.revision,
                                          latest=opts.latest_task_definition, skip=opts.skip_task_definition)  # fmt: skip
    if chosen is not None or td is None:
        return chosen or current
    if opts.dry_run:
        from ecspresso.diffing import diff_task_definitions

        remote = ecs.describe_task_definition(app, current) if current else None
        result.diff += diff_task_definitions(remote, td, remote_name=current,
                                             local_name=str(app.task_definition_path()))  # fmt: skip
        log.info(f"a new revision of {td.get('family')} would be registered (dry run)")
        return ""
    progress.phase = "register"
    registered = ecs.register_task_definition(app, td)
    arn = str(registered["taskDefinitionArn"])
    result.task_definition_arn = arn
    progress.phase = "prepare"
    log.info(f"Task definition is registered {ecs.short_name(arn)}")
    if current and app.reporter.shows_diff:
        from ecspresso.diffing import diff_task_definitions

        result.diff += diff_task_definitions(ecs.describe_task_definition(app, current), td,
                                             remote_name=current, local_name=str(app.task_definition_path()))  # fmt: skip
    return arn


def _attribute_changes(
    app: App, remote: dict[str, Any], local: dict[str, Any], dry_run: bool
) -> tuple[dict[str, Any], str]:
    """UpdateService parameters for the service attributes, when they differ; tags synced here."""
    from ecspresso.diffing import diff_services
    from ecspresso.normalize import update_service_input

    log = app.log
    _sync_tags(app, remote, local, dry_run)
    from ecspresso.definitions import display_path

    cfg = app.config
    local_name = display_path(cfg.service_definition) if cfg.service_definition else ""
    diff = diff_services({**remote, "tags": None}, {**local, "tags": None},  # tags are synced above
                         remote_name=str(remote.get("serviceArn") or cfg.service), local_name=local_name)  # fmt: skip
    if not diff:
        log.info("service attributes will not change")
        return {}, ""
    if dry_run:  # the plan prints the diff on stdout
        log.info("service attributes would change")
    else:
        log.info("service attributes will change", diff=diff)
    attrs = update_service_input(local)
    attrs.pop("desiredCount", None)
    return attrs, diff


def _sync_tags(app: App, remote: dict[str, Any], local: dict[str, Any], dry_run: bool) -> None:
    """Make the service's tags match the definition's (when it declares tags), minus ignore.tags."""
    if "tags" not in local:
        return
    ignore = set(app.config.ignore_tags)
    have = {t["key"]: t.get("value", "") for t in remote.get("tags") or [] if t.get("key") not in ignore}
    want = {t["key"]: t.get("value", "") for t in local.get("tags") or [] if t.get("key") not in ignore}
    add = [{"key": k, "value": v} for k, v in want.items() if have.get(k) != v]
    remove = [k for k in have if k not in want]
    if not add and not remove:
        return
    arn = remote["serviceArn"]
    log = app.log
    if add:
        log.info(
            f"tags to set on the service: {', '.join(t['key'] for t in add)}"
            + (" (dry run)" if dry_run else "")
        )
        if not dry_run:
            ecs.call("TagResource", app.client("ecs").tag_resource, resourceArn=arn, tags=add)
    if remove:
        log.info(f"tags to remove from the service: {', '.join(remove)}" + (" (dry run)" if dry_run else ""))
        if not dry_run:
            ecs.call("UntagResource", app.client("ecs").untag_resource, resourceArn=arn, tagKeys=remove)


def _create(app: App, opts: DeployOption, result: Result, started: datetime, progress: _Progress) -> Result:
    """The service does not exist: create it from the service definition."""
    from ecspresso.normalize import create_service_input, to_api_json

    cfg = app.config
    log = app.log
    log.info("Service not found: creating it")
    sv = app.load_service_definition()
    if sv is None:
        raise EcspressoError(
            f"service {cfg.service} not found in cluster {cfg.cluster}, and no service_definition to create it from"
        )
    strategy = choose(sv)
    strategy.ensure_supported()
    until = strategy.wait_until("stable" if opts.wait_until == "deployed" else opts.wait_until)
    td = app.load_task_definition()
    params = ecs.without_empty_tags(create_service_input(sv))
    params.update(cluster=cfg.cluster, serviceName=cfg.service)
    if (count := desired_count(opts.tasks, sv, None)) is not None:
        params["desiredCount"] = count
    elif params.get("schedulingStrategy", "REPLICA") == "REPLICA":
        params["desiredCount"] = 0
    if opts.dry_run:
        app.reporter.output(to_api_json(td))
        app.reporter.output(to_api_json(params))
        log.info("DRY RUN OK")
        result.result = "dry-run"
        return result
    if opts.latest_task_definition or opts.skip_task_definition:
        arn = ecs.latest_task_definition_arn(app, str(td["family"]))
    else:
        progress.phase = "register"
        arn = str(ecs.register_task_definition(app, td)["taskDefinitionArn"])
        progress.phase = "prepare"
        log.info(f"Task definition is registered {ecs.short_name(arn)}")
    params["taskDefinition"] = arn
    result.task_definition_arn = arn
    progress.phase = "update"
    created = ecs.call(f"CreateService {cfg.service}", app.client("ecs").create_service, **params)["service"]
    progress.phase = "wait"
    first = primary(created) or {}
    result.deployment_id = str(first.get("id") or "")
    created_at = first.get("createdAt") if isinstance(first.get("createdAt"), datetime) else None
    log.info(f"Service is created: {cfg.service}")
    if not opts.wait:
        log.info(f"Service {cfg.service} is created with {ecs.short_name(arn)} (not waiting for its tasks).")
        result.result = "deployed"
        return result
    outcome = strategy.wait(app, WaitRequest(deployment_id=result.deployment_id, task_definition=arn, until=until,
                                             timeout=cfg.timeout, fail_after_task_failures=opts.fail_after_task_failures,
                                             since=started, created_at=created_at,
                                             service_deployment_arn=str(created.get("currentServiceDeployment") or "")))  # fmt: skip
    _fill_from_outcome(result, outcome)
    if outcome.ok:
        log.info(f"Service is deployed: {ecs.short_name(arn)}")
        result.result = "deployed"
        result.current_task_definition_arn = arn
        return result
    result.explanation = explain_failure(app, outcome)
    result.result = "failed"
    result.message = f"service creation failed: {failure_reason(outcome)}"
    raise failed(result)


COMMANDS = [
    Command(
        "deploy",
        "register a task definition and deploy it to the service",
        DeployOption,
        deploy,
        examples=(
            "deploy",
            "deploy --dry-run",
            "deploy --skip-task-definition --tasks 4",
            "deploy --revision 42 --wait-until stable",
            "--ext-str type=web deploy --no-wait",
        ),
    )
]
