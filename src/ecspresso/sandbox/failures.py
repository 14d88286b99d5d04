"""How a simulated task fails, in full: its stop code and reasons (``SimTask.fail``), the lines its
container wrote before it stopped (moto's CloudWatch Logs, where the awslogs driver puts them) and,
behind a load balancer, its place among the target group's unhealthy targets.

Shared by the rollout simulator and the CodeDeploy walk; called with the simulator's lock held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ecspresso.sandbox.model import SimTask

#: the Description ELB gives with each reason code
DESCRIPTIONS = {
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [502]",
    "Target.Timeout": "Request timed out",
    "Elb.InternalError": "Health checks failed due to an internal error",
}
#: an attribute of moto's FakeTargetGroup: target id -> (reason code, description)
UNHEALTHY_ATTR = "_sandbox_unhealthy"


def fail_task(
    svc: Any,
    task: SimTask,
    reason: str | None,
    exit_code: int | None,
    *,
    log_lines: Sequence[str] = (),
    target_health: str | None = None,
    target_groups: Sequence[str] | None = None,
) -> None:
    """Fail ``task``: as ``SimTask.fail`` does, or, with only ``target_health``, as a task ECS
    stopped for failing the ELB health checks. A task whose containers ran leaves ``log_lines`` in
    its explaining container's stream; with ``target_health`` it is an unhealthy target of
    ``target_groups`` (default: the service's)."""
    groups = list(target_groups) if target_groups is not None else service_target_groups(svc)
    health_stop = bool(target_health) and reason is None and exit_code is None and bool(groups)
    if health_stop:
        task.run()
        task.stop("ServiceSchedulerInitiated", f"Task failed ELB health checks in (target-group {groups[0]})")
    else:
        task.fail(reason, exit_code)
    ran = health_stop or exit_code is not None
    if log_lines and ran:
        _write_lines(task, log_lines)
    if target_health:
        for arn in groups:
            mark_unhealthy(arn, target_id(task), _port(svc, arn), target_health, region=task.region)


def service_target_groups(svc: Any) -> list[str]:
    return [
        str(lb["targetGroupArn"])
        for lb in getattr(svc, "load_balancers", None) or []
        if lb.get("targetGroupArn")
    ]


def target_id(task: SimTask) -> str:
    """A private IP for the task (awsvpc targets are registered by IP), stable per task."""
    digest = hashlib.sha256(task.id.encode()).digest()
    return f"10.0.{digest[0]}.{max(1, digest[1])}"


def _port(svc: Any, arn: str) -> int:
    for lb in getattr(svc, "load_balancers", None) or []:
        if lb.get("targetGroupArn") == arn and lb.get("containerPort"):
            return int(lb["containerPort"])
    return 80


def _write_lines(task: SimTask, lines: Sequence[str]) -> None:
    from ecspresso.awslogs import essential_container
    from ecspresso.sandbox.container_logs import write_for_task

    td = {"containerDefinitions": task.container_definitions}
    exited = next((c.get("name") for c in task.containers if c.get("exitCode") not in (None, 0)), None)
    container = exited or essential_container(td)
    if container:
        write_for_task(td, str(container), task.id, lines, region=task.region)


def mark_unhealthy(arn: str, target: str, port: int, reason: str, *, region: str) -> bool:
    """Register ``target`` in moto's target group ``arn`` as failing with ``reason``; False when
    moto has no such target group (a made-up ARN)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.elbv2.models import elbv2_backends

    group = elbv2_backends[DEFAULT_ACCOUNT_ID][region].target_groups.get(arn)
    if group is None:
        return False
    group.targets[target] = {"Id": target, "Port": port}
    unhealthy = getattr(group, UNHEALTHY_ATTR, None)
    if unhealthy is None:
        unhealthy = {}
        setattr(group, UNHEALTHY_ATTR, unhealthy)
    unhealthy[target] = (reason, DESCRIPTIONS.get(reason, "Health checks failed"))
    return True


_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Patch moto's ``FakeTargetGroup.health_for`` (moto calls every registered target healthy):
    a target marked by :func:`mark_unhealthy` answers ``unhealthy`` with its reason and description."""
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    if "health_for" in _ORIGINAL:
        return
    original = _ORIGINAL["health_for"] = FakeTargetGroup.health_for

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        bad = (getattr(self, UNHEALTHY_ATTR, None) or {}).get(target["Id"])
        registered = self.targets.get(target["Id"])
        if bad is None or registered is None:
            return original(self, target, ec2_backend)
        return FakeHealthStatus(target["Id"], registered["Port"], self.health_check_port, "unhealthy", *bad)

    setattr(FakeTargetGroup, "health_for", health_for)  # noqa: B010 (mypy: a method)


def check_internals() -> list[str]:
    """What :func:`install` relies on in moto's ELBv2 models."""
    import inspect

    from moto.elbv2 import models

    problems = []
    group = getattr(models, "FakeTargetGroup", None)
    status = getattr(models, "FakeHealthStatus", None)
    if group is None or status is None:
        return ["moto.elbv2.models lost FakeTargetGroup or FakeHealthStatus"]
    func = _ORIGINAL.get("health_for") or group.health_for
    if list(inspect.signature(func).parameters) != ["self", "target", "ec2_backend"]:
        problems.append("FakeTargetGroup.health_for changed its signature")
    params = list(inspect.signature(status.__init__).parameters)
    if params[:7] != ["self", "instance_id", "port", "health_port", "status", "reason", "description"]:
        problems.append(f"FakeHealthStatus{tuple(params)} changed")
    if "self.targets" not in inspect.getsource(group.__init__):
        problems.append("FakeTargetGroup.__init__ no longer sets self.targets")
    return problems
