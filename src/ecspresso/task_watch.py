"""Following a one-off task until it runs or stops, streaming its container's log lines.

Each poll is one DescribeTasks, then one read of the watched container's awslogs stream
(:class:`ecspresso.awslogs.LogFollower`: each line once, in order, across pages and polls). Lines
go to ``emit`` as they arrive; after the task stopped the stream is read once more (lines written
at the end). Intervals follow :func:`ecspresso.polling.next_interval`: fast at first and while
something changes (a status, new lines), slower while nothing does. A signal ends the wait and is
reported in the result (the caller decides whether to stop the task); errors reading the logs are
notes, never the end of the wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.awslogs import LogFollower, LogLine, LogTarget, NoLogs
from ecspresso.errors import AwsError
from ecspresso.oneoff import describe_status, task_id
from ecspresso.polling import backoff, next_interval

if TYPE_CHECKING:
    from ecspresso.app import App

#: DescribeTasks answers without the task (eventual consistency right after RunTask) before giving up
MISSING_LIMIT = 5


@dataclass(frozen=True)
class TaskWatch:
    task_arn: str
    until: str  # "running" or "stopped"
    timeout: float  # seconds; 0: none
    logs: LogTarget | NoLogs | None  # the watched container's stream (None: not followed)


@dataclass
class Watched:
    """What the wait saw: the last DescribeTasks answer and how it ended."""

    task: dict[str, Any] | None = None
    reached: bool = False
    timed_out: bool = False
    interrupted: str = ""  # the signal's name
    lines: int = 0
    polls: int = 0


def _reached(task: dict[str, Any] | None, until: str) -> bool:
    status = (task or {}).get("lastStatus")
    return status == "STOPPED" or (until == "running" and status == "RUNNING")


class _Logs:
    """The follower plus what to say when reading fails (once per kind of failure)."""

    def __init__(self, app: App, target: LogTarget | NoLogs | None, emit: Callable[[list[LogLine]], None]):
        self.app, self.emit = app, emit
        self.target = target if isinstance(target, LogTarget) else None
        self.follower: LogFollower | None = None
        if self.target is not None:
            self.follower = LogFollower(app.client("logs", region=self.target.region), self.target)
        self.warned: set[str] = set()
        self.count = 0

    def read(self) -> bool:
        """Emit the new lines; whether there were any."""
        if self.follower is None or self.target is None:
            return False
        from ecspresso.aws import translate

        try:
            lines = self.follower.poll()
        except Exception as exc:
            err = translate(exc, f"GetLogEvents {self.target.group} {self.target.stream}")
            if err is None:
                raise
            if err.transient:
                self._warn(err.code, f"{err}; reading the log lines again at the next poll")
            else:  # AccessDenied and the like: the task matters more than its lines
                self._warn(err.code, f"{err}; waiting for the task without its log lines")
                self.follower = None
            return False
        if lines:
            self.count += len(lines)
            self.emit(lines)
        return bool(lines)

    def _warn(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.app.log.warning(message)


def follow(app: App, watch: TaskWatch, emit: Callable[[list[LogLine]], None]) -> Watched:
    """Poll until the task reaches ``watch.until``, the time-out passes or a signal arrives."""
    log = app.log
    timing = app.timing
    start = timing.now()
    tid = task_id(watch.task_arn)
    logs = _Logs(app, watch.logs, emit)
    out = Watched()
    interval = timing.poll_interval
    quiet, missing, last_status = 0, 0, ""
    try:
        while True:
            changed = False
            polled_at = timing.now()  # intervals run from poll start to poll start
            try:
                tasks = ecs.describe_tasks(app, [watch.task_arn])
            except AwsError as exc:
                if not exc.transient:
                    raise
                log.warning(f"{exc}; still waiting (backing off)")
                interval = backoff(interval, fast=timing.poll_interval, slow=timing.max_poll_interval)
            else:
                out.polls += 1
                if not tasks:
                    missing += 1
                    if missing >= MISSING_LIMIT:
                        raise AwsError(f"DescribeTasks: task {tid} not found in cluster {app.config.cluster}")
                else:
                    out.task = tasks[0]
                    status = describe_status(out.task)
                    if status != last_status:
                        log.info(f"task {tid}: {status}")
                        last_status, changed = status, True
            changed = logs.read() or changed
            if _reached(out.task, watch.until):
                out.reached = True
                if (out.task or {}).get("lastStatus") == "STOPPED":
                    if (out.task or {}).get("stopCode") != "TaskFailedToStart":
                        timing.sleep(timing.poll_interval)  # lines delivered as the container ended
                    logs.read()
                break
            quiet = 0 if changed else quiet + 1
            elapsed = timing.now() - start
            stopping = (out.task or {}).get("desiredStatus") == "STOPPED"
            interval = next_interval(elapsed=elapsed, quiet_polls=quiet, previous=interval, about_to_change=stopping,
                                     fast=timing.poll_interval, slow=timing.max_poll_interval)  # fmt: skip
            if watch.timeout and elapsed >= watch.timeout:
                out.timed_out = True
                break
            if watch.timeout:
                interval = max(0.0, min(interval, watch.timeout - elapsed))
            timing.sleep_after(polled_at, interval)
    except KeyboardInterrupt as exc:  # Interrupted (SIGINT/SIGTERM) included
        out.interrupted = getattr(exc, "signal_name", "SIGINT")
    out.lines = logs.count
    if isinstance(watch.logs, NoLogs):
        log.info(f"log lines not followed: {watch.logs.reason}")
    elif (logs.target is not None and logs.follower is not None and not logs.follower.found and out.reached
          and (out.task or {}).get("stopCode") != "TaskFailedToStart"):  # fmt: skip
        log.info(f"no log lines: stream {logs.target.stream} of log group {logs.target.group} was not found")
    return out
