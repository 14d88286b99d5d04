"""The CODE_DEPLOY deployment controller: blue/green deployments run by AWS CodeDeploy.

* **start**: UpdateService with what CodeDeploy lets ECS change directly (ecspresso strips
  networkConfiguration, platformVersion, loadBalancers, serviceRegistries and
  capacityProviderStrategy, and never sends the task definition) plus the desired count; then,
  when there is a revision to deploy (a new task definition, or ``--force-new-deployment``), an
  AppSpec (:mod:`ecspresso.codedeploy`) and CreateDeployment on the service's application and
  deployment group (config ``codedeploy`` first, else bounded discovery). ``--rollback-events``
  (which ``--rollback-on-failure`` implies) becomes CodeDeploy's own automatic rollback. The
  console URL is logged, never opened.
* **wait**: GetDeployment (the status), GetDeploymentTarget (lifecycle events, task sets and
  traffic weights, printed as they change) and DescribeServices (service events); judged by
  :mod:`ecspresso.codedeploy_rollout`. A deployment CodeDeploy rolls back is followed through
  its rollback deployment. ``codedeploy:<Event>`` returns at that lifecycle event.
* **rollback**: an in-progress deployment is stopped with automatic rollback (StopDeployment);
  a finished one is rolled back by deploying the previous revision (start, above).
* **continue**: a deployment waiting in Ready (``deploymentReadyOption``) is released with
  ContinueDeployment; ``--rollback`` stops it with automatic rollback instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from ecspresso import ecs
from ecspresso.codedeploy_rollout import ACTIVE, event_lines, progress, verdict
from ecspresso.config import format_duration
from ecspresso.errors import AwsError, EcspressoError
from ecspresso.rollout import State, Verdict, primary

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.strategies import InProgress, Started, StartRequest, Strategy
    from ecspresso.watch import WaitOutcome, WaitRequest

#: UpdateService parameters CodeDeploy owns on a CODE_DEPLOY service (ecspresso strips them)
OWNED_BY_CODEDEPLOY = ("taskDefinition", "networkConfiguration", "platformVersion", "loadBalancers",
                       "serviceRegistries", "capacityProviderStrategy", "forceNewDeployment")  # fmt: skip


def strategy() -> Strategy:
    from ecspresso.strategies import Strategy

    return Strategy("CODE_DEPLOY", "CODE_DEPLOY", start, wait, in_progress, stop_in_progress, continue_ready,
                    wait_targets=("deployed", "stable", "codedeploy:"))  # fmt: skip


def start(app: App, req: StartRequest) -> Started:
    from ecspresso.codedeploy import appspec_yaml, build_appspec, console_url, find_deployment_group
    from ecspresso.strategies import Started

    cfg = app.config
    service = req.service
    current = str(service.get("taskDefinition") or "")
    td = str(req.params.get("taskDefinition") or current)
    update = {k: v for k, v in req.params.items() if k not in OWNED_BY_CODEDEPLOY}
    if set(update) - {"cluster", "service"}:
        out = ecs.call(f"UpdateService {cfg.service}", app.client("ecs").update_service, **update)
        service = dict(out["service"])
    if td == current and not req.params.get("forceNewDeployment"):
        app.log.info("no new revision to deploy: CodeDeploy is not asked for a deployment")
        return Started(service, "", None, td)
    group = find_deployment_group(app, service)
    app.log.info(
        f"CodeDeploy application {group.application}, deployment group {group.name} ({group.found_by})"
    )
    appspec = build_appspec({**service, **req.params}, td, cfg.appspec)
    kwargs: dict[str, Any] = {
        "applicationName": group.application,
        "deploymentGroupName": group.name,
        "revision": {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": appspec_yaml(appspec)},
        },
    }
    if group.config_name:
        kwargs["deploymentConfigName"] = group.config_name
    if req.rollback_events:
        kwargs["autoRollbackConfiguration"] = {"enabled": True, "events": list(req.rollback_events)}
    elif group.auto_rollback_enabled:
        app.log.info(
            f"the deployment group rolls back on {', '.join(group.auto_rollback_events) or 'its events'}"
        )
    out = ecs.call(
        f"CreateDeployment {group.application}/{group.name}",
        app.client("codedeploy").create_deployment,
        **kwargs,
    )
    deployment_id = str(out["deploymentId"])
    url = console_url(app.aws.resolved_region or "", deployment_id)
    app.log.info(f"CodeDeploy deployment {deployment_id} created: {url}")
    return Started(service, deployment_id, datetime.now(UTC), td, url)


@dataclass
class _Follow:
    """What the CodeDeploy watcher has printed and seen."""

    lines: list[str] = field(default_factory=list)  # lifecycle events finished, in order
    events: list[str] = field(default_factory=list)
    deployment_lines: dict[str, str] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)


def wait(app: App, req: WaitRequest) -> WaitOutcome:
    from ecspresso.watch import WaitOutcome, report_events, stopped_tasks

    timing = app.timing
    t0 = timing.now()
    deployment_id = req.deployment_id or req.service_deployment_arn
    if not deployment_id:
        running = in_progress(app)
        deployment_id = running.id if running else ""
    if not deployment_id:
        now = ecs.describe_service(app, include_tags=False)
        return WaitOutcome(Verdict(State.DONE, "no CodeDeploy deployment in progress"), now)
    follow = _Follow()
    seen: set[str] = set()
    rollback: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    polls = 0
    interval = timing.poll_interval
    judged = Verdict(State.PENDING, "not polled yet")
    try:
        while True:
            try:
                dep = _get(app, deployment_id)
                target = _target(app, deployment_id)
                rid = str((dep.get("rollbackInfo") or {}).get("rollbackDeploymentId") or "")
                rollback = _get(app, rid) if rid else None
                service = ecs.describe_service(app, include_tags=False)
            except AwsError as exc:
                if not exc.transient:
                    raise
                app.log.warning(f"{exc}; still waiting (backing off)")
                interval = min(max(interval, timing.poll_interval) * 2, timing.max_poll_interval * 4)
            else:
                polls += 1
                changed = (
                    report_events(app, service, seen, follow.deployment_lines, follow.events, req.since)
                    if service
                    else False
                )
                changed = _report(app, dep, target, rollback, follow) or changed
                judged = verdict(dep, target, req.until, rollback=rollback,
                                 rollback_task_definition=str((service or {}).get("taskDefinition") or ""))  # fmt: skip
                if judged.final:
                    break
                interval = timing.poll_interval if changed else min(interval * 1.5, timing.max_poll_interval)
            elapsed = timing.now() - t0
            if req.timeout and elapsed >= req.timeout:
                judged = Verdict(judged.state if judged.state is State.ROLLING_BACK else State.FAILED,
                                 f"timed out after {format_duration(req.timeout)}: {judged.reason}",
                                 judged.other_task_definition, judged.other_deployment, judged.cause)  # fmt: skip
                return WaitOutcome(judged, service, polls, elapsed, follow.events, timed_out=True,
                                   stages=follow.lines, lifecycle_events=event_lines(target))  # fmt: skip
            timing.sleep(max(0.0, min(interval, req.timeout - elapsed)) if req.timeout else interval)
    except KeyboardInterrupt as exc:
        name = getattr(exc, "signal_name", "SIGINT")
        stopped = Verdict(State.FAILED, f"interrupted by {name} while waiting; CodeDeploy deployment "
                          f"{deployment_id} goes on ({judged.reason})")  # fmt: skip
        return WaitOutcome(stopped, service, polls, timing.now() - t0, follow.events, interrupted=name,
                           stages=follow.lines, lifecycle_events=event_lines(target))  # fmt: skip
    outcome = WaitOutcome(judged, service, polls, timing.now() - t0, follow.events, stages=follow.lines,
                          lifecycle_events=event_lines(target))  # fmt: skip
    if judged.state is not State.DONE:
        outcome.stopped_tasks = stopped_tasks(app, "")
    return outcome


def _get(app: App, deployment_id: str) -> dict[str, Any]:
    out = ecs.call(
        f"GetDeployment {deployment_id}", app.client("codedeploy").get_deployment, deploymentId=deployment_id
    )
    return dict(out.get("deploymentInfo") or {})


def _target(app: App, deployment_id: str) -> dict[str, Any] | None:
    cfg = app.config
    try:
        out = ecs.call("GetDeploymentTarget", app.client("codedeploy").get_deployment_target,
                       deploymentId=deployment_id, targetId=f"{cfg.cluster}:{cfg.service}")  # fmt: skip
    except AwsError as exc:
        if exc.transient:
            raise
        app.log.debug(f"no deployment target yet: {exc}")
        return None
    return dict((out.get("deploymentTarget") or {}).get("ecsTarget") or {})


def _report(app: App, dep: dict[str, Any], target: dict[str, Any] | None, rollback: dict[str, Any] | None,
            follow: _Follow) -> bool:  # fmt: skip
    changed = False
    for line in event_lines(target):
        if line not in follow.shown:
            follow.shown.add(line)
            name = line.split()[0]
            if line.endswith(("Succeeded", "Skipped", "Failed")) and name not in follow.lines:
                follow.lines.append(name)
            app.log.info(f"lifecycle event {line}")
            changed = True
    line = progress(dep, target)
    if rollback is not None:
        line += f"; rollback {rollback.get('deploymentId')} {rollback.get('status')}"
    if line not in follow.shown:
        follow.shown.add(line)
        app.log.info(line)
        changed = True
    return changed


def in_progress(app: App) -> InProgress | None:
    """The newest CodeDeploy deployment of the service's deployment group that has not finished."""
    from ecspresso.codedeploy import find_deployment_group
    from ecspresso.strategies import InProgress

    group = find_deployment_group(app, ecs.describe_service(app, include_tags=False))
    out = ecs.call("ListDeployments", app.client("codedeploy").list_deployments, applicationName=group.application,
                   deploymentGroupName=group.name, includeOnlyStatuses=list(ACTIVE))  # fmt: skip
    ids = out.get("deployments") or []
    if not ids:
        return None
    dep = _get(app, str(ids[0]))
    service = ecs.describe_service(app, include_tags=False) or {}
    target = _target(app, str(ids[0])) or {}
    current = next(
        (
            e.get("lifecycleEventName")
            for e in target.get("lifecycleEvents") or []
            if e.get("status") == "InProgress"
        ),
        "",
    )
    return InProgress(str(ids[0]), str(dep.get("status") or ""), _revision_of(app, group, dep),
                      ecs.short_name(str((primary(service) or {}).get("taskDefinition") or service.get("taskDefinition") or "")),
                      str(current or ""), "READY_WAIT" if dep.get("status") == "Ready" else "", dep)  # fmt: skip


