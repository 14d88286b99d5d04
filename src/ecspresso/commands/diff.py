"""``diff``: what ``deploy`` would change, as a diff of the remote service / task definition
against the local definition files. Exit code 0 whether or not there are differences.

Order (ecspresso ``diff.go``): the service first (``--- <service ARN>`` / ``+++ <service def path>``),
then the task definition (``--- <task definition ARN>`` / ``+++ <task def path>``). The remote task
definition is the one the service runs, or, without a service (or with none in the cluster), the
newest ACTIVE revision of the local family; no remote at all means a diff against nothing.
``--no-with-service`` leaves the service definition out (the remote task definition is still the
one the service runs). ``--jsonnet`` shows both sides as Jsonnet. Colour only with ``--color`` and
a terminal on stdout.

``--external CMD`` (env ``ECSPRESSO_DIFF_COMMAND``) writes ``remote/<service|taskdef>.json`` (or
``.jsonnet``) and ``local/<…>`` into a temporary directory, runs ``CMD remote/x.json local/x.json``
there (split like a shell would, run without a shell) and passes its stdout through; a non-zero
exit is an error (as in ecspresso, so prefer tools that exit 0 on differences, e.g. ``difft``, ``delta``).

Secrets: the remote side's values where the local side holds a secret (the old value of a rotated
SSM parameter, read back from the registered task definition) are masked like the secret itself,
and the diff is printed redacted, whichever way it is made (``diffing.mask_counterparts``).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.log import redact
from ecspresso.options import Command, option
from ecspresso.report import Result


@dataclass
class DiffOption:
    unified: bool = option(True, "unified diff format", negatable=True)
    external: str | None = option(None, "external command to show the diff", env="ECSPRESSO_DIFF_COMMAND",
                                  metavar="CMD")  # fmt: skip
    with_service: bool = option(
        True,
        "include the service definition (--without-service: task definition only)",
        negatable=True,
        negated_aliases=("--without-service",),
    )
    jsonnet: bool = option(False, "show both sides as Jsonnet (go-jsonnet formatter style)")


def _strip_tags(doc: dict[str, Any] | None, ignore: list[str]) -> dict[str, Any] | None:
    if doc is None or not ignore or not doc.get("tags"):
        return doc
    return {**doc, "tags": [t for t in doc["tags"] if t.get("key") not in ignore]}


def _use_color(app: App) -> bool:
    out = app.reporter.stdout or sys.stdout
    return bool(app.opts.color) and bool(getattr(out, "isatty", lambda: False)())


def diff(app: App, opts: DiffOption) -> Result:
    from ecspresso import diffing
    from ecspresso.definitions import display_path

    cfg, log = app.config, app.log
    color = _use_color(app)
    parts: list[str] = []
    remote_td_arn = ""
    remote_sv: dict[str, Any] | None = None
    if cfg.service:
        remote_sv = ecs.describe_service(app)
        if remote_sv is None:
            log.info("service not found, will create a new service")
        else:
            remote_td_arn = str(remote_sv.get("taskDefinition", ""))
    if cfg.service and opts.with_service:
        local_sv = app.load_service_definition()
        if local_sv is None:
            log.info("service_definition is not set: the service is not compared")
        else:
            remote_name = str(remote_sv.get("serviceArn", "")) if remote_sv else ""
            local_name = display_path(cfg.service_definition) if cfg.service_definition else ""
            remote = _strip_tags(remote_sv, cfg.ignore_tags)
            if opts.external or opts.jsonnet:
                texts = _service_texts(remote, local_sv)
                parts.append(_show(app, opts, "service", *texts, remote_name, local_name))
            else:
                parts.append(diffing.diff_services(remote, local_sv, remote_name=remote_name,
                                                   local_name=local_name, unified=opts.unified))  # fmt: skip

    local_td = app.load_task_definition()
    family = str(local_td["family"])
    if not remote_td_arn:
        remote_td_arn = ecs.latest_task_definition_arn(app, family, missing_ok=True)
        if not remote_td_arn:
            log.info("task definition not found, will register a new task definition")
    remote_td = None
    if remote_td_arn:
        log.debug(f"diff task definition compare with {remote_td_arn}")
        remote_td = _strip_tags(ecs.describe_task_definition(app, remote_td_arn), cfg.ignore_tags)
        remote_td_arn = str(remote_td.get("taskDefinitionArn", remote_td_arn)) if remote_td else remote_td_arn
    local_name = display_path(app.task_definition_path())
    if opts.external or opts.jsonnet:
        texts = _task_definition_texts(remote_td, local_td)
        parts.append(_show(app, opts, "taskdef", *texts, remote_td_arn, local_name))
    else:
        parts.append(diffing.diff_task_definitions(remote_td, local_td, remote_name=remote_td_arn,
                                                   local_name=local_name, unified=opts.unified))  # fmt: skip

    text = redact("".join(parts))
    if text:
        app.reporter.output(diffing.colorize(text) if color and not opts.external else text)
    return Result(
        command="diff",
        result="ok",
        service=cfg.service,
        cluster=cfg.cluster,
        task_definition_arn=remote_td_arn,
        diff=text,
        changed=bool(text),
        message="differences found" if text else "no differences",
    )


def _service_texts(remote: dict[str, Any] | None, local: dict[str, Any]) -> tuple[str, str]:
    """(remote, local) normalised service JSON, exactly what :func:`diffing.diff_services` compares."""
    from ecspresso import diffing, normalize

    code_deploy = normalize.is_code_deploy(local) or bool(remote and normalize.is_code_deploy(remote))
    local_sv = normalize.service_definition_for_diff(local, code_deploy=code_deploy)
    local_text = normalize.to_api_json(local_sv)
    if remote is None:
        return "", local_text
    rsv = normalize.service_definition_for_diff(remote, remote=True, code_deploy=code_deploy)
    rsv = normalize.strip_unmanaged(rsv, normalize.normalize_keys(local))
    diffing.mask_counterparts(local_sv, rsv)
    return normalize.to_api_json(rsv), local_text


def _task_definition_texts(remote: dict[str, Any] | None, local: dict[str, Any]) -> tuple[str, str]:
    from ecspresso import diffing, normalize

    remote_td = normalize.task_definition_for_diff(remote) if remote else None
    local_td = normalize.task_definition_for_diff(local)
    diffing.mask_counterparts(local_td, remote_td)
    remote_text = normalize.to_api_json(remote_td) if remote_td is not None else ""
    return remote_text, normalize.to_api_json(local_td)


def _show(
    app: App, opts: DiffOption, target: str, remote: str, local: str, remote_name: str, local_name: str
) -> str:
    """The diff of two normalised JSON texts: as Jsonnet with ``--jsonnet``, through ``--external``."""
    from ecspresso import diffing

    if remote == local:
        return ""
    ext = "json"
    if opts.jsonnet:
        from ecspresso.commands.render import to_jsonnet

        remote, local = (to_jsonnet(json.loads(t)) + "\n" if t else "" for t in (remote, local))
        ext = "jsonnet"
    if opts.external:
        return _external(app, opts.external, f"{target}.{ext}", remote, local)
    if opts.unified:
        return diffing.unified_diff(remote, local, remote_name=remote_name, local_name=local_name)
    return f"--- {remote_name}\n+++ {local_name}\n{diffing.line_diff(remote, local)}"


def _external(app: App, command: str, filename: str, remote: str, local: str) -> str:
    """Run the external diff command on the two texts; its stdout (``""`` when they are equal)."""
    if remote == local:
        return ""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"cannot parse the diff command {command!r}: {exc}") from exc
    if not argv:
        raise UsageError("the diff command is empty")
    with tempfile.TemporaryDirectory(prefix="ecspresso-diff-") as tmp:
        files = []
        for side, text in (("remote", remote), ("local", local)):
            (Path(tmp) / side).mkdir()
            rel = f"{side}/{filename}"
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
            files.append(rel)
        app.log.debug(f"running diff command: {shlex.join([*argv, *files])}")
        try:
            proc = subprocess.run([*argv, *files], cwd=tmp, stdout=subprocess.PIPE, text=True, check=False)
        except OSError as exc:
            raise EcspressoError(f"failed to run diff command {argv[0]!r}: {exc}") from exc
    # diff(1)'s convention: 0 the same, 1 different (its output is the diff), 2 or more trouble
    if proc.returncode not in (0, 1):
        raise EcspressoError(f"failed to run diff command: {shlex.join(argv)} exited with {proc.returncode}")
    return proc.stdout


COMMANDS = [
    Command(
        "diff",
        "show differences between local and running definitions",
        DiffOption,
        diff,
        examples=("diff", "diff --without-service", 'diff --external "diff -u"'),
    )
]
