"""``wait``: wait for the service's current deployment (stable or deployed), reporting progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ecspresso.app import App
from ecspresso.options import Command, option
from ecspresso.report import Result, failed
from ecspresso.rollout import primary
from ecspresso.strategies import check_wait_until, of_service
from ecspresso.watch import WaitRequest, explain_failure


@dataclass
class WaitOption:
    wait_until: str = option(
        "stable", "stable, deployed, ecs:<STAGE> or paused (stages: BLUE_GREEN, LINEAR, CANARY)",
        aliases=("--until",), parse=check_wait_until, metavar="UNTIL",
    )  # fmt: skip
    fail_after_task_failures: int = option(0, "fail once N tasks of the deployment failed to start (0: off)")


def wait(app: App, opts: WaitOption) -> Result:
    cfg = app.config
    service, strategy, until = of_service(app, opts.wait_until)
    dep = primary(service) or {}
    result = Result(command="wait", service=cfg.service, cluster=cfg.cluster,
                    task_definition_arn=str(dep.get("taskDefinition") or ""), deployment_id=str(dep.get("id") or ""))  # fmt: skip
    outcome = strategy.wait(app, WaitRequest(deployment_id=result.deployment_id, task_definition=result.task_definition_arn,
                                             until=until, timeout=cfg.timeout,
                                             fail_after_task_failures=opts.fail_after_task_failures,
                                             since=datetime.now(UTC), newest_service_deployment=True))  # fmt: skip
    result.events, result.stopped_tasks = outcome.events[-10:], outcome.stopped_tasks
    result.service_deployment_arn = outcome.service_deployment_arn
    result.lifecycle_stages = list(outcome.stages)
    if outcome.ok:
        app.log.info(
            {"stable": "Service is stable", "deployed": "Service is deployed"}.get(
                until.kind, outcome.verdict.reason
            )
        )
        return result
    result.explanation = explain_failure(app, outcome)
    result.result = "failed"
    result.message = f"wait failed: {outcome.verdict.reason}"
    raise failed(result)


COMMANDS = [
    Command(
        "wait",
        "wait until the service is stable or its deployment is complete",
        WaitOption,
        wait,
        examples=("wait", "wait --wait-until deployed"),
    )
]
