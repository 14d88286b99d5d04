"""The GitHub Action front end (``python -m ecspresso.action``, run by entrypoint.sh).

Reads the ``INPUT_*`` variables the runner sets, validates them (the runner does not enforce
``required``), turns them into the same argv the CLI parses, runs the same engine through
:func:`ecspresso.cli.run`, and reports the GitHub way: a log group per phase, warnings and the
failure as annotations, user-controlled text inside ``::stop-commands::``, secrets masked, step
outputs, and a job summary. ``deploy`` rolls back on failure unless ``rollback-on-failure: false``.

Everything runs under :func:`ecspresso.gha.guard_output`: no line this process prints becomes a
workflow command unless ecspresso.gha wrote it (see ecspresso.gha_guard for the rule).

Outside GitHub Actions (no ``GITHUB_ACTIONS=true``) the Action runs only when ``INPUT_COMMAND``
says which command: the image run without arguments in another CI must not deploy by default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import sys
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from ecspresso import gha, log
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.report import Reporter, Result
from ecspresso.summary import one_line, summary_markdown, write_outcome_label  # noqa: F401  (re-exported)

_KV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _option_names(command: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(command.options)}


def build_argv(env: MutableMapping[str, str] | None = None) -> list[str]:
    """The ecspresso argv for the workflow's inputs. Bad input raises UsageError naming it."""
    from ecspresso.commands import registry

    if env is not None:  # tests
        os.environ.update(env)
    commands = registry()
    # the runner always sets INPUT_COMMAND (action.yml's default is deploy); elsewhere it is required
    name = gha.get_input("command", required=not gha.in_actions()) or "deploy"
    if name != "version" and name not in commands:
        raise UsageError(
            f"input 'command': unknown command {name!r} (one of {', '.join(sorted({*commands, 'version'}))})"
        )
    argv: list[str] = [name]
    options = _option_names(commands[name]) if name in commands else set()

    def needs(option: str, input_name: str) -> None:
        if option not in options:
            raise UsageError(f"input '{input_name}' does not apply to command {name!r}")

    argv += ["--config", gha.get_input("config") or "ecspresso.yml"]
    for input_name, flag in (("ext-str", "--ext-str"), ("ext-code", "--ext-code")):
        for lineno, line in enumerate(gha.get_multiline_input(input_name), 1):
            if not _KV.match(line):
                raise UsageError(f"input '{input_name}' line {lineno}: expected KEY=VALUE, got {line!r}")
            argv += [flag, line.replace(";", "\\;") if flag == "--ext-str" else line]
    for path in gha.get_multiline_input("envfile"):
        argv += ["--envfile", path]
    if value := gha.get_input("timeout"):
        argv += ["--timeout", value]
    if value := gha.get_input("log-format"):
        if value not in ("text", "json"):
            raise UsageError(f"input 'log-format' must be text or json, got {value!r}")
        argv += ["--log-format", value]
    if gha.get_bool_input("debug", default=False) or gha.is_debug():
        argv.append("--debug")
    if value := gha.get_input("revision"):
        needs("revision", "revision")
        allowed = (
            r"\d+|latest"
            if name == "deregister"
            else r"\d+|current|latest"
            if name == "revisions"
            else r"\d+"
        )
        if not re.fullmatch(allowed, value):
            raise UsageError(
                f"input 'revision' must be {allowed.replace(chr(92) + 'd+', 'a number').replace('|', ' or ')}, got {value!r}"
            )
        argv += ["--revision", value]
    if value := gha.get_input("tasks"):
        needs("tasks", "tasks")
        if not value.isdigit():
            raise UsageError(f"input 'tasks' must be a number of tasks, got {value!r}")
        argv += ["--tasks", value]
    if value := gha.get_input("wait-until"):
        needs("wait_until", "wait-until")
        argv += ["--wait-until", value]
    if gha.get_bool_input("no-wait", default=False):
        needs("wait", "no-wait")
        argv.append("--no-wait")
    if gha.get_bool_input("dry-run", default=False):
        needs("dry_run", "dry-run")
        argv.append("--dry-run")
    rollback = gha.get_bool_input("rollback-on-failure", default=True)
    if "rollback_on_failure" in options:
        argv.append("--rollback-on-failure" if rollback else "--no-rollback-on-failure")
    if gha.get_bool_input("deregister-failed", default=False):
        needs("deregister_failed", "deregister-failed")
        argv.append("--deregister-failed")
    if extra := gha.get_input("args"):
        try:
            argv += shlex.split(extra)
        except ValueError as exc:
            raise UsageError(f"input 'args': {exc}") from exc
    _check_as_inputs(argv, extra_args=bool(extra))
    return argv


#: the CLI flag each input becomes (build_argv), to name the input in a parse error
_INPUT_OF_FLAG = {"--config": "config", "--ext-str": "ext-str", "--ext-code": "ext-code", "--envfile": "envfile",
                  "--timeout": "timeout", "--log-format": "log-format", "--revision": "revision",
                  "--tasks": "tasks", "--wait-until": "wait-until", "--until": "wait-until"}  # fmt: skip


def _check_as_inputs(argv: list[str], *, extra_args: bool) -> None:
    """Parse ``argv`` as the CLI will; a parse error names the workflow input, not the CLI flag
    (``input 'wait-until': …`` rather than ``argument --wait-until: …``)."""
    import contextlib
    import io

    from ecspresso.cli import parse_args

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # `args: --help` is printed once, by the run
            parse_args(argv)
    except SystemExit:  # --help, --version: not an error; the run prints them
        return
    except UsageError as exc:
        text = str(exc).split(" (see '", 1)[0]
        m = re.match(r"(?:argument )?(--[a-z-]+)(?:/--?[a-z-]+)*:? ?(.*)", text)
        if m and m.group(1) in _INPUT_OF_FLAG:
            raise UsageError(f"input '{_INPUT_OF_FLAG[m.group(1)]}': {m.group(2)}") from exc
        raise UsageError(f"input 'args': {text}" if extra_args else text) from exc


