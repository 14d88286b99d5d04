"""Jsonnet evaluation through go-jsonnet (the ``gojsonnet`` wheel), the engine ecspresso itself uses.

Output is byte-for-byte what ecspresso's ``vm.EvaluateFile`` gives (3-space indented JSON). Errors
become one-line :class:`~ecspresso.errors.InputError` s carrying the file and line go-jsonnet reports;
the full go-jsonnet trace stays on ``__cause__`` and in the debug log.

Native functions are ``(function, parameter names)`` pairs. go-jsonnet's Python binding turns any
exception raised by a native callback into ``failed to execute native callback, code: 0``; the
wrappers made here remember the exception so its message reaches the user.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ecspresso.errors import EcspressoError, InputError, UsageError
from ecspresso.log import get_logger

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
    import _gojsonnet

    failures: list[BaseException] = []
    callbacks = {
        fname: (tuple(params), _capture(func, failures)) for fname, (func, params) in (natives or {}).items()
    }
    kwargs: dict[str, Any] = {
        "jpathdir": [str(p) for p in jpath],
        "ext_vars": dict(ext_str or {}),
        "ext_codes": dict(ext_code or {}),
        "native_callbacks": callbacks,
    }
    try:
        if text is None:
            return str(_gojsonnet.evaluate_file(name, **kwargs))
        return str(_gojsonnet.evaluate_snippet(name, text, **kwargs))
    except RuntimeError as exc:
        raise _to_input_error(str(exc), name, failures) from (failures[-1] if failures else exc)


def _capture(func: Callable[..., Any], failures: list[BaseException]) -> Callable[..., Any]:
    def native(*args: Any) -> Any:
        try:
            return func(*args)
        except Exception as exc:
            failures.append(exc)
            raise

    return native


def _to_input_error(raw: str, name: str, failures: list[BaseException]) -> InputError:
    """One line out of go-jsonnet's multi-line error text (message, then a tab-indented stack)."""
    get_logger().debug("jsonnet error", source=name, trace=raw)
    lines = raw.rstrip("\n").split("\n")
    source, line, title = name, None, None
    if lines[0].startswith("RUNTIME ERROR: "):
        n = next((i for i, ln in enumerate(lines) if ln.startswith("\t")), len(lines))
        message = " ".join(ln.strip() for ln in lines[:n]).removeprefix("RUNTIME ERROR: ").strip()
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
    return InputError(message or "Jsonnet evaluation failed", source=source, line=line, title=title)


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
