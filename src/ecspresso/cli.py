"""The command-line front end: argparse flags derived from each command's options dataclass.

Global flags are accepted before or after the command name, and default from their
``ECSPRESSO_*`` environment variables. Errors print one line and exit 1 (usage errors: 2); a
traceback is shown only with ``--debug``.

Start-up stays small: the top-level parser reads the command table (ecspresso.commands.TABLE), so
``--help``, ``version`` and a usage error import no command module, no AWS SDK and no structlog;
a command's module is imported when that command is parsed (to run it or print its ``--help``).
tests/test_startup.py holds this.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import signal
import sys
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

from ecspresso import ECSPRESSO_COMPAT_VERSION, __version__, log
from ecspresso.errors import EcspressoError, Interrupted, UsageError
from ecspresso.options import Command, GlobalOptions

if TYPE_CHECKING:
    from ecspresso.report import Reporter, Result

PROG = "ecspresso"
VERSION_LINE = f"ecspresso-py v{__version__} (ecspresso v{ECSPRESSO_COMPAT_VERSION} compatible)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        if message.startswith("argument <command>: invalid choice: "):  # a mistyped command
            word = message.split("'")[1] if "'" in message else ""
            message = f"unknown command {word!r}"
        raise UsageError(f"{message}{_did_you_mean(self, message)} (see '{self.prog} --help')")


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """``; did you mean 'deploy'?`` for a mistyped command or flag, or ``""``."""
    import difflib
    import re

    if m := re.search(r"(?:invalid choice: |unknown command )'([^']*)'", message):
        word, known = m.group(1), [c for a in parser._actions for c in (a.choices or ())]
    else:
        return ""
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default where it has one worth saying (not off, empty or unset)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or not action.option_strings or default is argparse.SUPPRESS:
            return text
        if isinstance(action, argparse.BooleanOptionalAction):
            on, off = action.option_strings[:2]
            return f"{text} (default: {on if default else off})"
        if default in (None, False, "", []):
            return text
        return f"{text} (default: %(default)s)"


GLOBAL_NOTE = (
    "Global options (--config, --ext-str, --envfile, --timeout, --log-format, --debug …) go before or after\n"
    "the command: see 'ecspresso --help'."
)


class _CommandParser:
    """Stands for a command's parser in the top-level parser's map of commands. The parser is
    built, and the command's module imported, when argparse hands it the command's arguments
    (to run it or print its ``--help``): building fifteen parsers costs more than the rest."""

    def __init__(self, *, command_name: str | None = None, **kwargs: Any) -> None:
        self.command_name = command_name  # None: ``version``, which has global flags only
        self.kwargs = kwargs
        self.command: Command | None = None
        self._parser: _Parser | None = None

    def parser(self) -> _Parser:
        if self._parser is None:
            parser = _Parser(formatter_class=_Formatter, **self.kwargs)
            if self.command_name is not None:
                from ecspresso.commands import load

                self.command = load(self.command_name)
                add_options(parser, self.command.options)
                examples = "".join(f"\n  {PROG} {e}" for e in self.command.examples)
                parser.epilog = (f"examples:{examples}\n\n" if examples else "") + GLOBAL_NOTE
            add_options(parser, GlobalOptions, suppress=True)
            self._parser = parser
        return self._parser

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        return self.parser().parse_known_args(args, namespace)


def _base_type(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if args and typing.get_origin(tp) is not list else tp


def _env_default(meta: dict[str, Any], default: Any, kind: Any) -> Any:
    name = meta.get("env")
    if not name or name not in os.environ:
        return default
    raw = os.environ[name]
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if typing.get_origin(kind) is list:
        return [raw] if raw else []
    return raw


def add_options(parser: argparse.ArgumentParser | Any, cls: type, *, suppress: bool = False) -> None:
    """One argparse argument per field of the options dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    own = inspect.get_annotations(cls)
    # the command's own flags first, then those of the option groups it inherits (options.py)
    for f in sorted(dataclasses.fields(cls), key=lambda f: f.name not in own):
        meta = dict(f.metadata)
        if "help" not in meta:
            continue
        kind = hints[f.name]
        base = _base_type(kind)
        factory: Any = f.default_factory
        default = f.default if f.default is not dataclasses.MISSING else factory()
        default = _env_default(meta, default, base if base is bool else kind)
        if suppress:
            default = argparse.SUPPRESS
        help_text = meta["help"] + (f" [env {meta['env']}]" if meta.get("env") else "")
        # global flags after the command: accepted, listed once in 'ecspresso --help'; hidden flags:
        # accepted, never listed (deprecated spellings)
        if suppress or meta.get("hidden"):
            help_text = argparse.SUPPRESS
        if meta.get("positional"):
            parser.add_argument(f.name, nargs=meta.get("nargs") or "?", default=default,
                                choices=meta.get("choices"), help=help_text, metavar=meta.get("metavar"))  # fmt: skip
            continue
        flags = ["--" + f.name.replace("_", "-"), *meta.get("aliases", ())]
        # repeatable global flags given after the command add to those given before it
        dest = f.name + _AFTER if suppress and typing.get_origin(kind) is list else f.name
        kw: dict[str, Any] = {"dest": dest, "default": default, "help": help_text}
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction if meta.get("negatable") else "store_true"
        elif typing.get_origin(kind) is list:
            kw["action"] = "append"
            kw["metavar"] = meta.get("metavar") or "VALUE"
        else:
            kw["type"] = meta.get("parse") or base
            kw["choices"] = meta.get("choices")
            kw["metavar"] = meta.get("metavar") or (None if meta.get("choices") else f.name.upper())
        parser.add_argument(*flags, **kw)
        for negated in meta.get("negated_aliases", ()):  # ecspresso's --without-service
            parser.add_argument(negated, dest=dest, action="store_false", help=argparse.SUPPRESS)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, _CommandParser]]:
    """The parser and, by command name (and alias), the commands' parsers (see
    :class:`_CommandParser`). The commands' names and help come from the command table."""
    from ecspresso.commands import TABLE

    parser = _Parser(
        prog=PROG,
        description="Deploy to Amazon ECS (ecspresso-compatible).",
        epilog=f"'{PROG} <command> --help' shows a command's options, defaults and examples.",
        formatter_class=_Formatter,
    )
    parser.add_argument(
        "--version", action="version", version=VERSION_LINE, help="print the version and exit"
    )
    add_options(parser.add_argument_group("global options (before or after the command)"), GlobalOptions)
    sub = parser.add_subparsers(
        title="commands", dest="command", metavar="<command>", parser_class=cast(Any, _CommandParser)
    )
    sub.add_parser("version", help="print the version")
    for name, entry in TABLE.items():
        sub.add_parser(name, help=entry.help, aliases=list(entry.aliases), description=entry.help,
                       command_name=name)  # fmt: skip
    return parser, cast(dict[str, _CommandParser], sub.choices)


