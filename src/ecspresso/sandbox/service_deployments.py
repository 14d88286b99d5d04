"""Service deployments and service revisions: ECS's record of each rollout, kept beside the simulator.

Every deployment the simulator starts (CreateService, UpdateService with a new task definition or
``forceNewDeployment``) opens a *service deployment* (SD) with its own *service revision* (the task
definition plus the service's network, load balancer and capacity settings at that time). ECS's
own circuit-breaker rollback, and a rollback asked for by StopServiceDeployment or
ContinueServiceDeployment, run inside the SD they roll back: they deploy its source revision.

Time: only ``DescribeServices`` moves deployments on (one step per poll, or per second with a
scenario's ``seconds``). ListServiceDeployments, DescribeServiceDeployments and
DescribeServiceRevisions only read; StopServiceDeployment and ContinueServiceDeployment only record
a request, which the next ``DescribeServices`` of the service carries out.

What the sandbox answers (AWS documents the shapes; where it is silent, the choice is marked *):

* ARNs: ``arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<21 chars>`` and
  ``…:service-revision/<cluster>/<service>/<19 digits>``, as in the API reference examples.
* Status: IN_PROGRESS from the start (*PENDING is never reported: deployments start at once);
  SUCCESSFUL exactly when the rollout's ``rolloutState`` becomes COMPLETED; a circuit-breaker
  failure with rollback: ROLLBACK_IN_PROGRESS (``rollback`` and ``statusReason`` set) until the
  rollback deployment completes, then ROLLBACK_SUCCESSFUL; a failure without rollback: STOPPED with
  ``stoppedAt`` (the API reference: "the rollback option is not in use … and the service fails");
  *replaced by a newer deployment before it finished: STOPPED, ``statusReason`` naming the newer
  SD. ``finishedAt`` is set for every final status, ``stoppedAt`` only for STOPPED.
* Counts: ``targetServiceRevision`` and ``sourceServiceRevisions`` (the revisions that had tasks
  when it started; ``[]`` for a service's first deployment) carry the same task counts as
  ``DescribeServices.deployments[]``; a rollback deployment counts towards the source revision it
  runs. Counts freeze when the SD finishes. Traffic weights are only reported for
  BLUE_GREEN/LINEAR/CANARY services (absent for ROLLING, as ecspresso expects).
* ``deploymentCircuitBreaker``: DISABLED, MONITORING, MONITORING_COMPLETE, or TRIGGERED when the
  simulated circuit breaker tripped; threshold ``0.5 * desired`` within [3, 200].
* ListServiceDeployments: *newest first (by ``createdAt``); ``status`` and ``createdAt`` filters;
  ``maxResults`` 1 to 100, default 20; opaque ``nextToken``. Unknown cluster or service:
  ClusterNotFoundException / ServiceNotFoundException.
* DescribeServiceDeployments / DescribeServiceRevisions: at most 20 ARNs
  (InvalidParameterException); unknown ARNs come back in ``failures`` with reason MISSING.
* StopServiceDeployment: unknown ARN: ServiceDeploymentNotFoundException; an SD that has finished:
  *ConflictException; ROLLBACK without a source revision: *InvalidParameterException; on
  STOP_REQUESTED/ROLLBACK_REQUESTED/ROLLBACK_IN_PROGRESS nothing changes (the developer guide:
  the stop or rollback "continues"). ROLLBACK (the default) → ROLLBACK_REQUESTED; ABORT →
  STOP_REQUESTED, then STOPPED at the next poll, the service left as it is (*its deployment's
  ``rolloutState`` becomes FAILED so that it stops looking alive).
* ContinueServiceDeployment: unknown ARN: ServiceDeploymentNotFoundException; no AWAITING_ACTION
  PAUSE hook with that ``hookId``, or an SD that is not IN_PROGRESS: *InvalidParameterException.
  CONTINUE → the hook SUCCEEDED and the next poll moves on; ROLLBACK → the hook FAILED and
  *ROLLBACK_REQUESTED, as for StopServiceDeployment.
* *``lifecycleHookDetails`` lists every hook run of the SD so far (PAUSE hooks ``ecs-pause-…``,
  Lambda hooks ``ecs-lambda-…``, immediately SUCCEEDED); hooks never time out in the sandbox.
* ``DescribeServices`` also returns ``currentServiceDeployment`` and ``currentServiceRevisions``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecspresso.sandbox.model import utcnow

STATE_ATTR = "_sandbox_service_deployments"
FINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
STOPPABLE_AGAIN = ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
MAX_DESCRIBE = 20
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _error(code: str, message: str) -> Exception:
    from moto.ecs.exceptions import ECSException

    return ECSException(code, message)


def invalid(message: str) -> Exception:
    return _error("InvalidParameterException", message)


@dataclass
class HookRun:
    """One run of a lifecycle hook (a PAUSE hook waiting, or a Lambda hook that has run)."""

    hook_id: str
    target_type: str
    stage: str
    status: str
    expires_at: datetime
    timeout_action: str
    target_arn: str | None = None

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "status": self.status,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action,
        }
        if self.target_arn:
            out["targetArn"] = self.target_arn
        return out


@dataclass
class ServiceDeployment:
    arn: str
    service_arn: str
    cluster_arn: str
    strategy: str
    deployment_configuration: dict[str, Any]
    target_arn: str
    target_dep: dict[str, Any]
    #: (revision ARN, deployment) that were serving when it started; the first is the one that was
    #: PRIMARY, which a rollback returns to
    sources: list[tuple[str, dict[str, Any]]]
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    updated_at: datetime = field(default_factory=utcnow)
    status: str = "IN_PROGRESS"
    status_reason: str | None = None
    lifecycle_stage: str | None = None
    hooks: list[HookRun] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    #: the deployment that runs the source revision again (a rolling rollback)
    rollback_dep: dict[str, Any] | None = None
    breaker_status: str = "DISABLED"
    #: (production, test) traffic weight of the target revision; None for ROLLING
    weights: tuple[float, float] | None = None
    #: "ROLLBACK" or "ABORT": asked for, carried out at the next poll
    requested: str | None = None
    frozen: tuple[dict[str, Any], list[dict[str, Any]]] | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    @property
    def source_arn(self) -> str | None:
        return self.sources[0][0] if self.sources else None

    def touch(self) -> None:
        self.updated_at = max(utcnow(), self.updated_at)

    def paused_hooks(self) -> list[HookRun]:
        return [h for h in self.hooks if h.target_type == "PAUSE" and h.status == "AWAITING_ACTION"]

    def finish(self, svc: Any, status: str, reason: str | None = None) -> None:
        now = utcnow()
        self.status = status
        if reason is not None:
            self.status_reason = reason
        self.finished_at = now
        if status == "STOPPED":
            self.stopped_at = now
        if self.breaker_status == "MONITORING":
            self.breaker_status = "MONITORING_COMPLETE"
        for hook in self.paused_hooks():
            hook.status = "FAILED"
        self.frozen = (self.target_summary(svc), self.source_summaries(svc))
        self.touch()

    def start_rollback(self, reason: str) -> None:
        self.status = "ROLLBACK_IN_PROGRESS"
        self.status_reason = reason
        self.rollback = {"reason": reason, "startedAt": utcnow(), "serviceRevisionArn": self.source_arn}
        for hook in self.paused_hooks():
            hook.status = "FAILED"
        self.touch()

    # -- the revisions' counts ------------------------------------------------------------------
    def _weights(self, source: bool) -> dict[str, float]:
        if self.weights is None:
            return {}
        production, test = self.weights
        if source:
            production, test = 100.0 - production, 100.0 - test
        return {"requestedProductionTrafficWeight": production, "requestedTestTrafficWeight": test}

    def target_summary(self, svc: Any) -> dict[str, Any]:
        if self.frozen is not None:
            return self.frozen[0]
        return {"arn": self.target_arn, **_counts(svc, [self.target_dep]), **self._weights(False)}

    def source_summaries(self, svc: Any) -> list[dict[str, Any]]:
        if self.frozen is not None:
            return self.frozen[1]
        out = []
        for i, (arn, dep) in enumerate(self.sources):
            deps = [dep] + ([self.rollback_dep] if i == 0 and self.rollback_dep is not None else [])
            out.append({"arn": arn, **_counts(svc, deps), **self._weights(True)})
        return out

    def describe(self, svc: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "startedAt": self.created_at,
            "updatedAt": self.updated_at,
            "sourceServiceRevisions": self.source_summaries(svc),
            "targetServiceRevision": self.target_summary(svc),
            "status": self.status,
            "deploymentConfiguration": self.deployment_configuration,
            "deploymentCircuitBreaker": {
                "status": self.breaker_status,
                "failureCount": int(self.target_dep.get("failedTasks", 0)),
                "threshold": min(200, max(3, math.ceil(0.5 * int(self.target_dep.get("desiredCount", 0))))),
            },
            "alarms": {"status": "DISABLED"},
        }
        for key, value in (
            ("finishedAt", self.finished_at),
            ("stoppedAt", self.stopped_at),
            ("statusReason", self.status_reason),
            ("lifecycleStage", self.lifecycle_stage),
            ("rollback", self.rollback),
        ):
            if value is not None:
                out[key] = value
        if self.hooks:
            out["lifecycleHookDetails"] = [h.detail() for h in self.hooks]
        return out

    def brief(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "startedAt": self.created_at,
            "createdAt": self.created_at,
            "targetServiceRevisionArn": self.target_arn,
            "status": self.status,
        }
        if self.finished_at is not None:
            out["finishedAt"] = self.finished_at
        if self.status_reason is not None:
            out["statusReason"] = self.status_reason
        return out


def _counts(svc: Any, deps: list[dict[str, Any]]) -> dict[str, int]:
    live = [d for d in deps if any(d is x for x in svc.deployments)]
    return {
        "requestedTaskCount": max((int(d.get("desiredCount", 0)) for d in live), default=0),
        "runningTaskCount": sum(int(d.get("runningCount", 0)) for d in live),
        "pendingTaskCount": sum(int(d.get("pendingCount", 0)) for d in live),
    }


@dataclass
class ServiceState:
    """What one service holds (on moto's ``Service``, so moto's reset wipes it)."""

    deployments: list[ServiceDeployment] = field(default_factory=list)  # oldest first
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)


def state(svc: Any) -> ServiceState:
    st: ServiceState | None = getattr(svc, STATE_ATTR, None)
    if st is None:
        st = ServiceState()
        setattr(svc, STATE_ATTR, st)
    return st


def strategy_of(svc: Any) -> str:
    config = getattr(svc, "deployment_configuration", None) or {}
    return str(config.get("strategy") or "ROLLING")


def _arn_prefix(svc: Any, kind: str) -> str:
    region, account = svc.cluster_arn.split(":")[3:5]
    return f"arn:aws:ecs:{region}:{account}:{kind}/{svc.cluster_name}/{svc.name}/"


def new_revision(backend: Any, svc: Any, dep: dict[str, Any]) -> str:
    """Record the service revision a new deployment runs; its ARN."""
    arn = _arn_prefix(svc, "service-revision") + str(random.randint(10**18, 10**19 - 1))
    task_def = backend.describe_task_definition(dep["taskDefinition"])
    revision: dict[str, Any] = {
        "serviceRevisionArn": arn,
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "taskDefinition": dep["taskDefinition"],
        "loadBalancers": copy.deepcopy(svc.load_balancers or []),
        "serviceRegistries": copy.deepcopy(svc.service_registries or []),
        "containerImages": [
            {
                "containerName": cd.get("name"),
                "image": cd.get("image"),
                "imageDigest": "sha256:" + hashlib.sha256(str(cd.get("image")).encode()).hexdigest(),
            }
            for cd in task_def.container_definitions
        ],
        "guardDutyEnabled": False,
        "createdAt": utcnow(),
    }
    for key in (
        "launchType",
        "capacityProviderStrategy",
        "platformVersion",
        "platformFamily",
        "networkConfiguration",
        "serviceConnectConfiguration",
    ):
        if dep.get(key):
            revision[key] = copy.deepcopy(dep[key])
    for attr, key in (
        ("volume_configurations", "volumeConfigurations"),
        ("vpc_lattice_configurations", "vpcLatticeConfigurations"),
    ):
        if getattr(svc, attr, None):
            revision[key] = copy.deepcopy(getattr(svc, attr))
    state(svc).revisions[arn] = revision
    return arn


def open_deployment(
    svc: Any, dep: dict[str, Any], revision_arn: str, sources: list[tuple[str, dict[str, Any]]]
) -> ServiceDeployment:
    """A new SD for ``dep``; unfinished older ones are STOPPED, replaced by it."""
    st = state(svc)
    suffix = "".join(random.choices(_ID_CHARS, k=21))
    config = copy.deepcopy(getattr(svc, "deployment_configuration", None) or {})
    breaker = config.get("deploymentCircuitBreaker") or {}
    sd = ServiceDeployment(
        arn=_arn_prefix(svc, "service-deployment") + suffix,
        service_arn=svc.arn,
        cluster_arn=svc.cluster_arn,
        strategy=strategy_of(svc),
        deployment_configuration=config,
        target_arn=revision_arn,
        target_dep=dep,
        sources=sources,
        breaker_status="MONITORING" if breaker.get("enable") else "DISABLED",
    )
    for older in st.deployments:
        if not older.finished:
            older.finish(
                svc, "STOPPED", f"Service deployment replaced by a newer service deployment {sd.arn}."
            )
    st.deployments.append(sd)
    return sd


def sync_service(svc: Any, revision_of: dict[str, str]) -> None:
    """``currentServiceDeployment`` / ``currentServiceRevisions`` of DescribeServices."""
    st = state(svc)
    if st.deployments:
        svc.current_service_deployment = st.deployments[-1].arn
    svc.current_service_revisions = [
        {"arn": revision_of[d["id"]], **_counts(svc, [d])} for d in svc.deployments if d["id"] in revision_of
    ]


def newest_first(svc: Any) -> list[ServiceDeployment]:
    return sorted(state(svc).deployments, key=lambda sd: sd.created_at, reverse=True)


# -- the API -----------------------------------------------------------------------------------------
def _split_arn(arn: str, kind: str) -> tuple[str, str] | None:
    """(cluster, service) of a service-deployment / service-revision ARN."""
    head, _, path = arn.partition(f":{kind}/")
    parts = path.split("/")
    if not head.startswith("arn:") or len(parts) != 3:
        return None
    return parts[0], parts[1]


def _service_of(backend: Any, arn: str, kind: str) -> Any:
    names = _split_arn(arn, kind)
    if names is None:
        return None
    svc = backend.services.get(f"{names[0]}:{names[1]}")
    return svc if svc is not None and svc.status == "ACTIVE" else None


def find(backend: Any, arn: str) -> tuple[Any, ServiceDeployment]:
    """The service and SD of ``arn``, or ServiceDeploymentNotFoundException."""
    svc = _service_of(backend, arn, "service-deployment")
    sd = next((sd for sd in state(svc).deployments if sd.arn == arn), None) if svc is not None else None
    if sd is None:
        raise _error("ServiceDeploymentNotFoundException", f"Service deployment {arn} not found.")
    return svc, sd


def _timestamp(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    parsed = datetime.fromisoformat(str(value))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def list_deployments(
    backend: Any,
    cluster: str,
    service: str,
    statuses: list[str] | None,
    created_at: dict[str, Any] | None,
    max_results: int | None,
    offset: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of briefs, newest first, and the offset of the next page (None: the last page)."""
    if max_results is not None and not 1 <= max_results <= 100:
        raise invalid("maxResults must be between 1 and 100.")
    backend._get_cluster(cluster)  # ClusterNotFoundException
    svc = backend._get_service(cluster, service.split("/")[-1])  # ServiceNotFoundException
    sds = newest_first(svc) if svc.status == "ACTIVE" else []  # deleted with the service, as in ECS
    if statuses:
        sds = [sd for sd in sds if sd.status in statuses]
    if created_at:
        if created_at.get("after") is not None:
            after = _timestamp(created_at["after"])
            sds = [sd for sd in sds if sd.created_at > after]
        if created_at.get("before") is not None:
            before = _timestamp(created_at["before"])
            sds = [sd for sd in sds if sd.created_at < before]
    end = offset + (max_results or 20)
    return [sd.brief() for sd in sds[offset:end]], (end if end < len(sds) else None)


