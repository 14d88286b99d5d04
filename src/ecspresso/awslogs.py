"""A container's CloudWatch Logs (the ``awslogs`` driver): where its lines are, reading them once each.

Used by ``run`` (follow the watched container while the task runs), ``tasks logs`` and the failure
explanation of a deploy (the last lines of a crashed container).

* :func:`log_target` is pure: from a task definition, a container name and a task id, the log
  group, stream and Region the awslogs driver writes to — ``<awslogs-stream-prefix>/<container>/<task id>``
  — or ``None`` with the reason (:class:`NoLogs`) when it cannot be known (another driver, no
  stream prefix);
* :class:`LogFollower` reads a stream forward with ``GetLogEvents`` tokens, so a line is returned
  once even when polled across pages and while the task still writes; a stream that does not exist
  yet is "no lines yet";
* :func:`tail` reads the last N lines of a stream (one call).

The logs client may be in another Region (``awslogs-region``): callers pass
``app.client("logs", region=target.region)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: at most this many pages per :meth:`LogFollower.poll` (10,000 events or 1 MB each)
MAX_PAGES = 20


@dataclass(frozen=True)
class LogTarget:
    """One container's awslogs stream."""

    container: str
    group: str
    stream: str
    region: str | None  # awslogs-region; None: the tool's Region


@dataclass(frozen=True)
class NoLogs:
    """Why a container's lines cannot be read (one line, shown as a note)."""

    container: str
    reason: str


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # milliseconds since the epoch
    message: str


def container_definition(task_definition: dict[str, Any], name: str) -> dict[str, Any] | None:
    for cd in task_definition.get("containerDefinitions") or []:
        if cd.get("name") == name:
            return dict(cd)
    return None


def essential_container(task_definition: dict[str, Any]) -> str | None:
    """The first essential container's name (containers are essential unless they say otherwise)."""
    containers = task_definition.get("containerDefinitions") or []
    for cd in containers:
        if cd.get("essential", True):
            return str(cd.get("name"))
    return str(containers[0].get("name")) if containers else None


def log_target(task_definition: dict[str, Any], container: str, task_id: str) -> LogTarget | NoLogs:
    """Where the awslogs driver writes ``container``'s lines for task ``task_id`` (the last part of the
    task ARN)."""
    cd = container_definition(task_definition, container)
    if cd is None:
        return NoLogs(container, f"no container named {container!r} in the task definition")
    conf = cd.get("logConfiguration") or {}
    driver = conf.get("logDriver")
    if driver != "awslogs":
        how = f"the {driver} log driver" if driver else "no log driver"
        return NoLogs(container, f"container {container} uses {how}, not awslogs")
    options = conf.get("options") or {}
    group = options.get("awslogs-group")
    prefix = options.get("awslogs-stream-prefix")
    if not group:
        return NoLogs(container, f"container {container}'s awslogs options have no awslogs-group")
    if not prefix:
        return NoLogs(
            container,
            f"container {container}'s awslogs options have no awslogs-stream-prefix (the stream is "
            "named after the container instance, not the task)",
        )
    return LogTarget(
        container=container,
        group=str(group),
        stream=f"{prefix}/{container}/{task_id}",
        region=options.get("awslogs-region") or None,
    )


def _events(page: dict[str, Any]) -> Iterator[LogLine]:
    for ev in page.get("events") or []:
        yield LogLine(int(ev.get("timestamp") or 0), str(ev.get("message", "")).rstrip("\n"))


def _missing(exc: BaseException) -> bool:
    from ecspresso.aws import error_code

    return error_code(exc) == "ResourceNotFoundException"


class LogFollower:
    """Reads one stream forward; each :meth:`poll` returns the lines written since the last one."""

    def __init__(self, client: Any, target: LogTarget, *, start_time: int | None = None) -> None:
        self.client = client
        self.target = target
        self.start_time = start_time
        self._token: str | None = None
        #: whether the stream has been seen (a read that did not say ResourceNotFoundException)
        self.found = False

    def poll(self) -> list[LogLine]:
        """New lines, in order; ``[]`` when there are none (or the stream does not exist yet).

        AWS answers the same ``nextForwardToken`` when there is nothing more: that ends the read.
        Errors other than a missing stream are raised (callers decide whether that is a note)."""
        out: list[LogLine] = []
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {
                "logGroupName": self.target.group,
                "logStreamName": self.target.stream,
                "startFromHead": True,
            }
            if self._token:
                kwargs["nextToken"] = self._token
            if self.start_time is not None:
                # with every call, not only the first: AWS's tokens hold a time and ignore it, but
                # moto's are an index into the events the same filter selects
                kwargs["startTime"] = self.start_time
            try:
                page = self.client.get_log_events(**kwargs)
            except Exception as exc:
                if _missing(exc):
                    return out
                raise
            self.found = True
            out.extend(_events(page))
            token = page.get("nextForwardToken")
            if not token or token == self._token:
                break
            self._token = token
        return out


def tail(client: Any, target: LogTarget, limit: int = 20) -> list[LogLine]:
    """The last ``limit`` lines of the stream, oldest first; ``[]`` when it does not exist."""
    try:
        page = client.get_log_events(
            logGroupName=target.group, logStreamName=target.stream, startFromHead=False, limit=limit
        )
    except Exception as exc:
        if _missing(exc):
            return []
        raise
    return list(_events(page))[-limit:]
