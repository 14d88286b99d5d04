"""Class-level patches of moto's CodeDeploy responses: simulated ECS deployments and the missing actions.

What they change or add (moto 5.2.5 has CreateDeployment/GetDeployment as static records and no
BatchGetDeploymentGroups, deployment targets, StopDeployment, ContinueDeployment or
GetApplicationRevision):

* CreateDeployment: ``d-XXXXXXXXX`` ids; an ECS deployment walks its lifecycle (``codedeploy``);
  DeploymentLimitExceededException while the group has an active deployment; the revision keeps the
  ``sha256`` of its content. CreateDeploymentGroup of an ECS application defaults to
  ``CodeDeployDefault.ECSAllAtOnce`` (moto: OneAtATime).
* GetDeployment is one step of time; it and BatchGetDeployments (at most 25 ids) report
  ``errorInformation``, ``rollbackInfo``, ``deploymentOverview``, ``completeTime`` and never the
  revision's ``content`` (the API reference: always null; GetApplicationRevision has it).
* GetApplicationRevision finds an AppSpecContent/String revision by ``sha256`` (or content).
* ListDeployments: newest first (ecspresso takes ``[0]`` as the latest), 100 per page.
* ListApplications and ListDeploymentGroups: 100 per page with an opaque ``nextToken``
  (InvalidNextTokenException); ListDeploymentGroups of an unknown application:
  ApplicationDoesNotExistException. BatchGetApplications and BatchGetDeploymentGroups take at most
  100 names (BatchLimitExceededException); unknown group names are named in ``errorMessage``; a
  group without automatic rollback reports ``{enabled: false, events: []}``.
* GetDeploymentTarget / BatchGetDeploymentTargets (at most 25) / ListDeploymentTargets (filter
  ``TargetStatus``): the target ``<cluster>:<service>``; DeploymentNotStartedException while the
  deployment is Created, DeploymentTargetDoesNotExistException for other ids.
* StopDeployment: DeploymentAlreadyCompletedException once finished; else ``{status: Pending}``,
  carried out at the next GetDeployment. ContinueDeployment: READY_WAIT needs a Ready deployment
  (DeploymentIsNotInReadyStateException), TERMINATION_WAIT one waiting to terminate the original
  task set (InvalidDeploymentStatusException); carried out at the next GetDeployment.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

from ecspresso.sandbox import codedeploy as cdm
from ecspresso.sandbox import codedeploy_walk as walk
from ecspresso.sandbox.simulator import SIMULATOR

PAGE = 100
MAX_BATCH = 100
MAX_DEPLOYMENTS_BATCH = 25
MAX_TARGETS_BATCH = 25
_installed = False
_install_lock = threading.Lock()
ORIGINALS: dict[str, Any] = {}


def install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.codedeploy.responses import CodeDeployResponse as R

        for name, new in _PATCHED.items():
            ORIGINALS[name] = getattr(R, name)
            setattr(R, name, new)
        for name, new in _NEW_ACTIONS.items():
            setattr(R, name, new)
        _installed = True


def _error(code: str, message: str) -> Exception:
    from moto.codedeploy.exceptions import CodeDeployException

    return CodeDeployException(code, message)


def _result(value: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)


# -- pagination ------------------------------------------------------------------------------------
def _page(response: Any, key: str, items: list[str]) -> dict[str, Any]:
    token = response._get_param("nextToken")
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise _error(
            "InvalidNextTokenException", "The next token was specified in an invalid format."
        ) from None
    if start < 0 or start > len(items):
        raise _error("InvalidNextTokenException", "The next token was specified in an invalid format.")
    page: dict[str, Any] = {key: items[start : start + PAGE]}
    if start + PAGE < len(items):
        page["nextToken"] = base64.urlsafe_b64encode(str(start + PAGE).encode()).decode()
    return page


# -- patched actions -------------------------------------------------------------------------------
def _create_deployment_group(self: Any) -> Any:
    result = ORIGINALS["create_deployment_group"](self)
    backend = self.codedeploy_backend
    app = backend.applications[self._get_param("applicationName")]
    if app.compute_platform == "ECS" and not self._get_param("deploymentConfigName"):
        group = backend.deployment_groups[app.application_name][self._get_param("deploymentGroupName")]
        group.deployment_config_name = "CodeDeployDefault.ECSAllAtOnce"
    return result


def _create_deployment(self: Any) -> Any:
    backend = self.codedeploy_backend
    app_name, group_name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
    with SIMULATOR.lock:
        for other in backend.deployments.values():
            if (
                other.application_name == app_name
                and other.deployment_group_name == group_name
                and other.status in cdm.ACTIVE
            ):
                raise _error(
                    "DeploymentLimitExceededException",
                    f"The Deployment Group '{group_name}' already has an active Deployment "
                    f"'{other.deployment_id}'",
                )
        created = ORIGINALS["create_deployment"](self)
        dep = backend.deployments[created.result["deploymentId"]]
        cdm.rekey(backend, dep)
        dep.revision = cdm.with_sha256(dep.revision or {})
        cdm.start(backend, dep, SIMULATOR.clock())
        return _result({"deploymentId": dep.deployment_id})


def _get_deployment(self: Any) -> Any:
    backend = self.codedeploy_backend
    with SIMULATOR.lock:
        dep = backend.get_deployment(self._get_param("deploymentId"))
        walk.advance(dep, SIMULATOR.clock())
        return _result({"deploymentInfo": cdm.deployment_info(backend, dep)})


def _batch_get_deployments(self: Any) -> Any:
    backend = self.codedeploy_backend
    ids = self._get_param("deploymentIds") or []
    if len(ids) > MAX_DEPLOYMENTS_BATCH:
        raise _error("BatchLimitExceededException", "The maximum number of deployment IDs (25) was exceeded.")
    with SIMULATOR.lock:
        found = backend.batch_get_deployments(ids)
        return _result({"deploymentsInfo": [cdm.deployment_info(backend, d) for d in found]})


def _list_deployments(self: Any) -> Any:
    backend = self.codedeploy_backend
    ids = backend.list_deployments(
        self._get_param("applicationName"),
        self._get_param("deploymentGroupName"),
        self._get_param("externalId"),
        self._get_param("includeOnlyStatuses"),
        self._get_param("createTimeRange", {}),
    )
    order = {dep_id: i for i, dep_id in enumerate(backend.deployments)}
    ids = sorted(ids, key=lambda d: (backend.deployments[d].create_time, order[d]), reverse=True)
    return _result(_page(self, "deployments", ids))


def _list_applications(self: Any) -> Any:
    return _result(_page(self, "applications", list(self.codedeploy_backend.applications)))


def _list_deployment_groups(self: Any) -> Any:
    backend = self.codedeploy_backend
    name = self._get_param("applicationName")
    backend.get_application(name)  # ApplicationDoesNotExistException
    groups = list(backend.deployment_groups.get(name, {}))
    return _result({"applicationName": name, **_page(self, "deploymentGroups", groups)})


def _batch_get_applications(self: Any) -> Any:
    names = self._get_param("applicationNames") or []
    if len(names) > MAX_BATCH:
        raise _error(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    return ORIGINALS["batch_get_applications"](self)


def _get_deployment_group(self: Any) -> Any:
    backend = self.codedeploy_backend
    group = backend.get_deployment_group(
        self._get_param("applicationName"), self._get_param("deploymentGroupName")
    )
    return _result({"deploymentGroupInfo": cdm.deployment_group_info(backend, group)})


# -- new actions -----------------------------------------------------------------------------------
def _batch_get_deployment_groups(self: Any) -> Any:
    backend = self.codedeploy_backend
    app_name = self._get_param("applicationName")
    names = self._get_param("deploymentGroupNames")
    if not app_name:
        raise _error(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    if names is None:
        raise _error("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
    if len(names) > MAX_BATCH:
        raise _error(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    backend.get_application(app_name)
    groups = backend.deployment_groups.get(app_name, {})
    with SIMULATOR.lock:
        found = [cdm.deployment_group_info(backend, groups[n]) for n in names if n in groups]
    missing = [n for n in names if n not in groups]
    out: dict[str, Any] = {"deploymentGroupsInfo": found}
    if missing:
        out["errorMessage"] = f"Deployment groups not found for application {app_name}: {', '.join(missing)}"
    return _result(out)


def _started_run(backend: Any, deployment_id: str | None) -> cdm.Run:
    if not deployment_id:
        raise _error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    dep = backend.get_deployment(deployment_id)
    run = cdm.run_of(dep)
    if run is None or dep.status in ("Created", "Queued"):
        raise _error("DeploymentNotStartedException", f"The deployment {deployment_id} has not started.")
    return run


def _target(run: cdm.Run, target_id: str | None) -> dict[str, Any]:
    if not target_id:
        raise _error("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    if target_id != f"{run.cluster}:{run.service}":
        raise _error(
            "DeploymentTargetDoesNotExistException",
            f"The deployment target {target_id} does not exist in deployment {run.id}.",
        )
    return {"deploymentTargetType": "ECSTarget", "ecsTarget": walk.ecs_target(run)}


def _get_deployment_target(self: Any) -> Any:
    with SIMULATOR.lock:
        run = _started_run(self.codedeploy_backend, self._get_param("deploymentId"))
        return _result({"deploymentTarget": _target(run, self._get_param("targetId"))})


def _batch_get_deployment_targets(self: Any) -> Any:
    ids = self._get_param("targetIds") or []
    if len(ids) > MAX_TARGETS_BATCH:
        raise _error(
            "DeploymentTargetListSizeExceededException", "The maximum number of targets (25) was exceeded."
        )
    with SIMULATOR.lock:
        run = _started_run(self.codedeploy_backend, self._get_param("deploymentId"))
        return _result({"deploymentTargets": [_target(run, target_id) for target_id in ids]})


def _list_deployment_targets(self: Any) -> Any:
    with SIMULATOR.lock:
        run = _started_run(self.codedeploy_backend, self._get_param("deploymentId"))
        filters = self._get_param("targetFilters") or {}
        for name in filters:
            if name not in ("TargetStatus", "ServerInstanceLabel"):
                raise _error("InvalidTargetFilterNameException", f"The target filter name {name} is invalid.")
        statuses = filters.get("TargetStatus")
        ids = [] if statuses and run.target_status not in statuses else [f"{run.cluster}:{run.service}"]
        return _result(_page(self, "targetIds", ids))


def _unfinished(backend: Any, deployment_id: str) -> Any:
    """The deployment, which must not have finished (StopDeployment, ContinueDeployment)."""
    dep = backend.get_deployment(deployment_id)
    if dep.status in cdm.FINAL:
        raise _error(
            "DeploymentAlreadyCompletedException", f"The deployment {deployment_id} has already completed."
        )
    return dep


def _stop_deployment(self: Any) -> Any:
    backend = self.codedeploy_backend
    deployment_id = self._get_param("deploymentId")
    if not deployment_id:
        raise _error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    with SIMULATOR.lock:
        dep = _unfinished(backend, deployment_id)
        run = cdm.run_of(dep)
        if run is None:  # not simulated (not ECS): it just stops
            dep.status = "Stopped"
            return _result({"status": "Succeeded", "statusMessage": "The deployment was stopped."})
        if not run.stop_requested:
            walk.request_stop(run, self._get_param("autoRollbackEnabled"))
        return _result(
            {"status": "Pending", "statusMessage": f"A stop of deployment {deployment_id} is pending."}
        )


def _continue_deployment(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = self.codedeploy_backend
    deployment_id = self._get_param("deploymentId")
    wait_type = self._get_param("deploymentWaitType") or "READY_WAIT"
    with SIMULATOR.lock:
        dep = _unfinished(backend, deployment_id)
        run = cdm.run_of(dep)
        if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise _error("InvalidDeploymentWaitTypeException", f"The wait type {wait_type} is invalid.")
        if wait_type == "READY_WAIT" and (run is None or not run.ready):
            raise _error(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {deployment_id} is not in the Ready state.",
            )
        if wait_type == "TERMINATION_WAIT" and (run is None or not run.terminating):
            raise _error(
                "InvalidDeploymentStatusException",
                f"The deployment {deployment_id} is not waiting to terminate the original task set.",
            )
        assert run is not None
        walk.request_continue(run, wait_type)
    return EmptyResult()


def _get_application_revision(self: Any) -> Any:
    backend = self.codedeploy_backend
    app_name = self._get_param("applicationName")
    if not app_name:
        raise _error(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    backend.get_application(app_name)
    revision = self._get_param("revision")
    if not revision:
        raise _error("RevisionRequiredException", "The revision ID was not specified.")
    holder_key = "appSpecContent" if "appSpecContent" in revision else "string"
    holder = revision.get(holder_key) or {}
    sha = holder.get("sha256") or (
        hashlib.sha256(str(holder["content"]).encode()).hexdigest() if holder.get("content") else None
    )
    used = [
        d
        for d in backend.deployments.values()
        if d.application_name == app_name
        and sha
        and ((d.revision or {}).get(holder_key) or {}).get("sha256") == sha
    ]
    if not used:
        raise _error(
            "RevisionDoesNotExistException", f"No application revision found for revision {sha or revision}."
        )
    first, last = min(used, key=lambda d: d.create_time), max(used, key=lambda d: d.create_time)
    return _result(
        {
            "applicationName": app_name,
            "revision": {
                "revisionType": revision.get("revisionType"),
                holder_key: dict(first.revision[holder_key]),
            },
            "revisionInfo": {
                "deploymentGroups": sorted({d.deployment_group_name for d in used}),
                "firstUsedTime": first.create_time,
                "lastUsedTime": last.create_time,
                "registerTime": first.create_time,
            },
        }
    )


_PATCHED = {
    "create_deployment_group": _create_deployment_group,
    "create_deployment": _create_deployment,
    "get_deployment": _get_deployment,
    "batch_get_deployments": _batch_get_deployments,
    "list_deployments": _list_deployments,
    "list_applications": _list_applications,
    "list_deployment_groups": _list_deployment_groups,
    "batch_get_applications": _batch_get_applications,
    "get_deployment_group": _get_deployment_group,
}
_NEW_ACTIONS = {
    "batch_get_deployment_groups": _batch_get_deployment_groups,
    "get_deployment_target": _get_deployment_target,
    "batch_get_deployment_targets": _batch_get_deployment_targets,
    "list_deployment_targets": _list_deployment_targets,
    "stop_deployment": _stop_deployment,
    "continue_deployment": _continue_deployment,
    "get_application_revision": _get_application_revision,
}


def check_internals() -> list[str]:
    """What these patches rely on in moto's CodeDeploy that is not true any more."""
    import inspect

    from moto.codedeploy import responses
    from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
    from moto.codedeploy.responses import CodeDeployResponse

    problems: list[str] = []
    for name in _PATCHED:
        if name not in ORIGINALS and not hasattr(CodeDeployResponse, name):
            problems.append(f"CodeDeployResponse.{name} is gone")
    for name, ours in _NEW_ACTIONS.items():
        if getattr(CodeDeployResponse, name, ours) is not ours:
            problems.append(
                f"moto now implements CodeDeployResponse.{name}; the sandbox's answer would replace it"
            )
    for func in ("_deployment_info", "_deployment_group_info"):
        if not hasattr(responses, func):
            problems.append(f"moto.codedeploy.responses.{func} is gone")
    init = inspect.getsource(DeploymentInfo.__init__)
    for attr in (
        "self.deployment_id",
        "self.status",
        "self.revision",
        "self.creator",
        "self.deployment_group",
    ):
        if attr not in init:
            problems.append(f"DeploymentInfo.__init__ no longer sets {attr}")
    params = list(inspect.signature(CodeDeployBackend.create_deployment).parameters)
    if params[:5] != [
        "self",
        "application_name",
        "deployment_group_name",
        "revision",
        "deployment_config_name",
    ]:
        problems.append(f"CodeDeployBackend.create_deployment{tuple(params)} changed")
    return problems
