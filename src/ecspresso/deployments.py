"""Judging an ECS *service deployment* (DescribeServiceDeployments): pure functions, no AWS.

Since 2025 ECS tracks every rollout of a service (rolling, BLUE_GREEN, LINEAR, CANARY) as a
service deployment with a ``status``, a ``lifecycleStage`` and lifecycle hook details. When the
API answers, the watcher judges our rollout from it (:func:`judge`), together with the
DescribeServices judgement of :mod:`ecspresso.rollout` (which still tells a newer deploy or a
manual change from an ECS rollback, and counts failed tasks for ``--fail-after-task-failures``).
Where the API is not answered, the DescribeServices judgement alone is the fallback.

``--wait-until`` (:func:`parse_wait_until`), as ecspresso 2.8.6 and its v3 plan:

* ``deployed``: the service deployment is SUCCESSFUL (rolling: the rollout COMPLETED);
* ``stable``: deployed, and the service has one deployment with running == desired;
* ``ecs:<STAGE>``: the deployment has reached that lifecycle stage (or finished successfully);
  rolled back before it: an error; only for BLUE_GREEN, LINEAR and CANARY services;
* ``paused``: a PAUSE lifecycle hook awaits action (``ecspresso continue`` releases it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecspresso.errors import UsageError
from ecspresso.rollout import ECS_ROLLBACK, State, Verdict

STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
STRATEGIES_WITH_STAGES = ("BLUE_GREEN", "LINEAR", "CANARY")
#: CodeDeploy's lifecycle events of an ECS deployment, in order
CODEDEPLOY_EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
ACTIVE = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", *ROLLING_BACK)


@dataclass(frozen=True)
class WaitUntil:
    kind: str  # deployed | stable | stage | paused | event (CodeDeploy)
    stage: str = ""

    def __str__(self) -> str:
        return {"stage": f"ecs:{self.stage}", "event": f"codedeploy:{self.stage}"}.get(self.kind, self.kind)


def parse_wait_until(
    value: str, *, strategy: str = "", allowed: tuple[str, ...] = ("deployed", "stable")
) -> WaitUntil:
    """``deployed``, ``stable``, ``ecs:<STAGE>`` or ``paused``; a UsageError naming the problem
    otherwise. ``strategy`` (the service's, when known) rejects stage targets on ROLLING."""
    text = value.strip()
    if text in ("deployed", "stable") and text in allowed:
        return WaitUntil(text)
    if text == "paused" and "paused" in allowed:
        target = WaitUntil("paused")
    elif text.startswith("ecs:") and "ecs:" in allowed:
        stage = text[4:].upper()
        if stage not in STAGES:
            raise UsageError(f"--wait-until {value}: unknown lifecycle stage (one of {', '.join(STAGES)})")
        target = WaitUntil("stage", stage)
    elif text.startswith("codedeploy:") and "codedeploy:" in allowed:
        event = next((e for e in CODEDEPLOY_EVENTS if e.lower() == text[11:].lower()), "")
        if not event:
            raise UsageError(
                f"--wait-until {value}: unknown lifecycle event (one of {', '.join(CODEDEPLOY_EVENTS)})"
            )
        return WaitUntil("event", event)
    elif text.startswith("codedeploy:"):
        raise UsageError(f"--wait-until {value}: codedeploy:<event> is for services deployed by CodeDeploy")
    elif text.startswith("ecs:") and "codedeploy:" in allowed:
        raise UsageError(
            f"--wait-until {value}: the service is deployed by CodeDeploy; use codedeploy:<event>"
        )
    else:
        raise UsageError(f"--wait-until {value!r}: expected one of {', '.join(allowed)}")
    if strategy and strategy not in STRATEGIES_WITH_STAGES:
        raise UsageError(
            f"--wait-until {value}: the service deploys with the {strategy} strategy, which has no "
            "lifecycle stages or hooks (BLUE_GREEN, LINEAR and CANARY have)"
        )
    return target


def paused_hook(sd: dict[str, Any]) -> dict[str, Any] | None:
    """The PAUSE lifecycle hook this service deployment waits on, if any."""
    return next(
        (h for h in sd.get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"),
        None,
    )


def stage_index(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else -1


def judge(base: Verdict, sd: dict[str, Any] | None, until: WaitUntil) -> Verdict:
    """Our rollout's verdict from the DescribeServices judgement ``base`` and our service
    deployment ``sd`` (None: the API is not answered; ``base`` alone decides)."""
    if sd is None:
        return base
    if base.state in (State.SUPERSEDED, State.GONE):
        return base
    status = str(sd.get("status") or "")
    reason = str(sd.get("statusReason") or (sd.get("rollback") or {}).get("reason") or "")
    if status == "ROLLBACK_SUCCESSFUL":
        return Verdict(State.ROLLED_BACK, _why("the service deployment was rolled back", reason),
                       base.other_task_definition, base.other_deployment, ECS_ROLLBACK)  # fmt: skip
    if status in ROLLING_BACK:
        return Verdict(State.ROLLING_BACK, _why("the service deployment is rolling back", reason),
                       base.other_task_definition, base.other_deployment, ECS_ROLLBACK)  # fmt: skip
    if status == "ROLLBACK_FAILED":
        return Verdict(State.FAILED, _why("the service deployment's rollback failed", reason))
    if status in ("STOPPED", "STOP_REQUESTED"):
        if base.state is State.PENDING:
            # replaced by a newer deployment that DescribeServices did not show yet (the two reads
            # are not atomic): the next poll tells a newer deploy from a stop
            return Verdict(State.PENDING, _why(f"the service deployment is {status}", reason))
        return Verdict(State.FAILED, _why(f"the service deployment was stopped ({status})", reason))
    if base.state is State.FAILED:
        return base  # fail-fast on failed tasks, a FAILED rollout
    stage = str(sd.get("lifecycleStage") or "")
    if status == "SUCCESSFUL":
        if until.kind == "stable" and base.state is not State.DONE:
            return base  # deployed, old tasks still draining
        note = " (it finished without pausing)" if until.kind == "paused" else ""
        return Verdict(State.DONE, f"service deployment SUCCESSFUL{note}")
    if until.kind == "stage" and stage and stage_index(stage) >= stage_index(until.stage):
        return Verdict(State.DONE, f"service deployment reached {stage}")
    hook = paused_hook(sd)
    if until.kind == "paused" and hook is not None:
        return Verdict(State.DONE, f"service deployment paused at {stage or '?'} (hook {hook.get('hookId')})")
    where = f"service deployment {status or 'PENDING'}" + (f" at {stage}" if stage else "")
    if hook is not None:
        where += f", paused by hook {hook.get('hookId')}"
    return Verdict(State.PENDING, f"{where}; {base.reason}" if base.state is State.PENDING else where)


def percent(value: Any) -> str:
    """ECS and CodeDeploy report traffic weights and scales as doubles: ``100.0`` -> ``100``,
    ``12.5`` stays."""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _why(what: str, reason: str) -> str:
    return f"{what}: {reason}" if reason else what


def progress_line(sd: dict[str, Any], names: dict[str, str]) -> str:
    """``service deployment IN_PROGRESS TEST_TRAFFIC_SHIFT target app:3 2/2 running, production 0% test 100%``
    (``names``: service revision ARN -> ``family:revision``)."""
    parts = [f"service deployment {sd.get('status', '?')}"]
    if sd.get("lifecycleStage"):
        parts.append(str(sd["lifecycleStage"]))
    target = sd.get("targetServiceRevision") or {}
    if target:
        name = names.get(str(target.get("arn")), "")
        parts.append(
            f"target {name}".rstrip()
            + f" {target.get('runningTaskCount', 0)}/{target.get('requestedTaskCount', 0)} running"
        )
        weights = [f"{label} {percent(target[key])}%" for label, key in (("production", "requestedProductionTrafficWeight"),
                   ("test", "requestedTestTrafficWeight")) if target.get(key) is not None]  # fmt: skip
        if weights:
            parts.append(", ".join(weights))
    hook = paused_hook(sd)
    if hook is not None:
        parts.append(f"PAUSED (hook {hook.get('hookId')})")
    return " ".join(parts)


def ours_among(briefs: list[dict[str, Any]], created_at: datetime | None) -> dict[str, Any] | None:
    """Our service deployment among ListServiceDeployments briefs (already limited to those
    created since the command started): the one created closest to our deployment
    (``created_at``, from the UpdateService answer), or the newest when that is unknown."""
    if not briefs:
        return None
    if created_at is None:
        return max(briefs, key=lambda b: _ts(b.get("createdAt")))
    return min(briefs, key=lambda b: abs(_ts(b.get("createdAt")) - _ts(created_at)))


def _ts(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return 0.0
