"""``external`` plugin (ecspresso v2.5+): a function that runs a command.

Config: ``name`` (function name), ``command`` (argv list, no shell), ``num_args`` (Jsonnet parameter
count, default 0), ``parser`` (``json``, the default, or ``string``), ``timeout`` (seconds, 0 = none).
The function runs ``command + args`` and returns stdout parsed as JSON (its first value) or as a
string. On time-out the command gets SIGTERM, then SIGKILL 5 s later. Results are not cached: like
ecspresso, every call runs the command.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from ecspresso.errors import InputError
from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, type_name

KILL_DELAY = 5.0


class ExternalCommand:
    def __init__(self, name: str, command: list[str], parser: str, timeout: float) -> None:
        self.name, self.command, self.parser, self.timeout = name, command, parser, timeout

    def run(self, args: list[str]) -> Any:
        argv = [*self.command, *args]
        shown = " ".join(argv)
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise InputError(
                f"external plugin {self.name}: failed to run {shown}: {exc.strerror or exc}"
            ) from exc
        try:
            out, err = proc.communicate(timeout=self.timeout or None)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.communicate(timeout=KILL_DELAY)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            raise InputError(
                f"external plugin {self.name}: command timed out after {self.timeout:g}s: {shown}"
            ) from None
        if proc.returncode != 0:
            last = next((ln for ln in reversed(err.decode(errors="replace").splitlines()) if ln.strip()), "")
            raise InputError(
                f"external plugin {self.name}: {shown} exited with status {proc.returncode}"
                + (f": {last.strip()}" if last else "")
            )
        text = out.decode(errors="replace")
        if self.parser == "string":
            return text
        try:
            value, _ = json.JSONDecoder().raw_decode(text.lstrip())
        except json.JSONDecodeError as exc:
            raise InputError(
                f"external plugin {self.name}: failed to decode the output of {shown} as JSON: {exc}"
            ) from exc
        return value


def _config(spec: PluginSpec, ctx: PluginContext) -> ExternalCommand:
    cfg = spec.config

    def bad(message: str) -> InputError:
        return InputError(f"external plugin: {message}", source=ctx.source)

    name = cfg.get("name")
    if not isinstance(name, str) or not name:
        raise bad("name is required")
    command = cfg.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise bad(f"{name}: command is required (a list of strings)")
    parser = cfg.get("parser") or "json"
    if parser not in ("json", "string"):
        raise bad(f"{name}: unsupported parser: {parser}")
    timeout = cfg.get("timeout") or 0
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise bad(f"{name}: timeout must be a number of seconds")
    num_args = cfg.get("num_args") or 0
    if isinstance(num_args, bool) or not isinstance(num_args, int) or num_args < 0:
        raise bad(f"{name}: num_args must be a non-negative integer")
    return ExternalCommand(name, list(command), parser, float(timeout))


def _arg(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    raise InputError(f"{what} must be a string, got {type_name(value)}")


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    ext = _config(spec, ctx)
    num_args = int(spec.config.get("num_args") or 0)

    def template_func(*args: Any) -> Any:
        return ext.run([_arg(a, f"{ext.name}: argument") for a in args])

    def native(*args: Any) -> Any:
        for i, a in enumerate(args):
            if not isinstance(a, str):
                raise InputError(f"{ext.name}: arg{i} must be a string, got {type_name(a)}")
        return ext.run(list(args))

    params = tuple(f"arg{i}" for i in range(num_args))
    return {ext.name: template_func}, {ext.name: (native, params)}
