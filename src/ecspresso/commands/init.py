"""``init``: write ecspresso.yml and the service and task definitions of a running service, so that
``ecspresso diff`` right after prints nothing (ecspresso ``init.go``).

``--service NAME`` reads the service (DescribeServices with its tags) and the task definition it
runs; ``--task-definition FAMILY:REV`` reads that task definition only and writes a config without
a service. One of the two, not both (usage error, exit 2). Only reads: no AWS write at all. No
config file is needed (the one named by ``--config`` is the one written): the cluster comes from
``--cluster``, the Region from ``--region``, ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (or the AWS
profile's), and the config written says so.

Files: ``--service-definition-path`` (ecs-service-def.json), ``--task-definition-path``
(ecs-task-def.json) and ``--config`` (ecspresso.yml), paths relative to the working directory; the
config names the definitions relative to its own directory. ``--jsonnet`` writes ``.jsonnet``
files (go-jsonnet formatter style) and an ``ecspresso.jsonnet`` config. A config named ``.json``
or ``.jsonnet`` is written as such (ecspresso writes YAML whatever the name).

Existing files are never overwritten silently: with ``--force-overwrite`` they are; otherwise,
when stdin is a terminal, ``init`` asks y/N for each (a "no" skips that file, as ecspresso);
when it is not (CI), it refuses before any AWS call, naming the files. Everything is fetched
before anything is written, and each file is written to a temporary file beside it and renamed
over it only once every file is ready: a failure leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ecspresso import ecs, init_files
from ecspresso.app import App
from ecspresso.config import Config, format_duration, parse_duration, resolve_config_path
from ecspresso.errors import AwsError, EcspressoError, UsageError
from ecspresso.options import Command, option
from ecspresso.report import Result

#: asks whether to overwrite a file ("Overwrite existing file X?") and answers True for yes
Confirm = Callable[[str], bool]


@dataclass
class InitOption:
    region: str | None = option(None, "AWS Region (else AWS_DEFAULT_REGION or the AWS profile's)",
                                env="AWS_REGION")  # fmt: skip
    cluster: str = option("default", "ECS cluster name")
    service: str | None = option(None, "ECS service name (or --task-definition)")
    task_definition: str | None = option(
        None, "task definition to start from, without a service (or --service)", metavar="FAMILY:REV"
    )
    task_definition_path: str = option("ecs-task-def.json", "task definition file to write")
    service_definition_path: str = option("ecs-service-def.json", "service definition file to write")
    sort: bool = option(False, "sort the elements of the task definition", negatable=True)
    force_overwrite: bool = option(False, "overwrite existing files without asking")
    jsonnet: bool = option(False, "write Jsonnet: .jsonnet definitions and an ecspresso.jsonnet config")


@dataclass
class _File:
    path: PurePath
    text: str
    what: str  # "config", "task definition app:3", ...


def init(app: App, opts: InitOption, *, confirm: Confirm | None = None) -> Result:
    """Write the files; ``confirm`` answers the overwrite questions (default: ask on the terminal)."""
    targets = _targets(app, opts)
    kept = _files_to_keep(targets, force=opts.force_overwrite, confirm=confirm)
    service = opts.service or ""
    config = Config(path=Path(targets.config), cluster=opts.cluster, service=service, region=opts.region)
    app.adopt_config(config)
    result = Result(command="init", result="no-change", service=service, cluster=opts.cluster)
    if len(kept) == len(targets.all()):
        app.log.info("every file exists and is kept: nothing to do")
        result.message = "nothing written"
        return result

    files, result.task_definition_arn = _files(app, opts, targets)
    for path in kept:
        app.log.info(f"kept {path} as it is")
    files = [f for f in files if f.path not in kept]
    _write_all(files)
    for f in files:
        app.reporter.output(f"wrote {f.path}: {f.what}")
    command = _diff_command(targets.config)
    app.reporter.output(f"next: `{command}` compares them with AWS (no output: no difference)")
    result.result, result.message = "ok", f"wrote {', '.join(str(f.path) for f in files)}"
    return result


def _targets(app: App, opts: InitOption) -> init_files.Targets:
    """The files to write, after the checks of the flags (usage errors)."""
    if opts.service and opts.task_definition:
        raise UsageError("init: --service and --task-definition cannot be used together")
    if not opts.service and not opts.task_definition:
        raise UsageError("init: --service or --task-definition is required")
    sv_path = opts.service_definition_path if opts.service else None
    targets = init_files.target_paths(
        app.opts.config, opts.task_definition_path, sv_path, jsonnet=opts.jsonnet
    )
    if targets.config.suffix.lower() not in init_files.CONFIG_EXTENSIONS:
        raise UsageError(
            f"init: --config {targets.config}: the config must be a .yml, .yaml, .json or .jsonnet file"
        )
    return targets


def _files(app: App, opts: InitOption, targets: init_files.Targets) -> tuple[list[_File], str]:
    """Every file's text, from what AWS says (nothing is written yet), and the task definition ARN."""
    files: list[_File] = []
    codedeploy: dict[str, str] = {}
    td_name = str(opts.task_definition or "")
    if opts.service and targets.service_definition:
        described = _describe_service(app, opts.service, opts.cluster)
        td_name = str(described.get("taskDefinition", ""))
        text = init_files.definition_text(
            init_files.service_definition_file(described), targets.service_definition
        )
        what = f"service definition of {opts.service} in cluster {opts.cluster}"
        files.append(_File(targets.service_definition, text, what))
        if (described.get("deploymentController") or {}).get("type") == "CODE_DEPLOY":
            codedeploy = _codedeploy_section(app, described)
    td = _describe_task_definition(app, td_name)
    td_arn = str(td.get("taskDefinitionArn", td_name))
    text = init_files.definition_text(
        init_files.task_definition_file(td, sort=opts.sort), targets.task_definition
    )
    files.append(_File(targets.task_definition, text, f"task definition {ecs.short_name(td_arn)}"))

    timeout = app.opts.timeout
    doc = init_files.config_document(
        region=opts.region or app.aws.resolved_region or "",
        cluster=opts.cluster,
        service=opts.service or "",
        service_definition=init_files.config_reference(targets.service_definition, targets.config)
        if targets.service_definition
        else "",
        task_definition=init_files.config_reference(targets.task_definition, targets.config),
        timeout=format_duration(parse_duration(timeout, source="--timeout"))
        if timeout
        else init_files.DEFAULT_TIMEOUT,
        codedeploy=codedeploy,
    )
    files.append(_File(targets.config, init_files.config_text(doc, targets.config), "config"))
    return files, td_arn


