"""``external`` plugin (ecspresso v2.5+): a function that runs a command.

Config: ``name`` (function name), ``command`` (argv list, no shell), ``num_args`` (Jsonnet parameter
count, default 0), ``parser`` (``json``, the default, or ``string``), ``timeout`` (a Go duration such
as ``1s`` or ``1m30s``; a bare number is nanoseconds, as ecspresso's Duration reads it; 0, negative
or absent = no time-out).
The function runs ``command + args`` and returns stdout parsed as JSON (its first value) or as a
string. On time-out the command gets SIGTERM, then SIGKILL 5 s later. Results are not cached: like
ecspresso, every call runs the command.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from ecspresso.config import format_duration, parse_duration
from ecspresso.errors import InputError
from ecspresso.log import get_logger
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
                f"external plugin {self.name}: command timed out after {format_duration(self.timeout)}: {shown}"
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
    timeout = _timeout(cfg.get("timeout"), name, bad)
    num_args = cfg.get("num_args") or 0
    if isinstance(num_args, bool) or not isinstance(num_args, int) or num_args < 0:
        raise bad(f"{name}: num_args must be a non-negative integer")
    return ExternalCommand(name, list(command), parser, float(timeout))


def _timeout(value: Any, name: str, bad: Any) -> float:
    """ecspresso's Duration: a string is a Go duration (sign allowed), a number is nanoseconds."""
    if value is None or value == "":
        return 0.0
    text = value.strip() if isinstance(value, str) else value
    negative = isinstance(text, str) and text.startswith(("+", "-"))
    try:
        seconds = parse_duration(text[1:] if negative else text, source=name)
    except InputError as exc:
        raise bad(f"{name}: {exc.detail}") from None
    if negative and text[0] == "-":
        seconds = -seconds
    if isinstance(value, int | float) and 0 < seconds < 1e-3:
        get_logger().warning(
            f"external plugin {name}: timeout {value} is {format_duration(seconds)} (a number is "
            f'nanoseconds, as in ecspresso); write "{value}s" for seconds'
        )
    return max(seconds, 0.0)


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
