"""``tasks [list|find|stop|logs]``: the service's tasks and the standalone tasks of its family.

As ecspresso v2.8 does through fujiwara/ecsta:

* ``list`` (the default) prints the tasks of the service (``ListTasks serviceName``) and the other
  tasks of the service's task definition family (``ListTasks family``: standalone tasks, run-task,
  scheduled tasks), RUNNING and STOPPED (ECS keeps stopped tasks for about an hour: they say why a
  task died), each task once; tasks of *another* service that shares the family are left out. The
  family is the service's current task definition's, or the local task definition's when the
  config has no service (or the service does not exist). Running tasks first, then by creation time.
  Formats: ``table`` (ecsta's columns ID, TASK DEFINITION, INSTANCE, LAST STATUS, DESIRED STATUS,
  CREATED AT, GROUP, TYPE), ``tsv`` (a header line, then one line per task) and ``json`` (one
  pretty DescribeTasks object per task, concatenated). Default ``table``, ``json`` with
  ``--log-format json``.
* ``find`` prints one task (``--id``: a task ID or ARN), as JSON by default (``--output`` table/tsv
  print its row).
* ``stop`` stops one task (StopTask); it asks ``y/N`` on a terminal, refuses without ``--force``
  when stdin is not a terminal.
* ``logs`` prints a container's CloudWatch Logs lines (:mod:`ecspresso.commands.tasks_logs`).

Without ``--id``, find/stop/logs ask for the task on a terminal (a numbered list on stderr) and are
a usage error naming ``--id`` otherwise. ecspresso ≤2.7's ``tasks --find`` / ``--stop`` are accepted
(hidden, with a deprecation warning).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.commands.revisions import format_table
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.options import Command, option
from ecspresso.report import Result

SUBCOMMANDS = ("list", "find", "stop", "logs")
FORMATS = ("table", "json", "tsv")
#: ecsta's task columns (TSV header as ecsta prints it; the table upper-cases them with spaces)
COLUMNS = ("ID", "TaskDefinition", "Instance", "LastStatus", "DesiredStatus", "CreatedAt", "Group", "Type")
TABLE_HEADER = ("ID", "Task Definition", "Instance", "Last Status", "Desired Status", "Created At", "Group",
                "Type")  # fmt: skip
STOP_REASON = "Request stop task by user action (ecspresso tasks stop)."


@dataclass
class TasksOption:
    subcommand: str = option("list", "list (default), find, stop or logs", positional=True,
                             choices=SUBCOMMANDS, metavar="{list,find,stop,logs}")  # fmt: skip
    id: str = option("", "task ID or ARN (find, stop, logs; asked on a terminal when missing)")
    output: str | None = option(None, "list, find: output format (default: table for list, json for "
                                "find; json with --log-format json)", choices=FORMATS)  # fmt: skip
    force: bool = option(False, "stop: without confirmation (required when stdin is not a terminal)")
    follow: bool = option(False, "logs: keep printing new lines until the task stops or you interrupt",
                          aliases=("-f",))  # fmt: skip
    duration: str = option("1m", "logs: the time span of lines to print (Go duration): the last one "
                           "before now, or the one from --start-time", aliases=("-d",))  # fmt: skip
    start_time: str = option("", "logs: print lines from this time (RFC 3339, e.g. "
                             "2024-05-01T10:00:00Z; no zone: local time)", aliases=("-s",))  # fmt: skip
    container: str = option("", "logs: the container (default: the task's first essential container)")
    find: bool = option(False, "deprecated: 'tasks find'", hidden=True)
    stop: bool = option(False, "deprecated: 'tasks stop'", hidden=True)


#: the flags that only mean something to some subcommands (given elsewhere: a usage error)
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "id": ("find", "stop", "logs"),
    "output": ("list", "find"),
    "force": ("stop",),
    "follow": ("logs",),
    "duration": ("logs",),
    "start_time": ("logs",),
    "container": ("logs",),
}


def resolve_subcommand(opts: TasksOption) -> tuple[str, list[str]]:
    """The subcommand to run and the deprecation warnings; misplaced flags are usage errors."""
    sub, warnings = opts.subcommand or "list", []
    for name in ("find", "stop"):
        if getattr(opts, name):
            if sub not in ("list", name):
                raise UsageError(f"--{name} conflicts with 'tasks {sub}'")
            sub = name
            warnings.append(f"--{name} is deprecated: use 'ecspresso tasks {name}'")
    defaults = TasksOption()
    for field, subs in APPLIES_TO.items():
        if getattr(opts, field) != getattr(defaults, field) and sub not in subs:
            flag = "--" + field.replace("_", "-")
            raise UsageError(f"{flag} does not apply to 'tasks {sub}' (only to: {', '.join(subs)})")
    return sub, warnings


# -- pure: choosing and formatting ---------------------------------------------------------------


def name_of(arn: str) -> str:
    """The last part of an ARN (a task ID, ``family:revision``, a container instance ID)."""
    return arn.rsplit("/", 1)[-1]


def select_tasks(
    service_tasks: list[dict[str, Any]], family_tasks: list[dict[str, Any]], service: str | None
) -> list[dict[str, Any]]:
    """The service's tasks and the family's tasks that belong to no other service, each once;
    running ones first, then oldest first."""
    chosen: dict[str, dict[str, Any]] = {}
    for task in service_tasks:
        chosen.setdefault(str(task["taskArn"]), task)
    for task in family_tasks:
        group = str(task.get("group") or "")
        if service and group.startswith("service:") and group != f"service:{service}":
            continue
        chosen.setdefault(str(task["taskArn"]), task)
    return sorted(chosen.values(), key=_order)


def _order(task: dict[str, Any]) -> tuple[bool, str, str]:
    created = task.get("createdAt")
    when = created.isoformat() if isinstance(created, datetime) else str(created or "")
    return (task.get("lastStatus") == "STOPPED", when, str(task["taskArn"]))


def rfc3339(when: Any) -> str:
    """A timestamp in local time as Go's RFC 3339 prints it (``Z`` for UTC)."""
    if not isinstance(when, datetime):
        return str(when or "")
    text = when.astimezone().isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def task_row(task: dict[str, Any]) -> tuple[str, ...]:
    return (
        name_of(str(task.get("taskArn", ""))),
        name_of(str(task.get("taskDefinitionArn", ""))),
        name_of(str(task.get("containerInstanceArn") or "")),
        str(task.get("lastStatus") or ""),
        str(task.get("desiredStatus") or ""),
        rfc3339(task.get("createdAt")),
        str(task.get("group") or ""),
        str(task.get("launchType") or task.get("capacityProviderName") or ""),
    )


