"""Jsonnet evaluation through go-jsonnet (the ``gojsonnet`` wheel), the engine ecspresso itself uses.

Output is byte-for-byte what ecspresso's ``vm.EvaluateFile`` gives (3-space indented JSON). Errors
become one-line :class:`~ecspresso.errors.InputError` s carrying the file and line go-jsonnet reports;
the full go-jsonnet trace stays on ``__cause__`` and in the debug log.

go-jsonnet runs in a worker process (:mod:`ecspresso.render._jsonnet_worker`), one per evaluation:
a Go runtime that runs out of memory or stack ends its process with exit 134 and a page of trace,
and an evaluation cannot be interrupted. The worker has bounded memory and CPU time, this side
bounds the wall-clock time, and every way it can end becomes one error line; see
:mod:`ecspresso.render.limits`. Imports are read by the worker through a callback that refuses
devices, FIFOs, directories and files over the input size limit. Source nested deeper than
``limits.MAX_NESTING`` is refused before go-jsonnet's recursive parser sees it.

Native functions are ``(function, parameter names)`` pairs; they run here, in this process (they
look things up in AWS, read the environment, register secrets to mask), called over the worker's
pipe. go-jsonnet's Python binding turns any exception raised by a native callback into ``failed to
execute native callback, code: 0``; the exception is kept here so its message reaches the user.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ecspresso.errors import EcspressoError, InputError, UsageError
from ecspresso.log import get_logger
from ecspresso.render import limits

Native = tuple[Callable[..., Any], tuple[str, ...]]

_NATIVE_FAILED = "failed to execute native callback"
# "file:L:C", "file:L:C-C" or "file:(L:C)-(L:C)", as go-jsonnet prints locations
_NATIVE_BAD_ARGS = (
    "a native function was called with an array or object argument; the go-jsonnet Python binding "
    "passes only strings, numbers, booleans and null (pass std.manifestJson(x) and std.parseJson the result)"
)
_LOCATION = re.compile(r"^(?P<file>.+?):(?:(?P<line>\d+):\d+(?:-\d+)?|\((?P<mline>\d+):\d+\)-\(\d+:\d+\))")


def evaluate_file(
    path: Path | str,
    *,
    ext_str: Mapping[str, str] | None = None,
    ext_code: Mapping[str, str] | None = None,
    natives: Mapping[str, Native] | None = None,
    jpath: Sequence[Path | str] = (),
) -> str:
    """Evaluate a Jsonnet file to JSON text. Imports resolve against the importing file, then ``jpath``."""
    name = str(path)
    if not os.path.isfile(name):
        raise InputError("no such Jsonnet file", source=name)
    return _evaluate(name, None, ext_str, ext_code, natives, jpath)


def evaluate_snippet(
    source_name: str,
    text: str,
    *,
    ext_str: Mapping[str, str] | None = None,
    ext_code: Mapping[str, str] | None = None,
    natives: Mapping[str, Native] | None = None,
    jpath: Sequence[Path | str] = (),
) -> str:
    """Evaluate Jsonnet ``text``; ``source_name`` is used in error messages and for relative imports."""
    return _evaluate(source_name, text, ext_str, ext_code, natives, jpath)


def _evaluate(
    name: str,
    text: str | None,
    ext_str: Mapping[str, str] | None,
    ext_code: Mapping[str, str] | None,
    natives: Mapping[str, Native] | None,
    jpath: Sequence[Path | str],
) -> str:
    if text is None:
        text = limits.read_text(name, name)
    _check_utf8(text, name)
    limits.check_text_nesting(text, name, jsonnet=True)
    ext_vars, ext_codes = dict(ext_str or {}), dict(ext_code or {})
    for flag, values in (("--ext-str", ext_vars), ("--ext-code", ext_codes)):
        for key, value in values.items():
            _check_utf8(key + value, f"{flag} {key}", lines=False)
    funcs = dict(natives or {})
    request = {
        "name": name,
        "text": text,
        "ext_vars": ext_vars,
        "ext_codes": ext_codes,
        "jpath": [str(p) for p in jpath],
        "natives": {fname: list(params) for fname, (_, params) in funcs.items()},
        "max_stack": limits.JSONNET_MAX_STACK,
        "memory_limit": limits.JSONNET_MEMORY_LIMIT,
        "cpu_limit": int(limits.JSONNET_TIME_LIMIT * 4) + 5,
        "import_limit": limits.MAX_INPUT_BYTES,
        "output_limit": limits.MAX_OUTPUT_BYTES,
    }
    failures: list[BaseException] = []
    with _Worker(name) as worker:
        worker.send(request)
        while True:
            message = worker.receive()
            if "call" in message:
                worker.send(_call_native(funcs, message, failures))
                continue
            worker.relay_trace()  # an answer: what the worker wrote to stderr is std.trace output
            if "ok" in message:
                return str(message["ok"])
            elif "too_large" in message:
                raise InputError(
                    f"Jsonnet output is larger than {limits.mib(limits.MAX_OUTPUT_BYTES)}", source=name
                )
            else:
                raw = str(message.get("error", ""))
                for rel, problem in message.get("import_failures", [])[:1]:
                    if problem not in raw:  # importstr/importbin took the stand-in as data
                        line = next((i for i, ln in enumerate(text.splitlines(), 1) if rel in ln), None)
                        raise InputError(limits.one_line(problem), source=name, line=line)
                raise _to_input_error(raw, name, failures) from (
                    failures[-1] if failures else RuntimeError(raw)
                )


def _check_utf8(text: str, source: str, *, lines: bool = True) -> None:
    """Text that came from bytes decoded with surrogateescape (argv, environment) may not be UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1 if lines else None
        raise InputError(f"not valid UTF-8 at character {exc.start}", source=source, line=line) from None


