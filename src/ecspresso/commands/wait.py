"""``wait``: wait for the service's current deployment (stable or deployed), reporting progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.errors import EcspressoError
from ecspresso.options import Command, option
from ecspresso.report import Result, failed
from ecspresso.rollout import primary
from ecspresso.watch import WaitRequest, explain_failure, watch_rollout


@dataclass
class WaitOption:
    wait_until: str = option(
        "stable", "what to wait for", choices=("stable", "deployed"), aliases=("--until",)
    )
    fail_after_task_failures: int = option(0, "fail once N tasks of the deployment failed to start (0: off)")


def wait(app: App, opts: WaitOption) -> Result:
    cfg = app.config
    service = ecs.describe_service(app, include_tags=False)
    if service is None:
        raise EcspressoError(f"service {cfg.service} not found in cluster {cfg.cluster}")
    dep = primary(service) or {}
    result = Result(command="wait", service=cfg.service, cluster=cfg.cluster,
                    task_definition_arn=str(dep.get("taskDefinition") or ""), deployment_id=str(dep.get("id") or ""))  # fmt: skip
    outcome = watch_rollout(app, WaitRequest(deployment_id=result.deployment_id, task_definition=result.task_definition_arn,
                                             until=opts.wait_until, timeout=cfg.timeout, settle=False,
                                             fail_after_task_failures=opts.fail_after_task_failures,
                                             since=datetime.now(UTC)))  # fmt: skip
    result.events, result.stopped_tasks = outcome.events[-10:], outcome.stopped_tasks
    if outcome.ok:
        app.log.info("Service is stable" if opts.wait_until == "stable" else "Service is deployed")
        return result
    explain_failure(app, outcome)
    result.result = "failed"
    result.message = f"wait failed: {outcome.verdict.reason}"
    raise failed(result)


COMMANDS = [
    Command("wait", "wait until the service is stable or its deployment is complete", WaitOption, wait)
]