def format_tasks(tasks: list[dict[str, Any]], fmt: str, *, header: bool = True) -> str:
    if fmt == "json":
        from ecspresso.normalize import to_api_json

        return "".join(to_api_json(t) for t in tasks)
    rows = [task_row(t) for t in tasks]
    if fmt == "tsv":
        return "".join("\t".join(r) + "\n" for r in ([COLUMNS] if header else []) + rows)
    return format_table(rows, TABLE_HEADER)


# -- AWS: finding the tasks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose tasks: the service (when it exists) and the task definition family."""

    service: str | None
    family: str


def scope_of(app: App) -> Scope:
    cfg = app.config
    if cfg.service:
        sv = ecs.describe_service(app, include_tags=False)
        if sv is not None:
            return Scope(str(sv.get("serviceName") or cfg.service), ecs.family_of(str(sv["taskDefinition"])))
        family = str(app.load_task_definition()["family"])
        app.log.warning(f"service {cfg.service} is not in cluster {cfg.cluster}: tasks of family {family}")
        return Scope(None, family)
    return Scope(None, str(app.load_task_definition()["family"]))


def list_tasks(app: App, scope: Scope) -> list[dict[str, Any]]:
    by_service: list[str] = []
    by_family: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        if scope.service:
            by_service += ecs.list_service_task_arns(app, desired_status=status, service=scope.service)
        by_family += ecs.list_service_task_arns(app, desired_status=status, family=scope.family)
    described = {
        str(t["taskArn"]): t for t in ecs.describe_tasks(app, list(dict.fromkeys(by_service + by_family)))
    }
    pick = [described[a] for a in dict.fromkeys(by_service) if a in described]
    rest = [described[a] for a in dict.fromkeys(by_family) if a in described]
    return select_tasks(pick, rest, scope.service)