_AFTER = "__after_command"


def _build(cls: type, ns: argparse.Namespace) -> Any:
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls) if hasattr(ns, f.name)}
    for name in list(values):
        if hasattr(ns, name + _AFTER):
            values[name] = [*values[name], *getattr(ns, name + _AFTER)]
    return cls(**values)


def parse_args(argv: Sequence[str]) -> tuple[GlobalOptions, Command | None, Any]:
    """argv -> (global options, command or None for ``version``, command options)."""
    args = list(argv)
    if not args or args[0] == "help":
        args = ["--help", *args[1:]]
    parser, command_parsers = build_parser()
    ns, extras = parser.parse_known_args(args)
    if extras:
        _unrecognized(extras, command_parsers.get(ns.command or ""), parser)
    gopts = _build(GlobalOptions, ns)
    gopts.ext_str = _flatten(gopts.ext_str)
    gopts.ext_code = _flatten(gopts.ext_code)
    gopts.envfile = [p for v in gopts.envfile for p in v.split(",") if p]
    if gopts.timeout:
        from ecspresso.config import parse_duration

        try:
            parse_duration(gopts.timeout, source="--timeout")
        except EcspressoError as exc:
            raise UsageError(str(exc)) from exc
    if ns.command in (None, "version"):
        if ns.command is None:
            raise UsageError("a command is required (see 'ecspresso --help')")
        return gopts, None, None
    cmd = command_parsers[ns.command].command
    assert cmd is not None  # its parser parsed the arguments, so it is loaded
    return gopts, cmd, _build(cmd.options, ns)


def _unrecognized(
    extras: list[str], command: _CommandParser | None, top: argparse.ArgumentParser
) -> NoReturn:
    """A usage error for arguments nobody takes, with the closest flag of the command (or global)."""
    import difflib

    flags = [o for o in top._option_string_actions if o.startswith("--")]
    where = PROG
    if command is not None:
        flags += [o for o in command.parser()._option_string_actions if o.startswith("--")]
        where = command.parser().prog
    hint = ""
    first = extras[0].split("=", 1)[0]
    if first.startswith("-") and (close := difflib.get_close_matches(first, flags, n=1, cutoff=0.6)):
        hint = f"; did you mean '{close[0]}'?"
    raise UsageError(f"unrecognized arguments: {' '.join(extras)}{hint} (see '{where} --help')")


