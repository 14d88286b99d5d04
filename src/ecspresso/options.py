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
