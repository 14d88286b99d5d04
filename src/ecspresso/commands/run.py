"""``run``: run a one-off task (a migration before a deploy) and return how its container ended.

As ecspresso v2.8's ``run``: the task definition is registered from the config (or ``--task-def``)
unless ``--revision`` / ``--latest-task-definition`` / ``--skip-task-definition`` pick an existing
one (the same choice as deploy's); network, launch type, capacity providers and placement come from
the service definition. What this port adds:

* every check that can fail is made before the first write: ``--watch-container`` and the
  overrides' container names against the task definition to run, ``--count`` 1..10, ``--tags``;
* ``--dry-run`` makes no write and prints the task definition it would register and the RunTask input;
* while waiting, the watched container's awslogs lines go to stdout as they arrive, once each and
  in order (progress goes to stderr); with ``--log-format json`` each line is a JSON object;
* exit 0 only when the watched container exited 0; otherwise one line naming the container, its
  exit code and the reasons (``TaskFailedToStart`` says why the task could not start);
* SIGINT/SIGTERM while waiting stops the task only with ``--stop-on-interrupt``, and says either way.

Container lines are printed as they are, without a prefix: ``ecspresso run > out.txt`` keeps
exactly what the container wrote (only one container is followed, so a prefix would tell nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.awslogs import LogLine, log_target
from ecspresso.errors import EcspressoError, InputError, UsageError
from ecspresso.oneoff import (
    MAX_COUNT,
    TaskEnd,
    check_override_containers,
    judge_stopped,
    merge_tags,
    parse_overrides_json,
    parse_tags,
    run_task_input,
    task_id,
    watched_container,
)
from ecspresso.options import Command, DryRunOptions, WaitOptions, option
from ecspresso.report import Result, failed


@dataclass
class RunOption(DryRunOptions, WaitOptions):
    task_def: str = option(
        "", "task definition file to register and run (default: the config's)", metavar="FILE"
    )
    overrides: str = option("", "task overrides as JSON (RunTask overrides)", metavar="JSON")
    overrides_file: str = option("", "task overrides file, rendered like the definitions", metavar="FILE")
    skip_task_definition: bool = option(False, "run the service's current task definition (or the latest)")
    latest_task_definition: bool = option(False, "run the latest ACTIVE revision, do not register")
    revision: int = option(0, "run revision N of the family instead of registering")
    count: int = option(1, "number of tasks to run (1-10); the first one is watched")
    watch_container: str = option(
        "", "container whose exit code and log lines are followed (default: the first)"
    )
    propagate_tags: str = option("", "copy tags to the task from SERVICE or TASK_DEFINITION",
                                 choices=("SERVICE", "TASK_DEFINITION", "NONE"))  # fmt: skip
    tags: str = option("", "tags for the task: KEY=VALUE,KEY2=VALUE2")
    client_token: str = option("", "RunTask idempotency token")
    wait_until: str = option(
        "stopped", "wait until the task is running or stopped", choices=("running", "stopped")
    )
    stop_on_interrupt: bool = option(False, "on SIGINT/SIGTERM while waiting, stop the task (StopTask)")
    ebs_delete_on_termination: bool = option(
        True, "delete the task's EBS volumes (service definition volumeConfigurations) when it stops", negatable=True
    )  # fmt: skip


def validate(opts: RunOption) -> None:
    if opts.revision and opts.latest_task_definition:
        raise UsageError("--revision and --latest-task-definition cannot be used together")
    if opts.revision < 0:
        raise UsageError("--revision must be a positive revision number")
    if not 1 <= opts.count <= MAX_COUNT:
        raise UsageError(f"--count must be between 1 and {MAX_COUNT}, got {opts.count}")
    if opts.overrides and opts.overrides_file:
        raise UsageError("--overrides and --overrides-file cannot be used together")
    if opts.task_def and not _registers(opts):
        raise UsageError("--task-def registers a task definition: it cannot be used with --revision, "
                         "--latest-task-definition or --skip-task-definition")  # fmt: skip
    parse_tags(opts.tags)


def _registers(opts: RunOption) -> bool:
    return not (opts.revision or opts.latest_task_definition or opts.skip_task_definition)


@dataclass
class _Progress:
    phase: str = "prepare"  # prepare -> register -> run-task -> wait
    task_arns: tuple[str, ...] = ()


def run(app: App, opts: RunOption) -> Result:
    validate(opts)
    cfg = app.config
    result = Result(command="run", service=cfg.service, cluster=cfg.cluster)
    progress = _Progress()
    try:
        return _run(app, opts, result, progress)
    except KeyboardInterrupt as exc:
        name = getattr(exc, "signal_name", "SIGINT")
        if progress.phase == "wait" and progress.task_arns:  # a second signal while stopping the task
            tid = task_id(progress.task_arns[0])
            what = f"while waiting for task {tid}: it may still be running ('ecspresso tasks' lists it)"
        elif progress.phase == "run-task":
            what = "during RunTask: a task may have been started; 'ecspresso tasks' lists them"
        elif progress.phase == "register":
            what = "while registering the task definition: a new revision may have been registered; no task was started"
        else:
            what = "before any task was started"
        result.result = "failed"
        result.message = f"interrupted by {name} {what}"
        raise failed(result, exit_code=130) from None


def _run(app: App, opts: RunOption, result: Result, progress: _Progress) -> Result:
    from ecspresso.normalize import to_api_json

    cfg = app.config
    log = app.log
    t0 = app.timing.now()
    # every local input is loaded and checked before the first AWS call that writes
    overrides = _overrides(app, opts)
    sv = app.load_service_definition()
    local = (
        app.load_task_definition(Path(opts.task_def) if opts.task_def else None) if _registers(opts) else None
    )
    service = (
        ecs.describe_service(app) if cfg.service and (not local or opts.propagate_tags == "SERVICE") else None
    )
    with app.reporter.phase("Task definition"):
        td, arn = (local, "") if local is not None else _existing(app, opts, service)
        result.task_definition_arn = arn
    container = watched_container(td, opts.watch_container)
    check_override_containers(td, overrides)
    tags = parse_tags(opts.tags)
    if opts.propagate_tags == "SERVICE":
        if not cfg.service:
            raise UsageError("--propagate-tags SERVICE: no service is set in the config")
        if service is None:
            raise EcspressoError(
                f"--propagate-tags SERVICE: service {cfg.service} not found in cluster {cfg.cluster}"
            )
        tags = merge_tags(list(service.get("tags") or []), tags)  # RunTask takes no SERVICE: copy them
    params = run_task_input(
        cluster=cfg.cluster, task_definition=arn or f"{td.get('family')}:(to be registered)",
        service_definition=sv, overrides=overrides, count=opts.count, tags=tags,
        propagate_task_definition_tags=opts.propagate_tags == "TASK_DEFINITION",
        client_token=opts.client_token, ebs_delete_on_termination=opts.ebs_delete_on_termination,
    )  # fmt: skip
    if opts.dry_run:
        if local is not None:
            log.info(f"task definition {td.get('family')} would be registered:")
            app.reporter.output(to_api_json(td))
        else:
            log.info(f"task definition {ecs.short_name(arn)} would be run")
        log.info(f"RunTask input (watching container {container}):")
        app.reporter.output(to_api_json(params))
        log.info("DRY RUN OK")
        result.result = "dry-run"
        return result

    if local is not None:
        with app.reporter.phase("Register task definition"):
            progress.phase = "register"
            arn = str(ecs.register_task_definition(app, local)["taskDefinitionArn"])
            progress.phase = "prepare"
            result.task_definition_arn = params["taskDefinition"] = arn
            log.info(f"Task definition is registered {ecs.short_name(arn)}")
    with app.reporter.phase("Run task"):
        progress.phase = "run-task"
        tasks = _run_task(app, params)
        progress.phase = "wait"
    progress.task_arns = tuple(str(t["taskArn"]) for t in tasks)
    result.task_arn = progress.task_arns[0]
    log.info(f"Task is started: {result.task_arn} ({ecs.short_name(arn)}, watching container {container})")
    for other in progress.task_arns[1:]:
        log.info(f"Task is started: {other} (not watched)")
    if not opts.wait:
        log.info("Not waiting for the task (--no-wait)")
        result.result = "ok"
        return result
    from ecspresso.task_watch import TaskWatch, follow

    watch = TaskWatch(
        result.task_arn, opts.wait_until, cfg.timeout, log_target(td, container, task_id(result.task_arn))
    )
    with app.reporter.phase("Wait for the task"):
        seen = follow(app, watch, _printer(app, container))
    result.duration = app.timing.now() - t0
    if seen.interrupted:
        _interrupted(app, opts, result, progress.task_arns, seen.interrupted)
    if seen.timed_out:
        from ecspresso.config import format_duration

        result.result = "failed"
        result.message = (f"timed out after {format_duration(cfg.timeout)} waiting for task {task_id(result.task_arn)} "
                          f"to be {opts.wait_until} (last status {(seen.task or {}).get('lastStatus', 'unknown')}); "
                          "the task keeps running")  # fmt: skip
        raise failed(result)
    last = seen.task or {}
    if opts.wait_until == "running" and last.get("lastStatus") == "RUNNING":
        log.info(f"Task {task_id(result.task_arn)} is running")
        result.result = "ok"
        return result
    end = judge_stopped(last, container)
    return _finish(app, result, end)


def _existing(app: App, opts: RunOption, service: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The task definition ``--revision`` / ``--latest-task-definition`` / ``--skip-task-definition``
    choose, as deploy chooses (family: the service's, else the local definition's), and its ARN."""
    current = str((service or {}).get("taskDefinition") or "")
    family = ecs.family_of(current) if current else str(app.load_task_definition().get("family"))
    arn = ecs.existing_task_definition(app, family, current=current, revision=opts.revision,
                                       latest=opts.latest_task_definition, skip=True) or current  # fmt: skip
    td = ecs.describe_task_definition(app, arn, tags=False)
    return td, str(td.get("taskDefinitionArn") or arn)


