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
    env: str | None = None,
    positional: bool = False,
    nargs: str | None = None,
    parse: Callable[[str], Any] | None = None,
) -> Any:
    """A dataclass field carrying its flag's help text and shape.

    ``default`` may be a list (copied per instance). ``parse`` converts the flag's text (defaults to
    the field's type: int, float, str). ``env`` names an environment variable that sets the default.
    """
    meta = {
        "help": help,
        "negatable": negatable,
        "choices": tuple(choices) if choices else None,
        "metavar": metavar,
        "aliases": tuple(aliases),
        "env": env,
        "positional": positional,
        "nargs": nargs,
        "parse": parse,
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
    needs_config: bool = True
    aliases: tuple[str, ...] = ()


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
