"""CodeDeploy blue/green deployments of ECS services: a walk through the lifecycle events.

A CreateDeployment for an ECS application whose deployment group names a CODE_DEPLOY service
(``ecsServices``) deploys the task definition of its AppSpec (``revisionType`` AppSpecContent or
String; ``Resources[0].<name>.Properties.TaskDefinition``, an ARN or ``family:rev``). Time moves
**only on GetDeployment**: one step per call, or with a scenario's ``seconds`` one step per that many
seconds of real time (catching up at the call). GetDeploymentTarget, BatchGetDeploymentTargets,
ListDeploymentTargets, BatchGetDeployments and DescribeServices only read. GetDeployment of a
deployment that has finished moves its rollback deployment on instead (if one is running).

The walk (each line one step; ``Pending`` events become ``InProgress`` one at a time, then
``Succeeded`` at the next step, which also starts the next event):

* created: status ``Created`` (GetDeploymentTarget/ListDeploymentTargets: DeploymentNotStartedException);
* step 1: ``InProgress``, target ``InProgress``, BeforeInstall InProgress;
* Install: the replacement task set is created (ACTIVE, scale 100 %, on the other target group of
  the group's ``targetGroupPairInfoList``), its tasks PENDING; when Install succeeds they RUN and the
  task set is STEADY_STATE;
* AllowTestTraffic: the test listener goes to the replacement;
* AllowTraffic: production traffic moves by the deployment config, one step per increment:
  ``CodeDeployDefault.ECSAllAtOnce`` 0 → 100, ``ECSLinear<P>PercentEvery<M>Minutes`` P, 2P, … 100,
  ``ECSCanary<P>Percent<M>Minutes`` P then 100 (the minutes are not waited; any other or custom
  config is all at once); when it succeeds the replacement becomes the PRIMARY task set and the
  service's ``taskDefinition`` and ``loadBalancers`` follow it;
* AfterAllowTraffic succeeds: the original task set's tasks stop, it is deleted, and the deployment
  is ``Succeeded`` (after ``terminationWaitTimeInMinutes`` more steps when the group's
  ``terminateBlueInstancesOnDeploymentSuccess`` asks for a wait; ContinueDeployment with
  TERMINATION_WAIT ends the wait).

With ``deploymentReadyOption.actionOnTimeout`` STOP_DEPLOYMENT the deployment is ``Ready`` (target
``Ready``) after AfterAllowTestTraffic until ContinueDeployment(READY_WAIT); *the wait never times out.

Scenarios (``Sandbox.codedeploy_scenario``; the next deployment of that service takes it):
``succeed``; ``fail`` at an event (default Install): the event is InProgress for one step, then
Failed with ``diagnostics`` and the deployment Failed with ``errorInformation``; at Install the
replacement's tasks fail to start (STOPPED, ``stoppedReason``/container ``reason``, e.g.
CannotPullContainerError, or an exit code); ``never`` at an event: it stays InProgress. A pending
``Sandbox.scenario`` kind for a CODE_DEPLOY service counts as well: stable → succeed, fail → fail at
Install, never → never at Install.

Rollback: a failure with ``autoRollbackConfiguration`` ``{enabled: true, events: [DEPLOYMENT_FAILURE…]}``
(CreateDeployment's, else the group's), or StopDeployment with ``autoRollbackEnabled`` (*unset: the
config's DEPLOYMENT_STOP_ON_REQUEST), creates a rollback deployment (creator ``codeDeployRollback``,
``rollbackInfo.rollbackTriggeringDeploymentId``; the failed one gets ``rollbackInfo.rollbackDeploymentId``)
on the original task definition. *It reports the five events before BeforeAllowTraffic as Skipped and
walks BeforeAllowTraffic, AllowTraffic (all traffic back at once), AfterAllowTraffic; then the
replacement task set is deleted and the original is PRIMARY alone. Without rollback the service is
left as it is (both task sets); the next deployment deletes task sets other than the PRIMARY one.

Choices where AWS does not say (*): hook events run one step each, Succeeded with or without a
Lambda in ``Hooks``; ``taskSetLabel`` Blue is the task set traffic moves away from, Green the one it
moves to (in a rollback: the replacement and the original); a deleted task set stays in
``taskSetsInfo`` as DRAINING with zero counts; a stopped deployment's InProgress event and target
become Failed; the replacement task set's ``startedBy`` is ``CodeDeploy``; error codes and messages:
hook failure HOOK_EXECUTION_FAILURE (diagnostics ScriptFailed), Install failure ECS_UPDATE_ERROR
(diagnostics UnknownError), StopDeployment MANUAL_STOP, a bad AppSpec or unknown task definition
INVALID_REVISION and a group without a CODE_DEPLOY service INVALID_ECS_SERVICE (the deployment fails
at its first step).
"""

