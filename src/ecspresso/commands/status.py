"""``status``: the service, its deployments, auto scaling and the last N events, on stdout.

Text (ecspresso's ``DescribeServiceStatus``)::

    Service: web
    Cluster: default
    TaskDefinition: app:3
    Deployments:
       PRIMARY app:3 desired:2 pending:0 running:2 COMPLETED(...)
    AutoScaling:                       (only when a scalable target exists)
      Capacity min:1 max:4
      Suspended in:false out:false scheduled:false
      Policy name:cpu type:TargetTrackingScaling
    Events:
    2026/11/22 10:00:00 (service web) has reached a steady state.

With ``--log-format json`` the same data is one JSON object (ecspresso v2.5+ ``WriteOutput``;
keys lowerCamel as ``MarshalJSONForAPI`` makes them).
:func:`status_text` is reused by deploy/wait to print the block before they start.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.deployments import percent
from ecspresso.errors import EcspressoError
from ecspresso.options import Command, option
from ecspresso.report import Result
from ecspresso.strategies import InProgress

EVENT_TIME_FORMAT = "%Y/%m/%d %H:%M:%S"
INDENT = "  "


@dataclass
class StatusOption:
    events: int = option(10, "number of service events to show")


def format_event(event: dict[str, Any]) -> str:
    """``2006/01/02 15:04:05 message`` in local time, as ecspresso prints service events."""
    created = event.get("createdAt")
    if isinstance(created, datetime.datetime):
        stamp = created.astimezone().strftime(EVENT_TIME_FORMAT)
    else:
        stamp = str(created or "")
    return f"{stamp} {event.get('message', '')}"


def _deployment_line(dep: dict[str, Any]) -> str:
    from ecspresso.rollout import deployment_line

    return deployment_line(dep)


def _task_set_line(ts: dict[str, Any]) -> str:
    return (
        f"{ts.get('status', ''):>8} {ecs.short_name(str(ts.get('taskDefinition', '')))} "
        f"desired:{ts.get('computedDesiredCount', 0)} pending:{ts.get('pendingCount', 0)} "
        f"running:{ts.get('runningCount', 0)} {ts.get('stabilityStatus', '')}"
        + (
            f" scale:{percent((ts.get('scale') or {}).get('value'))}%"
            if (ts.get("scale") or {}).get("value") is not None
            else ""
        )
    )


def in_progress_line(running: InProgress) -> str:
    """``InProgress: d-X InProgress AllowTraffic app:3 (from app:2), paused by hook …``"""
    line = f"{running.id.rsplit('/', 1)[-1]} {running.status}"
    if running.stage:
        line += f" {running.stage}"
    if running.target_task_definition:
        line += f" {running.target_task_definition}"
        if running.source_task_definition:
            line += f" (from {running.source_task_definition})"
    if running.paused_hook:
        line += f", paused ({running.paused_hook}): ecspresso continue"
    return line


def _bool(v: Any) -> str:
    return "true" if v else "false"


def _event_time(event: dict[str, Any]) -> float:
    created = event.get("createdAt")
    return created.timestamp() if isinstance(created, datetime.datetime) else 0.0


def last_events(service: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The newest ``count`` events, oldest first (ECS lists them newest first)."""
    events = sorted(reversed(service.get("events") or []), key=_event_time)
    return events[max(0, len(events) - max(0, count)) :]


def status_text(
    service: dict[str, Any],
    auto_scaling: dict[str, list[dict[str, Any]]],
    events: int,
    running: InProgress | None = None,
) -> str:
    """ecspresso's status block for a DescribeServices element (pure)."""
    lines = [
        f"Service: {service.get('serviceName', '')}",
        f"Cluster: {ecs.short_name(str(service.get('clusterArn', '')))}",
        f"TaskDefinition: {ecs.short_name(str(service.get('taskDefinition', '')))}",
    ]
    if service.get("deployments"):
        lines.append("Deployments:")
        lines += [INDENT + _deployment_line(d) for d in service["deployments"]]
    if service.get("taskSets"):
        lines.append("TaskSets:")
        lines += [INDENT + _task_set_line(ts) for ts in service["taskSets"]]
    if running is not None:
        lines.append("InProgress:")
        lines.append(INDENT + in_progress_line(running))
    if auto_scaling.get("scalableTargets"):
        lines.append("AutoScaling:")
        for t in auto_scaling["scalableTargets"]:
            ss = t.get("SuspendedState") or {}
            lines.append(f"{INDENT}Capacity min:{t.get('MinCapacity', 0)} max:{t.get('MaxCapacity', 0)}")
            lines.append(
                f"{INDENT}Suspended in:{_bool(ss.get('DynamicScalingInSuspended'))} "
                f"out:{_bool(ss.get('DynamicScalingOutSuspended'))} "
                f"scheduled:{_bool(ss.get('ScheduledScalingSuspended'))}"
            )
        for p in auto_scaling.get("scalingPolicies") or []:
            lines.append(f"{INDENT}Policy name:{p.get('PolicyName', '')} type:{p.get('PolicyType', '')}")
    lines.append("Events:")
    lines += [format_event(e) for e in last_events(service, events)]
    return "\n".join(lines) + "\n"


