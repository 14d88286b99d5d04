"""How a service is deployed, waited on and rolled back: chosen once, here, from the service.

As ecspresso's DeployFunc/WaitFunc/RollbackFunc: :func:`choose` reads the deployment controller
(``ECS``, ``CODE_DEPLOY``, ``EXTERNAL``) and, for ECS, ``deploymentConfiguration.strategy``
(``ROLLING``, ``BLUE_GREEN``, ``LINEAR``, ``CANARY``), and returns a :class:`Strategy` whose
functions the commands call. No other module tests the controller or the strategy. Adding a
controller (CodeDeploy) means one module in this package and one line in :func:`choose`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecspresso.deployments import STRATEGIES_WITH_STAGES, WaitUntil, parse_wait_until
from ecspresso.errors import EcspressoError

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.watch import WaitOutcome, WaitRequest

#: start a deployment: (app, UpdateService parameters, id of the PRIMARY before, expected task
#: definition) -> the service as it is after the call
StartFunc = Callable[["App", dict[str, Any], str, str], dict[str, Any]]
#: watch the deployment until it is final
WaitFunc = Callable[["App", "WaitRequest"], "WaitOutcome"]
#: the deployment in progress, if any (a service deployment, in the API's shape)
InProgressFunc = Callable[["App"], "dict[str, Any] | None"]
#: ask the deployment controller to roll an in-progress deployment back (by its ARN)
StopFunc = Callable[["App", str], None]
#: release a paused lifecycle hook: (app, deployment ARN, hook id, CONTINUE | ROLLBACK)
ContinueFunc = Callable[["App", str, str, str], None]


@dataclass(frozen=True)
class Strategy:
    controller: str  # ECS | CODE_DEPLOY | EXTERNAL
    name: str  # ROLLING | BLUE_GREEN | LINEAR | CANARY | CODE_DEPLOY | EXTERNAL
    start: StartFunc
    wait: WaitFunc
    in_progress: InProgressFunc
    stop_in_progress: StopFunc
    continue_paused: ContinueFunc
    refusal: str = ""  # set when this port cannot drive the controller: said before any write

    def ensure_supported(self) -> None:
        if self.refusal:
            raise EcspressoError(self.refusal)

    def wait_until(self, value: str, *, command: str = "deploy") -> WaitUntil:
        """The ``--wait-until`` target, checked against this strategy (``ecs:`` and ``paused``
        need lifecycle stages)."""
        allowed: tuple[str, ...] = ("deployed", "stable", "ecs:", "paused")
        return parse_wait_until(value, strategy=self.name if value.startswith(("ecs:", "paused")) else "",
                                allowed=allowed if command != "rollback" else ("deployed", "stable"))  # fmt: skip

    @property
    def has_stages(self) -> bool:
        return self.name in STRATEGIES_WITH_STAGES


def check_wait_until(value: str) -> str:
    """``--wait-until`` syntax, for the option parser (the strategy checks the rest)."""
    parse_wait_until(value, allowed=("deployed", "stable", "ecs:", "paused"))
    return value


def choose(service: dict[str, Any] | None) -> Strategy:
    """The strategy of a service (DescribeServices answer) or of a service definition (the
    create path); ECS rolling when neither says otherwise."""
    svc = service or {}
    controller = str((svc.get("deploymentController") or {}).get("type") or "ECS")
    if controller != "ECS":
        from ecspresso.strategies import unsupported

        return unsupported.strategy(controller)
    name = str((svc.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING")
    from ecspresso.strategies import ecs

    return ecs.strategy(name)
