"""One-off tasks (``RunTask``) in the sandbox: they start, run, write log lines and stop.

moto's own RunTask tasks advance by themselves on every DescribeTasks (RUNNING -> DEACTIVATING ->
… -> STOPPED) with no exit code, model only the first container, and fail for EC2 tasks without a
container instance or Fargate containers without ``memory`` (see reference/moto.md). Here RunTask
creates :class:`OneOffTask` objects instead, driven by a :class:`RunScenario` set per task
definition family (``Sandbox.run_task_scenario``):

* a task is PENDING when RunTask answers; every ``polls`` DescribeTasks that include it are one step;
* step 1: RUNNING (or, with ``start_failure``, STOPPED with stopCode ``TaskFailedToStart`` and that
  reason, no exit code); it stays RUNNING for ``steps`` steps, then STOPPED with stopCode
  ``EssentialContainerExited``, the scenario's container exiting with ``exit_code`` (and its
  ``reason``), the other containers with 0;
* the scenario's ``lines`` are written to CloudWatch Logs where the awslogs driver would put them
  (``<group>`` / ``<prefix>/<container>/<task id>``), a share at each step from RUNNING to STOPPED,
  so a reader polling between steps sees them arrive over several reads;
* ``late_lines``: the last N lines reach CloudWatch Logs late, as the awslogs driver's last batch
  may: at the second GetLogEvents of the stream after the task stopped, not before;
* StopTask stops it (stopCode ``UserInitiated``, running containers exit 143).

Without a scenario a one-off task runs for one step and exits 0. RunTask also checks what ECS
checks and moto does not: ``count`` 1..10, ``propagateTags=SERVICE`` refused, a launch type and a
capacity provider strategy together refused, awsvpc needing a network configuration;
``clientToken`` returns the tasks of the first call with that token.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ecspresso.sandbox.model import SimTask, utcnow

#: where scenarios wait for the next RunTask of their family (cleared by Sandbox.reset)
_PENDING: dict[str, RunScenario] = {}
_TOKENS_ATTR = "_sandbox_run_task_tokens"
#: lines delivered late: (region, group, stream) -> [GetLogEvents calls before they show, target, lines, start_ms]
_LATE: dict[tuple[str, str, str], list[Any]] = {}


@dataclass(frozen=True)
class RunScenario:
    """How the tasks of the next RunTask of one task definition family behave."""

    exit_code: int = 0
    reason: str | None = None  # the exiting container's reason (e.g. an OutOfMemoryError)
    start_failure: str | None = None  # stoppedReason of a task that cannot start
    lines: tuple[str, ...] = ()
    container: str | None = None  # which container exits and writes the lines (default: the first)
    polls: int = 1  # DescribeTasks per step
    steps: int = 2  # steps the task stays RUNNING
    late_lines: int = 0  # the last N lines show up only at the 2nd log read after the task stopped

    def __post_init__(self) -> None:
        if self.polls < 1:
            raise ValueError("polls must be >= 1")
        if self.steps < 1:
            raise ValueError("steps must be >= 1")


def set_scenario(family: str, scenario: RunScenario) -> None:
    from ecspresso.sandbox.simulator import SIMULATOR

    with SIMULATOR.lock:
        _PENDING[family] = scenario


def clear() -> None:
    from ecspresso.sandbox.simulator import SIMULATOR

    with SIMULATOR.lock:
        _PENDING.clear()
        _LATE.clear()


def before_log_read(region: str, group: str, stream: str) -> None:
    """Called for each GetLogEvents: late lines of that stream are written when their time comes."""
    from ecspresso.sandbox.container_logs import write
    from ecspresso.sandbox.simulator import SIMULATOR

    with SIMULATOR.lock:
        entry = _LATE.get((region, group, stream))
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            del _LATE[(region, group, stream)]
            write(entry[1], entry[2], region=region, start_ms=entry[3])


def _invalid(message: str) -> Exception:
    from moto.ecs.exceptions import InvalidParameterException

    return InvalidParameterException(message)


class OneOffTask(SimTask):
    """A task started by RunTask; :meth:`advance` (called by moto's DescribeTasks) is its clock."""

    def __init__(self, cluster: Any, task_def: Any, params: dict[str, Any], scenario: RunScenario) -> None:
        strategy = params.get("capacityProviderStrategy") or []
        like_service = SimpleNamespace(
            cluster_name=cluster.name, cluster_arn=cluster.arn, name=task_def.family,
            launch_type=params.get("launchType") or (None if strategy else "EC2"),
            capacity_provider_strategy=strategy, platform_version=params.get("platformVersion"),
            enable_execute_command=bool(params.get("enableExecuteCommand")), tags=[], propagate_tags=None,
        )  # fmt: skip
        super().__init__(like_service, task_def, params.get("startedBy") or "")
        self.group = params.get("group") or f"family:{task_def.family}"
        self.tags = list(params.get("tags") or [])
        if params.get("propagateTags") == "TASK_DEFINITION":
            keys = {t.get("key") for t in self.tags}  # the call's own tags win over the definition's
            self.tags += [t for t in task_def.tags or [] if t.get("key") not in keys]
        overrides = dict(params.get("overrides") or {})
        overrides.setdefault("containerOverrides", [])
        overrides.setdefault("inferenceAcceleratorOverrides", [])
        self.overrides = overrides
        subnets = ((params.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}).get("subnets")
        if subnets:
            self.attachments = [{"id": str(uuid.uuid4()), "type": "ElasticNetworkInterface",
                                 "status": "ATTACHED", "details": [{"name": "subnetId", "value": subnets[0]}]}]  # fmt: skip
        self.scenario = scenario
        self.region = cluster.arn.split(":")[3]
        self._definition = {"containerDefinitions": list(task_def.container_definitions)}
        names = [c.get("name") for c in self.containers]
        self.exiting = scenario.container if scenario.container in names else (names[0] if names else None)
        self._describes = 0
        self._step = 0
        self._next_ms = int(time.time() * 1000)
        self._written = 0

    def advance(self) -> None:
        from ecspresso.sandbox.simulator import SIMULATOR

        with SIMULATOR.lock:
            if self.last_status == "STOPPED":
                return
            self._describes += 1
            if self._describes % self.scenario.polls:
                return
            self._step += 1
            sc = self.scenario
            if self._step == 1 and sc.start_failure is not None:
                self.fail(sc.start_failure, None)
                return
            self._write_share()
            if self._step <= sc.steps:
                self.run()
                return
            self.run()  # (started_at) then the container exits
            self.stop("EssentialContainerExited", "Essential container in task exited")
            self._deliver_late()
            for c in self.containers:
                c["exitCode"] = sc.exit_code if c.get("name") == self.exiting else 0
                if c.get("name") == self.exiting and sc.reason:
                    c["reason"] = sc.reason

    def _write_share(self) -> None:
        """The lines due by this step (the last step, STOPPED, writes what is left)."""
        from ecspresso.sandbox.container_logs import write_for_task

        lines, chunks = self.scenario.lines, self.scenario.steps + 1
        due = len(lines) if self._step >= chunks else (len(lines) * self._step) // chunks
        due = min(due, len(lines) - self.scenario.late_lines)
        batch = lines[self._written : due]
        if not batch or self.exiting is None:
            return
        write_for_task(
            self._definition, self.exiting, self.id, batch, region=self.region, start_ms=self._next_ms
        )
        self._written = due
        self._next_ms += len(batch)

    def _deliver_late(self) -> None:
        from ecspresso.awslogs import LogTarget, log_target

        late = self.scenario.lines[self._written :]
        target = log_target(self._definition, self.exiting or "", self.id)
        if late and isinstance(target, LogTarget):
            region = target.region or self.region
            _LATE[(region, target.group, target.stream)] = [2, target, late, self._next_ms]

    def stop_by_user(self, reason: str) -> None:
        if self.last_status == "STOPPED":
            return
        running = self.last_status == "RUNNING"
        self.stop("UserInitiated", reason or "Task stopped by user")
        self.stopping_at = self.stopped_at = utcnow()
        for c in self.containers:
            if running:
                c["exitCode"] = 143


def run_task(backend: Any, params: dict[str, Any]) -> list[OneOffTask]:
    """RunTask: new one-off tasks in ``backend.tasks`` (or the tasks of an earlier call with the same
    ``clientToken``)."""
    count = int(params.get("count") or 1)
    if not 1 <= count <= 10:
        raise _invalid("count must be between 1 and 10.")
    if params.get("propagateTags") == "SERVICE":
        raise _invalid("The SERVICE value for propagateTags is only valid for tasks of a service.")
    if params.get("launchType") and params.get("capacityProviderStrategy"):
        raise _invalid("Specify either Launch Type or Capacity Provider Strategy, but not both.")
    cluster = backend._get_cluster(params.get("cluster") or "default")
    task_def = backend.describe_task_definition(params["taskDefinition"])
    if task_def.network_mode == "awsvpc" and not params.get("networkConfiguration"):
        raise _invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    tokens: dict[str, list[OneOffTask]] = getattr(backend, _TOKENS_ATTR, None) or {}
    setattr(backend, _TOKENS_ATTR, tokens)
    token = params.get("clientToken")
    if token and token in tokens:
        return tokens[token]
    scenario = _PENDING.pop(task_def.family, None) or RunScenario()
    tasks = [OneOffTask(cluster, task_def, params, scenario) for _ in range(count)]
    cluster_tasks = backend.tasks.setdefault(cluster.name, {})
    for task in tasks:
        cluster_tasks[task.task_arn] = task
    if token:
        tokens[token] = tasks
    return tasks


def find(backend: Any, cluster: str, task: str) -> OneOffTask | None:
    name = cluster.split("/")[-1]
    for arn, candidate in backend.tasks.get(name, {}).items():
        if isinstance(candidate, OneOffTask) and (arn == task or arn.endswith("/" + task.split("/")[-1])):
            return candidate
    return None
