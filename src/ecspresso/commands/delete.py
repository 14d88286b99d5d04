"""``delete``: delete the service (after printing its status).

Without ``--force`` ecspresso asks to type the service name. When stdin is not a terminal (CI,
the GitHub Action) nobody can answer, so the command refuses and tells to pass ``--force``.
``--terminate`` deletes even with running tasks (DeleteService ``force=true``, tasks are stopped);
without it ECS refuses to delete a service whose desired count is not 0. ``--dry-run`` changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.commands.deregister import ask
from ecspresso.commands.status import service_status
from ecspresso.errors import AwsError, EcspressoError
from ecspresso.options import Command, option
from ecspresso.report import Result


@dataclass
class DeleteOption:
    dry_run: bool = option(False, "show what would be deleted; change nothing")
    force: bool = option(
        False, "delete without typing the service name (required when stdin is not a terminal)"
    )
    terminate: bool = option(False, "delete even with running tasks, stopping them (DeleteService force)")


def delete(app: App, opts: DeleteOption) -> Result:
    cfg = app.config
    if not cfg.service:
        raise EcspressoError("service is not defined in the config")
    log = app.log
    log.info("Deleting service" + (" (dry run)" if opts.dry_run else ""))
    sv = service_status(app, events=3)
    name = str(sv.get("serviceName", cfg.service))
    result = Result(command="delete", service=name, cluster=cfg.cluster,
                    task_definition_arn=str(sv.get("taskDefinition", "")))  # fmt: skip
    if opts.dry_run:
        log.info(f"service {name} will be deleted" + (" and its tasks stopped" if opts.terminate else ""))
        log.info("DRY RUN OK")
        result.result = "dry-run"
        return result
    if not opts.force and ask("Enter the service name to DELETE:") != name:
        log.info("Aborted")
        raise EcspressoError("confirmation failed")
    try:
        ecs.call(f"DeleteService {name}", app.client("ecs").delete_service,
                 cluster=cfg.cluster, service=name, force=opts.terminate)  # fmt: skip
    except AwsError as exc:
        if not opts.terminate and exc.code == "InvalidParameterException":
            raise AwsError(
                f"{exc} (scale the service to 0 first, or pass --terminate)", code=exc.code
            ) from exc
        raise
    log.info("Service is deleted")
    result.result = "deleted"
    return result


COMMANDS = [
    Command(
        "delete",
        "delete the service",
        DeleteOption,
        delete,
        examples=("delete --dry-run", "delete --force --terminate"),
    )
]
