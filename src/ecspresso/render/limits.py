"""Bounds on what a config, definition, envfile, template or Jsonnet input may cost.

Every input either loads or fails with one :class:`~ecspresso.errors.InputError` line, in bounded
time and memory, whatever its bytes. The limits are far above anything an ECS deployment needs
(a task definition is at most 64 KiB when registered, and nests fewer than ten levels) and far
below what would exhaust a CI runner:

* ``MAX_INPUT_BYTES``: a file read as config, definition, envfile or Jsonnet import
  (``MAX_TFSTATE_BYTES`` for a Terraform state, which can be much larger).
* ``MAX_NESTING``: arrays/objects in JSON, YAML and Jsonnet source; control structures and
  parentheses in templates. Python's recursion limit (1000 frames) has to cover every recursive
  walk a definition goes through afterwards (normalising keys, botocore's validator, deepcopy,
  diffing: two or three frames per level), and go-jsonnet's parser overflows its 1 GB goroutine
  stack and aborts the whole process somewhere past 10,000 levels.
* ``MAX_NODES``: values in one parsed document, counting YAML aliases each time they are used
  (a "billion laughs" document is small on disk and enormous once walked).
* ``MAX_OUTPUT_BYTES``: the text a template or Jsonnet evaluation may produce, and any one string
  a template function may return.
* ``MAX_TEMPLATE_STEPS``, ``MAX_TEMPLATE_BYTES``: nodes a template may execute (``range`` over
  ``10**12`` stops here) and the total size of the strings its functions may produce (a huge
  ``printf`` width inside a loop stops here). Both are counts, not clocks: the same input fails
  the same way on every machine.
* Jsonnet (evaluated in a separate worker process, see :mod:`ecspresso.render.jsonnet`):
  ``JSONNET_TIME_LIMIT`` seconds of evaluation (time spent in plugin functions excluded),
  ``JSONNET_MEMORY_LIMIT`` bytes of address space over the worker's start-up size, and
  ``JSONNET_MAX_STACK`` Jsonnet call frames (go-jsonnet's default, made explicit).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterator
from typing import Any

from ecspresso.errors import InputError

MAX_INPUT_BYTES = 10 * 1024 * 1024
#: Terraform states of large estates run to tens of MiB
MAX_TFSTATE_BYTES = 256 * 1024 * 1024
MAX_NESTING = 100
MAX_NODES = 1_000_000
MAX_OUTPUT_BYTES = 10 * 1024 * 1024
MAX_TEMPLATE_STEPS = 1_000_000
MAX_TEMPLATE_BYTES = 100 * 1024 * 1024
JSONNET_TIME_LIMIT = 30.0
JSONNET_MEMORY_LIMIT = 1024 * 1024 * 1024
JSONNET_MAX_STACK = 500
#: longest message kept from an error that quotes user input (a Jsonnet ``error`` of a huge string)
MAX_MESSAGE_CHARS = 500


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def read_bytes(path: str | os.PathLike[str], source: str, *, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default ``MAX_INPUT_BYTES``).

    Devices (``/dev/zero``), FIFOs and directories are refused before they are opened, so reading
    one can neither block nor run forever. OS errors become :class:`InputError` naming ``source``.
    """
    limit = MAX_INPUT_BYTES if limit is None else limit
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory, not a file", source=source)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("is not a regular file", source=source)
        if st.st_size > limit:
            raise InputError(f"file is larger than {mib(limit)}", source=source)
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=source) from exc
    if len(data) > limit:
        raise InputError(f"file is larger than {mib(limit)}", source=source)
    return data


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text; invalid bytes raise :class:`InputError` with line and byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}", source=source, line=line
        ) from None


def read_text(path: str | os.PathLike[str], source: str, *, limit: int | None = None) -> str:
    """A UTF-8 text file of at most ``limit`` bytes (see :func:`read_bytes`)."""
    return decode_utf8(read_bytes(path, source, limit=limit), source)


_SCALARS = (str, int, float, bool, type(None))


def check_document(doc: Any, source: str, *, what: str = "document", json_types: bool = False) -> None:
    """Refuse a parsed JSON/YAML value nested deeper than ``MAX_NESTING`` or larger than ``MAX_NODES``;
    with ``json_types``, also one holding what JSON cannot (YAML sets, binary, ``.inf``).

    Iterative, so it cannot itself overflow the stack; shared (YAML alias) values count each time
    they are reached, as every later walk of the document will reach them.
    """
    stack: list[tuple[Any, int]] = [(doc, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InputError(f"{what} has more than {MAX_NODES:,} values", source=source)
        if isinstance(value, dict):
            children: Any = value.values()
            if json_types:
                for key in value:
                    _check_scalar(key, source)
        elif isinstance(value, list):
            children = value
        else:
            if json_types:
                _check_scalar(value, source)
            continue
        if depth >= MAX_NESTING and children:
            raise InputError(f"{what} nests deeper than {MAX_NESTING} levels", source=source)
        stack.extend((child, depth + 1) for child in children)


def _check_scalar(value: Any, source: str) -> None:
    if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        shown = value if isinstance(value, float) else type(value).__name__
        raise InputError(f"unsupported value {shown} (only what JSON can hold)", source=source)


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)
# Jsonnet: comments, strings ('…', "…", @'…', @"…", |||…|||), and the brackets that nest
_JSONNET_TOKENS = re.compile(
    r"//[^\n]*|#[^\n]*|/\*.*?(?:\*/|\Z)|\|\|\|.*?(?:\|\|\||\Z)"
    r"|@'(?:[^']|'')*'?|@\"(?:[^\"]|\"\")*\"?"
    r"|'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|[\[\]{}()]",
    re.S,
)


def _bracket_depths(text: str, tokens: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    depth = 0
    for m in tokens.finditer(text):
        c = m.group()
        if c in "[{(":
            depth += 1
            yield depth, m.start()
        elif c in ")]}":
            depth -= 1


def check_text_nesting(text: str, source: str, *, jsonnet: bool = False) -> None:
    """Refuse JSON (or Jsonnet source) whose brackets nest deeper than ``MAX_NESTING``.

    A cheap scan that skips strings and comments; it runs before the text reaches a recursive
    parser (Python's json, go-jsonnet's parser) and names the line where the limit is crossed.
    """
    if text.count("[") + text.count("{") + text.count("(") <= MAX_NESTING:
        return
    for depth, pos in _bracket_depths(text, _JSONNET_TOKENS if jsonnet else _JSON_TOKENS):
        if depth > MAX_NESTING:
            raise InputError(
                f"nesting deeper than {MAX_NESTING} levels", source=source, line=text.count("\n", 0, pos) + 1
            )


# every character str.splitlines() breaks on, and tabs
_LINE_BREAKS = re.compile("[\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(message: str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` on one line (runs of line breaks and tabs become one space), at most ``limit`` chars."""
    text = _LINE_BREAKS.sub(" ", message).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
