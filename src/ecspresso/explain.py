"""Why a deployment failed, in the containers' and the load balancer's own words.

The stopped tasks of a failed deployment are grouped (:func:`group_stopped_tasks`: same stop code,
reason and containers' exit codes => one group, "3 tasks: …"); for the first groups the last lines
of the container that explains the failure are read from its awslogs stream, and for a service
behind a load balancer the reasons its targets fail their health checks (DescribeTargetHealth).

Everything here is best effort: a missing permission, another log driver or a stream that does
not exist is one note line, never an exception that would hide the failure being explained.
Grouping and rendering are pure; :func:`explain` makes the calls (a few, capped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ecspresso.report import Explanation, StoppedTask, TaskGroup, UnhealthyTargets

if TYPE_CHECKING:
    from ecspresso.app import App

#: groups whose container lines are read (each: one DescribeTaskDefinition, cached, and one GetLogEvents)
MAX_LOG_GROUPS = 3
#: lines read per group
LOG_LINES = 20
#: longer lines are cut (an awslogs event may hold 256 KB)
MAX_LINE = 1000
#: target groups asked (one DescribeTargetHealth each)
MAX_TARGET_GROUPS = 3
#: target states that mean "failing" (``initial`` and ``draining`` are not a verdict)
FAILING_STATES = ("unhealthy", "unavailable")
#: stop codes of tasks whose containers never ran: there are no lines to read
NEVER_RAN = ("TaskFailedToStart",)


# -- pure ----------------------------------------------------------------------------------------
def group_key(task: StoppedTask) -> tuple[Any, ...]:
    """What makes two stopped tasks "the same failure"."""
    containers = tuple(
        sorted(
            (str(c.get("name", "")), c.get("exitCode"), str(c.get("reason") or "")) for c in task.containers
        )
    )
    return (task.stop_code, " ".join(task.stopped_reason.split()), containers, task.task_definition)


def group_stopped_tasks(tasks: Sequence[StoppedTask]) -> list[TaskGroup]:
    """Stopped tasks (newest first) grouped by :func:`group_key`: most tasks first, then the
    group seen first; each group's representative is its newest task."""
    groups: dict[tuple[Any, ...], TaskGroup] = {}
    for task in tasks:
        key = group_key(task)
        if key in groups:
            groups[key].task_ids.append(task.task_id)
        else:
            groups[key] = TaskGroup(task=task, task_ids=[task.task_id])
    order = list(groups.values())
    return sorted(order, key=lambda g: -g.count)  # stable: ties keep first-seen order


def explaining_container(task: StoppedTask, task_definition: dict[str, Any]) -> str | None:
    """The container whose lines explain the failure: one that exited non-zero, else one with a
    reason, else the essential one."""
    from ecspresso.awslogs import essential_container

    for c in task.containers:
        if c.get("exitCode") not in (None, 0) and c.get("name"):
            return str(c["name"])
    for c in task.containers:
        if c.get("reason") and c.get("name"):
            return str(c["name"])
    return essential_container(task_definition)


def group_target_health(target_group: str, descriptions: Iterable[dict[str, Any]]) -> list[UnhealthyTargets]:
    """The failing targets of one DescribeTargetHealth answer, grouped by (state, reason,
    description), most targets first."""
    out: dict[tuple[str, str, str], UnhealthyTargets] = {}
    for d in descriptions:
        health = d.get("TargetHealth") or {}
        state = str(health.get("State") or "")
        if state not in FAILING_STATES:
            continue
        key = (state, str(health.get("Reason") or "unknown reason"), str(health.get("Description") or ""))
        target = d.get("Target") or {}
        where = str(target.get("Id", "?")) + (f":{target['Port']}" if target.get("Port") else "")
        out.setdefault(key, UnhealthyTargets(target_group, key[1], key[2], state)).targets.append(where)
    return sorted(out.values(), key=lambda u: -len(u.targets))


def render(why: Explanation) -> list[str]:
    """The explanation as log lines (indented under the failure's first line)."""
    lines: list[str] = []
    for group in why.groups:
        tasks = ", ".join(t[:8] for t in group.task_ids[:5]) + (", …" if group.count > 5 else "")
        lines.append(f"  {group.headline()} [{group.task.task_definition or '?'}; task {tasks}]")
        if group.log_lines:
            lines.append(
                f"    last {len(group.log_lines)} line(s) of container {group.container} (task {group.task.task_id[:8]}):"
            )
            lines += [f"    | {line}" for line in group.log_lines]
        if group.note:
            lines.append(f"    {group.note}")
    lines += [f"  {t.line()}" for t in why.targets]
    lines += [f"  {note}" for note in why.notes]
    return lines


def short_explanation(why: Explanation, lines: int = 3) -> list[str]:
    """A few lines for an annotation: the first group's container's last ``lines`` lines."""
    group, last = why.last_lines(lines)
    if group is None:
        return []
    return [f"last lines of container {group.container} (task {group.task.task_id[:8]}):", *last]


