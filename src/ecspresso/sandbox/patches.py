"""Class-level patches of moto's ECS backend and responses (moto is pinned: ``moto[server]==5.2.5``).

Class level, because moto's reset re-runs ``__init__`` on backend instances and would wipe instance
patches. What they change, and why:

* ``CreateService`` keeps ``deploymentConfiguration``, ``capacityProviderStrategy``,
  ``enableExecuteCommand`` and the other parameters moto drops, does not force ``launchType`` EC2
  when a capacity provider strategy is used, and starts a simulated first deployment;
* deployments (``model.new_deployment``) carry ``serviceConnectConfiguration``,
  ``volumeConfigurations`` and ``vpcLatticeConfigurations``, which ECS reports there and not on
  the service (``init`` and ``diff`` read them from the PRIMARY deployment);
* ``UpdateService`` starts a new PRIMARY deployment for a new task definition or
  ``forceNewDeployment`` (moto only re-rolls the id) and stores the task definition ARN, not the raw
  ``family:rev`` string; ``desiredCount`` no longer sets ``runningCount`` at once;
* ``DescribeServices`` is one step of time of the simulator;
* ``DeleteService`` stops the service's simulated tasks;
* CODE_DEPLOY services run task sets instead of deployments (``task_sets``); their CodeDeploy
  deployments are simulated by ``codedeploy_api`` (patched from :func:`install` too);
* ``ListTaskDefinitions`` honours ``sort`` and paginates; ``ListTasks`` honours ``serviceName``, the
  default ``desiredStatus`` of ``RUNNING`` and paginates;
* ``RegisterTaskDefinition``, ``CreateService`` and ``TagResource`` refuse an empty ``tags`` list
  ("Tags can not be empty"), as ECS does and moto does not;
* ``CreateService`` and ``UpdateService`` refuse a PAUSE lifecycle hook at TEST_TRAFFIC_SHIFT or
  PRODUCTION_TRAFFIC_SHIFT, as ECS does;
* ``RunTask`` starts one-off tasks that run to a chosen exit code and write their log lines, and
  ``StopTask`` stops them (see ``run_task``);
* ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
  StopServiceDeployment and ContinueServiceDeployment (moto has none: HTTP 500) are answered from
  the simulator's service deployments (see ``service_deployments``).

:func:`check_internals` lists what these patches rely on; the test suite fails loudly if it changes.
"""

from __future__ import annotations

import base64
import inspect
import threading
import warnings
from typing import Any

from ecspresso.sandbox import service_deployments as sds
from ecspresso.sandbox import task_sets as tsets
from ecspresso.sandbox.model import PAUSE_STAGES
from ecspresso.sandbox.simulator import SIMULATOR

MOTO_VERSION = "5.2.5"

# CreateService parameters that moto 5.2.5 reads and stores itself.
_MOTO_CREATE_PARAMS = {
    "cluster",
    "serviceName",
    "taskDefinition",
    "desiredCount",
    "loadBalancers",
    "schedulingStrategy",
    "serviceRegistries",
    "tags",
    "deploymentController",
    "launchType",
    "platformVersion",
    "propagateTags",
    "networkConfiguration",
    "role",
    "clientToken",
}
_DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
_installed = False
_install_lock = threading.Lock()
ORIGINALS: dict[str, Any] = {}