def _finish(app: App, result: Result, end: TaskEnd) -> Result:
    result.container_exit_code = end.exit_code
    if end.ok:
        app.log.info(end.message)
        result.result = "ok"
        return result
    result.result = "failed"
    result.message = end.message
    raise failed(result)


def _run_task(app: App, params: dict[str, Any]) -> list[dict[str, Any]]:
    """RunTask; its tasks, the watched one first. A failure in the answer is an error."""
    out = ecs.call("RunTask", app.client("ecs").run_task, **params)
    failures = out.get("failures") or []
    if failures:
        f = failures[0]
        bits = [str(f.get(k)) for k in ("reason", "detail", "arn") if f.get(k)]
        raise EcspressoError("RunTask failed: " + " ".join(bits or ["no reason given"]))
    tasks = [dict(t) for t in out.get("tasks") or []]
    if not tasks:
        raise EcspressoError("RunTask started no task (no failure given)")
    return tasks


def _printer(app: App, container: str) -> Any:
    """Container lines to stdout as they are (JSON objects with ``--log-format json``), secrets
    registered by this run redacted; one write per batch."""
    from ecspresso.log import redact

    as_json = app.opts.log_format == "json"

    def emit(lines: list[LogLine]) -> None:
        if as_json:
            text = "\n".join(json.dumps({"container": container, "timestamp": ln.timestamp,
                                         "message": redact(ln.message)}, ensure_ascii=False) for ln in lines)  # fmt: skip
        else:
            text = "\n".join(redact(ln.message) for ln in lines)
        app.reporter.output(text + "\n")

    return emit


