"""Moving CodeDeploy deployments on, one step at a time (the behaviour is described in ``codedeploy``).

Entry points, called by the API patches with the simulator's lock held: :func:`advance`
(GetDeployment), :func:`request_stop`, :func:`request_continue`, :func:`ecs_target` (the view of
GetDeploymentTarget) and :func:`summary` (``Sandbox.peek_service``).
"""

from __future__ import annotations

from typing import Any

from ecspresso.codedeploy import HOOK_EVENTS
from ecspresso.sandbox import task_sets as tsets
from ecspresso.sandbox.codedeploy import (
    _MAX_CATCH_UP,
    _ROLLBACK_FROM,
    EVENTS,
    RUN_ATTR,
    CdScenario,
    Run,
    appspec_of,
    hooks_of,
    rekey,
    run_of,
    target_properties,
    with_sha256,
)
from ecspresso.sandbox.failures import fail_task
from ecspresso.sandbox.model import utcnow


def _ecs(run: Run) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[run.account][run.region]


def _cd(run: Run) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[run.account][run.region]


def _service(run: Run) -> Any:
    svc = _ecs(run).services.get(f"{run.cluster}:{run.service}")
    return svc if svc is not None and svc.status == "ACTIVE" else None


def _live(svc: Any, ts: Any) -> bool:
    return ts is not None and any(ts is other for other in svc.task_sets)


# -- time ------------------------------------------------------------------------------------------
def advance(deployment: Any, clock: float) -> None:
    """One GetDeployment: a step of the deployment (or of its running rollback deployment)."""
    run = run_of(deployment)
    seen: set[str] = set()
    while run is not None and run.finished and run.rollback_id and run.rollback_id not in seen:
        seen.add(run.rollback_id)
        follow = _cd(run).deployments.get(run.rollback_id)
        run = run_of(follow) if follow is not None else None
    if run is None or run.finished:
        return
    seconds = run.scenario.seconds
    if seconds is None or run.stop_requested or run.continue_requested:
        step(run)
        run.entered = clock
        return
    for _ in range(_MAX_CATCH_UP):
        if run.finished or _held(run) or (seconds > 0 and clock - run.entered < seconds):
            break
        run.entered = run.entered + seconds if seconds > 0 else clock
        step(run)
    if _held(run):
        run.entered = clock


def _held(run: Run) -> bool:
    ev = run.current
    stuck = (
        run.rollback_of is None
        and run.scenario.kind == "never"
        and ev is not None
        and ev.name == run.scenario.event
        and ev.status == "InProgress"
    )
    return stuck or (run.ready and not run.continue_requested)


def step(run: Run) -> None:
    dep = run.deployment
    svc = _service(run)
    run.touch()
    if dep.status == "Created":
        _begin(run, svc)
        return
    if run.stop_requested:
        _carry_out_stop(run)
        return
    if run.ready:
        if run.continue_requested == "READY_WAIT":
            run.ready, run.continue_requested = False, None
            dep.status = run.target_status = "InProgress"
            _overview(run)
            _enter(run, svc, run.index + 1)
        return
    if run.terminating:
        run.waited += 1
        if run.waited >= run.termination_wait or run.continue_requested == "TERMINATION_WAIT":
            run.continue_requested = None
            _succeed(run, svc)
        return
    ev = run.current
    if ev is None:
        return
    sc = run.scenario
    if run.rollback_of is None and ev.name == sc.event:
        if sc.kind == "fail":
            _fail(run, svc, ev)
        return  # never: it stays InProgress
    if ev.name == "AllowTraffic" and run.weight_index + 1 < len(run.weights):
        run.weight_index += 1
        run.production = run.weights[run.weight_index]
        return
    _complete(run, svc, ev)
    if ev.name == "AfterAllowTestTraffic" and run.ready_wait and run.rollback_of is None:
        run.ready = True
        dep.status = run.target_status = "Ready"
        _overview(run)
        return
    if run.index + 1 < len(EVENTS):
        _enter(run, svc, run.index + 1)
    elif run.termination_wait > 0 and run.rollback_of is None:
        run.terminating = True
        dep.instance_termination_wait_time_started = True
    else:
        _succeed(run, svc)


# -- the steps -------------------------------------------------------------------------------------
def _begin(run: Run, svc: Any) -> None:
    dep = run.deployment
    dep.status = run.target_status = "InProgress"
    dep.start_time = utcnow()
    _overview(run)
    if run.invalid is not None:
        _finish(run, "Failed", {"code": run.invalid[0], "message": run.invalid[1]})
        if run.rollback_on_failure:
            _start_rollback(run)
        return
    if run.rollback_of is not None:
        for ev in run.events[:_ROLLBACK_FROM]:
            ev.status = "Skipped"
        _enter(run, svc, _ROLLBACK_FROM)
        return
    run.source = tsets.primary(svc) if svc is not None else None
    _enter(run, svc, 0)


