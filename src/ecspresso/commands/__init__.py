"""One module per command, as in ecspresso (deploy.go, rollback.go, wait.go…).

Each module exposes ``COMMANDS``: a list of :class:`ecspresso.options.Command`. The CLI imports a
command's module only when that command runs or its own ``--help`` is asked: the top-level parser,
``--help``, ``version`` and a usage error read :data:`TABLE` and import no command module.
tests/test_startup.py checks that :data:`TABLE` says what the modules' ``COMMANDS`` say.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from ecspresso.options import Command


class Entry(NamedTuple):
    """What the top-level parser knows of a command without importing its module."""

    module: str  # ecspresso.commands.<module>
    help: str  # the Command's one-line help, as in its module
    aliases: tuple[str, ...] = ()  # the Command's aliases


#: every command, in ``--help`` order: name -> where it lives and its one-line help.
TABLE: dict[str, Entry] = {
    "deploy": Entry("deploy", "register a task definition and deploy it to the service"),
    "refresh": Entry("refresh", "replace every task of the service without changing anything"),
    "scale": Entry("scale", "change the desired count of the service"),
    "rollback": Entry("rollback", "roll the service back to the previous task definition"),
    "continue": Entry(
        "resume", "release the PAUSE lifecycle hook a blue/green, linear or canary deployment waits on"
    ),
    "wait": Entry("wait", "wait until the service is stable or its deployment is complete"),
    "render": Entry("render", "render config, service definition or task definition"),
    "register": Entry("register", "register a new revision of the task definition"),
    "deregister": Entry("deregister", "deregister task definition revisions not in use"),
    "revisions": Entry("revisions", "list revisions of the task definition and what uses them"),
    "status": Entry("status", "show the service status, deployments and events"),
    "tasks": Entry("tasks", "list, find, stop the tasks of the service and show their logs"),
    "delete": Entry("delete", "delete the service"),
    "diff": Entry("diff", "show differences between local and running definitions"),
    "appspec": Entry("appspec", "print the CodeDeploy AppSpec of the service"),
    "init": Entry("init", "write the config and definitions of an existing service"),
    "run": Entry("run", "run a one-off task and wait for its container to exit"),
    "verify": Entry("verify", "verify the resources the task and service definitions refer to"),
}

#: the command modules, in ``--help`` order
MODULES = tuple(dict.fromkeys(entry.module for entry in TABLE.values()))


def load(name: str) -> Command:
    """The command ``name`` (a key of :data:`TABLE`), importing its module and only that."""
    module = importlib.import_module(f"ecspresso.commands.{TABLE[name].module}")
    for cmd in module.COMMANDS:
        if cmd.name == name:
            return cmd
    raise LookupError(f"ecspresso.commands.{TABLE[name].module} has no command {name!r}")


def registry() -> dict[str, Command]:
    """name (and alias) -> Command for every command, importing every command module."""
    out: dict[str, Command] = {}
    for name in MODULES:
        module = importlib.import_module(f"ecspresso.commands.{name}")
        for cmd in module.COMMANDS:
            out[cmd.name] = cmd
            for alias in cmd.aliases:
                out[alias] = cmd
    return out
