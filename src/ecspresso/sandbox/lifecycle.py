"""BLUE_GREEN, LINEAR and CANARY deployments: a walk through the lifecycle stages, one step per poll.

A deployment of a service whose ``deploymentConfiguration.strategy`` is BLUE_GREEN, LINEAR or
CANARY takes these steps, one per ``DescribeServices`` (or one per ``seconds`` of the scenario):
RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP (the green tasks start, PENDING), POST_SCALE_UP (they
run), TEST_TRAFFIC_SHIFT (test traffic 100 % green), POST_TEST_TRAFFIC_SHIFT,
PRODUCTION_TRAFFIC_SHIFT (BLUE_GREEN: 0 → 100 in one step; LINEAR: one step per ``stepPercent``;
CANARY: ``canaryPercent``, then 100), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (one step per
``bakeTimeInMinutes``; none for 0), CLEAN_UP (the blue tasks stop); the next step completes it:
SUCCESSFUL, rollout COMPLETED, the old deployment gone. The new deployment is PRIMARY
(IN_PROGRESS) from the start; the old one stays ACTIVE with its tasks until CLEAN_UP. Choices where
ECS is silent: RECONCILE_SERVICE is always reported; ``stepBakeTimeInMinutes`` and
``canaryBakeTimeInMinutes`` add no steps; the scenario's ``polls`` is not used; a service's first
deployment (CreateService: no blue to shift traffic from) rolls out like a rolling one, without
stages, hooks or traffic weights.

Hooks (``deploymentConfiguration.lifecycleHooks`` and the scenario's ``pause_at``) run when their
stage is entered: a PAUSE hook holds the deployment there (polls do not move it) until
ContinueServiceDeployment; an AWS_LAMBDA hook succeeds at once (it fails at the scenario's
``fail_at_stage``). A hook at PRE_PRODUCTION_TRAFFIC_SHIFT runs before every production traffic
step: that adds a step, reported as PRODUCTION_TRAFFIC_SHIFT with the weights not shifted yet.

A failure (``fail_at_stage``, reached at that stage or the first one after it when it is skipped;
a hook or StopServiceDeployment rollback; kind ``fail``: tasks that fail to start at SCALE_UP)
rolls back: for one poll ROLLBACK_IN_PROGRESS (production traffic back on blue, the new
deployment FAILED), then ROLLBACK_SUCCESSFUL: the green tasks stop and the old deployment is
PRIMARY and COMPLETED alone. Kind ``fail`` rolls back only with ``rollback=True`` or the circuit
breaker's rollback (else STOPPED, as for rolling); kind ``never`` stays at SCALE_UP.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ecspresso.deployments import STAGES
from ecspresso.sandbox.model import CIRCUIT_BREAKER_FAILED, Rollout, Scenario, add_event, utcnow
from ecspresso.sandbox.service_deployments import HookRun, ServiceDeployment

if TYPE_CHECKING:
    from ecspresso.sandbox.simulator import Simulator

PRE_PRODUCTION = "PRE_PRODUCTION_TRAFFIC_SHIFT"


@dataclass(frozen=True)
class Step:
    stage: str
    production: float  # the target revision's production traffic weight during this step
    test: float
    hook_stages: tuple[str, ...] = ()  # hooks that run when the step is entered


@dataclass
class Lifecycle:
    steps: list[Step]
    scenario: Scenario
    entered: float  # clock reading when the current step was entered
    index: int = 0
    rolling_back: bool = False
    stuck: bool = False  # kind "never": no further step


def production_weights(config: dict[str, Any]) -> list[float]:
    strategy = config.get("strategy")
    if strategy == "LINEAR":
        step = float((config.get("linearConfiguration") or {}).get("stepPercent") or 10.0)
        weights, k = [], 1
        while round(k * step, 1) < 100.0:
            weights.append(round(k * step, 1))
            k += 1
        return [*weights, 100.0]
    if strategy == "CANARY":
        canary = float((config.get("canaryConfiguration") or {}).get("canaryPercent") or 5.0)
        return [canary, 100.0] if canary < 100.0 else [100.0]
    return [100.0]


def _hooks(config: dict[str, Any], scenario: Scenario) -> list[dict[str, Any]]:
    hooks = [dict(h) for h in config.get("lifecycleHooks") or []]
    if scenario.pause_at:
        hooks.append({"targetType": "PAUSE", "lifecycleStages": list(scenario.pause_at)})
    return hooks


def plan(config: dict[str, Any], scenario: Scenario) -> list[Step]:
    hooked = {stage for h in _hooks(config, scenario) for stage in h.get("lifecycleStages") or []}
    steps = [
        Step("RECONCILE_SERVICE", 0, 0, ("RECONCILE_SERVICE",)),
        Step("PRE_SCALE_UP", 0, 0, ("PRE_SCALE_UP",)),
        Step("SCALE_UP", 0, 0),
        Step("POST_SCALE_UP", 0, 0, ("POST_SCALE_UP",)),
        Step("TEST_TRAFFIC_SHIFT", 0, 100, ("TEST_TRAFFIC_SHIFT",)),
        Step("POST_TEST_TRAFFIC_SHIFT", 0, 100, ("POST_TEST_TRAFFIC_SHIFT",)),
    ]
    before = 0.0
    for weight in production_weights(config):
        if PRE_PRODUCTION in hooked:
            steps.append(Step("PRODUCTION_TRAFFIC_SHIFT", before, 100, (PRE_PRODUCTION,)))
        steps.append(Step("PRODUCTION_TRAFFIC_SHIFT", weight, 100, ("PRODUCTION_TRAFFIC_SHIFT",)))
        before = weight
    steps.append(Step("POST_PRODUCTION_TRAFFIC_SHIFT", 100, 100, ("POST_PRODUCTION_TRAFFIC_SHIFT",)))
    steps += [Step("BAKE_TIME", 100, 100)] * max(0, int(config.get("bakeTimeInMinutes") or 0))
    steps.append(Step("CLEAN_UP", 100, 100))
    return steps


class Walker:
    """Moves strategy deployments on; the simulator calls it with its lock held."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def start(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        sd: ServiceDeployment = rollout.service_deployment
        lc = Lifecycle(
            plan(sd.deployment_configuration, rollout.scenario), rollout.scenario, self.sim.clock()
        )
        rollout.lifecycle = lc
        self._enter(backend, svc, rollout)

    def poll(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        sd: ServiceDeployment = rollout.service_deployment
        lc: Lifecycle = rollout.lifecycle
        if sd.requested is not None:
            self._carry_out(backend, svc, rollout)
        elif lc.rolling_back:
            self._rolled_back(backend, svc, rollout)
        elif lc.scenario.seconds is None:
            self._advance(backend, svc, rollout)
        else:
            while not rollout.done and not lc.rolling_back and not self._held(rollout):
                if self.sim.clock() - lc.entered < lc.scenario.seconds:
                    break
                lc.entered += lc.scenario.seconds
                self._advance(backend, svc, rollout)
        if not sd.finished:
            sd.touch()

    def resumed(self, rollout: Rollout) -> None:
        """A PAUSE hook was continued: the step's time starts again."""
        if rollout.lifecycle is not None:
            rollout.lifecycle.entered = self.sim.clock()

    # -- internals ------------------------------------------------------------------------------
    @staticmethod
    def _held(rollout: Rollout) -> bool:
        lc: Lifecycle = rollout.lifecycle
        return rollout.done or lc.stuck or bool(rollout.service_deployment.paused_hooks())

    def _advance(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        if self._held(rollout):
            return
        lc: Lifecycle = rollout.lifecycle
        if lc.index + 1 >= len(lc.steps):
            self.sim._complete(svc, rollout)
            return
        lc.index += 1
        self._enter(backend, svc, rollout)

    def _enter(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        lc: Lifecycle = rollout.lifecycle
        sd: ServiceDeployment = rollout.service_deployment
        step = lc.steps[lc.index]
        sd.lifecycle_stage = step.stage
        sd.weights = (float(step.production), float(step.test))
        rollout.dep["updatedAt"] = utcnow()
        sc = lc.scenario
        failing = sc.fail_at_stage is not None and STAGES.index(step.stage) >= STAGES.index(sc.fail_at_stage)
        lambdas = self._run_hooks(sd, step, sc, failing=failing)
        if failing:
            hook = f" (lifecycle hook {lambdas[0].hook_id} failed)" if lambdas else ""
            self._fail(
                backend, svc, rollout, f"Service deployment failed at lifecycle stage {step.stage}{hook}."
            )
            return
        desired = svc.desired_count
        if step.stage == "SCALE_UP":
            if sc.kind == "fail":
                self._fail_tasks(backend, svc, rollout)
                return
            self.sim._scale_to(backend, svc, rollout, desired, run=0)
            lc.stuck = sc.kind == "never"
        elif step.stage == "POST_SCALE_UP":
            self.sim._scale_to(backend, svc, rollout, desired, run=desired)
        elif step.stage == "CLEAN_UP":
            blue = [t for r in self._others(svc, rollout) for t in r.active_tasks()]
            self.sim._stop_tasks(svc, blue, f"Scaling activity initiated by (deployment {rollout.dep['id']})")
            for other in self._others(svc, rollout):
                self.sim._count(other)

    @staticmethod
    def _run_hooks(sd: ServiceDeployment, step: Step, sc: Scenario, *, failing: bool) -> list[HookRun]:
        """Start the hooks of ``step``; the Lambda hooks that failed (at a failing stage)."""
        failed = []
        for hook in _hooks(sd.deployment_configuration, sc):
            for stage in hook.get("lifecycleStages") or []:
                if stage not in step.hook_stages:
                    continue
                timeout = hook.get("timeoutConfiguration") or {}
                pause = hook.get("targetType") == "PAUSE"
                status = "AWAITING_ACTION" if pause else ("FAILED" if failing else "SUCCEEDED")
                run = HookRun(
                    hook_id=f"ecs-{'pause' if pause else 'lambda'}-{secrets.token_urlsafe(32)}",
                    target_type="PAUSE" if pause else "AWS_LAMBDA",
                    stage=stage,
                    status=status,
                    expires_at=utcnow() + timedelta(minutes=int(timeout.get("timeoutInMinutes") or 1440)),
                    timeout_action=str(timeout.get("action") or "ROLLBACK"),
                    target_arn=None if pause else hook.get("hookTargetArn"),
                )
                if pause and failing:
                    continue  # the stage fails before anyone could continue
                sd.hooks.append(run)
                if status == "FAILED":
                    failed.append(run)
        return failed

    @staticmethod
    def _others(svc: Any, rollout: Rollout) -> list[Rollout]:
        from ecspresso.sandbox.simulator import rollouts

        state = rollouts(svc)
        return [state[d["id"]] for d in svc.deployments if d is not rollout.dep and d["id"] in state]

    def _fail_tasks(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        sc, dep = rollout.scenario, rollout.dep
        for task in self.sim._new_tasks(backend, svc, rollout, sc.total_failures()):
            task.fail(sc.reason, sc.exit_code)
        dep["failedTasks"] = sc.total_failures()
        dep["runningCount"] = dep["pendingCount"] = 0
        sd: ServiceDeployment = rollout.service_deployment
        sd.breaker_status = "TRIGGERED"
        from ecspresso.sandbox.simulator import circuit_breaker_rollback

        self._fail(
            backend,
            svc,
            rollout,
            CIRCUIT_BREAKER_FAILED,
            rollback=sc.rollback or circuit_breaker_rollback(svc),
        )

    def _fail(self, backend: Any, svc: Any, rollout: Rollout, reason: str, *, rollback: bool = True) -> None:
        dep = rollout.dep
        dep["rolloutState"], dep["rolloutStateReason"] = "FAILED", reason
        rollout.done = True
        add_event(svc, f"(service {svc.name}) (deployment {dep['id']}) deployment failed: {reason}")
        if rollback:
            self._roll_back(svc, rollout, reason)
        else:
            self._stop(svc, rollout, reason)

    def _roll_back(self, svc: Any, rollout: Rollout, reason: str) -> None:
        sd: ServiceDeployment = rollout.service_deployment
        previous = rollout.previous
        if previous is None or not any(previous is d for d in svc.deployments):
            self._stop(svc, rollout, reason)
            return
        sd.start_rollback(reason)
        sd.weights = (0.0, 0.0)
        rollout.lifecycle.rolling_back = True
        add_event(svc, f"(service {svc.name}) rolling back to deployment {previous['id']}.")

    @staticmethod
    def _stop(svc: Any, rollout: Rollout, reason: str) -> None:
        rollout.service_deployment.finish(svc, "STOPPED", reason)

    def _rolled_back(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        """Second step of a rollback: green tasks stop, blue is PRIMARY and COMPLETED alone."""
        from ecspresso.sandbox.simulator import rollouts

        previous = rollout.previous
        assert previous is not None
        state = rollouts(svc)
        green = [t for d in svc.deployments if d is not previous and d["id"] in state
                 for t in state[d["id"]].active_tasks()]  # fmt: skip
        self.sim._stop_tasks(svc, green, f"Scaling activity initiated by (deployment {previous['id']})")
        for d in svc.deployments:
            if d is not previous:
                if d["id"] in state:
                    self.sim._count(state[d["id"]])
                state.pop(d["id"], None)
        previous["status"], previous["updatedAt"] = "PRIMARY", utcnow()
        svc.deployments = [previous]
        rollout.lifecycle.rolling_back = False
        add_event(svc, f"(service {svc.name}) rolled back to deployment {previous['id']}.")
        add_event(svc, f"(service {svc.name}) has reached a steady state.")
        rollout.service_deployment.finish(svc, "ROLLBACK_SUCCESSFUL")

    def _carry_out(self, backend: Any, svc: Any, rollout: Rollout) -> None:
        """StopServiceDeployment / ContinueServiceDeployment(ROLLBACK) asked for at the last call."""
        sd: ServiceDeployment = rollout.service_deployment
        requested, sd.requested = sd.requested, None
        if requested == "ROLLBACK":
            reason = "Service deployment rolled back on request."
            dep = rollout.dep
            dep["rolloutState"], dep["rolloutStateReason"] = "FAILED", reason
            rollout.done = True
            self._roll_back(svc, rollout, reason)
        else:
            self.sim.abort(svc, rollout)