def describe_deployments(backend: Any, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if len(arns) > MAX_DESCRIBE:
        raise invalid(f"serviceDeploymentArns can have at most {MAX_DESCRIBE} items.")
    from moto.ecs.exceptions import ECSException

    found, failures = [], []
    for arn in arns:
        try:
            svc, sd = find(backend, arn)
        except ECSException:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        found.append(sd.describe(svc))
    return found, failures


def describe_revisions(backend: Any, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if len(arns) > MAX_DESCRIBE:
        raise invalid(f"serviceRevisionArns can have at most {MAX_DESCRIBE} items.")
    found, failures = [], []
    for arn in arns:
        svc = _service_of(backend, arn, "service-revision")
        revision = state(svc).revisions.get(arn) if svc is not None else None
        if revision is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(revision)
    return found, failures


def stop(backend: Any, arn: str, stop_type: str | None) -> None:
    stop_type = stop_type or "ROLLBACK"
    if stop_type not in ("ROLLBACK", "ABORT"):
        raise invalid(f"Invalid stopType {stop_type}; valid values are ROLLBACK and ABORT.")
    _svc, sd = find(backend, arn)
    if sd.finished:
        raise _error(
            "ConflictException",
            f"The service deployment {arn} is {sd.status} and can't be stopped.",
        )
    if sd.status in STOPPABLE_AGAIN:
        return  # the stop or rollback already asked for continues
    if stop_type == "ROLLBACK" and not sd.sources:
        raise invalid(f"The service deployment {arn} has no source service revision to roll back to.")
    sd.requested = stop_type
    sd.status = "ROLLBACK_REQUESTED" if stop_type == "ROLLBACK" else "STOP_REQUESTED"
    sd.touch()


def resume(backend: Any, arn: str, hook_id: str, action: str | None) -> Any:
    """ContinueServiceDeployment; the SD's service (the caller restarts the step clock)."""
    action = action or "CONTINUE"
    if action not in ("CONTINUE", "ROLLBACK"):
        raise invalid(f"Invalid action {action}; valid values are CONTINUE and ROLLBACK.")
    svc, sd = find(backend, arn)
    hook = next((h for h in sd.paused_hooks() if h.hook_id == hook_id), None)
    if sd.status != "IN_PROGRESS" or hook is None:
        raise invalid(
            f"The service deployment {arn} has no lifecycle hook {hook_id} awaiting action"
            f" (service deployment status {sd.status})."
        )
    if action == "CONTINUE":
        hook.status = "SUCCEEDED"
    else:
        hook.status = "FAILED"
        if sd.sources:
            sd.requested = "ROLLBACK"
            sd.status = "ROLLBACK_REQUESTED"
        else:
            sd.requested = "ABORT"
            sd.status = "STOP_REQUESTED"
    sd.touch()
    return svc
