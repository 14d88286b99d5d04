"""Judging a CodeDeploy blue/green deployment of an ECS service: pure functions, no AWS.

Inputs are GetDeployment's ``deploymentInfo`` and GetDeploymentTarget's ``ecsTarget`` (its
lifecycle events and task sets with their traffic weights), plus the rollback deployment
CodeDeploy created when it rolled ours back (``rollbackInfo.rollbackDeploymentId``).

* ``deployed`` / ``stable``: the deployment Succeeded (CodeDeploy's own notion of done, as in
  ecspresso, which ignores the difference for CodeDeploy services);
* ``codedeploy:<Event>``: that lifecycle event Succeeded (or was Skipped); Failed is an error;
* a Failed or Stopped deployment that CodeDeploy rolls back is ROLLING_BACK, then ROLLED_BACK
  (cause :data:`CODEDEPLOY_ROLLBACK`) once the rollback deployment Succeeded.
"""

from __future__ import annotations

from typing import Any

from ecspresso.deployments import WaitUntil, percent
from ecspresso.rollout import State, Verdict

CODEDEPLOY_ROLLBACK = "codedeploy-rollback"
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")


def failing_event(target: dict[str, Any] | None) -> dict[str, Any] | None:
    return next((e for e in (target or {}).get("lifecycleEvents") or [] if e.get("status") == "Failed"), None)


def why_failed(deployment: dict[str, Any], target: dict[str, Any] | None) -> str:
    """``lifecycle event AfterAllowTestTraffic failed: <diagnostics>`` or the deployment's error."""
    event = failing_event(target)
    info = deployment.get("errorInformation") or {}
    message = str(info.get("message") or info.get("code") or "")
    if event is not None:
        diag = event.get("diagnostics") or {}
        detail = str(diag.get("message") or diag.get("errorCode") or "") or message
        return f"lifecycle event {event.get('lifecycleEventName')} failed" + (f": {detail}" if detail else "")
    return f"CodeDeploy deployment {deployment.get('status')}" + (f": {message}" if message else "")


def verdict(
    deployment: dict[str, Any],
    target: dict[str, Any] | None,
    until: WaitUntil,
    *,
    rollback: dict[str, Any] | None = None,
    rollback_task_definition: str = "",
) -> Verdict:
    """Where our CodeDeploy deployment stands (``rollback``: CodeDeploy's rollback deployment, when
    it created one)."""
    status = str(deployment.get("status") or "")
    if until.kind == "event" and status not in ("Failed", "Stopped"):
        event = next((e for e in (target or {}).get("lifecycleEvents") or []
                      if e.get("lifecycleEventName") == until.stage), None)  # fmt: skip
        if event is not None and event.get("status") in ("Succeeded", "Skipped"):
            return Verdict(State.DONE, f"lifecycle event {until.stage} {event.get('status')}")
        if event is not None and event.get("status") == "Failed":
            return Verdict(State.FAILED, why_failed(deployment, target))
        if status == "Succeeded":
            return Verdict(State.FAILED, f"the deployment finished without lifecycle event {until.stage}")
    if status == "Succeeded":
        return Verdict(State.DONE, "CodeDeploy deployment Succeeded")
    if status in ("Failed", "Stopped"):
        reason = why_failed(deployment, target)
        if rollback is None:
            if (deployment.get("rollbackInfo") or {}).get("rollbackDeploymentId"):
                return Verdict(State.ROLLING_BACK, f"{reason}; CodeDeploy is rolling back",
                               rollback_task_definition, "", CODEDEPLOY_ROLLBACK)  # fmt: skip
            return Verdict(State.FAILED, reason)
        back = str(rollback.get("status") or "")
        rid = str(rollback.get("deploymentId") or "")
        if back == "Succeeded":
            return Verdict(State.ROLLED_BACK, f"{reason}; CodeDeploy rolled back (deployment {rid})",
                           rollback_task_definition, rid, CODEDEPLOY_ROLLBACK)  # fmt: skip
        if back in ("Failed", "Stopped"):
            return Verdict(State.FAILED, f"{reason}; CodeDeploy's rollback {rid} {back} too")
        return Verdict(State.ROLLING_BACK, f"{reason}; CodeDeploy is rolling back (deployment {rid} {back})",
                       rollback_task_definition, rid, CODEDEPLOY_ROLLBACK)  # fmt: skip
    return Verdict(State.PENDING, progress(deployment, target))


def progress(deployment: dict[str, Any], target: dict[str, Any] | None) -> str:
    """``CodeDeploy deployment d-X InProgress: AllowTraffic InProgress, green 40% (2/2 running)``."""
    parts = [f"CodeDeploy deployment {deployment.get('deploymentId')} {deployment.get('status')}"]
    events = (target or {}).get("lifecycleEvents") or []
    current = next((e for e in events if e.get("status") == "InProgress"), None)
    if current is not None:
        parts.append(f"{current.get('lifecycleEventName')} InProgress")
    green = next(
        (t for t in (target or {}).get("taskSetsInfo") or [] if t.get("taskSetLabel") == "Green"), None
    )
    if green is not None:
        parts.append(f"green {percent(green.get('trafficWeight') or 0)}% "
                     f"({green.get('runningCount', 0)}/{green.get('desiredCount', 0)} running)")  # fmt: skip
    return ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]


def event_lines(target: dict[str, Any] | None) -> list[str]:
    """One ``BeforeInstall Succeeded`` entry per lifecycle event that has started."""
    return [f"{e.get('lifecycleEventName')} {e.get('status')}"
            for e in (target or {}).get("lifecycleEvents") or [] if e.get("status") not in (None, "Pending")]  # fmt: skip
