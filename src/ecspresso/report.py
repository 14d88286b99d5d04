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

    def summary(self) -> str:
        parts = [p for p in (self.stop_code, self.stopped_reason) if p]
        for c in self.containers:
            bits = []
            if c.get("exitCode") is not None:
                bits.append(f"exit code {c['exitCode']}")
            if c.get("reason") and c["reason"] != self.stopped_reason:
                bits.append(str(c["reason"]))
            if bits:
                parts.append(f"container {c.get('name', '?')}: " + ", ".join(bits))
        return "; ".join(parts) or "stopped"


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
    events: list[str] = field(default_factory=list)  # the last service events, oldest first
    diff: str = ""
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


def failed(result: Result, exit_code: int = 1) -> DeployFailed:
    """The error to raise when a deploy/rollback/wait did not come up; it carries ``result``
    (with ``exit_code`` set) so the front ends can still write outputs and a summary."""
    err = DeployFailed(result.message or f"{result.command} failed")
    err.exit_code = result.exit_code = exit_code
    err.result = result
    return err


class Reporter:
    """Plain CLI reporting: phases are log lines at debug level, results go to stdout."""

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

    def failure(self, error: Exception, result: Result | None = None) -> None:
        """Called once when the command fails, before the front end prints the error line."""
