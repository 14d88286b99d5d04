"""``scale``: change the desired count (and/or auto scaling settings) and wait until stable."""

from __future__ import annotations

from dataclasses import dataclass

from ecspresso import autoscaling
from ecspresso.app import App
from ecspresso.commands.deploy import DeployOption, deploy
from ecspresso.options import AutoScalingOptions, Command, DryRunOptions, WaitOptions, option
from ecspresso.report import Result


@dataclass
class ScaleOption(DryRunOptions, WaitOptions, AutoScalingOptions):
    tasks: int = option(-1, "desired count (-1: unchanged; only auto scaling settings change)")


def scale(app: App, opts: ScaleOption) -> Result:
    if opts.tasks < 0:
        autoscaling.apply(
            app,
            autoscaling.Request.of(opts),
            dry_run=opts.dry_run,
        )
        app.log.info("desired count unchanged (no --tasks)")
        return Result(command="scale", result="dry-run" if opts.dry_run else "ok",
                      service=app.config.service, cluster=app.config.cluster)  # fmt: skip
    return deploy(app, DeployOption(
        dry_run=opts.dry_run, tasks=opts.tasks, skip_task_definition=True, update_service=False,
        wait=opts.wait, wait_until="stable", suspend_auto_scaling=opts.suspend_auto_scaling,
        resume_auto_scaling=opts.resume_auto_scaling, auto_scaling_min=opts.auto_scaling_min,
        auto_scaling_max=opts.auto_scaling_max,
    ), command="scale")  # fmt: skip


COMMANDS = [
    Command(
        "scale",
        "change the desired count of the service",
        ScaleOption,
        scale,
        examples=("scale --tasks 4", "scale --suspend-auto-scaling --tasks 0"),
    )
]
