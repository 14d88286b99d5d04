"""Pure transformations of ECS definitions (plain lowerCamel ``dict``\\ s, as boto3 takes them).

Ports ecspresso's ``json.go`` (key normalisation, ``MarshalJSONForAPI``), ``diff.go``
(``ServiceDefinitionForDiff``, ``sortTaskDefinition``, ``tdToTaskDefinitionInput``) and
``deploy.go`` (``svToUpdateServiceInput``). Nothing here touches AWS or the filesystem.

Field sets come from botocore's ECS model so that newer ECS parameters pass through without
a code change. botocore is imported lazily, only by the functions that need the model, so
``normalize_keys``/``to_api_json`` stay cheap for ``render``.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import re
from typing import Any

#: tag keys this tool writes itself (ecspresso.failed_marks): never part of a diff
OWN_TAG_PREFIX = "ecspresso-py:"

# Members whose value is user data (a string map or a free-form document): keys inside are
# never rewritten. All ``map``/``document`` shapes of the ECS model (checked by a test).
DATA_MAP_KEYS: frozenset[str] = frozenset({"dockerLabels", "options", "driverOpts", "labels", "hookDetails"})
_DATA_MAP_KEYS_LOWER = frozenset(k.lower() for k in DATA_MAP_KEYS)

# Returned by DescribeTaskDefinition but not accepted by RegisterTaskDefinition.
DESCRIBE_ONLY_TASK_DEFINITION_FIELDS: frozenset[str] = frozenset((
    "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
    "registeredBy", "deregisteredAt", "deleteRequestedAt",
))  # fmt: skip

# ecspresso's svToUpdateServiceInput (v2.8.5+). More UpdateService members are added from the
# botocore model at call time (see ``update_service_input``).
UPDATE_SERVICE_FIELDS: tuple[str, ...] = (
    "availabilityZoneRebalancing", "capacityProviderStrategy", "deploymentConfiguration", "desiredCount",
    "enableECSManagedTags", "enableExecuteCommand", "healthCheckGracePeriodSeconds", "loadBalancers",
    "monitoring", "networkConfiguration", "placementConstraints", "placementStrategy", "platformVersion",
    "propagateTags", "serviceConnectConfiguration", "serviceRegistries", "volumeConfigurations",
    "vpcLatticeConfigurations",
)  # fmt: skip
# UpdateService members never taken from a service definition: identity / per-deploy
# parameters the caller sets, and the deployment controller (not changed by ecspresso).
_UPDATE_SERVICE_EXCLUDED = frozenset(
    {"cluster", "service", "taskDefinition", "forceNewDeployment", "deploymentController"}
)
# Not updatable under the CODE_DEPLOY controller (ecspresso UpdateServiceAttributes).
CODE_DEPLOY_UNUPDATABLE: tuple[str, ...] = (
    "networkConfiguration", "platformVersion", "loadBalancers", "serviceRegistries", "capacityProviderStrategy",
)  # fmt: skip
# Fields ecspresso sends as an empty list / disabled object so that removing them from the
# definition removes them from the service (#856, #868).
_CLEARED_WHEN_ABSENT = ("loadBalancers", "volumeConfigurations", "vpcLatticeConfigurations")


# ---------------------------------------------------------------------------------------------
# botocore model (lazy)


@functools.cache
def _ecs_shapes() -> dict[str, Any]:
    """The ``shapes`` table of botocore's ECS model (parsed once, see api_model; tests may patch this)."""
    from ecspresso.api_model import service_model_json

    shapes: dict[str, Any] = service_model_json("ecs")["shapes"]
    return shapes


def input_members(shape: str) -> tuple[str, ...]:
    """Member names of an ECS model structure, e.g. ``"UpdateServiceRequest"``."""
    return tuple(_ecs_shapes()[shape].get("members", {}))


# ---------------------------------------------------------------------------------------------
# keys and JSON


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


def normalize_keys(obj: Any) -> Any:
    """Copy of ``obj`` with the first letter of every key lower-cased (PascalCase → lowerCamel).

    Keys inside user-data members (:data:`DATA_MAP_KEYS`, matched case-insensitively) are kept.
    """
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            new_key = _lower_first(key) if isinstance(key, str) else key
            if isinstance(key, str) and key.lower() in _DATA_MAP_KEYS_LOWER:
                out[new_key] = copy.deepcopy(value)
            else:
                out[new_key] = normalize_keys(value)
        return out
    if isinstance(obj, list):
        return [normalize_keys(v) for v in obj]
    return obj


