"""Data of the rollout simulator: scenarios, simulated tasks, deployments and service events.

Plain objects and dicts that moto's response serializer reads by attribute or key name, so whatever
is stored here shows up in ``DescribeServices`` / ``DescribeTasks`` exactly like moto's own models.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecspresso.deployments import STAGES, STRATEGIES_WITH_STAGES

KINDS = ("stable", "fail", "never")
#: ECS-native deployment strategies that walk a service deployment through lifecycle stages, and
#: those stages in order: the names ECS defines, shared with the client (ecspresso.deployments)
TRAFFIC_STRATEGIES = STRATEGIES_WITH_STAGES
#: where a PAUSE hook may be configured (not TEST_TRAFFIC_SHIFT / PRODUCTION_TRAFFIC_SHIFT, as in ECS)
PAUSE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
MAX_EVENTS = 100  # ECS keeps the last 100 service events
CIRCUIT_BREAKER_FAILED = "ECS deployment circuit breaker: tasks failed to start."


def utcnow() -> datetime:
    """Naive UTC, like moto's own timestamps, so that both sort together."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Scenario:
    """How the next deployment of one service behaves."""

    kind: str = "stable"
    polls: int = 2
    seconds: float | None = None
    rollback: bool = False
    reason: str | None = None
    exit_code: int | None = None
    failed_tasks: int | None = None
    #: polls ECS's own circuit-breaker rollback deployment takes to complete (``rollback=True``)
    rollback_polls: int = 2
    #: BLUE_GREEN/LINEAR/CANARY services: the deployment fails (and rolls back) at this stage
    fail_at_stage: str | None = None
    #: BLUE_GREEN/LINEAR/CANARY services: PAUSE hooks at these stages for this deployment
    pause_at: tuple[str, ...] = ()
    #: lines each failed task's container wrote before it stopped (its awslogs stream, when the
    #: task definition has one)
    log_lines: tuple[str, ...] = ()
    #: a target-health reason code (``Target.FailedHealthChecks``…): the failed tasks are unhealthy
    #: targets of the service's target groups; without ``reason``/``exit_code`` they are stopped for
    #: failing the ELB health checks
    target_health: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown scenario kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.fail_at_stage is not None and self.fail_at_stage not in STAGES:
            raise ValueError(
                f"unknown fail_at_stage {self.fail_at_stage!r}; expected one of {', '.join(STAGES)}"
            )
        for stage in self.pause_at:
            if stage not in PAUSE_STAGES:
                raise ValueError(
                    f"a PAUSE hook cannot be at {stage!r}; expected one of {', '.join(PAUSE_STAGES)}"
                )
        if self.polls < 0 or self.rollback_polls < 0:
            raise ValueError("polls must be >= 0")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError("seconds must be >= 0")
        if self.failed_tasks is not None and self.failed_tasks < 1:
            raise ValueError("failed_tasks must be >= 1")
        if self.target_health is not None and not self.target_health.strip():
            raise ValueError("target_health must be a reason code such as Target.FailedHealthChecks")

    def total_failures(self) -> int:
        """Tasks that fail before the circuit breaker trips."""
        if self.failed_tasks is not None:
            return self.failed_tasks
        return 3 if self.seconds is not None else max(1, self.polls)

    def failures_at(self, progress: float) -> int:
        total = self.total_failures()
        return total if progress >= 1 else min(total, max(1, math.ceil(total * progress)))


DEFAULT_SCENARIO = Scenario()


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def new_event(message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message}


def add_event(svc: Any, message: str) -> None:
    """Newest first, at most :data:`MAX_EVENTS`; timestamps strictly increase."""
    event = new_event(message)
    if svc.events and event["createdAt"] <= svc.events[0]["createdAt"]:
        event["createdAt"] = svc.events[0]["createdAt"] + timedelta(microseconds=1)
    svc.events.insert(0, event)
    del svc.events[MAX_EVENTS:]


def task_list(tasks: list[SimTask]) -> str:
    return " ".join(f"(task {t.id})" for t in tasks)


def new_deployment(svc: Any, task_definition_arn: str) -> dict[str, Any]:
    now = utcnow()
    dep_id = new_deployment_id()
    dep: dict[str, Any] = {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition_arn,
        "desiredCount": svc.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
    }
    strategy = getattr(svc, "capacity_provider_strategy", None)
    if svc.launch_type:
        dep["launchType"] = svc.launch_type
    elif strategy:
        dep["capacityProviderStrategy"] = strategy
    if svc.platform_version:
        dep["platformVersion"] = svc.platform_version
    if svc.launch_type == "FARGATE" or (strategy and "FARGATE" in strategy[0].get("capacityProvider", "")):
        dep["platformFamily"] = "Linux"
    if getattr(svc, "network_configuration", None):
        dep["networkConfiguration"] = svc.network_configuration
    # ECS reports these three on the deployments only, never on the service itself
    for attr, key in (
        ("service_connect_configuration", "serviceConnectConfiguration"),
        ("volume_configurations", "volumeConfigurations"),
        ("vpc_lattice_configurations", "vpcLatticeConfigurations"),
    ):
        if getattr(svc, attr, None):
            dep[key] = getattr(svc, attr)
    return dep


