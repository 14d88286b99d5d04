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
    return argv


class GitHubReporter(Reporter):
    """Groups per phase, annotations, stop-commands around user text, ::add-mask:: for secrets."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: tuple[EcspressoError, Result | None] | None = None
        log.on_mask(gha.add_mask)
        self.log_processors = (_warnings_as_annotations,)

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        with gha.group(title):
            yield

    def output(self, text: str) -> None:
        with gha.stop_commands():
            super().output(text)

    def secret(self, value: str) -> None:
        log.add_mask(value)  # the listener issues ::add-mask::

    def failure(self, error: Exception, result: Result | None = None) -> None:
        if isinstance(error, EcspressoError):
            self.failed = (error, result)
            gha.annotation("error", str(error), title=error.title)


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
           "codedeploy-deployment-id", "console-url", "task-arn", "exit-code", "result")  # fmt: skip


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
        "result": outcome,
    }
    for name, value in values.items():
        gha.set_output(name, value)
    return values


def summary_markdown(command: str, result: Result | None, code: int, error: str, duration: float) -> str:
    from ecspresso.ecs import short_name

    r = result or Result(command=command)
    icon = "✅" if code == 0 else ("↩️" if r.rolled_back else "❌")
    outcome = write_outcome_label(r, code)
    lines = [f"### {icon} ecspresso {_cell(command)}: {outcome}", ""]
    if r.service or r.task_definition_arn:
        lines += [
            "| Service | Cluster | From | To | Deployment | Duration | Result |",
            "|---|---|---|---|---|---|---|",
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    r.service or "-",
                    r.cluster or "-",
                    short_name(r.previous_task_definition_arn) or "-",
                    short_name(r.task_definition_arn) or "-",
                    r.deployment_id or "-",
                    f"{duration:.1f}s",
                    outcome,
                )
            )
            + " |",
            "",
        ]
    if error:
        lines += [f"**Why:** {_cell(error)}", ""]
    if r.rolled_back:
        by = (
            "by ECS's deployment circuit breaker"
            if r.rolled_back_by == "ecs"
            else "by ecspresso (--rollback-on-failure)"
        )
        lines += [
            f"**Rolled back** {by} to `{_cell(short_name(r.rollback_target_arn))}`; the service runs the previous revision again.",
            "",
        ]
    elif r.result == "superseded":
        lines += [
            "**Superseded:** another deployment replaced this one; it was not rolled back (that would undo it).",
            "",
        ]
    if code and r.current_task_definition_arn:
        lines += [f"**Now running:** `{_cell(short_name(r.current_task_definition_arn))}`", ""]
    if r.lifecycle_events:
        lines += ["#### CodeDeploy lifecycle events", "", "| Event | Status |", "|---|---|"]
        lines += [
            f"| {_cell(e.rsplit(' ', 1)[0])} | {_cell(e.rsplit(' ', 1)[-1])} |" for e in r.lifecycle_events
        ]
        lines.append("")
    elif r.lifecycle_stages:
        lines += ["**Lifecycle stages:** " + " → ".join(_cell(st) for st in r.lifecycle_stages), ""]
    if r.console_url.startswith("https://") and ".console.aws.amazon.com/" in r.console_url:
        lines += [
            f"[CodeDeploy deployment `{_cell(r.deployment_id)}` in the AWS console]({r.console_url})",
            "",
        ]
    if r.stopped_tasks:
        lines += ["#### Stopped tasks of the failed deployment", "", "| Task | Task definition | Stop code | Reason |",
                  "|---|---|---|---|"]  # fmt: skip
        for t in r.stopped_tasks:
            lines.append(
                f"| `{t.task_id}` | {_cell(t.task_definition)} | {_cell(t.stop_code)} | {_cell(t.summary())} |"
            )
        lines.append("")
    if r.events:
        lines += [
            "<details><summary>Last service events</summary>",
            "",
            *(f"- {_cell(e)}" for e in r.events),
            "",
            "</details>",
            "",
        ]
    if r.diff:
        diff = log.redact(r.diff).rstrip("\n")
        # a fence longer than any run of backticks in the diff: its text cannot close the block
        fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", diff))])
        lines += [
            "<details><summary>Diff</summary>",
            "",
            f"{fence}diff",
            diff,
            fence,
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def write_outcome_label(r: Result, code: int) -> str:
    if code == 0:
        return r.result
    return "rolled-back" if r.rolled_back else ("superseded" if r.result == "superseded" else "failed")


def _cell(text: str) -> str:
    """Text from outside (ECS, inputs) as one Markdown table cell or list item: one line, secrets
    redacted, no table separator, no HTML (a ``</details>`` must not close our block)."""
    text = log.redact(" ".join(str(text).split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


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