# -- reading AWS -----------------------------------------------------------------------------------


def _describe_service(app: App, service: str, cluster: str) -> dict[str, Any]:
    try:
        described = ecs.describe_service(app)
    except AwsError as exc:
        if exc.code == "ClusterNotFoundException":
            raise EcspressoError(f"cluster {cluster} not found (--cluster)") from exc
        raise
    if described is None:
        raise EcspressoError(f"service {service} not found in cluster {cluster} (--service, --cluster)")
    return described


def _describe_task_definition(app: App, name: str) -> dict[str, Any]:
    try:
        return ecs.describe_task_definition(app, name)
    except AwsError as exc:
        if exc.code == "ClientException":  # ECS's answer for a task definition it does not have
            raise EcspressoError(f"task definition {name} not found ({exc})") from exc
        raise


def _codedeploy_section(app: App, described: dict[str, Any]) -> dict[str, str]:
    """``codedeploy`` of the config: the service's CodeDeploy application and deployment group
    (a warning, and no section, when they cannot be found, as in ecspresso)."""
    from ecspresso import codedeploy

    try:
        group = codedeploy.find_deployment_group(app, described)
    except EcspressoError as exc:
        app.log.warning(
            f"CodeDeploy deployment group not found ({exc}): set codedeploy in the config yourself"
        )
        return {}
    return {"application_name": group.application, "deployment_group_name": group.name}


# -- writing ---------------------------------------------------------------------------------------


def _terminal_confirm() -> Confirm | None:
    """y/N on the terminal, or None when stdin is not one (nobody to ask)."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        return None

    def ask(question: str) -> bool:
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        return stdin.readline().strip().lower() in ("y", "yes")

    return ask


def _files_to_keep(targets: init_files.Targets, *, force: bool, confirm: Confirm | None) -> set[PurePath]:
    """The existing files the user wants kept; refuses when some exist and nobody can be asked."""
    existing = [p for p in targets.all() if os.path.lexists(p)]
    if not existing or force:
        return set()
    ask = confirm or _terminal_confirm()
    if ask is None:
        raise EcspressoError(init_files.refusal([str(p) for p in existing]), title="files exist")
    return {p for p in existing if not ask(f"Overwrite existing file {p}?")}


def _write_all(files: list[_File]) -> None:
    """Write every file or none: each goes to a temporary file beside it first; they are renamed
    over their targets only once all are written (through a symbolic link, to the file it names)."""
    staged: list[tuple[str, _File]] = []
    try:
        for f in files:
            staged.append((_stage(f), f))
        while staged:
            tmp, f = staged[0]
            try:
                os.replace(tmp, os.path.realpath(f.path))
            except OSError as exc:
                raise EcspressoError(f"cannot write {f.path}: {exc.strerror or exc}") from exc
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _stage(f: _File) -> str:
    """``f``'s text in a new temporary file in its directory (made if missing); its name."""
    target = Path(os.path.realpath(f.path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise EcspressoError(f"cannot write {f.path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(f.text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _mode_for(target))
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EcspressoError(f"cannot write {f.path}: {exc.strerror or exc}") from exc
    return tmp


def _mode_for(target: Path) -> int:
    """An existing file keeps its permissions; a new one gets 0644 less the umask (as open() would)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o644 & ~umask


def _diff_command(config: PurePath) -> str:
    """``ecspresso diff``, with ``--config`` when the default look-up would not find ``config``."""
    if resolve_config_path(None) == Path(config).absolute():
        return "ecspresso diff"
    return f"ecspresso --config {config} diff"


COMMANDS = [
    Command(
        "init",
        "write the config and definitions of an existing service",
        InitOption,
        init,
        examples=(
            "init --region ap-northeast-1 --cluster default --service web",
            "init --service web --jsonnet --sort",
            "init --task-definition batch:12 --config batch.yml",
        ),
    )
]