def why_not(exc: BaseException, action: str) -> str:
    """``AccessDeniedException on logs:GetLogEvents`` (the code and the permission it needed)."""
    from ecspresso.aws import error_code
    from ecspresso.errors import AwsError

    code = exc.code if isinstance(exc, AwsError) else error_code(exc)
    if code:
        return f"{code} on {action}"
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


# -- the calls -----------------------------------------------------------------------------------
def explain(app: App, tasks: Sequence[StoppedTask], service: dict[str, Any] | None) -> Explanation:
    """Group ``tasks``, read the explaining container's last lines for the first groups and the
    target health of the service's target groups. Never raises (but for a signal)."""
    why = Explanation(groups=group_stopped_tasks(tasks))
    definitions: dict[str, dict[str, Any] | str] = {}
    for group in why.groups[:MAX_LOG_GROUPS]:
        if group.task.stop_code in NEVER_RAN:
            continue
        try:
            _read_lines(app, group, definitions)
        except Exception as exc:  # a bug here must not hide the failure being explained
            group.note = f"could not read logs: {why_not(exc, 'logs:GetLogEvents')}"
    if service:
        try:
            why.targets, notes = unhealthy_targets(app, service)
        except Exception as exc:
            notes = [
                f"could not read target health: {why_not(exc, 'elasticloadbalancing:DescribeTargetHealth')}"
            ]
        why.notes += notes
    return why


def _task_definition(app: App, name: str, cache: dict[str, dict[str, Any] | str]) -> dict[str, Any] | str:
    """The task definition (cached per explanation), or the note saying why it cannot be read."""
    if name not in cache:
        from ecspresso import ecs

        try:
            cache[name] = ecs.describe_task_definition(app, name, tags=False)
        except Exception as exc:
            cache[name] = (
                f"could not read task definition {name}: {why_not(exc, 'ecs:DescribeTaskDefinition')}"
            )
    return cache[name]


def _read_lines(app: App, group: TaskGroup, definitions: dict[str, dict[str, Any] | str]) -> None:
    task = group.task
    td = _task_definition(app, task.task_definition, definitions)
    if isinstance(td, str):
        group.note = td
        return
    container = explaining_container(task, td)
    if container is None:
        group.note = "no log lines: the task definition has no containers"
        return
    group.container = container
    lines, note = container_lines(app, td, container, task.task_id)
    group.log_lines, group.note = lines, note


def container_lines(
    app: App, task_definition: dict[str, Any], container: str, task_id: str, limit: int = LOG_LINES
) -> tuple[list[str], str]:
    """The last ``limit`` lines ``container`` of task ``task_id`` wrote through awslogs, or ``[]``
    and a one-line note saying why there are none. Never raises (but for a signal)."""
    from ecspresso import awslogs

    target = awslogs.log_target(task_definition, container, task_id)
    if isinstance(target, awslogs.NoLogs):
        return [], f"no log lines: {target.reason}"
    try:
        lines = awslogs.tail(app.client("logs", region=target.region), target, limit)
    except Exception as exc:
        return [], f"could not read logs of container {container}: {why_not(exc, 'logs:GetLogEvents')}"
    if not lines:
        return [], f"no log lines: container {container} wrote none to {target.group} {target.stream}"
    return [_cut(line.message) for line in lines], ""


def _cut(line: str, limit: int = MAX_LINE) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def unhealthy_targets(app: App, service: dict[str, Any]) -> tuple[list[UnhealthyTargets], list[str]]:
    """DescribeTargetHealth on the service's target groups (at most :data:`MAX_TARGET_GROUPS`):
    the failing targets grouped by reason, and notes for what could not be read."""
    # a CODE_DEPLOY service's replacement task set may be on the other target group
    balancers = [*(service.get("loadBalancers") or []),
                 *(lb for ts in service.get("taskSets") or [] for lb in ts.get("loadBalancers") or [])]  # fmt: skip
    arns = list(dict.fromkeys(str(lb["targetGroupArn"]) for lb in balancers if lb.get("targetGroupArn")))
    if not arns:
        return [], []
    client = app.client("elbv2")
    found: list[UnhealthyTargets] = []
    notes: list[str] = []
    for arn in arns[:MAX_TARGET_GROUPS]:
        name = target_group_name(arn)
        try:
            answer = client.describe_target_health(TargetGroupArn=arn)
        except Exception as exc:
            notes.append(
                f"could not read the health of target group {name}: "
                + why_not(exc, "elasticloadbalancing:DescribeTargetHealth")
            )
            continue
        found += group_target_health(name, answer.get("TargetHealthDescriptions") or [])
    return found, notes


def target_group_name(arn: str) -> str:
    """``web-tg`` of ``arn:aws:elasticloadbalancing:…:targetgroup/web-tg/0123…``."""
    return arn.split(":targetgroup/", 1)[1].split("/")[0] if ":targetgroup/" in arn else arn