from __future__ import annotations

import copy
import random
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecspresso.deployments import CODEDEPLOY_EVENTS
from ecspresso.sandbox import task_sets as tsets
from ecspresso.sandbox.model import utcnow

#: CodeDeploy's lifecycle events of an ECS deployment, and those a hook may name: the names
#: CodeDeploy defines, shared with the client (ecspresso.deployments, ecspresso.codedeploy)
EVENTS = CODEDEPLOY_EVENTS
KINDS = ("succeed", "fail", "never")
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
FINAL = ("Succeeded", "Failed", "Stopped")
RUN_ATTR = "_sandbox_run"
_ROLLBACK_FROM = EVENTS.index("BeforeAllowTraffic")
_MAX_CATCH_UP = 10_000


@dataclass(frozen=True)
class CdScenario:
    """How the next CodeDeploy deployment of one service behaves."""

    kind: str = "succeed"
    at: str | None = None  # fail/never: the lifecycle event (default Install)
    reason: str | None = None
    seconds: float | None = None
    exit_code: int | None = None
    failed_tasks: int | None = None
    log_lines: tuple[str, ...] = ()  # what each failed task's container wrote (see Scenario)
    target_health: str | None = None  # the failed tasks are unhealthy targets (see Scenario)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown CodeDeploy scenario kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        if self.at is not None and self.at not in EVENTS:
            raise ValueError(f"unknown lifecycle event {self.at!r}; expected one of {', '.join(EVENTS)}")
        if self.at is not None and self.kind == "succeed":
            raise ValueError("'at' needs kind 'fail' or 'never'")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError("seconds must be >= 0")
        if self.failed_tasks is not None and self.failed_tasks < 1:
            raise ValueError("failed_tasks must be >= 1")

    @property
    def event(self) -> str | None:
        return None if self.kind == "succeed" else (self.at or "Install")