def status_json(service: dict[str, Any], auto_scaling: dict[str, list[dict[str, Any]]], events: int) -> str:
    from ecspresso.normalize import to_api_json

    doc = {
        "service": service.get("serviceName", ""),
        "cluster": service.get("clusterArn", ""),
        "taskDefinition": service.get("taskDefinition", ""),
        "deployments": service.get("deployments") or [],
        "taskSets": service.get("taskSets") or [],
        "autoScaling": {
            "scalableTargets": auto_scaling.get("scalableTargets") or [],
            "scalingPolicies": auto_scaling.get("scalingPolicies") or [],
        },
        "events": last_events(service, events),
    }
    return to_api_json(doc)


def describe_auto_scaling(app: App, service: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scalable target and policies of the service; warns (and returns nothing) on API errors."""
    resource = f"service/{ecs.short_name(str(service.get('clusterArn', '')))}/{service.get('serviceName')}"
    dims = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}
    client = app.client("application-autoscaling")
    out: dict[str, list[dict[str, Any]]] = {"scalableTargets": [], "scalingPolicies": []}
    try:
        targets = ecs.call("DescribeScalableTargets", client.describe_scalable_targets,
                           ResourceIds=[resource], **dims)["ScalableTargets"]  # fmt: skip
        out["scalableTargets"] = list(targets)
        if targets:
            policies = ecs.call("DescribeScalingPolicies", client.describe_scaling_policies,
                                ResourceId=resource, **dims)["ScalingPolicies"]  # fmt: skip
            out["scalingPolicies"] = list(policies)
    except EcspressoError as exc:
        app.log.warning(f"failed to describe auto scaling: {exc}")
    return out


def service_status(app: App, events: int = 10) -> dict[str, Any]:
    """DescribeServices + auto scaling, printed to stdout; returns the service. Missing => error."""
    service = ecs.describe_service(app)
    if service is None:
        raise EcspressoError(f"service {app.config.service} is not found in cluster {app.config.cluster}")
    if service.get("status") == "DRAINING":
        app.log.warning(f"service {app.config.service} is DRAINING")
    auto_scaling = describe_auto_scaling(app, service)
    if app.opts.log_format == "json":
        app.reporter.output(status_json(service, auto_scaling, events))
    else:
        app.reporter.output(status_text(service, auto_scaling, events, _in_progress(app, service)))
    return service


def _in_progress(app: App, service: dict[str, Any]) -> InProgress | None:
    """The deployment in progress, as its controller tells (best effort: status never fails on it)."""
    from ecspresso.strategies import choose

    strategy = choose(service)
    if strategy.refusal:
        return None
    try:
        return strategy.in_progress(app)
    except EcspressoError as exc:
        app.log.debug(f"cannot tell the deployment in progress: {exc}")
        return None


def status(app: App, opts: StatusOption) -> Result:
    if not app.config.service:
        raise EcspressoError("service is not defined in the config")
    service = service_status(app, opts.events)
    return Result(
        command="status",
        result="ok",
        service=app.config.service,
        cluster=app.config.cluster,
        task_definition_arn=str(service.get("taskDefinition", "")),
        events=[str(e.get("message", "")) for e in last_events(service, opts.events)],
    )


COMMANDS = [
    Command(
        "status",
        "show the service status, deployments and events",
        StatusOption,
        status,
        examples=("status", "status --events 20"),
    )
]