def _flatten(values: list[str]) -> list[str]:
    return [v for v in values if v]


def _on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (PID 1 in the container
    ignores a signal it has no handler for; the runner sends SIGINT, then SIGTERM, on cancel)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def run(
    argv: Sequence[str],
    *,
    reporter: Reporter | None = None,
    app_factory: Any = None,
) -> tuple[int, Result | None]:
    """Parse and run one command; returns (exit code, result). Shared by main() and the Action.
    ``app_factory(gopts, reporter=...)`` builds the run context (default :class:`ecspresso.app.App`)."""
    gopts: GlobalOptions | None = None
    try:
        gopts, cmd, opts = parse_args(argv)
        log.configure(
            log_format=gopts.log_format,
            debug=gopts.debug,
            extra_processors=getattr(reporter, "log_processors", ()),
        )
        if cmd is None:
            if reporter is None:
                print(VERSION_LINE, flush=True)  # as Reporter().output(line), without importing report
            else:
                reporter.output(VERSION_LINE)
            return 0, None
        if app_factory is None:
            from ecspresso.app import App

            app_factory = App
        app = app_factory(gopts, reporter=reporter)
        result = _result_of(cmd.run(app, opts))
        code = result.exit_code if result else 0
        _result_record(gopts, result, code)
        return code, result
    except EcspressoError as exc:
        from ecspresso.render.limits import one_line

        result = _result_of(exc.result)
        shown = reporter.failure(exc, result) if reporter is not None else False
        # one final error line: the Action's annotation is that line in the runner's log (JSON
        # logs keep their record for the machine reading them)
        if not (shown and (gopts is None or gopts.log_format == "text")):
            log.emit("error", f"FAILED. {one_line(str(exc), limit=4000)}")  # one line, whatever the text
        if gopts is not None and gopts.debug:
            sys.stderr.write(log.redact_traceback(exc))  # secrets in messages and causes too
        if gopts is not None:
            _result_record(gopts, result, exc.exit_code, str(exc))
        return exc.exit_code, result
    except KeyboardInterrupt as exc:
        log.emit("error", f"FAILED. interrupted by {getattr(exc, 'signal_name', 'SIGINT')}")
        return 130, None
    except SystemExit as exc:  # --help
        return int(exc.code or 0), None
    except Exception as exc:
        if gopts is not None and gopts.debug:
            sys.stderr.write(log.redact_traceback(exc))
            return 1, None
        from ecspresso.render.limits import one_line

        detail = one_line(f"{type(exc).__name__}: {exc}", limit=4000)
        log.emit("error", f"FAILED. internal error: {detail} (run with --debug for a traceback)")
        return 1, None


def _result_record(gopts: GlobalOptions, result: Result | None, code: int, error: str = "") -> None:
    """With ``--log-format json``, the log ends with one ``result`` record a machine can read."""
    if gopts.log_format != "json" or result is None:
        return
    fields = {
        "command": result.command,
        "result": result.result if code == 0 or result.result != "ok" else "failed",
        "exit_code": code,
        "reason": error or result.message,
        "task_definition": result.task_definition_arn,
        "previous_task_definition": result.previous_task_definition_arn,
        "current_task_definition": result.current_task_definition_arn,
        "deployment_id": result.deployment_id,
        "rolled_back": result.rolled_back,
        "rolled_back_by": result.rolled_back_by,
        "changed": result.changed,
    }
    log.get_logger().info("result", **{k: v for k, v in fields.items() if v not in ("", None)})


def _result_of(value: object) -> Result | None:
    if value is None:  # a usage error: no need to import report
        return None
    from ecspresso.report import Result

    return value if isinstance(value, Result) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code. Under GitHub Actions (a ``run:`` step) nothing it
    prints may become a workflow command (ecspresso.gha_guard), as for ``python -m ecspresso``."""
    install_signal_handlers()
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("GITHUB_ACTIONS") == "true":  # gha.in_actions(), without importing gha
        from ecspresso import gha

        with gha.guard_output():
            return run(args)[0]
    return run(args)[0]


def console() -> NoReturn:
    """The ``ecspresso`` console script and ``python -m ecspresso``: :func:`main`, then exit."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once what it printed is flushed, skipping the interpreter's
    tear-down (destroying every module and object: ~5 ms after ``version``, ~0.1 s once an AWS
    client exists).

    atexit handlers still run. With a non-daemon thread still alive, or when flushing fails (a
    closed pipe), it exits the ordinary way, which joins the thread or reports the failure."""
    import atexit

    threading = sys.modules.get("threading")
    if threading is not None and any(
        t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()
    ):
        raise SystemExit(code)
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code)


if __name__ == "__main__":
    console()
