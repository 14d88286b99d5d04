"""``appspec``: print the CodeDeploy AppSpec a deploy of the service would send.

The task definition is ``--task-definition latest`` (the newest ACTIVE revision of the family the
service runs; ecspresso's default), ``current`` (the revision the service runs) or a task
definition ARN, printed as given (ecspresso 2.6 accepted an ARN and printed an empty
TaskDefinition). The other properties come from the local service definition, or with
``--no-update-service`` from the running service, as in ecspresso. YAML on stdout (JSON with
``--log-format json``). The service must exist and use the CODE_DEPLOY deployment controller.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.codedeploy import appspec_yaml, build_appspec
from ecspresso.errors import EcspressoError, InputError, UsageError
from ecspresso.options import Command, option
from ecspresso.report import Result

_TD_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]+:\d+$")


@dataclass
class AppSpecOption:
    task_definition: str = option("latest", "task definition of the AppSpec: latest, current or a task definition ARN",
                                  metavar="latest|current|ARN")  # fmt: skip
    update_service: bool = option(
        True,
        "take the AppSpec's properties from the local service definition "
        "(--no-update-service: from the running service)",
        negatable=True,
    )


def appspec(app: App, opts: AppSpecOption) -> Result:
    choice = opts.task_definition.strip()
    if choice not in ("latest", "current") and not _TD_ARN.match(choice):
        raise UsageError(f"--task-definition must be latest, current or a task definition ARN "
                         f"(arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>), got {choice!r}")  # fmt: skip
    cfg = app.config
    if not cfg.service:
        raise InputError("service is not set: an AppSpec is for a service", source=cfg.path.name)
    remote = ecs.describe_service(app, include_tags=False)
    if remote is None:
        raise EcspressoError(f"service {cfg.service} is not found in cluster {cfg.cluster}")
    controller = (remote.get("deploymentController") or {}).get("type") or "ECS"
    if controller != "CODE_DEPLOY":
        raise EcspressoError(
            f"service {cfg.service} uses the {controller} deployment controller: an AppSpec is for a "
            "service deployed by CodeDeploy (deploymentController CODE_DEPLOY)"
        )
    if choice == "current":
        arn = str(remote["taskDefinition"])
    elif choice == "latest":
        arn = ecs.latest_task_definition_arn(app, ecs.family_of(str(remote["taskDefinition"])))
    else:
        arn = choice
    service = remote
    if opts.update_service:
        local = app.load_service_definition()
        if local is None:
            raise InputError(
                "service_definition is not set (use --no-update-service to build the AppSpec from the "
                "running service)",
                source=cfg.path.name,
            )
        service = {"serviceName": cfg.service, **local}
    spec = build_appspec(service, arn, cfg.appspec)
    if app.opts.log_format == "json":
        app.reporter.output(json.dumps(spec, indent=2, ensure_ascii=False))
    else:
        app.reporter.output(appspec_yaml(spec))
    return Result(
        command="appspec", result="ok", service=cfg.service, cluster=cfg.cluster, task_definition_arn=arn
    )


COMMANDS = [
    Command(
        "appspec",
        "print the CodeDeploy AppSpec of the service",
        AppSpecOption,
        appspec,
        examples=("appspec", "appspec --task-definition current"),
    )
]