def describe_task(app: App, task_id: str) -> dict[str, Any]:
    """The task ``task_id`` (an ID or an ARN) of the cluster; one line, exit 1, when there is none."""
    tasks = ecs.describe_tasks(app, [task_id], tags=True) if task_id.strip() else []
    if len(tasks) != 1:
        raise EcspressoError(f"task {task_id} not found in cluster {app.config.cluster}")
    return tasks[0]


def interactive() -> bool:
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()


def target_task(app: App, opts: TasksOption, sub: str) -> dict[str, Any]:
    """The task ``--id`` names or, on a terminal, the one chosen from the list."""
    if opts.id:
        return describe_task(app, opts.id)
    if not interactive():
        raise UsageError(f"'tasks {sub}' needs --id (a task ID or ARN) when stdin is not a terminal")
    from ecspresso.commands.deregister import ask

    tasks = list_tasks(app, scope_of(app))
    if sub == "stop":
        tasks = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
    if not tasks:
        raise EcspressoError(f"no task to {sub} in cluster {app.config.cluster}")
    for n, row in enumerate(format_tasks(tasks, "tsv", header=False).splitlines(), 1):
        sys.stderr.write(f"{n:>3}  {row}\n")
    answer = ask("Task (number or ID):", flag="--id")
    for n, task in enumerate(tasks, 1):
        if answer in (str(n), name_of(str(task["taskArn"])), task["taskArn"]):
            return task
    raise EcspressoError(f"no task {answer!r} in the list")


# -- the command ----------------------------------------------------------------------------------


def tasks(app: App, opts: TasksOption) -> Result:
    sub, warnings = resolve_subcommand(opts)
    for text in warnings:
        app.log.warning(text)
    cfg = app.config
    result = Result(command="tasks", service=cfg.service, cluster=cfg.cluster)
    if sub == "list":
        fmt = opts.output or ("json" if app.opts.log_format == "json" else "table")
        text = format_tasks(list_tasks(app, scope_of(app)), fmt)
        if text:
            app.reporter.output(text)
        return result
    task = target_task(app, opts, sub)
    result.task_definition_arn = str(task.get("taskDefinitionArn", ""))
    if sub == "find":
        app.reporter.output(format_tasks([task], opts.output or "json"))
    elif sub == "stop":
        result.result = stop_task(app, task, force=opts.force)
    else:
        from ecspresso.commands.tasks_logs import print_logs

        print_logs(app, task, opts)
    return result


def stop_task(app: App, task: dict[str, Any], *, force: bool) -> str:
    from ecspresso.commands.deregister import confirm

    task_id = name_of(str(task["taskArn"]))
    if task.get("lastStatus") == "STOPPED":
        app.log.info(f"task {task_id} is already STOPPED")
        return "ok"
    what = f"task {task_id} ({name_of(str(task.get('taskDefinitionArn', '')))}, {task.get('lastStatus')})"
    confirm(app, f"Stop {what}?", force=force)
    ecs.call(f"StopTask {task_id}", app.client("ecs").stop_task, cluster=app.config.cluster,
             task=str(task["taskArn"]), reason=STOP_REASON)  # fmt: skip
    app.log.info(f"{what} is stopping")
    return "stopped"


COMMANDS = [
    Command(
        "tasks",
        "list, find, stop the tasks of the service and show their logs",
        TasksOption,
        tasks,
        examples=(
            "tasks",
            "tasks --output tsv",
            "tasks find --id 0123456789abcdef0123456789abcdef",
            "tasks stop --id 0123456789abcdef0123456789abcdef --force",
            "tasks logs --id 0123456789abcdef0123456789abcdef --duration 10m",
            "tasks logs --id 0123456789abcdef0123456789abcdef --container app --follow",
        ),
    )
]
