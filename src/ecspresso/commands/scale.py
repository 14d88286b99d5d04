"""``scale``: change the desired count (and/or auto scaling settings) and wait until stable."""

from __future__ import annotations

from dataclasses import dataclass

from ecspresso import autoscaling
from ecspresso.app import App
from ecspresso.commands.deploy import DeployOption, deploy
from ecspresso.options import Command, option
from ecspresso.report import Result


@dataclass
class ScaleOption:
    dry_run: bool = option(False, "show what would be done; make no change")
    tasks: int = option(-1, "desired count (-1: unchanged; only auto scaling settings change)")
    wait: bool = option(True, "wait until the service is stable", negatable=True)
    suspend_auto_scaling: bool = option(False, "suspend Application Auto Scaling of the service")
    resume_auto_scaling: bool = option(False, "resume Application Auto Scaling of the service")
    auto_scaling_min: int | None = option(None, "auto scaling minimum capacity")
    auto_scaling_max: int | None = option(None, "auto scaling maximum capacity")


def scale(app: App, opts: ScaleOption) -> Result:
    if opts.tasks < 0:
        autoscaling.apply(
            app,
            autoscaling.Request(
                opts.suspend_auto_scaling,
                opts.resume_auto_scaling,
                opts.auto_scaling_min,
                opts.auto_scaling_max,
            ),
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


COMMANDS = [Command("scale", "change the desired count of the service", ScaleOption, scale)]
