"""``tasks logs``: a task's container lines from CloudWatch Logs (part of :mod:`ecspresso.commands.tasks`).

* the container: ``--container``, or the task definition's first essential container; it must use
  the ``awslogs`` driver with a stream prefix (else one line naming why and the containers, exit 1:
  the lines asked for cannot be shown);
* the time span: ``--duration`` (Go duration, default ``1m``) before now, or from ``--start-time``;
  with ``--follow`` there is no end: the lines of the span, then new lines as they come, until the
  task is STOPPED (its last lines are read once more) or the command is interrupted (SIGINT or
  SIGTERM end the follow normally: exit 0);
* each line once, in order: ``<time (RFC 3339, local)>\\t<container>\\t<message>``, as ecsta prints
  them.

Time is the app's: ``app.timing.wall()`` for "now", ``app.timing.sleep`` between polls (its fast
poll interval), the task's status looked at again at most every slow poll interval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecspresso import awslogs
from ecspresso.config import parse_duration
from ecspresso.errors import EcspressoError, UsageError

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.commands.tasks import TasksOption


def log_window(
    now: float, duration: str, start_time: str = "", *, follow: bool = False
) -> tuple[int, int | None]:
    """(first, last) millisecond of the lines to print; last is None with ``follow``.

    ``start_time``: RFC 3339 / ISO 8601 (no zone: local time); the span is ``duration`` from it,
    else the ``duration`` before ``now`` (seconds since the epoch)."""
    try:
        span = parse_duration(duration, source="--duration")
    except EcspressoError:
        raise UsageError(
            f"invalid --duration {duration!r}: use a Go duration such as 1m, 90s or 1h30m"
        ) from None
    if span < 0:
        raise UsageError(f"invalid --duration {duration!r}: it cannot be negative")
    if start_time:
        try:
            start = datetime.fromisoformat(start_time.strip()).astimezone().timestamp()
        except ValueError:
            raise UsageError(
                f"invalid --start-time {start_time!r}: use RFC 3339, e.g. 2024-05-01T10:00:00Z"
            ) from None
        end = start + span
    else:
        start, end = now - span, now
    return int(start * 1000), (None if follow else int(end * 1000))


def format_line(line: awslogs.LogLine, container: str) -> str:
    when = datetime.fromtimestamp(line.timestamp / 1000, UTC).astimezone().isoformat(timespec="milliseconds")
    if when.endswith("+00:00"):
        when = when[:-6] + "Z"
    return f"{when}\t{container}\t{line.message}"


def print_logs(app: App, task: dict[str, Any], opts: TasksOption) -> None:
    from ecspresso import ecs
    from ecspresso.commands.tasks import describe_task, name_of

    first, last = log_window(app.timing.wall(), opts.duration, opts.start_time, follow=opts.follow)
    td = ecs.describe_task_definition(app, str(task["taskDefinitionArn"]), tags=False)
    container = opts.container or awslogs.essential_container(td) or ""
    task_id = name_of(str(task["taskArn"]))
    target = awslogs.log_target(td, container, task_id)
    if isinstance(target, awslogs.NoLogs):
        names = ", ".join(str(c.get("name")) for c in td.get("containerDefinitions") or [])
        raise EcspressoError(f"no logs to show: {target.reason} (containers: {names})")
    follower = awslogs.LogFollower(app.client("logs", region=target.region), target, start_time=first)

    def show() -> None:
        lines = [format_line(ln, container) for ln in follower.poll() if last is None or ln.timestamp <= last]
        if lines:
            app.reporter.output("\n".join(lines))

    show()
    if not opts.follow:
        return
    timing = app.timing
    stopped = task.get("lastStatus") == "STOPPED"
    checked = timing.now()
    try:
        while not stopped:
            timing.sleep(timing.poll_interval)
            if timing.now() - checked >= timing.max_poll_interval:
                stopped = describe_task(app, str(task["taskArn"])).get("lastStatus") == "STOPPED"
                checked = timing.now()
            show()  # after the task stopped: its last lines
    except KeyboardInterrupt as exc:
        app.log.info(
            f"stopped following the logs of task {task_id} ({getattr(exc, 'signal_name', 'SIGINT')})"
        )
        return
    app.log.info(f"task {task_id} is STOPPED")
