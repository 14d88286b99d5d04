"""The ECS deployment controller: ROLLING, BLUE_GREEN, LINEAR and CANARY.

All four deploy with one UpdateService (CreateService on the create path) and are followed as an
ECS service deployment (:mod:`ecspresso.tracking`) beside DescribeServices; they differ in what
``--wait-until`` accepts (lifecycle stages and PAUSE hooks exist for BLUE_GREEN, LINEAR and
CANARY) and in what the progress lines show. An in-progress deployment is rolled back by ECS
itself (StopServiceDeployment, stopType ROLLBACK), a paused hook released with
ContinueServiceDeployment.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.deployments import STRATEGIES_WITH_STAGES
from ecspresso.errors import AwsError, EcspressoError
from ecspresso.rollout import primary

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.strategies import InProgress, Started, StartRequest, Strategy
    from ecspresso.watch import WaitOutcome, WaitRequest

IN_PROGRESS = ("PENDING", "IN_PROGRESS")


def strategy(name: str) -> Strategy:
    from ecspresso.strategies import Strategy

    detailed = name in STRATEGIES_WITH_STAGES
    return Strategy("ECS", name, start, functools.partial(wait, detailed=detailed), in_progress,
                    stop_in_progress, continue_paused)  # fmt: skip


def start(app: App, req: StartRequest) -> Started:
    """One UpdateService; the deployment it created (none for an attribute-only change)."""
    from datetime import datetime

    from ecspresso.strategies import Started

    prim_before = primary(req.service) or {}
    expect = str(req.params.get("taskDefinition") or prim_before.get("taskDefinition") or "")
    updated = update_service(app, req.params, req.before_id, expect)
    new = primary(updated) or {}
    created = bool(new.get("id")) and new.get("id") != req.before_id
    created_at = new.get("createdAt") if created and isinstance(new.get("createdAt"), datetime) else None
    sd_arn = str(updated.get("currentServiceDeployment") or "") if created else ""
    return Started(updated, str(new["id"]) if created else "", created_at,
                   str(new.get("taskDefinition") or expect), service_deployment_arn=sd_arn)  # fmt: skip


def update_service(app: App, params: dict[str, Any], before_id: str, expect_td: str) -> dict[str, Any]:
    """UpdateService; the updated service as ECS answered it, or as re-read after an ambiguous
    failure (throttling, 5xx, a lost connection after botocore's retries) that took effect: a
    new PRIMARY deployment running ``expect_td``. Otherwise the error, saying nothing started."""
    cfg = app.config
    try:
        out = ecs.call(f"UpdateService {cfg.service}", app.client("ecs").update_service, **params)
        return dict(out["service"])
    except AwsError as exc:
        if not exc.transient:
            raise
        app.log.warning(f"{exc}; checking whether the update took effect")
        try:
            now = ecs.describe_service(app, include_tags=False)
        except AwsError:
            raise exc from None
        prim = primary(now) if now else None
        if (
            now
            and prim
            and prim.get("id") != before_id
            and (not expect_td or prim.get("taskDefinition") == expect_td)
        ):
            app.log.warning(
                f"UpdateService failed after it took effect: the service is deploying "
                f"{ecs.short_name(str(prim.get('taskDefinition')))} (deployment {prim.get('id')}); following it"
            )
            return now
        raise AwsError(f"{exc} (re-read: no new deployment was started)", code=exc.code,
                       transient=exc.transient) from exc  # fmt: skip


def wait(app: App, req: WaitRequest, *, detailed: bool) -> WaitOutcome:
    """Watch the rollout. ``detailed`` (strategies with lifecycle stages) reads the whole service
    deployment each poll (stage, hooks, traffic); ROLLING needs only its status, which the
    ListServiceDeployments brief carries: one call a poll instead of two."""
    from dataclasses import replace

    from ecspresso.watch import watch_rollout

    return watch_rollout(app, replace(req, service_deployment_detail=detailed))


def in_progress(app: App) -> InProgress | None:
    """The service's newest service deployment that is PENDING or IN_PROGRESS (None when there is
    none, or the API is not answered: the caller then does what it did before that API existed)."""
    from ecspresso.deployments import paused_hook
    from ecspresso.strategies import InProgress
    from ecspresso.tracking import ServiceDeploymentTracker

    sd = _in_progress_deployment(app)
    if sd is None:
        return None
    tracker = ServiceDeploymentTracker(app, arn=str(sd["serviceDeploymentArn"]))
    tracker.name_revisions(sd)
    source: dict[str, Any] = next(iter(sd.get("sourceServiceRevisions") or []), {})
    hook = paused_hook(sd) or {}
    return InProgress(str(sd["serviceDeploymentArn"]), str(sd.get("status") or ""), tracker.target_task_definition_of(sd),
                      tracker.names.get(str(source.get("arn")), ""), str(sd.get("lifecycleStage") or ""),
                      str(hook.get("hookId") or ""), sd)  # fmt: skip


def _in_progress_deployment(app: App) -> dict[str, Any] | None:
    cfg = app.config
    try:
        out = ecs.call("ListServiceDeployments", app.client("ecs").list_service_deployments,
                       cluster=cfg.cluster, service=cfg.service, status=list(IN_PROGRESS))  # fmt: skip
    except AwsError as exc:
        app.log.debug(f"service deployments are not answered ({exc})")
        return None
    briefs = [b for b in out.get("serviceDeployments") or [] if b.get("status") in IN_PROGRESS]
    if not briefs:
        return None
    newest = max(briefs, key=lambda b: str(b.get("createdAt") or ""))
    described = ecs.call("DescribeServiceDeployments", app.client("ecs").describe_service_deployments,
                         serviceDeploymentArns=[newest["serviceDeploymentArn"]])  # fmt: skip
    found = described.get("serviceDeployments") or []
    return dict(found[0]) if found else None


def stop_in_progress(app: App, arn: str) -> None:
    ecs.call("StopServiceDeployment", app.client("ecs").stop_service_deployment,
             serviceDeploymentArn=arn, stopType="ROLLBACK")  # fmt: skip
    app.log.info(
        f"Asked ECS to roll back service deployment {arn.rsplit('/', 1)[-1]} (StopServiceDeployment ROLLBACK)"
    )


def continue_paused(app: App, deployment: InProgress, action: str) -> None:
    if not deployment.paused_hook:
        raise EcspressoError(f"nothing to continue: service deployment {deployment.id.rsplit('/', 1)[-1]} is not paused "
                             f"({deployment.status}{' at ' + deployment.stage if deployment.stage else ''})")  # fmt: skip
    ecs.call("ContinueServiceDeployment", app.client("ecs").continue_service_deployment,
             serviceDeploymentArn=deployment.id, hookId=deployment.paused_hook, action=action)  # fmt: skip