def _call_native(
    funcs: Mapping[str, Native], message: dict[str, Any], failures: list[BaseException]
) -> dict[str, Any]:
    """Run the native function the worker asked for; the reply to send back."""
    name = str(message["call"])
    try:
        value = funcs[name][0](*message.get("args", ()))
        json.dumps(value)  # the worker gets it as JSON
    except Exception as exc:
        failures.append(exc)
        return {"error": _describe(exc)}
    return {"value": value}


@functools.cache
def _worker_command() -> list[str]:
    """The interpreter running this code, told where ecspresso and _gojsonnet are (not the cwd)."""
    import ecspresso

    paths = [str(Path(ecspresso.__file__).resolve().parent.parent)]
    spec = importlib.util.find_spec("_gojsonnet")
    if spec and spec.origin:
        paths.append(str(Path(spec.origin).parent))
    boot = f"import sys; sys.path[:0] = {paths!r}; from ecspresso.render._jsonnet_worker import main; main()"
    return [sys.executable, "-I", "-c", boot]


class _Worker:
    """One go-jsonnet evaluation in a child process (see :mod:`ecspresso.render._jsonnet_worker`):
    JSON lines both ways; waiting for it counts against ``limits.JSONNET_TIME_LIMIT``."""

    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, name: str) -> None:
        self.name = name
        self.budget = limits.JSONNET_TIME_LIMIT
        self.buffer = bytearray()

    def __enter__(self) -> _Worker:
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            _worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode("ascii") + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it ended; receive() says why

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            started = self.clock()
            ready, _, _ = select.select([fd], [], [], self.budget) if self.budget > 0 else ([], [], [])
            self.budget -= self.clock() - started
            if not ready:
                raise InputError(
                    f"Jsonnet evaluation took longer than {limits.JSONNET_TIME_LIMIT:g}s", source=self.name
                )
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise self._ended()
            self.buffer += chunk
        end = self.buffer.index(b"\n")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        message: dict[str, Any] = json.loads(line)
        return message

    def relay_trace(self) -> None:
        """Pass on what go-jsonnet wrote to the worker's stderr (``std.trace``), as it would have
        written to ours; bounded, like any output."""
        self.stderr.seek(0)
        data = self.stderr.read(limits.MAX_OUTPUT_BYTES + 1)
        if data:
            text = data[: limits.MAX_OUTPUT_BYTES].decode("utf-8", "replace")
            sys.stderr.write(text if len(data) <= limits.MAX_OUTPUT_BYTES else text + "\n[trace truncated]\n")
            sys.stderr.flush()

    def _ended(self) -> EcspressoError:
        """Why the worker ended without an answer, as one line (the Go trace goes to the debug log)."""
        code = self.proc.wait()
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 65536))
        tail = self.stderr.read().decode("utf-8", "replace")
        get_logger().debug("jsonnet worker ended", source=self.name, exit_code=code, stderr=tail)
        # a deep recursion ends in Go's stack limit, or first in the memory limit while the stack grows
        if "stack overflow" in tail or "stack exceeds" in tail or "runtime.newstack" in tail:
            return InputError(
                "Jsonnet evaluation overflowed its stack (nesting or recursion too deep)", source=self.name
            )
        if "out of memory" in tail or "MemoryError" in tail or "cannot allocate" in tail:
            return InputError(
                f"Jsonnet evaluation needs more than {limits.mib(limits.JSONNET_MEMORY_LIMIT)} of memory",
                source=self.name,
            )
        if code in (-signal.SIGKILL, -signal.SIGXCPU):
            return InputError("Jsonnet evaluation was killed (CPU time or memory limit)", source=self.name)
        last = next((ln.strip() for ln in reversed(tail.splitlines()) if ln.strip()), "")
        return EcspressoError(limits.one_line(f"the Jsonnet worker failed (exit status {code}): {last}"))