@dataclass
class LifecycleEvent:
    name: str
    status: str = "Pending"
    start: datetime | None = None
    end: datetime | None = None
    diagnostics: dict[str, str] | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lifecycleEventName": self.name, "status": self.status}
        for key, value in (
            ("startTime", self.start),
            ("endTime", self.end),
            ("diagnostics", self.diagnostics),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass
class Run:
    """The sandbox's bookkeeping for one simulated deployment (on moto's DeploymentInfo)."""

    deployment: Any  # moto's DeploymentInfo
    account: str
    region: str
    cluster: str
    service: str
    service_arn: str
    task_definition: str  # what it deploys (an ARN once resolved)
    appspec: dict[str, Any]
    content: str
    scenario: CdScenario
    weights: list[float]
    entered: float  # clock reading of the last step (seconds mode)
    events: list[LifecycleEvent] = field(default_factory=lambda: [LifecycleEvent(n) for n in EVENTS])
    index: int = -1
    weight_index: int = 0
    production: float = 0.0  # production traffic weight of the target task set
    source: Any = None  # the task set traffic moves away from (moto TaskSet)
    target: Any = None  # the task set traffic moves to
    rollback_of: str | None = None
    rollback_id: str | None = None
    rollback_on_failure: bool = False
    rollback_on_stop: bool = False
    stop: bool | None = None  # a StopDeployment to carry out: its autoRollbackEnabled
    stop_requested: bool = False
    ready_wait: bool = False
    ready: bool = False
    continue_requested: str | None = None  # READY_WAIT / TERMINATION_WAIT
    termination_wait: int = 0
    waited: int = 0
    terminating: bool = False
    target_status: str = "Pending"
    error: dict[str, str] | None = None
    invalid: tuple[str, str] | None = None
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def id(self) -> str:
        return str(self.deployment.deployment_id)

    @property
    def status(self) -> str:
        return str(self.deployment.status)

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    @property
    def current(self) -> LifecycleEvent | None:
        return self.events[self.index] if 0 <= self.index < len(self.events) else None

    def touch(self) -> None:
        self.updated_at = max(utcnow(), self.updated_at)


def run_of(deployment: Any) -> Run | None:
    return getattr(deployment, RUN_ATTR, None)


# -- pending scenarios -----------------------------------------------------------------------------
_pending: dict[tuple[str, str], CdScenario] = {}
_pending_lock = threading.Lock()


def set_scenario(cluster: str, service: str, scenario: CdScenario) -> None:
    with _pending_lock:
        _pending[(cluster.split("/")[-1], service.split("/")[-1])] = scenario


def clear() -> None:
    with _pending_lock:
        _pending.clear()


def take_scenario(cluster: str, service: str) -> CdScenario:
    """The scenario for the next deployment of the service (consumed); an ECS one translated."""
    from ecspresso.sandbox.simulator import SIMULATOR

    with _pending_lock:
        found = _pending.pop((cluster, service), None)
    ecs = SIMULATOR.take(cluster, service)
    if found is not None:
        return found
    if ecs is None or ecs.kind == "stable":
        return CdScenario(seconds=ecs.seconds if ecs is not None else None)
    kind = "fail" if ecs.kind == "fail" else "never"
    return CdScenario(kind, "Install", ecs.reason, ecs.seconds, ecs.exit_code, ecs.failed_tasks,
                      ecs.log_lines, ecs.target_health)  # fmt: skip


# -- building a run --------------------------------------------------------------------------------
def traffic_steps(config_name: str | None) -> list[float]:
    """Production weights of the replacement during AllowTraffic, one per step."""
    import re

    name = config_name or ""
    linear = re.fullmatch(r"CodeDeployDefault\.ECSLinear(\d+)PercentEvery\d+Minutes?", name)
    canary = re.fullmatch(r"CodeDeployDefault\.ECSCanary(\d+)Percent\d+Minutes?", name)
    if linear and 0 < int(linear.group(1)) < 100:
        step = float(linear.group(1))
        weights = [step * k for k in range(1, 100) if step * k < 100.0]
        return [*weights, 100.0]
    if canary and 0 < int(canary.group(1)) < 100:
        return [float(canary.group(1)), 100.0]
    return [100.0]


def appspec_of(revision: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(content, parsed) of an AppSpecContent/String revision; parsed is {} when it cannot be read."""
    import yaml

    holder = revision.get("appSpecContent") or revision.get("string") or {}
    content = str(holder.get("content") or "")
    try:
        doc = yaml.safe_load(content) if content else None
    except yaml.YAMLError:
        doc = None
    return content, doc if isinstance(doc, dict) else {}


def target_properties(appspec: dict[str, Any]) -> dict[str, Any]:
    resources = appspec.get("Resources") or []
    first = resources[0] if isinstance(resources, list) and resources else {}
    body: Any = next(iter(first.values()), {}) if isinstance(first, dict) and first else {}
    props = body.get("Properties") if isinstance(body, dict) else None
    return props if isinstance(props, dict) else {}


def hooks_of(appspec: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for hook in appspec.get("Hooks") or []:
        if isinstance(hook, dict):
            out.update({str(k): str(v) for k, v in hook.items()})
    return out


def new_deployment_id() -> str:
    return "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))


def rekey(cd_backend: Any, deployment: Any) -> None:
    """Give a moto deployment (uuid id) a CodeDeploy-like ``d-XXXXXXXXX`` id."""
    old = deployment.deployment_id
    new = new_deployment_id()
    while new in cd_backend.deployments:
        new = new_deployment_id()
    cd_backend.deployments = {(new if k == old else k): v for k, v in cd_backend.deployments.items()}
    deployment.deployment_id = new


def effective_rollback(deployment: Any) -> dict[str, Any]:
    own = deployment.auto_rollback_configuration
    return dict(own if own is not None else deployment.deployment_group.auto_rollback_configuration or {})


def start(cd_backend: Any, deployment: Any, clock: float) -> Run | None:
    """Attach a run to a new deployment of an ECS application (None for other platforms)."""
    from moto.ecs.models import ecs_backends

    if deployment.application.compute_platform != "ECS":
        return None
    group = deployment.deployment_group
    ecs = ecs_backends[cd_backend.account_id][cd_backend.region_name]
    service_ref = (group.ecs_services or [{}])[0]
    cluster, name = str(service_ref.get("clusterName") or ""), str(service_ref.get("serviceName") or "")
    svc = ecs.services.get(f"{cluster}:{name}")
    content, appspec = appspec_of(deployment.revision or {})
    td = str(target_properties(appspec).get("TaskDefinition") or "")
    run = Run(
        deployment, cd_backend.account_id, cd_backend.region_name, cluster, name,
        svc.arn if svc is not None else "", td, appspec, content,
        take_scenario(cluster, name), traffic_steps(deployment.deployment_config_name), clock,
    )  # fmt: skip
    rollback = effective_rollback(deployment)
    events = rollback.get("events") or []
    run.rollback_on_failure = bool(rollback.get("enabled")) and "DEPLOYMENT_FAILURE" in events
    run.rollback_on_stop = bool(rollback.get("enabled")) and "DEPLOYMENT_STOP_ON_REQUEST" in events
    config = group.blue_green_deployment_configuration or {}
    ready = config.get("deploymentReadyOption") or {}
    run.ready_wait = ready.get("actionOnTimeout") == "STOP_DEPLOYMENT"
    terminate = config.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    run.termination_wait = max(0, int(terminate.get("terminationWaitTimeInMinutes") or 0))
    if svc is None or svc.status != "ACTIVE" or not tsets.is_code_deploy(svc):
        run.invalid = ("INVALID_ECS_SERVICE", f"The ECS service {cluster}:{name} of deployment group "
                       f"{group.deployment_group_name} does not exist or does not use the CODE_DEPLOY "
                       "deployment controller.")  # fmt: skip
    elif not td:
        run.invalid = ("INVALID_REVISION", "The AppSpec file has no Resources[0].TargetService.Properties."
                       "TaskDefinition, or cannot be parsed.")  # fmt: skip
    else:
        try:
            run.task_definition = ecs.describe_task_definition(td).arn
        except Exception:
            run.invalid = (
                "INVALID_REVISION",
                f"The task definition {td} of the AppSpec file does not exist.",
            )
    setattr(deployment, RUN_ATTR, run)
    return run


def with_sha256(revision: dict[str, Any]) -> dict[str, Any]:
    """A copy of an AppSpecContent/String revision with the ``sha256`` of its content."""
    import hashlib

    content = appspec_of(revision)[0]
    out = copy.deepcopy(revision)
    for key in ("appSpecContent", "string"):
        if isinstance(out.get(key), dict):
            out[key].setdefault("sha256", hashlib.sha256(content.encode()).hexdigest())
    return out


def _clean(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if v is not None and v != {} and v != [] and v != ""}


# -- API shapes ----------------------------------------------------------------------------------------
def deployment_info(backend: Any, dep: Any) -> dict[str, Any]:
    from moto.codedeploy.responses import _deployment_info

    info = _deployment_info(dep)
    revision = dict(info.get("revision") or {})
    for key in ("appSpecContent", "string"):
        if isinstance(revision.get(key), dict):
            revision[key] = {k: v for k, v in revision[key].items() if k != "content"}
    info["revision"] = revision
    run = run_of(dep)
    if run is not None:
        info["errorInformation"] = run.error
        info["deploymentStyle"] = dep.deployment_group.deployment_style or {
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        }
        info["instanceTerminationWaitTimeStarted"] = bool(
            getattr(dep, "instance_termination_wait_time_started", False)
        )
        info["rollbackInfo"] = _rollback_info(backend, run)
    return _clean(info)


def _rollback_info(backend: Any, run: Run) -> dict[str, Any] | None:
    if run.rollback_id:
        rollback = backend.deployments.get(run.rollback_id)
        status = rollback.status if rollback is not None else "Unknown"
        return {
            "rollbackDeploymentId": run.rollback_id,
            "rollbackMessage": f"Rollback deployment {run.rollback_id} is {status}.",
        }
    if run.rollback_of:
        return {
            "rollbackTriggeringDeploymentId": run.rollback_of,
            "rollbackMessage": f"Automatic rollback of deployment {run.rollback_of}.",
        }
    return None


def deployment_group_info(backend: Any, group: Any) -> dict[str, Any]:
    from moto.codedeploy.responses import _deployment_group_info

    info = _deployment_group_info(group)
    info["autoRollbackConfiguration"] = group.auto_rollback_configuration or {"enabled": False, "events": []}
    alarms = group.alarm_configuration
    info["alarmConfiguration"] = alarms if isinstance(alarms, dict) else None
    mine = [
        d
        for d in backend.deployments.values()
        if d.application_name == group.application.application_name
        and d.deployment_group_name == group.deployment_group_name
    ]

    def last(deployments: list[Any]) -> dict[str, Any] | None:
        if not deployments:
            return None
        d = deployments[-1]
        return _clean(
            {
                "deploymentId": d.deployment_id,
                "status": d.status,
                "createTime": d.create_time,
                "endTime": d.complete_time,
            }
        )

    info["lastAttemptedDeployment"] = last(mine)
    info["lastSuccessfulDeployment"] = last([d for d in mine if d.status == "Succeeded"])
    return _clean(info)