def _revision_of(app: App, group: Any, dep: dict[str, Any]) -> str:
    """``family:revision`` the deployment installs: its AppSpec, which GetDeployment never returns
    (only a digest), read back with GetApplicationRevision as ecspresso does."""
    revision = dep.get("revision") or {}
    try:
        out = ecs.call("GetApplicationRevision", app.client("codedeploy").get_application_revision,
                       applicationName=group.application, revision=revision)  # fmt: skip
        content = ((out.get("revision") or {}).get("appSpecContent") or {}).get("content") or ""
        spec = yaml.safe_load(content) or {}
        props = spec["Resources"][0]["TargetService"]["Properties"]
        return ecs.short_name(str(props.get("TaskDefinition") or ""))
    except (AwsError, yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        app.log.debug(f"cannot tell which revision deployment {dep.get('deploymentId')} installs: {exc}")
        return ""


def stop_in_progress(app: App, deployment_id: str) -> None:
    ecs.call(f"StopDeployment {deployment_id}", app.client("codedeploy").stop_deployment,
             deploymentId=deployment_id, autoRollbackEnabled=True)  # fmt: skip
    app.log.info(f"Asked CodeDeploy to stop deployment {deployment_id} and roll it back")


def continue_ready(app: App, deployment: InProgress, action: str) -> None:
    if action == "ROLLBACK":
        stop_in_progress(app, deployment.id)
        return
    if deployment.status != "Ready":
        raise EcspressoError(f"nothing to continue: CodeDeploy deployment {deployment.id} is {deployment.status}, "
                             "not waiting in Ready")  # fmt: skip
    ecs.call(f"ContinueDeployment {deployment.id}", app.client("codedeploy").continue_deployment,
             deploymentId=deployment.id, deploymentWaitType="READY_WAIT")  # fmt: skip