def _interrupted(app: App, opts: RunOption, result: Result, arns: tuple[str, ...], signal_name: str) -> None:
    """A signal while waiting: stop the task(s) with ``--stop-on-interrupt``, else say they keep running."""
    log = app.log
    ids = " ".join(task_id(a) for a in arns)
    what = f"task{'s' if len(arns) > 1 else ''} {ids}"
    if opts.stop_on_interrupt:
        reason = f"ecspresso run interrupted by {signal_name}"
        for arn in arns:
            ecs.call(f"StopTask {task_id(arn)}", app.client("ecs").stop_task, cluster=app.config.cluster,
                     task=arn, reason=reason)  # fmt: skip
        what += f" {'were' if len(arns) > 1 else 'was'} stopped (--stop-on-interrupt)"
    else:
        what += (f" {'keep' if len(arns) > 1 else 'keeps'} running (pass --stop-on-interrupt to stop "
                 f"{'them' if len(arns) > 1 else 'it'} on a signal; to stop it now: aws ecs stop-task "
                 f"--cluster {app.config.cluster} --task {ids if len(arns) == 1 else 'ID'})")  # fmt: skip
    log.warning(what)
    result.result = "failed"
    result.message = f"interrupted by {signal_name} while waiting for the task: {what}"
    raise failed(result, exit_code=130)


def _overrides(app: App, opts: RunOption) -> dict[str, Any] | None:
    """``--overrides`` JSON or ``--overrides-file`` (templates and Jsonnet rendered like definitions),
    keys lowerCamel, checked against RunTask's ``overrides`` shape."""
    from ecspresso.definitions import check_against_model, display_path
    from ecspresso.normalize import drop_nulls, normalize_keys

    if opts.overrides:
        source, text = "--overrides", opts.overrides
        doc = parse_overrides_json(text, source)
    elif opts.overrides_file:
        path = Path(opts.overrides_file)
        source, text = display_path(path), app.loader.render_text(path)
        try:
            doc = parse_overrides_json(text, source)
        except UsageError as exc:
            raise InputError(str(exc).removeprefix(f"{source}: "), source=source) from None
    else:
        return None
    doc = drop_nulls(normalize_keys(doc))
    try:
        checked = check_against_model({"taskDefinition": "-", "overrides": doc}, "RunTask", source, text)
    except InputError as exc:
        if opts.overrides:
            raise UsageError(f"--overrides: {exc.detail}") from None
        raise
    return dict(checked.get("overrides") or {})


COMMANDS = [
    Command(
        "run",
        "run a one-off task and wait for its container to exit",
        RunOption,
        run,
        examples=(
            'run --overrides \'{"containerOverrides": [{"name": "app", "command": ["rake", "db:migrate"]}]}\'',
            "run --overrides-file migrate.jsonnet --watch-container app",
            "run --skip-task-definition --count 3 --no-wait",
            "run --dry-run",
        ),
    )
]
