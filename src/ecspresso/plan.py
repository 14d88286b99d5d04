"""What a ``deploy --dry-run`` would do, said in a few lines (pure): the plan a pull-request job shows.

The diffs themselves (task definition, service attributes) are printed before it; the plan says
what a real deploy would then do with them and whether anything would change (``changed``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    service: str
    cluster: str
    current_task_definition: str  # family:rev the service runs now ("" when unknown)
    task_definition: str  # "register" (a new revision of the local file) or the family:rev to deploy
    family: str = ""
    task_definition_diff: str = ""  # unified diff against the current revision ("" = identical)
    service_diff: str = ""  # unified diff of the service attributes ("" = identical or not compared)
    service_compared: bool = True
    desired_from: int | None = None
    desired_to: int | None = None  # None: unchanged
    force_new_deployment: bool = False
    auto_scaling: str = ""  # what would change in auto scaling, "" for nothing

    @property
    def changed(self) -> bool:
        """Whether the service would run anything different (definitions, count, tasks replaced)."""
        new_revision = (
            self.task_definition != "register" and self.task_definition != self.current_task_definition
        )
        return bool(
            self.task_definition_diff
            or self.service_diff
            or new_revision
            or (self.desired_to is not None and self.desired_to != self.desired_from)
            or self.force_new_deployment
            or self.auto_scaling
        )


def _changed_lines(diff: str) -> int:
    return sum(
        1 for line in diff.splitlines() if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    )


def plan_lines(plan: Plan) -> list[str]:
    """The plan, one fact per line, for the log and the job summary."""
    lines = [f"Plan for service {plan.service} (cluster {plan.cluster}):"]
    current = plan.current_task_definition or "none"
    if plan.task_definition == "register":
        if plan.task_definition_diff:
            n = _changed_lines(plan.task_definition_diff)
            lines.append(
                f"  task definition: register a new revision of {plan.family} ({n} changed lines against {current})"
            )
        else:
            lines.append(
                f"  task definition: no difference from {current} (a deploy would still register an identical "
                "revision and replace the tasks)"
            )
    elif plan.task_definition == plan.current_task_definition:
        lines.append(f"  task definition: keep {current}")
    else:
        lines.append(f"  task definition: {current} -> {plan.task_definition}")
    if not plan.service_compared:
        lines.append("  service attributes: not compared (--no-update-service or no service definition)")
    elif plan.service_diff:
        lines.append(f"  service attributes: {_changed_lines(plan.service_diff)} changed lines")
    else:
        lines.append("  service attributes: no change")
    if plan.desired_to is not None and plan.desired_to != plan.desired_from:
        lines.append(f"  desired count: {plan.desired_from} -> {plan.desired_to}")
    else:
        lines.append(f"  desired count: unchanged ({plan.desired_from})")
    if plan.auto_scaling:
        lines.append(f"  auto scaling: {plan.auto_scaling}")
    if plan.force_new_deployment:
        lines.append("  --force-new-deployment: every task would be replaced")
    lines.append(
        "  => changes would be made" if plan.changed else "  => nothing would change in what the service runs"
    )
    return lines
