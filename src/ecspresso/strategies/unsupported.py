"""Deployment controllers this port does not drive yet (CODE_DEPLOY until its strategy module
lands, EXTERNAL): every operation stops with one clear line, before any write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from ecspresso.errors import EcspressoError

if TYPE_CHECKING:
    from ecspresso.strategies import Strategy


def strategy(controller: str) -> Strategy:
    from ecspresso.strategies import Strategy

    message = (
        f"deployment controller {controller} is not supported by ecspresso-py yet "
        "(ECS rolling, blue/green, linear and canary are)"
    )

    def refuse(*_: Any) -> NoReturn:
        raise EcspressoError(message)

    return Strategy(controller, controller, refuse, refuse, refuse, refuse, refuse, refusal=message)
