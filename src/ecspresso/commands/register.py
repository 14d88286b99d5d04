"""``register``: register the local task definition as a new revision (no service needed).

Output contract (for scripts and ecschedule pipelines), on stdout:

* default: one line ``<family>:<revision><TAB><task definition ARN>``, e.g.
  ``app:42\tarn:aws:ecs:us-east-1:123456789012:task-definition/app:42``
  (``ecspresso register | cut -f1`` gives ``app:42``);
* with ``--log-format json``: one JSON line ``{"family": "app", "revision": 42, "arn": "..."}``;
* with ``--output``: the registered task definition as JSON (ecspresso's ``--output``) and nothing
  else; it carries ``family``, ``revision`` and ``taskDefinitionArn`` too;
* with ``--dry-run``: the task definition that would be registered, as JSON; nothing registered.

The log line ``Task definition is registered family:revision`` (stderr) carries the ARN as well.
The result (``registered``) carries the ARN for the Action's outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.options import Command, option
from ecspresso.report import Result, container_images


@dataclass
class RegisterOption:
    dry_run: bool = option(False, "print the task definition that would be registered; register nothing")
    output: bool = option(False, "print the registered task definition as JSON")


def register_line(family: str, revision: int, arn: str, *, json_format: bool) -> str:
    """The stdout line announcing a registered revision (see the module docstring)."""
    if json_format:
        return json.dumps({"family": family, "revision": revision, "arn": arn})
    return f"{family}:{revision}\t{arn}"


def register(app: App, opts: RegisterOption) -> Result:
    from ecspresso.normalize import to_api_json

    log = app.log
    log.info("Starting register task definition" + (" (dry run)" if opts.dry_run else ""))
    td = app.load_task_definition()
    if opts.dry_run:
        log.info("task definition:")
        app.reporter.output(to_api_json(td))
        log.info("DRY RUN OK")
        return Result(command="register", result="dry-run", cluster=app.config.cluster)

    if not td.get("tags"):
        td.pop("tags", None)  # RegisterTaskDefinition rejects an empty list
    log.info("Registering a new task definition...")
    new = ecs.register_task_definition(app, td)
    family, revision, arn = str(new["family"]), int(new["revision"]), str(new["taskDefinitionArn"])
    log.info(f"Task definition is registered {family}:{revision}")  # the ARN is on stdout
    if opts.output:
        app.reporter.output(to_api_json(new))
    else:
        app.reporter.output(register_line(family, revision, arn, json_format=app.opts.log_format == "json"))
    return Result(
        command="register",
        result="registered",
        service=app.config.service,
        cluster=app.config.cluster,
        task_definition_arn=arn,
        message=f"{family}:{revision}",
        images=container_images(new),
    )


COMMANDS = [
    Command(
        "register",
        "register a new revision of the task definition",
        RegisterOption,
        register,
        examples=("register", "register --output", "--ext-str type=batch register"),
    )
]
