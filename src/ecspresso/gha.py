"""GitHub Actions I/O: workflow commands, environment files, inputs (stdlib only).

The runner reads what a step prints on stdout and stderr line by line and executes
``::name k=v,k=v::data`` lines; outputs and the step summary go through the files named by
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``. Every rule here follows the runner's source
(``ActionCommand.TryParseV2``, ``EnvFileKeyValuePairs``), and ``tests/runner_oracle.py`` ports
that parser so the tests check what this module writes the way the runner will read it.

Why not ``actions_toolkit.core``: it is correct where it overlaps, but importing it costs
~130 ms and its dependencies ~29 MB of image (requests, PyGithub, cryptography), its ``group``
is async-only, it has no stop-commands or summary helpers, it never flushes stdout and it does
not validate output names.

Every function writes to ``sys.stdout`` as it is at call time and flushes after each command
line, so ``::`` lines stay in order with log lines on stderr.

Text we did not write must never become a command: :func:`guard_output` (ecspresso.gha_guard)
lets a line through as is only if this module wrote it, or if it is on stdout inside our
:func:`stop_commands` block; every other line is made :func:`inert`.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from . import gha_guard
from .errors import UsageError
from .gha_guard import inert

__all__ = [
    "SUMMARY_LIMIT",
    "add_mask",
    "annotation",
    "append_summary",
    "chown_to_workspace",
    "command",
    "debug",
    "escape_data",
    "escape_property",
    "get_bool_input",
    "get_input",
    "get_multiline_input",
    "group",
    "guard_output",
    "in_actions",
    "inert",
    "is_debug",
    "set_output",
    "stop_commands",
]

#: the runner refuses a step summary file larger than this (CreateStepSummaryCommand)
SUMMARY_LIMIT = 1024 * 1024

_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
# what action.yml allows as an output id; the runner itself would take almost anything, but a
# name with "=", "<<" or a newline would corrupt the GITHUB_OUTPUT file
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ANNOTATION_LEVELS = ("error", "warning", "notice")


# --- escaping and command lines -----------------------------------------------------------


def escape_data(value: object) -> str:
    """Escape the data part of a command (after the second ``::``): ``%``, CR, LF."""
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: object) -> str:
    """Escape a property value: as data, plus ``:`` and ``,``. (The runner loses a value's
    leading ``=`` and an empty value drops the property: neither can be escaped.)"""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: object = "", **props: object) -> str:
    """The text of one workflow command line (no newline). Properties whose value is None
    are left out; the others keep their keyword's spelling (``endLine=``, ``col=``)."""
    line = "::" + name
    shown = [f"{k}={escape_property(v)}" for k, v in props.items() if v is not None]
    if shown:
        line += " " + ",".join(shown)
    return line + "::" + escape_data(message)


# The token of the stop-commands block we are in, if any: a command issued inside one is
# wrapped in resume/stop lines so that it still works (see _issue).
_stop_token: str | None = None
_group_depth = 0


def _write(text: str) -> None:
    out = sys.stdout
    if isinstance(out, gha_guard.GuardedStream):
        out.write_ours(text)
        return
    out.write(text + "\n")
    out.flush()


def _issue(line: str) -> None:
    """Print one command line, even inside a stop-commands block."""
    global _stop_token
    if _stop_token is None:
        _write(line)
        return
    sys.stderr.flush()
    _write(f"::{_stop_token}::")
    _write(line)
    _stop_token = _new_stop_token()
    _write(f"::stop-commands::{_stop_token}")


def _new_stop_token() -> str:
    # 32 hex digits: never a command name, and the runner masks tokens longer than 6 chars
    return secrets.token_hex(16)


@contextmanager
def stop_commands() -> Iterator[None]:
    """Nothing printed inside is executed as a workflow command (user text, rendered task
    definitions, diffs). Commands issued through this module inside still work. Nested use
    is a no-op."""
    global _stop_token
    if _stop_token is not None:
        yield
        return
    _stop_token = _new_stop_token()
    sys.stderr.flush()
    _write(f"::stop-commands::{_stop_token}")
    try:
        yield
    finally:
        sys.stderr.flush()
        token, _stop_token = _stop_token, None
        _write(f"::{token}::")


