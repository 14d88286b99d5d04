"""Application Auto Scaling of the service: suspend/resume and min/max, before UpdateService."""

from __future__ import annotations

from typing import Any

from ecspresso import ecs


def requested(opts: Any) -> bool:
    return bool(
        getattr(opts, "suspend_auto_scaling", False)
        or getattr(opts, "resume_auto_scaling", False)
        or getattr(opts, "auto_scaling_min", None) is not None
        or getattr(opts, "auto_scaling_max", None) is not None
    )


def apply(app: Any, opts: Any, *, dry_run: bool) -> None:
    """ecspresso's autoscaling.go: only when a flag was given; suspend wins over resume."""
    if not requested(opts):
        return
    cfg = app.config
    log = app.log
    resource = f"service/{cfg.cluster}/{cfg.service}"
    client = app.client("application-autoscaling")
    out = ecs.call("DescribeScalableTargets", client.describe_scalable_targets, ServiceNamespace="ecs",
                   ResourceIds=[resource], ScalableDimension="ecs:service:DesiredCount")  # fmt: skip
    targets = out.get("ScalableTargets", [])
    if not targets:
        log.warning(f"no scalable target for {resource}: auto scaling flags ignored")
        return
    params: dict[str, Any] = {
        "ServiceNamespace": "ecs",
        "ResourceId": resource,
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    if opts.suspend_auto_scaling or opts.resume_auto_scaling:
        suspend = bool(opts.suspend_auto_scaling)
        params["SuspendedState"] = {
            "DynamicScalingInSuspended": suspend,
            "DynamicScalingOutSuspended": suspend,
            "ScheduledScalingSuspended": suspend,
        }
    if opts.auto_scaling_min is not None:
        params["MinCapacity"] = opts.auto_scaling_min
    if opts.auto_scaling_max is not None:
        params["MaxCapacity"] = opts.auto_scaling_max
    what = ", ".join(
        f"{k}={v}" for k, v in (("suspended", params.get("SuspendedState", {}).get("DynamicScalingInSuspended")),
                                ("min", opts.auto_scaling_min), ("max", opts.auto_scaling_max)) if v is not None
    )  # fmt: skip
    if dry_run:
        log.info(f"auto scaling would be updated: {what} (dry run)")
        return
    ecs.call("RegisterScalableTarget", client.register_scalable_target, **params)
    log.info(f"auto scaling updated: {what}")
