"""Where progress and results go. The CLI uses :class:`Reporter`; the Action subclasses it.

The engine announces phases (render, register, update service, wait, rollback), prints results
(rendered definitions, diffs, tables) through :meth:`Reporter.output`, and registers secret values
it resolved with :meth:`Reporter.secret` so no front end ever prints them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from ecspresso import log
from ecspresso.errors import DeployFailed


@dataclass
class StoppedTask:
    """A task of the new deployment that stopped: the "why" of a failed deploy."""

    task_id: str
    stop_code: str = ""
    stopped_reason: str = ""
    containers: list[dict[str, Any]] = field(default_factory=list)  # name, reason, exitCode
    task_definition: str = ""

    def cause(self) -> str:
        """Why it stopped, most specific first: the containers' reasons and exit codes, then the
        task's reason (``container app: exit code 1; Essential container in task exited``)."""
        parts = []
        for c in self.containers:
            bits = []
            if c.get("reason") and c["reason"] != self.stopped_reason:
                bits.append(str(c["reason"]))
            if c.get("exitCode") is not None:
                bits.append(f"exit code {c['exitCode']}")
            if bits:
                parts.append(f"container {c.get('name', '?')}: " + ", ".join(bits))
        if self.stopped_reason:
            parts.append(self.stopped_reason)
        return "; ".join(parts) or "stopped"

    def summary(self) -> str:
        """The cause, then the stop code once: ``CannotPullContainerError: … (TaskFailedToStart)``."""
        return self.cause() + (f" ({self.stop_code})" if self.stop_code else "")


@dataclass
class TaskGroup:
    """Stopped tasks that failed the same way (stop code, reason, containers' exit codes and
    reasons), with the last lines of the container that explains it in one of them."""

    task: StoppedTask  # the representative: the newest of the group
    task_ids: list[str] = field(default_factory=list)  # every task of the group, newest first
    container: str = ""  # whose lines ``log_lines`` are
    log_lines: list[str] = field(default_factory=list)  # oldest first
    note: str = ""  # why there are no lines, when that is worth saying (one line)

    @property
    def count(self) -> int:
        return len(self.task_ids)

    def headline(self) -> str:
        """``3 tasks: CannotPullContainerError: … not found (TaskFailedToStart)``."""
        return f"{self.count} task{'s' if self.count != 1 else ''}: {self.task.summary()}"


@dataclass
class UnhealthyTargets:
    """Targets of one target group that fail their health checks for the same reason."""

    target_group: str  # its name
    reason: str  # Target.FailedHealthChecks, Target.ResponseCodeMismatch…
    description: str = ""
    state: str = "unhealthy"
    targets: list[str] = field(default_factory=list)  # "10.0.1.5:80"

    def line(self) -> str:
        n = len(self.targets)
        text = (
            f"target group {self.target_group}: {n} {self.state} target{'s' if n != 1 else ''}: {self.reason}"
        )
        return text + (f" ({self.description})" if self.description else "")


@dataclass
class Explanation:
    """Why a deployment failed, in the containers' and the load balancer's own words."""

    groups: list[TaskGroup] = field(default_factory=list)  # most tasks first
    targets: list[UnhealthyTargets] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read (one line each)

    def __bool__(self) -> bool:
        return bool(self.groups or self.targets or self.notes)

    def last_lines(self, n: int) -> tuple[TaskGroup | None, list[str]]:
        """The first group with log lines and its last ``n`` lines (for a short annotation)."""
        for group in self.groups:
            if group.log_lines:
                return group, group.log_lines[-n:]
        return None, []


