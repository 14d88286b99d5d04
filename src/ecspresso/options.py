"""Declaring a command's options once, so the CLI and the Action derive their flags from it.

A command module declares ``@dataclass class XOption`` whose fields use :func:`option`; cli.py turns
each field into an argparse flag (``dry_run`` -> ``--dry-run``; ``negatable`` -> ``--[no-]wait``), the
Action builds the same argv from its inputs and parses it with the same parser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def option(
    default: Any,
    help: str,
    *,
    negatable: bool = False,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    aliases: Sequence[str] = (),
    negated_aliases: Sequence[str] = (),
    env: str | None = None,
    positional: bool = False,
    nargs: str | None = None,
    parse: Callable[[str], Any] | None = None,
    hidden: bool = False,
) -> Any:
    """A dataclass field carrying its flag's help text and shape.

    ``default`` may be a list (copied per instance). ``parse`` converts the flag's text (defaults to
    the field's type: int, float, str). ``env`` names an environment variable that sets the default.
    ``hidden`` flags are accepted but not listed in ``--help`` (deprecated spellings kept working).
    """
    meta = {
        "help": help,
        "negatable": negatable,
        "choices": tuple(choices) if choices else None,
        "metavar": metavar,
        "aliases": tuple(aliases),
        "negated_aliases": tuple(negated_aliases),  # flags that set a bool option to False
        "env": env,
        "positional": positional,
        "nargs": nargs,
        "parse": parse,
        "hidden": hidden,
    }
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Command:
    """A registered command: its name, one-line help, options class and the function that runs it."""

    name: str
    help: str
    options: type
    run: Callable[..., Any]
    aliases: tuple[str, ...] = ()
    #: command lines shown under "examples:" in the command's --help (without the leading ``ecspresso``)
    examples: tuple[str, ...] = ()


def int_or_none(text: str) -> int | None:
    return int(text)


# -- option groups shared by several commands, declared once (as pip's cmdoptions) ----------------
# A command's options dataclass inherits the groups it takes; the CLI and the Action see their
# fields like any other (``dry_run`` -> ``--dry-run`` and the ``dry-run`` input).


@dataclass
class DryRunOptions:
    dry_run: bool = option(False, "show what would be done; make no change")


@dataclass
class WaitOptions:
    wait: bool = option(True, "wait until it is done", negatable=True)


@dataclass
class SuspendAutoScalingOptions:
    suspend_auto_scaling: bool = option(False, "suspend Application Auto Scaling of the service")
    resume_auto_scaling: bool = option(False, "resume Application Auto Scaling of the service")


@dataclass
class AutoScalingOptions(SuspendAutoScalingOptions):
    auto_scaling_min: int | None = option(None, "auto scaling minimum capacity")
    auto_scaling_max: int | None = option(None, "auto scaling maximum capacity")


@dataclass
class GlobalOptions:
    """ecspresso's global flags (accepted before or after the command name).

    Here, not in app.py, so that the top-level parser (``--help``, ``version``) imports nothing heavy."""

    config: str = option(
        "ecspresso.yml", "config file (.yml, .yaml, .json, .jsonnet)", env="ECSPRESSO_CONFIG"
    )
    envfile: list[str] = option(
        [], "dotenv file(s) exported before the config is loaded", env="ECSPRESSO_ENVFILE"
    )
    debug: bool = option(False, "debug log and tracebacks", env="ECSPRESSO_DEBUG")
    ext_str: list[str] = option([], "Jsonnet ext string vars K=V;K2=V2 (repeatable)", env="ECSPRESSO_EXT_STR")
    ext_code: list[str] = option(
        [], "Jsonnet ext code vars K=CODE;... (repeatable)", env="ECSPRESSO_EXT_CODE"
    )
    timeout: str | None = option(
        None, "time-out for waiting (Go duration, overrides config)", env="ECSPRESSO_TIMEOUT"
    )
    assume_role_arn: str | None = option(
        None, "role to assume for all AWS calls", env="ECSPRESSO_ASSUME_ROLE_ARN"
    )
    log_format: str = option("text", "log format", choices=("text", "json"), env="ECSPRESSO_LOG_FORMAT")
    color: bool = option(True, "colour the diff output", negatable=True, env="ECSPRESSO_COLOR")
    filter_command: str | None = option(
        None, "interactive filter command (unused by this port)", env="ECSPRESSO_FILTER_COMMAND"
    )
    poll_interval: float = option(
        5.0,
        "seconds between polls while nothing is about to change (twice that at most; 1 s when a "
        "change is near)",
        env="ECSPRESSO_POLL_INTERVAL",
    )
    max_attempts: int = option(
        8, "AWS API attempts per call (throttling/5xx are retried)", env="ECSPRESSO_MAX_ATTEMPTS"
    )