@contextmanager
def guard_output() -> Iterator[None]:
    """For the rest of the block, nothing this process prints (Python or not) is executed as a
    workflow command unless this module wrote it: see :mod:`ecspresso.gha_guard`."""
    with gha_guard.guard_output(in_block=lambda: _stop_token is not None):
        yield


@contextmanager
def group(title: str) -> Iterator[None]:
    """A collapsible log group. The runner does not nest groups: an inner group prints its
    title as a plain ``> title`` line (never starting with ``::``) inside the outer one."""
    global _group_depth
    if _group_depth:
        _write(inert("> " + " ".join(title.splitlines())))
        _group_depth += 1
        try:
            yield
        finally:
            _group_depth -= 1
        return
    _open_group(title)
    try:
        yield
    finally:
        _close_group()


def _open_group(title: str) -> None:
    global _group_depth
    sys.stderr.flush()
    _issue(command("group", title))
    _group_depth = 1


def _close_group() -> None:
    global _group_depth
    _group_depth = 0
    sys.stdout.flush()
    sys.stderr.flush()
    _issue(command("endgroup"))


#: the title of the lazy group waiting for its first line (see :func:`lazy_group`)
_pending_group: str | None = None


@contextmanager
def lazy_group(title: str) -> Iterator[None]:
    """A log group opened only when a line is printed inside it (:func:`open_pending_group` is
    called before each log line and result): a phase that prints nothing leaves no empty group."""
    global _pending_group
    if _group_depth or _pending_group is not None:  # nested: as :func:`group` does
        with group(title):
            yield
        return
    _pending_group = title
    try:
        yield
    finally:
        opened = _pending_group is None
        _pending_group = None
        if opened:
            _close_group()


def open_pending_group() -> None:
    """Open the lazy group waiting for its first line, if any."""
    global _pending_group
    if _pending_group is None:
        return
    title, _pending_group = _pending_group, None
    _open_group(title)


def add_mask(value: str) -> None:
    """Mask ``value`` in the rest of the log, and each of its lines on its own (a multi-line
    secret is printed line by line by most tools). Empty or blank values are skipped: the
    runner would only warn about them."""
    if not value or value.isspace():
        return
    _issue(command("add-mask", value))
    lines = [piece.strip() for piece in re.split(r"[\r\n]+", value)]
    if len(lines) > 1:
        for piece in dict.fromkeys(lines):
            if piece:
                _issue(command("add-mask", piece))


def annotation(
    level: str,
    message: str,
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
    col: int | None = None,
    end_column: int | None = None,
) -> None:
    """An ``error``/``warning``/``notice`` annotation. ``file`` may be a path inside the
    workspace, relative or absolute (the runner makes it repository-relative)."""
    if level not in _ANNOTATION_LEVELS:
        raise ValueError(f"annotation level must be one of {_ANNOTATION_LEVELS}, not {level!r}")
    _issue(
        command(
            level,
            message,
            title=title,
            file=file,
            line=line,
            endLine=end_line,
            col=col,
            endColumn=end_column,
        )
    )


def debug(message: str) -> None:
    """A ``::debug::`` line, shown only when step debug logging is on."""
    _issue(command("debug", message))


def is_debug() -> bool:
    """Step debug logging is on (``ACTIONS_STEP_DEBUG`` makes the runner set RUNNER_DEBUG=1)."""
    return os.environ.get("RUNNER_DEBUG") == "1"


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


# --- environment files ---------------------------------------------------------------------