def _enter(run: Run, svc: Any, index: int) -> None:
    run.index = index
    ev = run.events[index]
    ev.status, ev.start = "InProgress", utcnow()
    if ev.name == "AllowTraffic":
        run.weight_index, run.production = 0, run.weights[0]
    elif ev.name == "Install" and svc is not None and run.rollback_of is None:
        _install(run, svc)


def _install(run: Run, svc: Any) -> None:
    """The replacement task set, its tasks PENDING (or failing to start)."""
    backend = _ecs(run)
    for ts in list(svc.task_sets):
        if ts is not run.source:  # left over by a deployment that failed or stopped without rollback
            tsets.remove(svc, ts, f"Task set {ts.id} deleted by CodeDeploy deployment {run.id}")
    run.target = target = tsets.create(
        svc,
        run.task_definition,
        status="ACTIVE",
        target_group=_other_target_group(run),
        started_by="CodeDeploy",
    )
    sc = run.scenario
    if sc.kind == "fail" and sc.event == "Install":
        n = sc.failed_tasks or max(1, tsets.computed_desired(svc, target))
        groups = [str(lb["targetGroupArn"]) for lb in target.load_balancers or [] if lb.get("targetGroupArn")]
        for task in tsets.start_tasks(backend, svc, target, n):
            fail_task(svc, task, sc.reason, sc.exit_code, log_lines=sc.log_lines,
                      target_health=sc.target_health, target_groups=groups)  # fmt: skip
        tsets.count(target)
    else:
        tsets.scale_to(backend, svc, target, run=False)
    tsets.sync(svc)


def _other_target_group(run: Run) -> str:
    info = run.deployment.deployment_group.load_balancer_info or {}
    pairs = info.get("targetGroupPairInfoList") or [{}]
    names = [str(tg.get("name")) for tg in pairs[0].get("targetGroups") or [] if tg.get("name")]
    current = getattr(run.source, tsets.TARGET_GROUP_ATTR, "") if run.source is not None else ""
    if current in names and len(names) > 1:
        return names[1 - names.index(current)] if len(names) == 2 else next(n for n in names if n != current)
    return names[1] if len(names) > 1 else (names[0] if names else "")


def _complete(run: Run, svc: Any, ev: Any) -> None:
    ev.status, ev.end = "Succeeded", utcnow()
    if svc is None:
        return
    if ev.name == "Install" and run.rollback_of is None and _live(svc, run.target):
        tsets.scale_to(_ecs(run), svc, run.target, run=True)
        tsets.settle(run.target, True)
    elif ev.name == "AllowTraffic" and _live(svc, run.target):
        tsets.make_primary(svc, run.target)
    tsets.sync(svc)


def _succeed(run: Run, svc: Any) -> None:
    if svc is not None:
        if _live(svc, run.source) and run.source is not run.target:
            tsets.remove(
                svc, run.source, f"Task set {run.source.id} deleted by CodeDeploy deployment {run.id}"
            )
            run.source.computed_desired_count = 0
        if _live(svc, run.target):
            setattr(run.target, tsets.AUTO_ATTR, True)
            tsets.make_primary(svc, run.target)
    _finish(run, "Succeeded")


def _fail(run: Run, svc: Any, ev: Any) -> None:
    ev.status, ev.end = "Failed", utcnow()
    sc = run.scenario
    if ev.name in HOOK_EVENTS:
        hook = hooks_of(run.appspec).get(ev.name, "")
        message = sc.reason or f"The lifecycle event hook {hook or ev.name} returned Failed."
        ev.diagnostics = {"errorCode": "ScriptFailed", "scriptName": hook, "message": message, "logTail": ""}
        error = {
            "code": "HOOK_EXECUTION_FAILURE",
            "message": f"The deployment failed because the {ev.name} lifecycle event hook failed: {message}",
        }
    else:
        failed = [t for t in tsets.tasks(run.target) if t.stopped_reason] if run.target is not None else []
        reason = sc.reason or (failed[0].stopped_reason if failed else f"{ev.name} failed.")
        if ev.name == "Install" and run.target is not None:
            message = f"The replacement task set {run.target.id} failed to reach a steady state: {reason}"
        else:
            message = f"The deployment failed at {ev.name}: {reason}"
        ev.diagnostics = {"errorCode": "UnknownError", "message": message}
        error = {"code": "ECS_UPDATE_ERROR", "message": message}
    _finish(run, "Failed", error)
    if run.rollback_on_failure:
        _start_rollback(run)


def _carry_out_stop(run: Run) -> None:
    auto, run.stop_requested, run.stop = run.stop, False, None
    ev = run.current
    if ev is not None and ev.status == "InProgress":
        ev.status, ev.end = "Failed", utcnow()
        ev.diagnostics = {"errorCode": "UnknownError", "message": "The deployment was stopped."}
    message = f"Deployment {run.id} was stopped by a StopDeployment request."
    _finish(run, "Stopped", {"code": "MANUAL_STOP", "message": message})
    if auto or (auto is None and run.rollback_on_stop):
        _start_rollback(run)


def _finish(run: Run, status: str, error: dict[str, str] | None = None) -> None:
    dep = run.deployment
    dep.status = status
    dep.complete_time = utcnow()
    run.error = error
    run.target_status = "Succeeded" if status == "Succeeded" else "Failed"
    run.ready = run.terminating = False
    _overview(run)


