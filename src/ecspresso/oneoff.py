"""One-off tasks (``run``), the pure part: the RunTask input, the container checks, the verdict.

Everything here is a function of data already loaded (definitions, flags, DescribeTasks answers);
``commands/run.py`` makes the AWS calls and ``task_watch.py`` polls.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from ecspresso.errors import UsageError

#: what RunTask takes from the service definition, as ecspresso does
SERVICE_FIELDS = (
    "networkConfiguration",
    "launchType",
    "capacityProviderStrategy",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "enableECSManagedTags",
    "enableExecuteCommand",
)
MAX_COUNT = 10  # RunTask's limit


def parse_tags(text: str) -> list[dict[str, str]]:
    """``--tags K=V,K2=V2`` as RunTask tags (a value may be empty; a key may not)."""
    tags: list[dict[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tags: expected KEY=VALUE, got {item!r}")
        tags.append({"key": key.strip(), "value": value.strip()})
    return tags


def merge_tags(base: list[dict[str, str]], override: list[dict[str, str]]) -> list[dict[str, str]]:
    """``base`` then ``override``; a key in both takes ``override``'s value (one tag per key)."""
    merged = {t["key"]: t.get("value", "") for t in base}
    merged.update({t["key"]: t.get("value", "") for t in override})
    return [{"key": k, "value": v} for k, v in merged.items()]


def task_volume_configurations(
    service_volumes: list[dict[str, Any]] | None, delete_on_termination: bool
) -> list[dict[str, Any]]:
    """A service definition's ``volumeConfigurations`` as a task's: the EBS volume settings, a
    termination policy, and tag specifications without ``propagateTags: SERVICE`` (a standalone
    task has no service)."""
    out: list[dict[str, Any]] = []
    for vc in service_volumes or []:
        ebs = copy.deepcopy(vc.get("managedEBSVolume") or {})
        specs = []
        for spec in ebs.pop("tagSpecifications", None) or []:
            spec = dict(spec)
            if spec.get("propagateTags") == "SERVICE":
                spec.pop("propagateTags")
            specs.append(spec)
        if specs:
            ebs["tagSpecifications"] = specs
        ebs["terminationPolicy"] = {"deleteOnTermination": delete_on_termination}
        out.append({"name": vc.get("name"), "managedEBSVolume": ebs})
    return out


def run_task_input(
    *,
    cluster: str,
    task_definition: str,
    service_definition: dict[str, Any] | None,
    overrides: dict[str, Any] | None,
    count: int,
    tags: list[dict[str, str]],
    propagate_task_definition_tags: bool,
    client_token: str,
    ebs_delete_on_termination: bool,
) -> dict[str, Any]:
    """The RunTask parameters: placement and network from the service definition (if any)."""
    params: dict[str, Any] = {"cluster": cluster, "taskDefinition": task_definition, "count": count}
    sv = service_definition or {}
    for key in SERVICE_FIELDS:
        if sv.get(key) not in (None, [], ""):
            params[key] = copy.deepcopy(sv[key])
    volumes = task_volume_configurations(sv.get("volumeConfigurations"), ebs_delete_on_termination)
    if volumes:
        params["volumeConfigurations"] = volumes
    if overrides:
        params["overrides"] = overrides
    if tags:
        params["tags"] = tags
    if propagate_task_definition_tags:
        params["propagateTags"] = "TASK_DEFINITION"
    if client_token:
        params["clientToken"] = client_token
    return params


def parse_overrides_json(text: str, source: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: task overrides must be a JSON object")
    return doc


def container_names(task_definition: dict[str, Any]) -> list[str]:
    return [str(cd.get("name")) for cd in task_definition.get("containerDefinitions") or []]


def watched_container(task_definition: dict[str, Any], wanted: str) -> str:
    """The container to follow: ``wanted`` (``--watch-container``) or the first one. A name the task
    definition does not have is a usage error naming the ones it has."""
    names = container_names(task_definition)
    family = task_definition.get("family", "the task definition")
    if wanted:
        if wanted not in names:
            raise UsageError(
                f"--watch-container: task definition {family} has no container {wanted!r} "
                f"(containers: {', '.join(names) or 'none'})"
            )
        return wanted
    if not names:
        raise UsageError(f"task definition {family} has no containers")
    return names[0]


def check_override_containers(task_definition: dict[str, Any], overrides: dict[str, Any] | None) -> None:
    """ECS refuses a container override for a container the task definition does not have; say so
    before anything is registered or started."""
    names = container_names(task_definition)
    for co in (overrides or {}).get("containerOverrides") or []:
        name = co.get("name")
        if name not in names:
            raise UsageError(
                f"overrides: task definition {task_definition.get('family', '')} has no container "
                f"{name!r} (containers: {', '.join(names)})"
            )


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TaskEnd:
    """How a one-off task ended, as the watched container tells."""

    ok: bool
    container: str
    exit_code: int | None
    message: str  # one line: container, exit code and reason


def judge_stopped(task: dict[str, Any], container: str) -> TaskEnd:
    """The verdict on a STOPPED task: only the watched container exiting 0 is a success."""
    tid = task_id(str(task.get("taskArn", "")))
    stop_code = str(task.get("stopCode") or "")
    stopped = str(task.get("stoppedReason") or "")
    ours = next((c for c in task.get("containers") or [] if c.get("name") == container), None)
    if stop_code == "TaskFailedToStart":
        extra = sorted(
            {f"container {c.get('name')}: {c['reason']}" for c in task.get("containers") or []
             if c.get("reason") and c["reason"] != stopped}
        )  # fmt: skip
        detail = "; ".join([stopped or "no reason given", *extra])
        return TaskEnd(False, container, None, f"task {tid} failed to start (TaskFailedToStart): {detail}")
    if ours is None:
        return TaskEnd(False, container, None, f"container {container} is not in task {tid}")
    code = ours.get("exitCode")
    reason = str(ours.get("reason") or "")
    why = [f"reason: {reason}"] if reason else []
    if stopped:
        why.append(f"task stopped: {stopped}" + (f" ({stop_code})" if stop_code else ""))
    tail = f" ({'; '.join(why)})" if why else ""
    if code is None:
        return TaskEnd(False, container, None, f"container {container} has no exit code{tail}")
    code = int(code)
    return TaskEnd(code == 0, container, code, f"container {container} exited with code {code}{tail}")


def describe_status(task: dict[str, Any] | None) -> str:
    """``RUNNING`` / ``STOPPED (EssentialContainerExited)``… for progress lines."""
    if not task:
        return "unknown"
    last = str(task.get("lastStatus") or "unknown")
    if last == "STOPPED" and task.get("stopCode"):
        return f"{last} ({task['stopCode']})"
    return last
