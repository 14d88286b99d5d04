"""Local AWS endpoint for tests and demos: moto plus an ECS rollout simulator and fault injection.

``Sandbox`` runs moto's API on loopback (in this process, or as ``python -m ecspresso.sandbox``).
``CreateService``/``UpdateService`` start deployments that complete, fail (with ECS's own circuit
breaker rollback) or never finish, one step per ``DescribeServices``, each with an ECS service
deployment (ListServiceDeployments and friends); BLUE_GREEN, LINEAR and CANARY services walk the
lifecycle stages, with PAUSE hooks; CODE_DEPLOY services run task sets and their CodeDeploy
deployments walk the lifecycle events (``codedeploy``); faults (throttling, 5xx, latency) can be
injected per operation. Needs the optional extra ``ecspresso-py[sandbox]``.

Importing this package is cheap: moto, werkzeug and boto3 are imported when the sandbox starts.
"""

from __future__ import annotations

from ecspresso.sandbox.server import DEFAULT_REGION, Sandbox

__all__ = ["DEFAULT_REGION", "Sandbox"]