def drop_empty(obj: Any) -> Any:
    """Copy of ``obj`` without ``null`` and ``[]`` object members, recursively (``{}`` is kept).

    As ecspresso's ``walkMap``: only object members are removed; list items stay as they are
    (their own object members are still cleaned).
    """
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if value is None or (isinstance(value, list) and not value):
                continue
            out[key] = drop_empty(value)
        return out
    if isinstance(obj, list):
        return [drop_empty(v) for v in obj]
    return obj


def _canon_numbers(obj: Any) -> Any:
    """Integral floats as ints, as Go prints float64 (``256.0`` → ``256``)."""
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 1e21:
        return int(obj)
    if isinstance(obj, dict):
        return {k: _canon_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_canon_numbers(v) for v in obj]
    return obj


def to_api_json(obj: Any) -> str:
    """ecspresso's ``MarshalJSONForAPI``: lowerCamel keys, nulls and empty arrays dropped,
    keys sorted, 2-space indent, non-ASCII kept, trailing newline."""
    doc = _canon_numbers(drop_empty(normalize_keys(obj)))
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(obj: Any) -> Any:
    """Serialise what boto3 returns besides JSON types (timestamps as RFC 3339)."""
    if isinstance(obj, datetime.datetime | datetime.date):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def _json_key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _prepare(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _canon_numbers(drop_empty(normalize_keys(obj)))
    return out


def drop_nulls(obj: Any) -> Any:
    """Object members that are null mean "not set" (Go decodes them into nil pointers)."""
    if isinstance(obj, dict):
        return {k: drop_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_nulls(v) for v in obj]
    return obj


def _fill_zero_values(value: Any, shape_name: str) -> None:
    """Fill missing non-nullable integer/boolean members with 0/false, in place.

    The Go SDK models these as value types, so ecspresso always sees (and prints) them; DescribeX
    returns them too. Filling them on both sides keeps an omitted ``base``/``rollback``/container
    ``cpu`` from showing as a difference.
    """
    shapes = _ecs_shapes()
    shape = shapes.get(shape_name)
    if shape is None:
        return
    kind = shape.get("type")
    if kind == "list" and isinstance(value, list):
        for item in value:
            _fill_zero_values(item, shape["member"]["shape"])
    elif kind == "structure" and isinstance(value, dict):
        for name, member in shape.get("members", {}).items():
            target = shapes.get(member["shape"], {})
            if name not in value:
                if target.get("box") or member.get("box"):
                    continue
                if target.get("type") in ("integer", "long"):
                    value[name] = 0
                elif target.get("type") == "boolean":
                    value[name] = False
            else:
                _fill_zero_values(value[name], member["shape"])


def _sort(items: Any, key: Any) -> Any:
    return sorted(items, key=key) if isinstance(items, list) else items


def _by_field(field: str) -> Any:
    def key(item: Any) -> tuple[str, str]:
        if isinstance(item, dict):
            return (str(item.get(field, "")), _json_key(item))
        return ("", _json_key(item))

    return key


# ---------------------------------------------------------------------------------------------
# task definitions


def strip_describe_only(td: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Copy of ``td`` without DescribeTaskDefinition-only fields, and the removed keys."""
    out: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in td.items():
        if _lower_first(key) in DESCRIBE_ONLY_TASK_DEFINITION_FIELDS:
            removed.append(key)
        else:
            out[key] = copy.deepcopy(value)
    return out, removed


def unwrap_task_definition(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The bare task definition of a file and the top-level keys ignored.

    A file is either RegisterTaskDefinition input or DescribeTaskDefinition output
    (``{"taskDefinition": {...}, "tags": [...]}``); in the latter the top-level ``tags`` are the
    task definition's and move inside it (unless it already has its own).
    """
    wrapper_key = next((k for k in doc if _lower_first(k) == "taskDefinition"), None)
    if wrapper_key is None or not isinstance(doc[wrapper_key], dict):
        return copy.deepcopy(doc), []
    td = copy.deepcopy(doc[wrapper_key])
    ignored: list[str] = []
    has_tags = any(_lower_first(k) == "tags" for k in td)
    for key, value in doc.items():
        if key == wrapper_key:
            continue
        if _lower_first(key) == "tags" and not has_tags:
            if value:
                td["tags"] = copy.deepcopy(value)
            continue
        ignored.append(key)
    return td, ignored


def td_output_only_fields() -> frozenset[str]:
    """What DescribeTaskDefinition returns and RegisterTaskDefinition does not take (from the model)."""
    shapes = _ecs_shapes()
    described = set(shapes["TaskDefinition"]["members"])
    accepted = set(shapes["RegisterTaskDefinitionRequest"]["members"])
    return frozenset(described - accepted) | DESCRIBE_ONLY_TASK_DEFINITION_FIELDS


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*$")


def _to_units(value: Any, suffix: str) -> Any:
    """``"1 vCPU"`` → ``"1024"``, ``"2 GB"`` → ``"2048"``; numbers → strings; else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value))
    if not isinstance(value, str):
        return value
    idx = value.lower().find(suffix)
    if idx > 0:
        m = _SIZE.match(value[:idx])
        if m:
            return str(int(float(m.group(1)) * 1024))
    return value


def task_definition_for_diff(td: dict[str, Any]) -> dict[str, Any]:
    """Canonical form of a task definition for comparison (ecspresso ``sortTaskDefinition``).

    Accepts a local file's content or DescribeTaskDefinition output (bare or wrapped): drops
    describe-only fields (the model's TaskDefinition members RegisterTaskDefinition does not
    take); any other key, including ones newer than botocore, is kept. Sorts order-insensitive
    lists, fills ``hostPort`` for awsvpc, converts ``"1 vCPU"``/``"2 GB"`` units.
    """
    bare, _ = unwrap_task_definition(normalize_keys(td))
    out = _prepare(bare)
    for key in td_output_only_fields():
        out.pop(key, None)
    if "tags" in out:
        # tags this tool writes itself (ecspresso-py:deploy-failed) are bookkeeping, not a difference
        theirs = without_own_tags(out["tags"])
        if theirs or not out["tags"]:
            out["tags"] = theirs
        else:
            del out["tags"]
    sort_task_definition(out)
    _fill_zero_values(out, "RegisterTaskDefinitionRequest")
    return out


def without_own_tags(tags: Any) -> list[Any]:
    """``tags`` without those this tool writes itself (:data:`OWN_TAG_PREFIX`)."""
    return [t for t in tags or [] if not str(t.get("key", "")).startswith(OWN_TAG_PREFIX)]


def sort_task_definition(td: dict[str, Any]) -> dict[str, Any]:
    """ecspresso's ``sortTaskDefinition``, in place on a lowerCamel task definition (returned too).

    Per container: environment and secrets by name, mountPoints/portMappings/volumesFrom by their
    JSON, a missing ``hostPort`` set to the ``containerPort`` under awsvpc; containers by name,
    placementConstraints, requiresCompatibilities, volumes (by name), tags (by key) and the proxy's
    properties (by name) sorted; ``"1 vCPU"``/``"2 GB"`` as units (``"1024"``/``"2048"``).
    """
    awsvpc = td.get("networkMode") == "awsvpc"
    containers = td.get("containerDefinitions")
    if isinstance(containers, list):
        for cd in containers:
            if not isinstance(cd, dict):
                continue
            if awsvpc and isinstance(cd.get("portMappings"), list):
                for pm in cd["portMappings"]:
                    if isinstance(pm, dict) and "hostPort" not in pm and "containerPort" in pm:
                        pm["hostPort"] = pm["containerPort"]
            for field in ("environment", "secrets"):
                if field in cd:
                    cd[field] = _sort(cd[field], _by_field("name"))
            for field in ("mountPoints", "portMappings", "volumesFrom"):
                if field in cd:
                    cd[field] = _sort(cd[field], _json_key)
        td["containerDefinitions"] = _sort(containers, _by_field("name"))
    if "placementConstraints" in td:
        td["placementConstraints"] = _sort(td["placementConstraints"], _json_key)
    if "requiresCompatibilities" in td:
        td["requiresCompatibilities"] = _sort(td["requiresCompatibilities"], str)
    if "volumes" in td:
        td["volumes"] = _sort(td["volumes"], _by_field("name"))
    if "tags" in td:
        td["tags"] = _sort(td["tags"], _by_field("key"))
    proxy = td.get("proxyConfiguration")
    if isinstance(proxy, dict) and "properties" in proxy:
        proxy["properties"] = _sort(proxy["properties"], _by_field("name"))
    if "cpu" in td:
        td["cpu"] = _to_units(td["cpu"], "vcpu")
    if "memory" in td:
        td["memory"] = _to_units(td["memory"], "gb")
    return td


# ---------------------------------------------------------------------------------------------
# services


def _controller(sv: dict[str, Any]) -> str:
    dc = sv.get("deploymentController", sv.get("DeploymentController"))
    if not isinstance(dc, dict):
        return "ECS"
    return str(dc.get("type") or dc.get("Type") or "ECS")


def is_code_deploy(sv: dict[str, Any]) -> bool:
    """Whether the service uses the CODE_DEPLOY deployment controller."""
    return _controller(sv) == "CODE_DEPLOY"


def service_from_describe(sv: dict[str, Any]) -> dict[str, Any]:
    """A DescribeServices service with the attributes ECS reports only on deployments lifted up.

    ``serviceConnectConfiguration``, ``volumeConfigurations`` and ``vpcLatticeConfigurations`` are
    taken from the PRIMARY deployment (ecspresso ``newServiceFromTypes``), except for CODE_DEPLOY.
    """
    out = copy.deepcopy(sv)
    if is_code_deploy(out):
        return out
    primary = next(
        (d for d in out.get("deployments") or [] if isinstance(d, dict) and d.get("status") == "PRIMARY"),
        None,
    )
    if primary is None:
        return out
    for key in ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations"):
        if primary.get(key) is not None and out.get(key) is None:
            out[key] = copy.deepcopy(primary[key])
    return out


def _update_fields() -> list[str]:
    fields = list(UPDATE_SERVICE_FIELDS)
    for name in input_members("UpdateServiceRequest"):
        if name not in _UPDATE_SERVICE_EXCLUDED and name not in fields:
            fields.append(name)
    return fields


def _update_projection(sv: dict[str, Any]) -> dict[str, Any]:
    """ecspresso ``svToUpdateServiceInput`` without the CODE_DEPLOY restrictions."""
    src = drop_nulls(normalize_keys(sv))
    out = {k: copy.deepcopy(src[k]) for k in _update_fields() if k in src}
    out.setdefault("enableECSManagedTags", False)
    out.setdefault("enableExecuteCommand", False)
    if src.get("schedulingStrategy") == "DAEMON":
        out.pop("placementStrategy", None)
    for key in _CLEARED_WHEN_ABSENT:
        if not out.get(key):
            out[key] = []
    if out.get("serviceConnectConfiguration") is None:
        out["serviceConnectConfiguration"] = {"enabled": False}
    return out


def update_service_input(sv: dict[str, Any]) -> dict[str, Any]:
    """UpdateService parameters from a service definition (§4a step 5), for ``**kwargs``.

    ecspresso's fields plus every other UpdateService member of the botocore model present in
    ``sv`` (except cluster/service/taskDefinition/forceNewDeployment/deploymentController, which
    the caller owns). Removed loadBalancers/volumeConfigurations/vpcLatticeConfigurations are
    sent as ``[]`` and a removed serviceConnectConfiguration as ``{"enabled": False}``;
    ``placementStrategy`` is omitted for DAEMON; CODE_DEPLOY omits :data:`CODE_DEPLOY_UNUPDATABLE`.
    ``desiredCount`` is passed through when present; the caller overrides it.
    """
    out = _update_projection(sv)
    if is_code_deploy(sv):
        for key in CODE_DEPLOY_UNUPDATABLE:
            out.pop(key, None)
    return out


def create_service_input(sv: dict[str, Any]) -> dict[str, Any]:
    """CreateService parameters from a service definition: every member of the botocore
    CreateService input present in ``sv``; describe-only fields (status, deployments, events,
    serviceArn, createdAt, runningCount, …) and nulls are dropped, empty ``tags`` too."""
    src = drop_nulls(normalize_keys(sv))
    out = {k: copy.deepcopy(src[k]) for k in input_members("CreateServiceRequest") if k in src}
    if not out.get("tags"):
        out.pop("tags", None)
    return out


_DEFAULT_CIRCUIT_BREAKER: dict[str, Any] = {"enable": False, "rollback": False}
_CIRCUIT_BREAKER_DEFAULTS: dict[str, Any] = {
    "resetOnHealthyTask": True,
    "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50},
}
_EARLY_SUCCESS_DEFAULTS: dict[str, Any] = {"healthyPercent": 100, "sourceServiceRevisionCleanup": "BLOCKING"}
_HOOK_TIMEOUT_DEFAULTS: dict[str, Any] = {"action": "ROLLBACK", "timeoutInMinutes": 1440}


def _fill(target: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if target.get(key) is None:
            target[key] = copy.deepcopy(value)


def _fill_deployment_configuration(out: dict[str, Any], scheduling: str) -> None:
    dc = out.get("deploymentConfiguration")
    if not isinstance(dc, dict):
        dc = out["deploymentConfiguration"] = {}
    if scheduling == "DAEMON":
        _fill(dc, {"maximumPercent": 100, "minimumHealthyPercent": 0})
    else:
        _fill(
            dc,
            {
                "deploymentCircuitBreaker": _DEFAULT_CIRCUIT_BREAKER,
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "strategy": "ROLLING",
                "bakeTimeInMinutes": 0,
            },
        )
    _fill(dc, {"alarms": {"enable": False, "rollback": False}})  # beyond ecspresso, as above
    cb = dc.get("deploymentCircuitBreaker")
    if isinstance(cb, dict):
        _fill(cb, _CIRCUIT_BREAKER_DEFAULTS)
    esc = dc.get("earlySuccessCriteria")
    if isinstance(esc, dict):
        _fill(esc, _EARLY_SUCCESS_DEFAULTS)
    for hook in dc.get("lifecycleHooks") or []:
        if isinstance(hook, dict):
            _fill(hook, {"targetType": "AWS_LAMBDA"})
            timeout = hook.setdefault("timeoutConfiguration", {})
            if isinstance(timeout, dict):
                _fill(timeout, _HOOK_TIMEOUT_DEFAULTS)


def service_definition_for_diff(
    sv: dict[str, Any], *, remote: bool = False, code_deploy: bool | None = None
) -> dict[str, Any]:
    """Canonical form of a service for comparison (ecspresso ``ServiceDefinitionForDiff``).

    The UpdateService projection of ``sv`` plus ``tags``, with API defaults filled and
    order-insensitive lists sorted, so a DescribeServices result and a minimal definition
    compare equal. ``remote=True`` marks ``sv`` as DescribeServices output: attributes ECS only
    reports on the PRIMARY deployment are lifted first (:func:`service_from_describe`).
    ``desiredCount`` is kept if present: drop the remote one with :func:`strip_unmanaged`.
    launchType, schedulingStrategy and deploymentController are read but not compared; with
    CODE_DEPLOY (``code_deploy``, default: read from ``sv``) ``loadBalancers[].targetGroupArn`` is
    ignored, as CodeDeploy swaps target groups.
    """
    src = _prepare(service_from_describe(normalize_keys(sv)) if remote else sv)
    scheduling = str(src.get("schedulingStrategy") or "REPLICA")
    if src.get("launchType") == "FARGATE" and src.get("platformVersion") is None:
        src["platformVersion"] = "LATEST"
    out = _update_projection(src)
    if src.get("tags"):
        out["tags"] = _sort(copy.deepcopy(src["tags"]), _by_field("key"))
    _fill(out, {"availabilityZoneRebalancing": "DISABLED"})
    # Beyond ecspresso: DescribeServices reports these defaults too (ecspresso shows them as diffs).
    _fill(out, {"propagateTags": "NONE", "healthCheckGracePeriodSeconds": 0})
    _fill_deployment_configuration(out, scheduling)
    for key in ("placementConstraints", "placementStrategy"):
        if key in out:
            out[key] = _sort(out[key], _json_key)
    if "volumeConfigurations" in out:
        out["volumeConfigurations"] = _sort(out["volumeConfigurations"], _by_field("name"))
    if "vpcLatticeConfigurations" in out:
        out["vpcLatticeConfigurations"] = _sort(out["vpcLatticeConfigurations"], _by_field("portName"))
    nc = out.get("networkConfiguration")
    awsvpc = nc.get("awsvpcConfiguration") if isinstance(nc, dict) else None
    if isinstance(awsvpc, dict):
        _fill(awsvpc, {"assignPublicIp": "DISABLED"})
        for key in ("subnets", "securityGroups"):
            if key in awsvpc:
                awsvpc[key] = _sort(awsvpc[key], str)
    if is_code_deploy(src) if code_deploy is None else code_deploy:
        for lb in out.get("loadBalancers") or []:
            if isinstance(lb, dict):
                lb.pop("targetGroupArn", None)
    request = _ecs_shapes()["UpdateServiceRequest"]["members"]
    for key, value in out.items():
        if key in request:
            _fill_zero_values(value, request[key]["shape"])
    result: dict[str, Any] = drop_empty(out)
    return result


def strip_unmanaged(remote: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """Copy of the remote (for-diff) service without what the local definition does not manage:
    ``desiredCount`` when ``local`` has none (ecspresso #274). ``local`` may be raw or for-diff."""
    out = copy.deepcopy(remote)
    if local.get("desiredCount") is None and local.get("DesiredCount") is None:
        out.pop("desiredCount", None)
    return out
