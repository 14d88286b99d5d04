"""Application Auto Scaling of the service: suspend/resume and min/max, before UpdateService."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.options import AutoScalingOptions, SuspendAutoScalingOptions

if TYPE_CHECKING:
    from ecspresso.app import App


@dataclass(frozen=True)
class Request:
    """The auto scaling flags of a command (deploy and scale have all four; rollback has
    suspend/resume only)."""

    suspend: bool = False
    resume: bool = False
    min: int | None = None
    max: int | None = None

    @classmethod
    def of(cls, opts: SuspendAutoScalingOptions) -> Request:
        """From a command's auto scaling option group (min/max only where the command has them)."""
        if isinstance(opts, AutoScalingOptions):
            return cls(
                opts.suspend_auto_scaling,
                opts.resume_auto_scaling,
                opts.auto_scaling_min,
                opts.auto_scaling_max,
            )
        return cls(opts.suspend_auto_scaling, opts.resume_auto_scaling)

    @property
    def requested(self) -> bool:
        return self.suspend or self.resume or self.min is not None or self.max is not None


def apply(app: App, opts: Request, *, dry_run: bool) -> str:
    """ecspresso's autoscaling.go: only when a flag was given; suspend wins over resume. Returns
    what was (or, with ``dry_run``, would be) changed, ``""`` for nothing."""
    if not opts.requested:
        return ""
    cfg = app.config
    log = app.log
    resource = f"service/{cfg.cluster}/{cfg.service}"
    client = app.client("application-autoscaling")
    out = ecs.call("DescribeScalableTargets", client.describe_scalable_targets, ServiceNamespace="ecs",
                   ResourceIds=[resource], ScalableDimension="ecs:service:DesiredCount")  # fmt: skip
    targets = out.get("ScalableTargets", [])
    if not targets:
        log.warning(f"no scalable target for {resource}: auto scaling flags ignored")
        return ""
    params: dict[str, Any] = {
        "ServiceNamespace": "ecs",
        "ResourceId": resource,
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    if opts.suspend or opts.resume:
        suspend = opts.suspend
        params["SuspendedState"] = {
            "DynamicScalingInSuspended": suspend,
            "DynamicScalingOutSuspended": suspend,
            "ScheduledScalingSuspended": suspend,
        }
    if opts.min is not None:
        params["MinCapacity"] = opts.min
    if opts.max is not None:
        params["MaxCapacity"] = opts.max
    what = ", ".join(
        f"{k}={v}" for k, v in (("suspended", params.get("SuspendedState", {}).get("DynamicScalingInSuspended")),
                                ("min", opts.min), ("max", opts.max)) if v is not None
    )  # fmt: skip
    if dry_run:
        log.info(f"auto scaling would be updated: {what} (dry run)")
        return what
    ecs.call("RegisterScalableTarget", client.register_scalable_target, **params)
    log.info(f"auto scaling updated: {what}")
    return what
