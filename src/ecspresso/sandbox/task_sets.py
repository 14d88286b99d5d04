"""The ECS side of CODE_DEPLOY services: task sets whose tasks the sandbox starts and stops.

A service whose deployment controller is CODE_DEPLOY has no deployments; it runs task sets
(``DescribeServices.taskSets``, ``DescribeTaskSets``). CreateService gives it one PRIMARY task set on
its task definition: STABILIZING with PENDING tasks, then STEADY_STATE with RUNNING tasks at the next
``DescribeServices``. Task sets that no CodeDeploy deployment holds follow the service's
``desiredCount`` the same way (one ``DescribeServices`` later). A CodeDeploy deployment
(``codedeploy``) adds the replacement task set and moves the tasks of both itself.

The service's ``taskDefinition``, ``loadBalancers`` and running/pending counts follow its PRIMARY
task set and the task sets' tasks. Tasks are the simulator's ``SimTask`` (``group`` ``service:<name>``,
``startedBy`` the task set id), so ListTasks/DescribeTasks show them, stopped ones with reasons.
``computedDesiredCount`` is ``ceil(desiredCount * scale / 100)``.
"""

from __future__ import annotations

import math
import random
from typing import Any

from ecspresso.sandbox.model import SimTask, add_event, task_list, utcnow

#: task set attributes the sandbox adds to moto's TaskSet
TASKS_ATTR = "_sandbox_tasks"
AUTO_ATTR = "_sandbox_auto"  # follows desiredCount by itself (no deployment holds it)
TARGET_GROUP_ATTR = "_sandbox_target_group"


def is_code_deploy(svc: Any) -> bool:
    return (getattr(svc, "deployment_controller", None) or {}).get("type") == "CODE_DEPLOY"


def tasks(ts: Any) -> list[SimTask]:
    found: list[SimTask] | None = getattr(ts, TASKS_ATTR, None)
    if found is None:
        found = []
        setattr(ts, TASKS_ATTR, found)
    return found


def active_tasks(ts: Any) -> list[SimTask]:
    return [t for t in tasks(ts) if t.active]


def primary(svc: Any) -> Any:
    return next((ts for ts in svc.task_sets if ts.status == "PRIMARY"), None)


def find(svc: Any, task_set_id: str | None) -> Any:
    if svc is None or not task_set_id:
        return None
    return next((ts for ts in svc.task_sets if ts.id == task_set_id), None)


def target_group_name(arn: str | None) -> str:
    """``app-blue`` of ``arn:aws:elasticloadbalancing:…:targetgroup/app-blue/0123…``."""
    if not arn or ":targetgroup/" not in arn:
        return ""
    return arn.split(":targetgroup/", 1)[1].split("/")[0]


def target_group_arn(svc: Any, name: str) -> str:
    """The ARN of target group ``name``: moto's ELBv2 one if it exists, else one made up alike."""
    region, account = svc.cluster_arn.split(":")[3:5]
    for lb in svc.load_balancers or []:
        if target_group_name(lb.get("targetGroupArn")) == name:
            return str(lb["targetGroupArn"])
    try:
        from moto.elbv2.models import elbv2_backends

        for tg in elbv2_backends[account][region].target_groups.values():
            if tg.name == name:
                return str(tg.arn)
    except Exception:  # no ELBv2 state: make one up
        pass
    suffix = f"{random.getrandbits(64):016x}"
    return f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{suffix}"


def create(
    svc: Any,
    task_definition_arn: str,
    *,
    status: str,
    target_group: str = "",
    started_by: str | None = None,
) -> Any:
    """A new task set of ``svc`` (no tasks yet), on ``target_group`` when the service has a load balancer."""
    from moto.ecs.models import TaskSet

    region, account = svc.cluster_arn.split(":")[3:5]
    load_balancers = [dict(lb) for lb in svc.load_balancers or []]
    if load_balancers and target_group:
        load_balancers[0]["targetGroupArn"] = target_group_arn(svc, target_group)
    strategy = getattr(svc, "capacity_provider_strategy", None) or []
    ts: Any = TaskSet(
        svc.arn,
        svc.cluster_arn,
        task_definition_arn,
        account,
        region,
        network_configuration=getattr(svc, "network_configuration", None) or None,
        load_balancers=load_balancers,
        service_registries=list(svc.service_registries or []),
        launch_type=svc.launch_type,
        capacity_provider_strategy=strategy,
        platform_version=svc.platform_version,
    )
    ts.id = f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"  # 19 digits, as ECS's
    ts.task_set_arn = f"arn:aws:ecs:{region}:{account}:task-set/{svc.cluster_name}/{svc.name}/{ts.id}"
    ts.service_arn, ts.cluster_arn = svc.arn, svc.cluster_arn
    ts.status = status
    ts.started_by = started_by
    ts.stabilityStatus = "STABILIZING"
    ts.computed_desired_count = computed_desired(svc, ts)
    ts.pending_count = ts.running_count = 0
    if svc.launch_type == "FARGATE" or (strategy and "FARGATE" in strategy[0].get("capacityProvider", "")):
        ts.platform_family = "Linux"
    setattr(ts, TASKS_ATTR, [])
    setattr(ts, AUTO_ATTR, False)
    setattr(ts, TARGET_GROUP_ATTR, target_group)
    svc.task_sets.append(ts)
    return ts


