"""The ECS rollout simulator: deployments that progress, fail and roll back like real ECS.

Every ``DescribeServices`` is one step of time for each service it returns. Each deployment follows
the :class:`Scenario` that was pending for its service when it was created (``stable`` after two
polls when none was), and consumes it, so a rollback deployment that follows behaves normally.
Each deployment belongs to a service deployment (``service_deployments``); services with a
BLUE_GREEN, LINEAR or CANARY strategy walk the lifecycle stages instead (``lifecycle``).

State lives on moto's own ``Service`` objects (attribute ``_sandbox_rollouts``), so moto's reset wipes
it together with everything else; pending scenarios live here and are cleared by :meth:`clear`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ecspresso.sandbox import service_deployments as sds
from ecspresso.sandbox.failures import fail_task
from ecspresso.sandbox.lifecycle import Walker
from ecspresso.sandbox.model import (
    CIRCUIT_BREAKER_FAILED,
    DEFAULT_SCENARIO,
    TRAFFIC_STRATEGIES,
    Rollout,
    Scenario,
    SimTask,
    add_event,
    new_deployment,
    task_list,
    utcnow,
)

STATE_ATTR = "_sandbox_rollouts"


def rollouts(svc: Any) -> dict[str, Rollout]:
    state: dict[str, Rollout] | None = getattr(svc, STATE_ATTR, None)
    if state is None:
        state = {}
        setattr(svc, STATE_ATTR, state)
    return state


#: a timed ("seconds") rollout runs all its new tasks by this share of its time and spends the rest
#: draining the old ones, as ECS does (the old tasks stop only once the new ones are healthy, after
#: the load balancer's deregistration delay); by polls, a rollout goes straight to COMPLETED
DRAIN_FROM = 0.8


class Simulator:
    """Process-wide (moto's backends are process-wide too); guarded by :attr:`lock`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._pending: dict[tuple[str, str], Scenario] = {}
        self.walker = Walker(self)

    # -- control --------------------------------------------------------------------------------
    def set_scenario(self, cluster: str, service: str, scenario: Scenario) -> None:
        with self.lock:
            self._pending[(cluster.split("/")[-1], service.split("/")[-1])] = scenario

    def pending(self, cluster: str, service: str) -> Scenario | None:
        return self._pending.get((cluster, service))

    def take(self, cluster: str, service: str) -> Scenario | None:
        """Consume the pending scenario of a service (a CodeDeploy deployment translates it)."""
        with self.lock:
            return self._pending.pop((cluster, service), None)

    def clear(self) -> None:
        with self.lock:
            self._pending.clear()

    # -- hooks called by the moto patches ---------------------------------------------------------
    def on_create(self, backend: Any, svc: Any) -> None:
        """Replace moto's static first deployment with a simulated one."""
        if (svc.deployment_controller or {}).get("type", "ECS") != "ECS":
            return
        svc.deployments = []
        svc.events = []
        setattr(svc, STATE_ATTR, {})
        if svc.task_definition:
            self._start(backend, svc, svc.task_definition)
        self._sync(svc)

    def on_update(self, backend: Any, svc: Any, td_arn: str | None, force: bool) -> None:
        """After moto's ``update_service``: a new deployment for a new task definition or a forced one."""
        if (svc.deployment_controller or {}).get("type", "ECS") != "ECS":
            if td_arn:
                svc.task_definition = td_arn
            return
        primary = self._primary(svc)
        current = primary["taskDefinition"] if primary else svc.task_definition
        if force or (td_arn and td_arn != current):
            self._start(backend, svc, td_arn or current)
        else:
            svc.task_definition = current  # moto stored the raw string it was given
            if primary is not None:
                primary["desiredCount"] = svc.desired_count
                primary["updatedAt"] = utcnow()
        self._sync(svc)

    def on_poll(self, backend: Any, svc: Any) -> None:
        """One step of time for ``svc``."""
        if svc.status != "ACTIVE":
            return
        primary = self._primary(svc)
        rollout = rollouts(svc).get(primary["id"]) if primary else None
        if rollout is None:
            return
        sd = rollout.service_deployment
        requested = sd is not None and sd.requested is not None
        if rollout.lifecycle is not None and (
            not rollout.done or rollout.lifecycle.rolling_back or requested
        ):
            self.walker.poll(backend, svc, rollout)
        elif requested:
            self._carry_out(backend, svc, rollout)
        elif not rollout.done:
            self._step(backend, svc, rollout)
            if sd is not None and not sd.finished:
                sd.touch()
        elif rollout.dep["rolloutState"] == "COMPLETED":
            self._reconcile(backend, svc, rollout)
        self._sync(svc)

    def resumed(self, svc: Any, arn: str) -> None:
        """ContinueServiceDeployment(CONTINUE) released a PAUSE hook of ``arn``."""
        for rollout in rollouts(svc).values():
            if rollout.service_deployment is not None and rollout.service_deployment.arn == arn:
                self.walker.resumed(rollout)

    def abort(self, svc: Any, rollout: Rollout) -> None:
        """StopServiceDeployment(ABORT): the deployment stops where it is; its tasks stay."""
        dep = rollout.dep
        reason = "Service deployment stopped on request (ABORT)."
        dep["rolloutState"], dep["rolloutStateReason"], dep["updatedAt"] = "FAILED", reason, utcnow()
        rollout.done = True
        add_event(svc, f"(service {svc.name}) (deployment {dep['id']}) deployment stopped.")
        rollout.service_deployment.finish(svc, "STOPPED", reason)

    def on_delete(self, svc: Any) -> None:
        for rollout in rollouts(svc).values():
            for task in rollout.active_tasks():
                task.stop("ServiceSchedulerInitiated", "Service deleted")
            rollout.dep["runningCount"] = rollout.dep["pendingCount"] = 0
        svc.running_count = svc.pending_count = 0

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _primary(svc: Any) -> dict[str, Any] | None:
        return next((d for d in svc.deployments if d.get("status") == "PRIMARY"), None)

    def _start(
        self,
        backend: Any,
        svc: Any,
        td_arn: str,
        *,
        rollback_of: dict[str, Any] | None = None,
        rollback_polls: int = DEFAULT_SCENARIO.polls,
        service_deployment: sds.ServiceDeployment | None = None,
        reason: str | None = None,
    ) -> Rollout:
        previous = self._primary(svc)
        # what serves when it starts: the source revisions of its service deployment
        serving = [d for d in svc.deployments if d is not previous and d["runningCount"] + d["pendingCount"]]
        serving = ([previous] if previous is not None else []) + serving
        now = utcnow()
        for dep in svc.deployments:
            if dep.get("status") == "PRIMARY":
                dep["status"], dep["updatedAt"] = "ACTIVE", now
        if rollback_of is not None:
            scenario = Scenario(polls=rollback_polls)
        else:
            scenario = self._pending.pop((svc.cluster_name, svc.name), DEFAULT_SCENARIO)
        dep = new_deployment(svc, td_arn)
        if rollback_of is not None:
            dep["rolloutStateReason"] = reason or (
                f"ECS deployment circuit breaker: rolling back to deploymentId {rollback_of['id']}."
            )
        svc.deployments.insert(0, dep)
        svc.task_definition = td_arn
        rollout = Rollout(dep, scenario, self.clock(), previous=previous, rollback=rollback_of is not None)
        state = rollouts(svc)
        state[dep["id"]] = rollout
        if service_deployment is None:  # a deployment of its own: a new revision, a new service deployment
            rollout.revision_arn = sds.new_revision(backend, svc, dep)
            sources = [(state[d["id"]].revision_arn, d) for d in serving if d["id"] in state]
            rollout.service_deployment = sds.open_deployment(svc, dep, rollout.revision_arn, sources)
            if rollout.service_deployment.strategy in TRAFFIC_STRATEGIES and previous is not None:
                self.walker.start(backend, svc, rollout)  # (a first deployment has no blue: rolling)
                return rollout
        else:  # a rollback runs the source revision inside the service deployment it rolls back
            rollout.service_deployment = service_deployment
            rollout.revision_arn = service_deployment.source_arn or ""
            service_deployment.rollback_dep = dep
        if scenario.kind != "never" and scenario.seconds is None and scenario.polls == 0:
            self._step(backend, svc, rollout, tick=False)  # polls=0: done before anyone looks
        return rollout

    def _carry_out(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        """A rolling deployment's StopServiceDeployment, asked for since the last poll."""
        sd = rollout.service_deployment
        requested, sd.requested = sd.requested, None
        previous = rollout.previous
        if requested == "ABORT" or previous is None:
            self.abort(svc, rollout)
            return
        dep = rollout.dep
        reason = "Service deployment rolled back on request."
        dep["rolloutState"], dep["rolloutStateReason"], dep["updatedAt"] = "FAILED", reason, utcnow()
        rollout.done = True
        sd.start_rollback(reason)
        add_event(svc, f"(service {svc.name}) rolling back to deployment {previous['id']}.")
        self._start(
            backend,
            svc,
            previous["taskDefinition"],
            rollback_of=previous,
            rollback_polls=rollout.scenario.rollback_polls,
            service_deployment=sd,
            reason=f"ECS deployment rolling back to deploymentId {previous['id']}.",
        )

    def _progress(self, rollout: Rollout) -> float:
        sc = rollout.scenario
        if sc.seconds is not None:
            return 1.0 if sc.seconds == 0 else (self.clock() - rollout.started) / sc.seconds
        return 1.0 if sc.polls == 0 else rollout.polls / sc.polls

    def _step(self, backend: Any, svc: Any, rollout: Rollout, *, tick: bool = True) -> None:
        if tick:
            rollout.polls += 1
        dep = rollout.dep
        dep["desiredCount"] = desired = svc.desired_count
        progress = min(self._progress(rollout), 1.0)
        kind = rollout.scenario.kind
        if kind == "never":
            self._scale_to(backend, svc, rollout, desired, run=0)
        elif kind == "stable":
            running = desired if progress >= 1 else math.floor(desired * progress)
            if rollout.scenario.seconds is not None:  # timed: the last part drains the old tasks
                running = desired if progress >= DRAIN_FROM else math.floor(desired * progress / DRAIN_FROM)
            self._scale_to(backend, svc, rollout, desired, run=running)
            if progress >= 1:
                self._complete(svc, rollout)
        else:
            self._fail_step(backend, svc, rollout, progress)
        dep["updatedAt"] = utcnow()

    def _new_tasks(self, backend: Any, svc: Any, rollout: Rollout, count: int) -> list[SimTask]:
        task_def = backend.describe_task_definition(rollout.dep["taskDefinition"])
        tasks = [SimTask(svc, task_def, rollout.dep["id"]) for _ in range(count)]
        cluster_tasks = backend.tasks.setdefault(svc.cluster_name, {})
        for task in tasks:
            cluster_tasks[task.task_arn] = task
        rollout.tasks.extend(tasks)
        if tasks:
            add_event(svc, f"(service {svc.name}) has started {len(tasks)} tasks: {task_list(tasks)}.")
        return tasks

    def _stop_tasks(self, svc: Any, tasks: list[SimTask], reason: str) -> None:
        for task in tasks:
            task.stop("ServiceSchedulerInitiated", reason)
        if tasks:
            add_event(
                svc, f"(service {svc.name}) has stopped {len(tasks)} running tasks: {task_list(tasks)}."
            )

    def _scale_to(self, backend: Any, svc: Any, rollout: Rollout, desired: int, *, run: int) -> None:
        """``desired`` live tasks in the deployment, the first ``run`` of them RUNNING."""
        active = rollout.active_tasks()
        if len(active) < desired:
            active += self._new_tasks(backend, svc, rollout, desired - len(active))
        elif len(active) > desired:
            extra = active[desired:]
            self._stop_tasks(svc, extra, f"Scaling activity initiated by (deployment {rollout.dep['id']})")
            active = active[:desired]
        for task in active[:run]:
            task.run()
        self._count(rollout)

    @staticmethod
    def _count(rollout: Rollout) -> None:
        active = rollout.active_tasks()
        rollout.dep["runningCount"] = sum(1 for t in active if t.last_status == "RUNNING")
        rollout.dep["pendingCount"] = sum(1 for t in active if t.last_status != "RUNNING")

    def _complete(self, svc: Any, rollout: Rollout) -> None:
        dep, state = rollout.dep, rollouts(svc)
        dep["rolloutState"] = "COMPLETED"
        dep["rolloutStateReason"] = f"ECS deployment {dep['id']} completed."
        old_tasks = [
            t
            for d in svc.deployments
            if d is not dep and d["id"] in state
            for t in state[d["id"]].active_tasks()
        ]
        self._stop_tasks(svc, old_tasks, f"Scaling activity initiated by (deployment {dep['id']})")
        for d in svc.deployments:
            if d is not dep:
                state.pop(d["id"], None)
        svc.deployments = [dep]
        add_event(svc, f"(service {svc.name}) (deployment {dep['id']}) deployment completed.")
        add_event(svc, f"(service {svc.name}) has reached a steady state.")
        rollout.done = True
        sd = rollout.service_deployment
        if sd is not None and not sd.finished:
            sd.finish(svc, "ROLLBACK_SUCCESSFUL" if rollout.rollback else "SUCCESSFUL")

    def _fail_step(self, backend: Any, svc: Any, rollout: Rollout, progress: float) -> None:
        sc, dep = rollout.scenario, rollout.dep
        new = sc.failures_at(progress) - dep["failedTasks"]
        for task in self._new_tasks(backend, svc, rollout, max(0, new)):
            fail_task(
                svc, task, sc.reason, sc.exit_code, log_lines=sc.log_lines, target_health=sc.target_health
            )
        dep["failedTasks"] += max(0, new)
        dep["runningCount"], dep["pendingCount"] = 0, dep["desiredCount"]
        if progress < 1:
            return
        dep["rolloutState"] = "FAILED"
        dep["rolloutStateReason"] = CIRCUIT_BREAKER_FAILED
        dep["pendingCount"] = 0
        rollout.done = True
        add_event(
            svc, f"(service {svc.name}) (deployment {dep['id']}) deployment failed: tasks failed to start."
        )
        previous, sd = rollout.previous, rollout.service_deployment
        if sd is not None:
            sd.breaker_status = "TRIGGERED"
        if previous is not None and (sc.rollback or circuit_breaker_rollback(svc)):
            add_event(svc, f"(service {svc.name}) rolling back to deployment {previous['id']}.")
            if sd is not None:
                sd.start_rollback(CIRCUIT_BREAKER_FAILED)
            self._start(backend, svc, previous["taskDefinition"], rollback_of=previous,
                        rollback_polls=sc.rollback_polls, service_deployment=sd)  # fmt: skip
        elif sd is not None:
            sd.finish(svc, "STOPPED", CIRCUIT_BREAKER_FAILED)

    def _reconcile(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        """A finished deployment follows later ``desiredCount`` changes in one step."""
        desired = svc.desired_count
        rollout.dep["desiredCount"] = desired
        if len(rollout.active_tasks()) == desired and rollout.dep["runningCount"] == desired:
            return
        self._scale_to(backend, svc, rollout, desired, run=desired)
        add_event(svc, f"(service {svc.name}) has reached a steady state.")

    def _sync(self, svc: Any) -> None:
        """Service-level counters and task definition from the deployments."""
        svc.running_count = sum(d.get("runningCount", 0) for d in svc.deployments)
        svc.pending_count = sum(d.get("pendingCount", 0) for d in svc.deployments)
        primary = self._primary(svc)
        if primary is not None:
            svc.task_definition = primary["taskDefinition"]
        state = rollouts(svc)
        sds.sync_service(svc, {dep_id: r.revision_arn for dep_id, r in state.items() if r.revision_arn})


def circuit_breaker_rollback(svc: Any) -> bool:
    breaker = (getattr(svc, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    return bool(breaker.get("enable") and breaker.get("rollback"))


SIMULATOR = Simulator()