@dataclass
class Result:
    """What a command did; the Action turns it into step outputs and a job summary."""

    command: str
    result: str = (
        "ok"  # deployed, registered, deregistered, rolled-back, superseded, failed, dry-run, no-change, ok
    )
    service: str = ""
    cluster: str = ""
    task_definition_arn: str = ""
    previous_task_definition_arn: str = ""
    deployment_id: str = ""
    rolled_back: bool = False
    rolled_back_by: str = ""  # "ecs" (circuit breaker) or "ecspresso" (--rollback-on-failure)
    rollback_target_arn: str = ""
    #: the task definition the service's PRIMARY deployment runs when the command ended (what is
    #: true now, whatever was attempted)
    current_task_definition_arn: str = ""
    service_deployment_arn: str = ""  # the ECS service deployment this command started and followed
    console_url: str = ""  # where to watch the deployment (CodeDeploy)
    controller: str = ""  # the service's deployment controller (ECS, CODE_DEPLOY), as the strategy says
    lifecycle_stages: list[str] = field(default_factory=list)  # stages it passed (BLUE_GREEN, LINEAR, CANARY)
    lifecycle_events: list[str] = field(
        default_factory=list
    )  # CodeDeploy events with status ("Install Succeeded")
    message: str = ""
    stopped_tasks: list[StoppedTask] = field(default_factory=list)
    #: why it failed: stopped tasks grouped, their containers' last lines, unhealthy targets
    explanation: Explanation = field(default_factory=Explanation)
    events: list[str] = field(default_factory=list)  # the last service events, oldest first
    diff: str = ""
    #: whether the command changed (dry run: would change) what the service runs; None: not said
    changed: bool | None = None
    plan: list[str] = field(default_factory=list)  # deploy --dry-run: what a deploy would do
    images: list[str] = field(default_factory=list)  # ``container: image`` of the revision registered
    removed: list[str] = field(default_factory=list)  # revisions deregistered (dry run: would be)
    kept: list[str] = field(default_factory=list)  # ``app:3: in use by …``: revisions left, and why
    report: str = ""  # a command's own report for the job summary (verify: its tree of checks)
    task_arn: str = ""  # run: the task started (the first, watched, one)
    container_exit_code: int | None = None  # run: the watched container's exit code, when it has one
    duration: float = 0.0
    exit_code: int = 0

    @property
    def family(self) -> str:
        return self.task_definition_arn.rsplit("/", 1)[-1].split(":")[0] if self.task_definition_arn else ""

    @property
    def revision(self) -> str:
        tail = self.task_definition_arn.rsplit("/", 1)[-1]
        return tail.split(":")[1] if ":" in tail else ""


def container_images(task_definition: dict[str, Any]) -> list[str]:
    """``name: image`` of each container of a task definition, in its order."""
    return [
        f"{c.get('name', '?')}: {c.get('image', '?')}"
        for c in task_definition.get("containerDefinitions") or []
    ]


def ecs_console_url(region: str, cluster: str, service: str) -> str:
    """The ECS console page of a service's deployments."""
    if not region:
        return ""
    return (
        f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments"
        f"?region={region}"
    )


def failed(result: Result, exit_code: int = 1) -> DeployFailed:
    """The error to raise when a deploy/rollback/wait did not come up; it carries ``result``
    (with ``exit_code`` set) so the front ends can still write outputs and a summary."""
    err = DeployFailed(result.message or f"{result.command} failed")
    err.exit_code = result.exit_code = exit_code
    err.result = result
    return err


class Reporter:
    """Plain CLI reporting: phases are log lines at debug level, results go to stdout."""

    #: whether this front end shows a deploy's task definition diff (the Action's job summary does;
    #: the CLI does not, so a CLI deploy skips the DescribeTaskDefinition the diff costs)
    shows_diff = False

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        log.get_logger().debug(f"--- {title}")
        yield

    def output(self, text: str) -> None:
        """A result for the user (render, diff, revisions, status) on stdout."""
        out = self.stdout or sys.stdout
        out.write(text if text.endswith("\n") or not text else text + "\n")
        out.flush()

    def secret(self, value: str) -> None:
        log.add_mask(value)

    def failure(self, error: Exception, result: Result | None = None) -> bool:
        """Called once when the command fails, before the front end prints the error line; True
        when the reporter showed that line itself (the Action's error annotation)."""
        return False