class GitHubReporter(Reporter):
    """Groups per phase, annotations, stop-commands around user text, ::add-mask:: for secrets."""

    shows_diff = True  # the job summary shows what changed

    def __init__(self) -> None:
        super().__init__()
        self.failed: tuple[EcspressoError, Result | None] | None = None
        log.on_mask(gha.add_mask)
        log.on_line(gha.open_pending_group)
        self.log_processors = (_warnings_as_annotations,)

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        with gha.lazy_group(title):  # no empty group for a phase that prints nothing
            yield

    def output(self, text: str) -> None:
        gha.open_pending_group()
        with gha.stop_commands():
            super().output(text)

    def secret(self, value: str) -> None:
        log.add_mask(value)  # the listener issues ::add-mask::

    def failure(self, error: Exception, result: Result | None = None) -> bool:
        """One error annotation: the message (the cause first) and the failed container's last
        lines; the runner shows it in the log, so the front end prints no second ``FAILED.`` line."""
        if isinstance(error, EcspressoError):
            self.failed = (error, result)
            gha.annotation("error", annotation_text(str(error), result), title=error.title)
            return True
        return False


#: container lines in the error annotation (the job summary has the last 20)
ANNOTATION_LOG_LINES = 3


def annotation_text(message: str, result: Result | None) -> str:
    """The error annotation: ``message`` and, when the failure has them, the last few lines of
    the container that explains it (each cut to one short line, secrets redacted)."""
    from ecspresso.explain import short_explanation

    extra = short_explanation(result.explanation, ANNOTATION_LOG_LINES) if result is not None else []
    lines = [message, *(one_line(line)[:300] for line in extra)]
    return log.redact("\n".join(lines))


def _warnings_as_annotations(
    _: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if event.get("level") == "warning":
        import structlog

        gha.annotation("warning", str(event.get("event", "")))
        raise structlog.DropEvent
    return event


OUTPUTS = ("task-definition-arn", "task-definition-family", "task-definition-revision",
           "previous-task-definition-arn", "deployment-id", "rolled-back", "rolled-back-by",
           "current-task-definition-arn", "service-deployment-arn", "lifecycle-stage",
           "codedeploy-deployment-id", "console-url", "task-arn", "exit-code", "changed", "result")  # fmt: skip


def write_outputs(result: Result | None, code: int) -> dict[str, str]:
    r = result or Result(command="", result="failed" if code else "ok")
    outcome = r.result if (code == 0 or r.result in ("rolled-back", "failed", "superseded")) else "failed"
    values = {
        "task-definition-arn": r.task_definition_arn,
        "task-definition-family": r.family,
        "task-definition-revision": r.revision,
        "previous-task-definition-arn": r.previous_task_definition_arn,
        "deployment-id": r.deployment_id,
        "rolled-back": "true" if r.rolled_back else "false",
        "rolled-back-by": r.rolled_back_by if r.rolled_back else "",
        "current-task-definition-arn": r.current_task_definition_arn,
        "service-deployment-arn": r.service_deployment_arn,
        "lifecycle-stage": r.lifecycle_stages[-1] if r.lifecycle_stages else "",
        "codedeploy-deployment-id": r.deployment_id if r.controller == "CODE_DEPLOY" else "",
        "console-url": r.console_url,
        "task-arn": r.task_arn,
        "exit-code": "" if r.container_exit_code is None else str(r.container_exit_code),
        "changed": "" if r.changed is None else ("true" if r.changed else "false"),
        "result": outcome,
    }
    for name, value in values.items():
        gha.set_output(name, value)
    return values


USAGE = """\
usage: python -m ecspresso.action  (the GitHub Action: reads its inputs from INPUT_* variables)

Outside GitHub Actions, give the image the command as arguments, as to the ecspresso CLI:
    docker run --rm -v "$PWD:/src" -w /src IMAGE status --events 5
or set INPUT_COMMAND (and the other INPUT_* variables) to run it as the Action.
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args or not (gha.in_actions() or any(k.startswith("INPUT_") for k in os.environ)):
        # arguments belong to the CLI (entrypoint.sh runs it); no inputs at all outside
        # GitHub means nobody asked for the Action: never deploy by default
        sys.stderr.write(("ecspresso.action takes no arguments\n" if args else "") + USAGE)
        return 2
    with gha.guard_output():
        return _main()


def _main() -> int:
    from ecspresso.cli import install_signal_handlers, run

    install_signal_handlers()
    started = time.monotonic()
    reporter = GitHubReporter()
    command = gha.get_input("command") or ("deploy" if gha.in_actions() else "")
    try:
        argv = build_argv()
    except UsageError as exc:
        gha.annotation("error", str(exc), title="invalid input")
        if not gha.in_actions():  # in GitHub the annotation is that line in the log
            print(f"ecspresso: {exc}", file=sys.stderr)
        write_outputs(None, 2)
        gha.append_summary(summary_markdown(command, None, 2, str(exc), 0.0))
        return 2
    code, result = run(argv, reporter=reporter)
    error = str(reporter.failed[0]) if reporter.failed else ""
    write_outputs(result, code)
    gha.append_summary(summary_markdown(command, result, code, error, time.monotonic() - started))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