def computed_desired(svc: Any, ts: Any) -> int:
    scale = float((ts.scale or {}).get("value", 100.0))
    return math.ceil(svc.desired_count * scale / 100.0)


def scale_to(backend: Any, svc: Any, ts: Any, *, run: bool) -> list[SimTask]:
    """Start or stop tasks until ``ts`` has its computed desired count live; ``run``: make them
    RUNNING. The tasks it started (PENDING unless ``run``)."""
    ts.computed_desired_count = desired = computed_desired(svc, ts)
    live = active_tasks(ts)
    started: list[SimTask] = []
    if len(live) < desired:
        started = start_tasks(backend, svc, ts, desired - len(live))
        live += started
    elif len(live) > desired:
        stop_tasks(svc, live[desired:], f"Scaling activity initiated by (taskSet {ts.id})")
        live = live[:desired]
    if run:
        for task in live:
            task.run()
    count(ts)
    return started


def start_tasks(backend: Any, svc: Any, ts: Any, n: int) -> list[SimTask]:
    task_def = backend.describe_task_definition(ts.task_definition)
    started = [SimTask(svc, task_def, ts.id) for _ in range(n)]
    cluster_tasks = backend.tasks.setdefault(svc.cluster_name, {})
    for task in started:
        cluster_tasks[task.task_arn] = task
    tasks(ts).extend(started)
    if started:
        add_event(svc, f"(service {svc.name}, taskSet {ts.id}) has started {n} tasks: {task_list(started)}.")
    return started


def stop_tasks(svc: Any, stopping: list[SimTask], reason: str) -> None:
    for task in stopping:
        task.stop("ServiceSchedulerInitiated", reason)
    if stopping:
        n = len(stopping)
        add_event(svc, f"(service {svc.name}) has stopped {n} running tasks: {task_list(stopping)}.")


def count(ts: Any) -> None:
    live = active_tasks(ts)
    ts.running_count = sum(1 for t in live if t.last_status == "RUNNING")
    ts.pending_count = sum(1 for t in live if t.last_status != "RUNNING")
    ts.updatedAt = utcnow()


def settle(ts: Any, stable: bool) -> None:
    status = "STEADY_STATE" if stable else "STABILIZING"
    if ts.stabilityStatus != status:
        ts.stabilityStatus, ts.stabilityStatusAt = status, utcnow()


def remove(svc: Any, ts: Any, reason: str) -> None:
    """Stop the task set's tasks and delete it from the service."""
    stop_tasks(svc, active_tasks(ts), reason)
    count(ts)
    ts.status = "DRAINING"
    svc.task_sets = [other for other in svc.task_sets if other is not ts]
    sync(svc)


def make_primary(svc: Any, ts: Any) -> None:
    """UpdateServicePrimaryTaskSet: ``ts`` PRIMARY, the others ACTIVE; the service follows it."""
    for other in svc.task_sets:
        other.status = "PRIMARY" if other is ts else "ACTIVE"
        other.updatedAt = utcnow()
    sync(svc)


def sync(svc: Any) -> None:
    """The service's counts, task definition and load balancers from its task sets."""
    svc.running_count = sum(int(getattr(ts, "running_count", 0) or 0) for ts in svc.task_sets)
    svc.pending_count = sum(int(getattr(ts, "pending_count", 0) or 0) for ts in svc.task_sets)
    main = primary(svc)
    if main is not None:
        svc.task_definition = main.task_definition
        if main.load_balancers:
            svc.load_balancers = [dict(lb) for lb in main.load_balancers]


# -- hooks called by the moto patches --------------------------------------------------------------
def on_create(backend: Any, svc: Any) -> None:
    """CreateService of a CODE_DEPLOY service: its first task set, PRIMARY, tasks PENDING."""
    svc.deployments, svc.events, svc.task_sets = [], [], []
    if not svc.task_definition:
        return
    tg = target_group_name((svc.load_balancers or [{}])[0].get("targetGroupArn"))
    ts = create(svc, svc.task_definition, status="PRIMARY", target_group=tg)
    setattr(ts, AUTO_ATTR, True)
    scale_to(backend, svc, ts, run=False)
    sync(svc)


def on_poll(backend: Any, svc: Any) -> None:
    """DescribeServices: task sets that no deployment holds reach their desired count, RUNNING."""
    if svc.status != "ACTIVE":
        return
    for ts in svc.task_sets:
        if getattr(ts, AUTO_ATTR, False):
            was = (ts.running_count, ts.pending_count, ts.stabilityStatus)
            scale_to(backend, svc, ts, run=True)
            settle(ts, True)
            if was != (ts.running_count, ts.pending_count, ts.stabilityStatus):
                add_event(svc, f"(service {svc.name}) has reached a steady state.")
    sync(svc)


def on_delete(svc: Any) -> None:
    for ts in svc.task_sets:
        stop_tasks(svc, active_tasks(ts), "Service deleted")
        count(ts)
    svc.running_count = svc.pending_count = 0


def describe(ts: Any) -> dict[str, Any]:
    """A short view of ``ts`` (for ``Sandbox.peek_service``)."""
    return {
        "id": ts.id,
        "status": ts.status,
        "taskDefinition": ts.task_definition,
        "computedDesiredCount": ts.computed_desired_count,
        "runningCount": ts.running_count,
        "pendingCount": ts.pending_count,
        "stabilityStatus": ts.stabilityStatus,
        "targetGroup": getattr(ts, TARGET_GROUP_ATTR, ""),
    }
