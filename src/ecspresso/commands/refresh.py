"""``refresh``: replace every task without changing anything (memory leaks, new external config,
Fargate retirement) = deploy --skip-task-definition --force-new-deployment --no-update-service."""

from __future__ import annotations

from dataclasses import dataclass

from ecspresso.app import App
from ecspresso.commands.deploy import DeployOption, deploy
from ecspresso.options import Command, DryRunOptions, WaitOptions, option
from ecspresso.report import Result


@dataclass
class RefreshOption(DryRunOptions, WaitOptions):
    wait_until: str = option("deployed", "what to wait for", choices=("stable", "deployed"))
    fail_after_task_failures: int = option(0, "fail once N new tasks failed to start (0: off)")


def refresh(app: App, opts: RefreshOption) -> Result:
    return deploy(app, DeployOption(
        dry_run=opts.dry_run, skip_task_definition=True, force_new_deployment=True, update_service=False,
        wait=opts.wait, wait_until=opts.wait_until, fail_after_task_failures=opts.fail_after_task_failures,
    ), command="refresh")  # fmt: skip


COMMANDS = [
    Command(
        "refresh",
        "replace every task of the service without changing anything",
        RefreshOption,
        refresh,
        examples=("refresh", "refresh --no-wait"),
    )
]