def _to_input_error(raw: str, name: str, failures: list[BaseException]) -> InputError:
    """One line out of go-jsonnet's multi-line error text (message, then a tab-indented stack)."""
    get_logger().debug("jsonnet error", source=name, trace=raw)
    lines = raw.rstrip("\n").split("\n")
    source, line, title = name, None, None
    if lines[0].startswith("RUNTIME ERROR: "):
        n = next((i for i, ln in enumerate(lines) if ln.startswith("\t")), len(lines))
        message = " ".join(ln.strip() for ln in lines[:n]).removeprefix("RUNTIME ERROR: ").strip()
        message = message.removeprefix("importer error: ")
        frames = [m for m in (_LOCATION.match(ln.strip()) for ln in lines[n:]) if m]
        frame = next(
            (m for m in frames if not m.group("file").startswith("<")), frames[0] if frames else None
        )
        if frame:
            source, line = frame.group("file"), int(frame.group("line") or frame.group("mline"))
        if message.startswith(_NATIVE_FAILED):
            if failures:
                cause = failures[-1]
                message = _describe(cause)
                if isinstance(cause, EcspressoError) and not isinstance(cause, InputError):
                    title = cause.title
            else:
                message = _NATIVE_BAD_ARGS
    else:
        # static error: "file:L:C-C message", then a blank line and the offending source line
        message = lines[0]
        match = _LOCATION.match(message)
        if match:
            source, line = match.group("file"), int(match.group("line") or match.group("mline"))
            message = message[match.end() :].strip()
    message = limits.one_line(message) or "Jsonnet evaluation failed"
    return InputError(message, source=limits.one_line(source), line=line, title=title)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EcspressoError):
        return exc.message
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return text or type(exc).__name__


# --- ecspresso's default natives (jsonnet.go) ------------------------------------------------


def _env(name: Any, default: Any) -> Any:
    if not isinstance(name, str):
        raise InputError("env: name must be a string")
    value = os.environ.get(name, "")
    return value if value != "" else default


def _must_env(name: Any) -> Any:
    if not isinstance(name, str):
        raise InputError("must_env: name must be a string")
    if name not in os.environ:
        raise InputError(f"environment variable {name} is not defined")
    return os.environ[name]


def default_natives() -> dict[str, Native]:
    """``env(name, default)`` and ``must_env(name)``, as in ecspresso's ``DefaultJsonnetNativeFuncs``."""
    return {"env": (_env, ("name", "default")), "must_env": (_must_env, ("name",))}


# --- --ext-str / --ext-code ---------------------------------------------------------------------


def parse_ext_vars(values: Iterable[str], *, flag: str) -> dict[str, str]:
    """``K=V;K2=V2`` pieces from repeated flags (or the env var), merged in order; ``\\;`` escapes ``;``.

    The value keeps everything after the first ``=``. Empty pieces are skipped.
    """
    result: dict[str, str] = {}
    for value in values:
        for piece in _split_escaped(value, ";"):
            if piece == "":
                continue
            key, sep, val = piece.partition("=")
            if not sep or not key:
                raise UsageError(f'{flag}: expected "<key>=<value>" but got "{piece}"')
            result[key] = val
    return result


def _split_escaped(text: str, sep: str) -> list[str]:
    out: list[str] = []
    token: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt is None:
                token.append(ch)
            elif nxt == sep:
                token.append(sep)
            else:
                token.extend((ch, nxt))
        elif ch == sep:
            out.append("".join(token))
            token = []
        else:
            token.append(ch)
    out.append("".join(token))
    return out