class SimTask:
    """A service task started by the simulator, stored in moto's ``backend.tasks``.

    Not a moto ``Task``: it has no managed state, so ``describe_tasks`` (which calls ``advance()``)
    never moves it on by itself. Only the simulator (and ``StopTask``) change its status.
    """

    def __init__(self, svc: Any, task_def: Any, deployment_id: str) -> None:
        now = utcnow()
        self.id = uuid.uuid4().hex
        self.cluster_name = svc.cluster_name
        self.cluster_arn = svc.cluster_arn
        region, account = svc.cluster_arn.split(":")[3:5]
        self.task_arn = f"arn:aws:ecs:{region}:{account}:task/{svc.cluster_name}/{self.id}"
        self.task_definition_arn = task_def.arn
        self.region = region
        #: the containers as the task definition declares them (where their log lines go)
        self.container_definitions: list[dict[str, Any]] = list(task_def.container_definitions)
        self.container_instance_arn: str | None = None
        self.resource_requirements: dict[str, Any] | None = None
        self.group = f"service:{svc.name}"
        self.started_by = deployment_id
        self.launch_type = svc.launch_type
        strategy = getattr(svc, "capacity_provider_strategy", None) or []
        self.capacity_provider_name = strategy[0].get("capacityProvider") if strategy else None
        self.platform_version = svc.platform_version
        self.cpu = task_def.cpu
        self.memory = task_def.memory
        self.enable_execute_command = bool(getattr(svc, "enable_execute_command", False))
        self.desired_status = "RUNNING"
        self.last_status = "PENDING"
        self.health_status = "UNKNOWN"
        self.created_at = now
        self.started_at: datetime | None = None
        self.stopping_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None
        self.connectivity = "CONNECTED"
        self.version = 1
        self.tags: list[dict[str, str]] = list(svc.tags) if svc.propagate_tags == "SERVICE" else []
        self.attachments: list[dict[str, Any]] = []
        self.overrides: dict[str, Any] = {"containerOverrides": [], "inferenceAcceleratorOverrides": []}
        self.containers: list[dict[str, Any]] = [
            {
                "containerArn": f"arn:aws:ecs:{region}:{account}:container/{svc.cluster_name}/"
                f"{self.id}/{uuid.uuid4()}",
                "taskArn": self.task_arn,
                "name": cd.get("name"),
                "image": cd.get("image"),
                "lastStatus": "PENDING",
                "healthStatus": "UNKNOWN",
                "cpu": str(cd.get("cpu", 0)),
                **({"memory": str(cd["memory"])} if cd.get("memory") else {}),
                "essential": cd.get("essential", True),
            }
            for cd in task_def.container_definitions
        ]

    def advance(self) -> None:
        """Called by moto's ``describe_tasks``; simulated tasks only move when the simulator says so."""

    @property
    def active(self) -> bool:
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"

    def run(self) -> None:
        self.last_status = "RUNNING"
        self.started_at = self.started_at or utcnow()
        for c in self.containers:
            c["lastStatus"] = "RUNNING"

    def stop(self, code: str, reason: str) -> None:
        now = utcnow()
        self.desired_status = self.last_status = "STOPPED"
        self.stop_code, self.stopped_reason = code, reason
        self.stopping_at = self.stopped_at = now
        for c in self.containers:
            c["lastStatus"] = "STOPPED"

    def fail(self, reason: str | None, exit_code: int | None) -> None:
        """Stop as a task that could not start (``reason``) or whose essential container exited."""
        if exit_code is not None:
            self.run()
            self.stop("EssentialContainerExited", reason or "Essential container in task exited")
            essential = next((c for c in self.containers if c.get("essential", True)), self.containers[0])
            essential["exitCode"] = exit_code
            return
        image = self.containers[0].get("image") if self.containers else "image"
        reason = reason or (
            "CannotPullContainerError: pull image manifest has been retried 7 time(s): "
            f"failed to resolve ref {image}: not found"
        )
        self.stop("TaskFailedToStart", reason)
        for c in self.containers:
            c["reason"] = reason


@dataclass
class Rollout:
    """The simulator's bookkeeping for one deployment of one service."""

    dep: dict[str, Any]
    scenario: Scenario
    started: float
    previous: dict[str, Any] | None = None
    rollback: bool = False
    polls: int = 0
    tasks: list[SimTask] = field(default_factory=list)
    done: bool = False
    #: the service deployment this deployment belongs to (a circuit-breaker rollback shares its
    #: failed deployment's) and the service revision it runs
    service_deployment: Any = None
    revision_arn: str = ""
    #: BLUE_GREEN/LINEAR/CANARY: the lifecycle walk (``lifecycle.Lifecycle``), else None
    lifecycle: Any = None

    def active_tasks(self) -> list[SimTask]:
        return [t for t in self.tasks if t.active]