def _overview(run: Run) -> None:
    overview = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
    key = {"Created": "Pending", "Queued": "Pending", "Baking": "InProgress", "Stopped": "Failed"}
    overview[key.get(run.status, run.status)] = 1
    run.deployment.deployment_overview = overview


# -- rollback --------------------------------------------------------------------------------------
def _start_rollback(run: Run) -> None:
    """A rollback deployment (creator codeDeployRollback) back to the original task set."""
    import yaml

    cd, dep = _cd(run), run.deployment
    svc = _service(run)
    original = run.source if run.source is not None else (tsets.primary(svc) if svc is not None else None)
    td = original.task_definition if original is not None else run.task_definition
    revision = _previous_revision(run, td)
    if revision is None:
        spec = copy_appspec(run.appspec)
        target_properties(spec)["TaskDefinition"] = td
        revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": yaml.safe_dump(spec)}}
    new = cd.create_deployment(
        dep.application_name, dep.deployment_group_name, revision, dep.deployment_config_name
    )
    deployment = cd.deployments[new]
    rekey(cd, deployment)
    deployment.creator = "codeDeployRollback"
    content, appspec = appspec_of(revision)
    deployment.revision = with_sha256(revision)
    rollback = Run(
        deployment, run.account, run.region, run.cluster, run.service, run.service_arn, td,
        appspec, content, CdScenario(seconds=run.scenario.seconds), [100.0], run.entered,
    )  # fmt: skip
    rollback.rollback_of = run.id
    rollback.source, rollback.target = run.target, original
    rollback.production = 100.0 - run.production
    setattr(deployment, RUN_ATTR, rollback)
    run.rollback_id = deployment.deployment_id


def copy_appspec(appspec: dict[str, Any]) -> dict[str, Any]:
    import copy

    spec = copy.deepcopy(appspec) or {}
    if not target_properties(spec):
        spec["Resources"] = [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {}}}]
    return spec


def _previous_revision(run: Run, td: str) -> dict[str, Any] | None:
    """The revision of the group's last successful deployment of ``td``, if there is one."""
    dep = run.deployment
    for other in reversed(list(_cd(run).deployments.values())):
        other_run = run_of(other)
        if (
            other is not dep
            and other_run is not None
            and other.application_name == dep.application_name
            and other.deployment_group_name == dep.deployment_group_name
            and other.status == "Succeeded"
            and other_run.task_definition == td
            and other_run.content
        ):
            holder = "appSpecContent" if "appSpecContent" in other.revision else "string"
            return {
                "revisionType": other.revision.get("revisionType"),
                holder: {"content": other_run.content},
            }
    return None


# -- requests --------------------------------------------------------------------------------------
def request_stop(run: Run, auto_rollback: bool | None) -> None:
    run.stop_requested, run.stop = True, auto_rollback
    run.touch()


def request_continue(run: Run, wait_type: str) -> None:
    run.continue_requested = wait_type
    run.touch()


# -- views -----------------------------------------------------------------------------------------
def ecs_target(run: Run) -> dict[str, Any]:
    sets = [(run.source, "Blue", 100.0 - run.production), (run.target, "Green", run.production)]
    infos = []
    for ts, label, weight in sets:
        if ts is None:
            continue
        info: dict[str, Any] = {
            "identifer": ts.id,  # sic: the API's own spelling
            "desiredCount": int(ts.computed_desired_count or 0),
            "pendingCount": int(ts.pending_count or 0),
            "runningCount": int(ts.running_count or 0),
            "status": ts.status,
            "trafficWeight": float(weight),
            "taskSetLabel": label,
        }
        tg = getattr(ts, tsets.TARGET_GROUP_ATTR, "")
        if tg:
            info["targetGroup"] = {"name": tg}
        infos.append(info)
    return {
        "deploymentId": run.id,
        "targetId": f"{run.cluster}:{run.service}",
        "targetArn": run.service_arn,
        "lastUpdatedAt": run.updated_at,
        "lifecycleEvents": [ev.describe() for ev in run.events],
        "status": run.target_status,
        "taskSetsInfo": infos,
    }


def runs_of(account: str, region: str, cluster: str, service: str) -> list[Run]:
    """The simulated deployments of a service, newest first."""
    from moto.codedeploy.models import codedeploy_backends

    found = [run_of(d) for d in codedeploy_backends[account][region].deployments.values()]
    runs = [r for r in found if r is not None and (r.cluster, r.service) == (cluster, service)]
    return runs[::-1]


def summary(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "deploymentId": run.id,
        "status": run.status,
        "lifecycleEvents": {ev.name: ev.status for ev in run.events},
        "trafficWeight": run.production,
        "taskDefinition": run.task_definition,
    }
    if run.rollback_id:
        out["rollbackDeploymentId"] = run.rollback_id
    if run.rollback_of:
        out["rollbackTriggeringDeploymentId"] = run.rollback_of
    if run.error:
        out["errorInformation"] = dict(run.error)
    return out
