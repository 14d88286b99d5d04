"""``continue``: release the PAUSE lifecycle hook a service deployment waits on, then wait.

BLUE_GREEN, LINEAR and CANARY services can pause at a lifecycle stage (a ``PAUSE`` hook in
``deploymentConfiguration.lifecycleHooks``): ``deploy --wait-until paused`` returns there, a
person or a pipeline checks the test traffic, then ``continue`` lets the deployment go on
(ContinueServiceDeployment, action CONTINUE). It can be repeated for the next pause.
``--rollback`` releases the hook with action ROLLBACK instead: ECS rolls the deployment back.
(The module is ``resume`` because ``continue`` is a Python keyword.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ecspresso.app import App
from ecspresso.errors import EcspressoError
from ecspresso.options import Command, DryRunOptions, WaitOptions, option
from ecspresso.report import Result, failed
from ecspresso.rollout import State
from ecspresso.strategies import check_wait_until, of_service
from ecspresso.watch import WaitRequest, explain_failure


@dataclass
class ContinueOption(DryRunOptions, WaitOptions):
    wait_until: str = option(
        "deployed", "deployed, stable, ecs:<STAGE> or paused (the next pause)",
        parse=check_wait_until, metavar="UNTIL",
    )  # fmt: skip
    rollback: bool = option(False, "release the hook with ROLLBACK: ECS rolls the deployment back")


def continue_deployment(app: App, opts: ContinueOption) -> Result:
    cfg = app.config
    _, strategy, until = of_service(app, opts.wait_until)
    deployment = strategy.in_progress(app)
    if deployment is None:
        raise EcspressoError("nothing to continue: no deployment of the service is in progress")
    arn = deployment.id
    action = "ROLLBACK" if opts.rollback else "CONTINUE"
    result = Result(command="continue", service=cfg.service, cluster=cfg.cluster, service_deployment_arn=arn,
                    lifecycle_stages=[deployment.stage] if deployment.stage else [])  # fmt: skip
    if opts.dry_run:
        if not deployment.paused_hook:
            raise EcspressoError(
                f"nothing to continue: deployment {arn.rsplit('/', 1)[-1]} is not paused ({deployment.status})"
            )
        app.log.info(f"deployment {arn.rsplit('/', 1)[-1]} is paused at {deployment.stage} "
                     f"(hook {deployment.paused_hook}): it would be released with {action} (dry run)")  # fmt: skip
        result.result = "dry-run"
        return result
    strategy.continue_paused(app, deployment, action)
    app.log.info(f"Deployment {arn.rsplit('/', 1)[-1]} released at {deployment.stage or '?'} ({action})")
    if not opts.wait:
        result.result = "ok"
        return result
    request = WaitRequest(until=until, timeout=cfg.timeout, since=datetime.now(UTC), service_deployment_arn=arn)  # fmt: skip
    with app.reporter.phase("Wait for the deployment"):
        outcome = strategy.wait(app, request)
    result.lifecycle_stages = list(dict.fromkeys([*result.lifecycle_stages, *outcome.stages]))
    rolled_back = outcome.verdict.state is State.ROLLED_BACK
    if outcome.ok or (opts.rollback and rolled_back):
        result.result = "rolled-back" if rolled_back else ("paused" if until.kind == "paused" else "deployed")
        result.rolled_back, result.rolled_back_by = rolled_back, "ecspresso" if rolled_back else ""
        app.log.info(outcome.verdict.reason)
        return result
    result.explanation = explain_failure(app, outcome)
    result.result = "failed"
    result.message = f"after continue: {outcome.verdict.reason}"
    raise failed(result, exit_code=130 if outcome.interrupted else 1)


COMMANDS = [
    Command(
        "continue",
        "release the PAUSE lifecycle hook a blue/green, linear or canary deployment waits on",
        ContinueOption,
        continue_deployment,
        examples=("continue", "continue --wait-until deployed"),
    )
]