def install() -> None:
    """Patch moto once per process (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.ecs.models import EC2ContainerServiceBackend as B
        from moto.ecs.responses import EC2ContainerServiceResponse as R

        for cls, name, new in (
            (B, "update_service", _update_service),
            (B, "describe_services", _describe_services),
            (B, "delete_service", _delete_service),
            (B, "stop_task", _stop_task),
            (R, "run_task", _run_task_response),
            (R, "create_service", _create_service_response),
            (R, "register_task_definition", _refusing_empty_tags("register_task_definition")),
            (R, "tag_resource", _refusing_empty_tags("tag_resource")),
            (R, "list_task_definitions", _list_task_definitions_response),
            (R, "list_tasks", _list_tasks_response),
            (R, "update_service", _update_service_response),
        ):
            ORIGINALS[f"{cls.__name__}.{name}"] = getattr(cls, name)
            setattr(cls, name, new)
        for name, new in _NEW_ACTIONS.items():  # moto has no such method: nothing to keep
            setattr(R, name, new)
        from moto.logs.responses import LogsResponse

        ORIGINALS["LogsResponse.get_log_events"] = LogsResponse.get_log_events
        LogsResponse.get_log_events = _get_log_events_response  # type: ignore[method-assign]
        from ecspresso.sandbox import codedeploy_api, failures

        codedeploy_api.install()
        failures.install()
        _installed = True
    from ecspresso.sandbox import codedeploy_api, failures

    problems = check_internals() + codedeploy_api.check_internals() + failures.check_internals()
    if problems:
        warnings.warn(
            "ecspresso.sandbox: moto internals differ from what the simulator expects: "
            + "; ".join(problems),
            RuntimeWarning,
            stacklevel=2,
        )


def _orig(name: str) -> Any:
    return ORIGINALS[name]


# -- backend ---------------------------------------------------------------------------------------
def _update_service(self: Any, props: dict[str, Any]) -> Any:
    from moto.ecs.exceptions import InvalidParameterException

    with SIMULATOR.lock:
        td_str = props.get("task_definition")
        force = bool(props.get("force_new_deployment"))
        current = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
        if td_str and (current.deployment_controller or {}).get("type", "ECS") == "CODE_DEPLOY":
            raise InvalidParameterException(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
                "Use AWS CodeDeploy to deploy new task definitions."
            )
        svc = _orig("EC2ContainerServiceBackend.update_service")(self, dict(props))  # moto pops keys
        if props.get("capacity_provider_strategy"):
            svc.launch_type = None  # a strategy replaces the launch type, as in ECS
        td_arn = self.describe_task_definition(td_str).arn if td_str else None
        SIMULATOR.on_update(self, svc, td_arn, force)
        if tsets.is_code_deploy(svc):
            tsets.sync(svc)  # moto set runningCount to the desired count
        return svc


def _describe_services(self: Any, cluster_str: str, names: list[str]) -> Any:
    with SIMULATOR.lock:
        services, failures = _orig("EC2ContainerServiceBackend.describe_services")(self, cluster_str, names)
        seen: set[int] = set()
        for svc in services:
            if id(svc) not in seen:
                seen.add(id(svc))
                if tsets.is_code_deploy(svc):
                    tsets.on_poll(self, svc)
                else:
                    SIMULATOR.on_poll(self, svc)
        return services, failures


def _delete_service(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
    with SIMULATOR.lock:
        svc = _orig("EC2ContainerServiceBackend.delete_service")(self, cluster_name, service_name, force)
        if tsets.is_code_deploy(svc):
            tsets.on_delete(svc)
        SIMULATOR.on_delete(svc)
        return svc


def _stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
    from ecspresso.sandbox import run_task

    with SIMULATOR.lock:
        task = run_task.find(self, cluster_str, task_str)
        if task is None:
            return _orig("EC2ContainerServiceBackend.stop_task")(self, cluster_str, task_str, reason)
        task.stop_by_user(reason)
        return task


# -- responses -------------------------------------------------------------------------------------
def _get_log_events_response(self: Any) -> Any:
    from ecspresso.sandbox import run_task

    run_task.before_log_read(
        self.region, self._get_param("logGroupName") or "", self._get_param("logStreamName") or ""
    )
    return _orig("LogsResponse.get_log_events")(self)


def _run_task_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    from ecspresso.sandbox import run_task

    with SIMULATOR.lock:
        tasks = run_task.run_task(self.ecs_backend, dict(self.params or {}))
    return ActionResult({"tasks": tasks, "failures": []})


def _check_tags(response: Any) -> None:
    from moto.ecs.exceptions import InvalidParameterException

    if response._get_param("tags") == []:
        raise InvalidParameterException("Tags can not be empty.")


def _refusing_empty_tags(name: str) -> Any:
    key = f"EC2ContainerServiceResponse.{name}"

    def handler(self: Any) -> Any:
        _check_tags(self)
        return _orig(key)(self)

    handler.__name__ = name
    return handler


def _check_hooks(response: Any) -> None:
    """ECS refuses PAUSE hooks where traffic shifts."""
    config = response._get_param("deploymentConfiguration") or {}
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("targetType") != "PAUSE":
            continue
        for stage in hook.get("lifecycleStages") or []:
            if stage not in PAUSE_STAGES:
                raise sds.invalid(f"PAUSE lifecycle hooks are not supported at the {stage} lifecycle stage.")


def _update_service_response(self: Any) -> Any:
    _check_hooks(self)
    return _orig("EC2ContainerServiceResponse.update_service")(self)


def _create_service_response(self: Any) -> Any:
    from botocore import xform_name

    _check_tags(self)
    _check_hooks(self)
    with SIMULATOR.lock:
        result = _orig("EC2ContainerServiceResponse.create_service")(self)
        backend = self.ecs_backend
        svc = backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        for key, value in (self.params or {}).items():
            if key not in _MOTO_CREATE_PARAMS and value is not None:
                setattr(svc, xform_name(key), value)
        if not getattr(svc, "deployment_configuration", None):
            svc.deployment_configuration = dict(_DEFAULT_DEPLOYMENT_CONFIGURATION)
        for flag in ("enable_execute_command", "enable_ecs_managed_tags"):
            if getattr(svc, flag, None) is None:
                setattr(svc, flag, False)
        if self._get_param("launchType") is None:
            cluster = backend._get_cluster(svc.cluster_arn)
            strategy = (
                self._get_param("capacityProviderStrategy") or cluster.default_capacity_provider_strategy
            )
            if strategy:
                svc.launch_type = None
                svc.capacity_provider_strategy = strategy
        if svc.launch_type == "FARGATE" and not svc.platform_version:
            svc.platform_version = "LATEST"
        if tsets.is_code_deploy(svc):
            tsets.on_create(backend, svc)
        else:
            SIMULATOR.on_create(backend, svc)
        return result


def _list_task_definitions_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arns = self.ecs_backend.list_task_definitions(
        self._get_param("familyPrefix"), self._get_param("status", "ACTIVE")
    )

    def key(arn: str) -> tuple[str, int]:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        return family, int(revision)

    arns = sorted(arns, key=key, reverse=(self._get_param("sort") or "ASC").upper() == "DESC")
    return ActionResult(_paginate(self, "taskDefinitionArns", arns))


def _list_tasks_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = self.ecs_backend
    cluster = self._get_param("cluster", "default")
    service_name = self._get_param("serviceName")
    tasks = backend.list_tasks(
        cluster,
        self._get_param("containerInstance"),
        self._get_param("family"),
        self._get_param("startedBy"),
        None,
        self._get_param("desiredStatus") or "RUNNING",
    )
    if service_name:
        svc = backend._get_service(cluster, service_name)  # ServiceNotFoundException like ECS
        tasks = [t for t in tasks if getattr(t, "group", None) == f"service:{svc.name}"]
    return ActionResult(_paginate(self, "taskArns", [t.task_arn for t in tasks]))


def _paginate(response: Any, key: str, items: list[str]) -> dict[str, Any]:
    """ECS-style ``maxResults``/``nextToken`` (an opaque offset)."""
    max_results = response._get_param("maxResults") or 100
    start = _offset(response)
    end = start + int(max_results)
    page: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        page["nextToken"] = _token(end)
    return page


def _offset(response: Any) -> int:
    token = response._get_param("nextToken")
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise sds.invalid("Invalid nextToken") from None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


# -- service deployments (moto has none of these actions) ------------------------------------------
def _list_service_deployments(self: Any) -> Any:
    from moto.core.responses import ActionResult

    with SIMULATOR.lock:
        briefs, end = sds.list_deployments(
            self.ecs_backend,
            self._get_param("cluster") or "default",
            self._get_param("service") or "",
            self._get_param("status"),
            self._get_param("createdAt"),
            self._get_param("maxResults"),
            _offset(self),
        )
    page: dict[str, Any] = {"serviceDeployments": briefs}
    if end is not None:
        page["nextToken"] = _token(end)
    return ActionResult(page)


def _describe_service_deployments(self: Any) -> Any:
    from moto.core.responses import ActionResult

    with SIMULATOR.lock:
        found, failures = sds.describe_deployments(
            self.ecs_backend, self._get_param("serviceDeploymentArns") or []
        )
    return ActionResult({"serviceDeployments": found, "failures": failures})


def _describe_service_revisions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    with SIMULATOR.lock:
        found, failures = sds.describe_revisions(
            self.ecs_backend, self._get_param("serviceRevisionArns") or []
        )
    return ActionResult({"serviceRevisions": found, "failures": failures})


def _stop_service_deployment(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn") or ""
    with SIMULATOR.lock:
        sds.stop(self.ecs_backend, arn, self._get_param("stopType"))
    return ActionResult({"serviceDeploymentArn": arn})


def _continue_service_deployment(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn") or ""
    with SIMULATOR.lock:
        svc = sds.resume(self.ecs_backend, arn, self._get_param("hookId") or "", self._get_param("action"))
        SIMULATOR.resumed(svc, arn)
    return ActionResult({"serviceDeploymentArn": arn})


_NEW_ACTIONS = {
    "list_service_deployments": _list_service_deployments,
    "describe_service_deployments": _describe_service_deployments,
    "describe_service_revisions": _describe_service_revisions,
    "stop_service_deployment": _stop_service_deployment,
    "continue_service_deployment": _continue_service_deployment,
}


# -- canary ----------------------------------------------------------------------------------------
_EXPECTED_SIGNATURES = {
    "EC2ContainerServiceBackend.update_service": ["self", "service_properties"],
    "EC2ContainerServiceBackend.describe_services": ["self", "cluster_str", "service_names_or_arns"],
    "EC2ContainerServiceBackend.delete_service": ["self", "cluster_name", "service_name", "force"],
    "EC2ContainerServiceBackend.list_task_definitions": ["self", "family_prefix", "status"],
    "EC2ContainerServiceBackend.list_tasks": [
        "self",
        "cluster_str",
        "container_instance",
        "family",
        "started_by",
        "service_name",
        "desiredStatus",
    ],
    "EC2ContainerServiceBackend.describe_task_definition": ["self", "task_definition_str"],
    "EC2ContainerServiceBackend._get_service": ["self", "cluster_str", "service_str"],
    "EC2ContainerServiceBackend._get_cluster": ["self", "name"],
    "EC2ContainerServiceBackend.describe_tasks": ["self", "cluster_str", "tasks"],
    "EC2ContainerServiceBackend.stop_task": ["self", "cluster_str", "task_str", "reason"],
    "EC2ContainerServiceResponse.run_task": ["self"],
    "LogsResponse.get_log_events": ["self"],
    "EC2ContainerServiceResponse.create_service": ["self"],
    "EC2ContainerServiceResponse.list_task_definitions": ["self"],
    "EC2ContainerServiceResponse.list_tasks": ["self"],
    "EC2ContainerServiceResponse.update_service": ["self"],
}


def check_internals() -> list[str]:
    """What the patches rely on in moto that is not true any more (empty list: all fine)."""
    import moto
    from moto.ecs.models import EC2ContainerServiceBackend, Service
    from moto.ecs.responses import EC2ContainerServiceResponse

    problems: list[str] = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(
            f"moto {moto.__version__} is installed; the sandbox is written against {MOTO_VERSION}"
        )
    from moto.logs.responses import LogsResponse

    classes = {
        "EC2ContainerServiceBackend": EC2ContainerServiceBackend,
        "EC2ContainerServiceResponse": EC2ContainerServiceResponse,
        "LogsResponse": LogsResponse,
    }
    for name, expected in _EXPECTED_SIGNATURES.items():
        cls_name, attr = name.split(".")
        func = ORIGINALS.get(name) or getattr(classes[cls_name], attr, None)
        if func is None:
            problems.append(f"{name} is gone")
            continue
        params = list(inspect.signature(func).parameters)
        if params != expected:
            problems.append(f"{name}{tuple(params)} != {tuple(expected)}")
    init = list(inspect.signature(Service.__init__).parameters)
    for needed in ("cluster", "service_name", "desired_count", "backend", "launch_type"):
        if needed not in init:
            problems.append(f"Service.__init__ lost {needed!r}")
    backend_src = inspect.getsource(EC2ContainerServiceBackend.__init__)
    for attr in ("self.tasks", "self.services", "self.task_definitions", "self.clusters"):
        if attr not in backend_src:
            problems.append(f"EC2ContainerServiceBackend.__init__ no longer sets {attr}")
    describe_tasks_src = inspect.getsource(
        ORIGINALS.get("EC2ContainerServiceBackend.describe_tasks")
        or EC2ContainerServiceBackend.describe_tasks
    )
    if "advance()" not in describe_tasks_src:
        problems.append("describe_tasks no longer calls task.advance(); SimTask relies on that hook")
    service_src = inspect.getsource(Service.__init__)
    for attr in ("self.deployments", "self.events", "self.running_count", "self.pending_count"):
        if attr not in service_src:
            problems.append(f"Service.__init__ no longer sets {attr}")
    update_src = inspect.getsource(
        ORIGINALS.get("EC2ContainerServiceBackend.update_service")
        or EC2ContainerServiceBackend.update_service
    )
    if "__setattr__(prop_name" not in update_src:
        problems.append("update_service no longer applies parameters with setattr")
    # the service deployment actions are added as methods, dispatched by name; the records live on
    # Service objects (its arn, cluster_name, cluster_arn, name, load_balancers, service_registries)
    for name, ours in _NEW_ACTIONS.items():
        if getattr(EC2ContainerServiceResponse, name, ours) is not ours:
            problems.append(f"moto now implements {name}; the sandbox's answer would replace it")
    service_src = inspect.getsource(Service)
    for attr in ("def arn", "self.cluster_name", "self.load_balancers", "self.service_registries"):
        if attr not in service_src:
            problems.append(f"Service lost {attr}")
    from moto.core.responses import BaseResponse

    dispatch_src = inspect.getsource(BaseResponse.call_action)
    if "camelcase_to_underscores" not in dispatch_src or "method_names_from_class" not in dispatch_src:
        problems.append("BaseResponse.call_action no longer dispatches actions to snake_case methods")
    return problems
