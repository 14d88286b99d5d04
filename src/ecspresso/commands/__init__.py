"""One module per command, as in ecspresso (deploy.go, rollback.go, wait.go…).

Each module exposes ``COMMANDS``: a list of :class:`ecspresso.options.Command`. Importing a
command module must stay cheap: boto3 is only imported when a command actually calls AWS.
"""

from __future__ import annotations

import importlib

from ecspresso.options import Command

MODULES = (
    "deploy",
    "refresh",
    "scale",
    "rollback",
    "resume",
    "wait",
    "render",
    "register",
    "deregister",
    "revisions",
    "status",
    "delete",
    "diff",
    "appspec",
)


def registry() -> dict[str, Command]:
    """name (and alias) -> Command, in the order of ``MODULES``."""
    out: dict[str, Command] = {}
    for name in MODULES:
        module = importlib.import_module(f"ecspresso.commands.{name}")
        for cmd in module.COMMANDS:
            out[cmd.name] = cmd
            for alias in cmd.aliases:
                out[alias] = cmd
    return out