def _format_value(value: str | bool | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def set_output(name: str, value: str | bool | int | None) -> bool:
    """Append ``name`` to the step's outputs (GITHUB_OUTPUT), as a heredoc record whose
    delimiter is regenerated until it does not occur in the value. Booleans become
    ``true``/``false``, None the empty string. Returns False, writing nothing, when
    GITHUB_OUTPUT is unset (the image run outside GitHub Actions)."""
    if not _OUTPUT_NAME.fullmatch(name):
        raise ValueError(f"invalid output name {name!r}")
    text = _format_value(value)
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return False
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in text:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
    return True


def _truncation_note(dropped: int) -> bytes:
    return (
        f"\n\n> **Note:** the rest of this summary ({dropped} bytes) was cut: GitHub accepts at most "
        f"{SUMMARY_LIMIT // 1024} KiB of step summary per step.\n"
    ).encode()


# summary files this process has cut: nothing more is appended to them
_summaries_cut: set[str] = set()


def append_summary(markdown: str) -> bool:
    """Append Markdown to the step summary (GITHUB_STEP_SUMMARY), ending it with a newline.

    The runner drops the whole summary, with an error, when the file exceeds 1 MiB; so this
    keeps the file within the cap, cutting the text at a line boundary and saying so. After a
    cut, later calls write nothing. Returns whether anything was written."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path or path in _summaries_cut:
        return False
    if not markdown.endswith("\n"):
        markdown += "\n"
    data = markdown.encode("utf-8")
    try:
        used = os.path.getsize(path)
    except FileNotFoundError:
        used = 0
    room = SUMMARY_LIMIT - used
    if len(data) > room:
        _summaries_cut.add(path)
        # the note names at most len(data) bytes, so it is never longer than this one
        keep = room - len(_truncation_note(len(data)))
        if keep < 0:
            return False
        cut = data[:keep]
        newline = cut.rfind(b"\n")
        cut = cut[: newline + 1] if newline >= 0 else cut.decode("utf-8", "ignore").encode()
        data = cut + _truncation_note(len(data) - len(cut))
    with open(path, "ab") as f:
        f.write(data)
    return True


# --- inputs --------------------------------------------------------------------------------


def _input_var(name: str) -> str:
    # the runner's rule (Handler.cs): spaces become "_", hyphens stay, then upper-case
    return "INPUT_" + name.replace(" ", "_").upper()


def get_input(name: str, *, required: bool = False, trim: bool = True) -> str:
    """The value of input ``name`` (``INPUT_<NAME>``), stripped of surrounding whitespace;
    ``""`` when unset. ``required`` turns an empty value into a UsageError."""
    value = os.environ.get(_input_var(name), "")
    if trim:
        value = value.strip()
    if required and not value:
        raise UsageError(f"input '{name}' is required")
    return value


def get_bool_input(name: str, default: bool | None = None) -> bool:
    """A YAML 1.2 core-schema boolean (true/True/TRUE, false/False/FALSE). An empty value
    gives ``default``; without one it is an error, as is any other spelling (yes, 1, on…)."""
    value = get_input(name)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if not value and default is not None:
        return default
    shown = f"'{value}'" if value else "an empty value"
    raise UsageError(f"input '{name}' must be a boolean (true/True/TRUE or false/False/FALSE), got {shown}")


def get_multiline_input(name: str) -> list[str]:
    """The non-empty lines of input ``name``, each stripped."""
    lines = (line.strip() for line in get_input(name, trim=False).split("\n"))
    return [line for line in lines if line]


# --- workspace ownership -------------------------------------------------------------------


def chown_to_workspace(path: str | os.PathLike[str]) -> None:
    """Give ``path`` (recursively, if a directory), and the root-owned directories between
    it and the workspace, to the owner of GITHUB_WORKSPACE, so that later steps running as the
    runner's user can change or delete what the container (root) created.

    A no-op unless running as root with GITHUB_WORKSPACE set and ``path`` inside it; symbolic
    links are changed themselves, never followed."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if not workspace or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        ws = Path(workspace).resolve()
        st = os.stat(ws)
        target = Path(os.path.abspath(path))
        parent = target.parent.resolve()
    except OSError:
        return
    if (st.st_uid, st.st_gid) == (0, 0):
        return
    full = parent / target.name
    if full == ws or ws not in full.parents:
        return
    uid, gid = st.st_uid, st.st_gid

    def give(p: Path | str) -> None:
        with suppress(FileNotFoundError):
            os.lchown(p, uid, gid)

    if not os.path.lexists(full):
        return
    give(full)
    if full.is_dir() and not full.is_symlink():
        for root, dirs, files in os.walk(full):
            for entry in (*dirs, *files):
                give(os.path.join(root, entry))
    for ancestor in full.parents:
        if ancestor == ws:
            break
        if os.lstat(ancestor).st_uid == 0:
            give(ancestor)
