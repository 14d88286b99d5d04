"""How a service is deployed, waited on and rolled back: chosen once, here, from the service.

As ecspresso's DeployFunc/WaitFunc/RollbackFunc: :func:`choose` reads the deployment controller
(``ECS``, ``CODE_DEPLOY``, ``EXTERNAL``) and, for ECS, ``deploymentConfiguration.strategy``
(``ROLLING``, ``BLUE_GREEN``, ``LINEAR``, ``CANARY``), and returns a :class:`Strategy` whose
functions the commands call. No other module tests the controller or the strategy. Adding a
controller (CodeDeploy) means one module in this package and one line in :func:`choose`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecspresso.deployments import STRATEGIES_WITH_STAGES, WaitUntil, parse_wait_until
from ecspresso.errors import EcspressoError

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.watch import WaitOutcome, WaitRequest


@dataclass
class StartRequest:
    """What a deploy (or a rollback to a revision) asks of the deployment controller."""

    service: dict[str, Any]  # the service as described before
    params: dict[
        str, Any
    ]  # UpdateService parameters: cluster, service, taskDefinition, attributes, count, force
    before_id: str = ""  # the PRIMARY deployment before (ECS)
    rollback_events: tuple[str, ...] = ()  # --rollback-events (CodeDeploy's automatic rollback)


@dataclass
class Started:
    """The deployment a start created (``deployment_id`` empty when none was)."""

    service: dict[str, Any]
    deployment_id: str = ""  # ECS deployment id (ecs-svc/…) or CodeDeploy deployment id (d-…)
    created_at: datetime | None = None
    task_definition: str = ""  # what it deploys
    console_url: str = ""
    #: the ECS service deployment it started, when the answer names it (``currentServiceDeployment``)
    service_deployment_arn: str = ""


@dataclass(frozen=True)
class InProgress:
    """A deployment of the service that has not finished (whoever started it)."""

    id: str  # service deployment ARN, or CodeDeploy deployment id
    status: str
    target_task_definition: str = ""  # family:revision being deployed
    source_task_definition: str = ""  # family:revision a rollback returns to
    stage: str = ""  # lifecycle stage / event
    paused_hook: str = ""  # hook id awaiting action (ECS PAUSE hook)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


#: start a deployment
StartFunc = Callable[["App", StartRequest], Started]
#: watch the deployment until it is final
WaitFunc = Callable[["App", "WaitRequest"], "WaitOutcome"]
#: the deployment in progress, if any
InProgressFunc = Callable[["App"], "InProgress | None"]
#: ask the deployment controller to roll an in-progress deployment back (by its id)
StopFunc = Callable[["App", str], None]
#: release a paused deployment: (app, the deployment, CONTINUE | ROLLBACK)
ContinueFunc = Callable[["App", InProgress, str], None]


@dataclass(frozen=True)
class Strategy:
    controller: str  # ECS | CODE_DEPLOY | EXTERNAL
    name: str  # ROLLING | BLUE_GREEN | LINEAR | CANARY | CODE_DEPLOY | EXTERNAL
    start: StartFunc
    wait: WaitFunc
    in_progress: InProgressFunc
    stop_in_progress: StopFunc
    continue_paused: ContinueFunc
    wait_targets: tuple[str, ...] = ("deployed", "stable", "ecs:", "paused")
    refusal: str = ""  # set when this port cannot drive the controller: said before any write

    def ensure_supported(self) -> None:
        if self.refusal:
            raise EcspressoError(self.refusal)

    def wait_until(self, value: str, *, command: str = "deploy") -> WaitUntil:
        """The ``--wait-until`` target, checked against this strategy (``ecs:`` and ``paused``
        need lifecycle stages)."""
        allowed = self.wait_targets if command != "rollback" else ("deployed", "stable")
        return parse_wait_until(value, strategy=self.name if value.startswith(("ecs:", "paused")) else "",
                                allowed=allowed)  # fmt: skip

    @property
    def has_stages(self) -> bool:
        return self.name in STRATEGIES_WITH_STAGES


def check_wait_until(value: str) -> str:
    """``--wait-until`` syntax, for the option parser (the strategy checks the rest)."""
    parse_wait_until(value, allowed=("deployed", "stable", "ecs:", "paused", "codedeploy:"))
    return value


def of_service(
    app: App, wait_until: str, *, command: str = "deploy", tags: bool = False
) -> tuple[dict[str, Any], Strategy, WaitUntil]:
    """The configured service (an error when it does not exist), its strategy (an error when
    this port cannot drive it) and the ``--wait-until`` target checked against it: what
    ``wait``, ``continue`` and ``rollback`` start from."""
    from ecspresso import ecs

    service = ecs.describe_service(app, include_tags=tags)
    if service is None:
        raise EcspressoError(f"service {app.config.service} not found in cluster {app.config.cluster}")
    strategy = choose(service)
    strategy.ensure_supported()
    return service, strategy, strategy.wait_until(wait_until, command=command)


def choose(service: dict[str, Any] | None) -> Strategy:
    """The strategy of a service (DescribeServices answer) or of a service definition (the
    create path); ECS rolling when neither says otherwise."""
    svc = service or {}
    controller = str((svc.get("deploymentController") or {}).get("type") or "ECS")
    if controller == "CODE_DEPLOY":
        from ecspresso.strategies import codedeploy

        return codedeploy.strategy()
    if controller != "ECS":
        from ecspresso.strategies import unsupported

        return unsupported.strategy(controller)
    name = str((svc.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING")
    from ecspresso.strategies import ecs

    return ecs.strategy(name)
