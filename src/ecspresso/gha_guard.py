"""What the process prints under GitHub Actions, kept from becoming workflow commands (stdlib only).

The runner executes any line of a step's stdout or stderr that parses as ``::name::data`` (after
leading whitespace) or holds the legacy ``##[name]``. Much of what we print was not written by
us: ECS events and stopped reasons, Action inputs quoted in errors, rendered definitions and
diffs, Jsonnet ``std.trace`` output, tracebacks. The rule, one for the whole process:

    a physical line reaches the runner as is only if ecspresso.gha wrote it as a command
    (escaped into one line), or if it is on stdout inside our stop-commands block (random,
    masked token); every other line is made :func:`inert`.

A stop-commands block on stdout cannot protect stderr: the runner reads the two streams
separately and, in each batch, handles stderr's lines before stdout's (ProcessInvoker.ProcessOutput),
so stderr is always made inert line by line. :func:`guard_output` enforces the rule for Python's
``sys.stdout``/``sys.stderr`` and, through pipes on file descriptors 1 and 2, for whatever else
writes there (go-jsonnet's trace goes straight to descriptor 2; child processes inherit both).
"""

from __future__ import annotations

import codecs
import io
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["GuardedStream", "guard_output", "inert"]

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")  # where .NET's StreamReader.ReadLine ends a line
# Python's \s is a superset of what .NET's TrimStart removes (it adds U+001C..U+001F)
_COMMAND_START = re.compile(r"^\s*:(?=:)")
_JOINER = "\u2060"  # WORD JOINER: invisible and not whitespace to .NET: "::" and "##[" stop matching


def inert(text: str) -> str:
    """``text`` with no line the runner would execute: on each physical line, a leading ``::``
    (after any whitespace) and every ``##[`` get an invisible WORD JOINER between their
    characters. Line breaks are kept and the text reads the same."""
    if "::" not in text and "##[" not in text:
        return text
    pieces = _LINE_BREAK.split(text)
    for i in range(0, len(pieces), 2):  # even pieces are lines, odd ones the breaks between them
        line = pieces[i].replace("##[", "##" + _JOINER + "[")
        pieces[i] = _COMMAND_START.sub(lambda m: m.group(0) + _JOINER, line, count=1)
    return "".join(pieces)


_LONGEST_LINE = 64 * 1024  # an unfinished line longer than this is ended rather than held


def _complete(text: str) -> int:
    """Length of the part of ``text`` to pass on now: up to its last line break (all of it when
    the rest would be too long a line to hold)."""
    end = max(text.rfind("\n"), text.rfind("\r")) + 1
    return len(text) if len(text) - end > _LONGEST_LINE else end


class GuardedStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` under :func:`guard_output`: whole lines go to the real
    stream, inert unless ``in_block()`` (our stop-commands block is open; stdout only). An
    unfinished line waits for its end, and is ended before a line of ours, so our commands
    always start a line and never share one with foreign text."""

    def __init__(self, target: TextIO, fd: int, lock: threading.RLock, in_block: Callable[[], bool]) -> None:
        super().__init__()
        self.target, self.lock = target, lock
        self._fd, self._in_block = fd, in_block
        self._partial = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.target.errors

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd  # the piped descriptor: a child process handed this stream is guarded too

    def write(self, s: str) -> int:
        with self.lock:
            text = self._partial + s
            end = _complete(text)
            self._partial = text[end:]
            if end:
                self._emit(text[:end] + ("" if text[end - 1] in "\r\n" else "\n"))
        return len(s)

    def _emit(self, text: str) -> None:
        self.target.write(text if self._in_block() else inert(text))
        self.target.flush()

    def end_line(self) -> None:
        with self.lock:
            if self._partial:
                text, self._partial = self._partial, ""
                self._emit(text + "\n")

    def write_ours(self, line: str) -> None:
        """One line ecspresso.gha wrote (a workflow command): as is, on a line of its own."""
        with self.lock:
            self.end_line()
            self.target.write(line + "\n")
            self.target.flush()

    def flush(self) -> None:
        with self.lock:
            self.target.flush()


def _pump(read_fd: int, target: TextIO, lock: threading.RLock) -> None:
    """Copy what others write to a guarded descriptor to the real stream: whole lines, inert."""
    decoder = codecs.getincrementaldecoder(target.encoding or "utf-8")(errors="replace")
    partial = ""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except OSError:
            chunk = b""
        text = partial + decoder.decode(chunk, final=not chunk)
        if chunk:
            end = _complete(text)
            lines, partial = text[:end], text[end:]
            if lines and lines[-1] not in "\r\n":
                lines += "\n"
        else:  # the end: an unfinished last line is ended
            lines, partial = (text + "\n" if text else ""), ""
        if lines:
            with lock:
                target.write(inert(lines))
                target.flush()
        if not chunk:
            break
    os.close(read_fd)


@contextmanager
def guard_output(in_block: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Enforce the rule for everything this process prints: ``sys.stdout`` and ``sys.stderr``
    become :class:`GuardedStream` s (stdout passes lines as is while ``in_block()``), and file
    descriptors 1 and 2 become pipes copied through :func:`inert` to the real streams. Nested
    use is a no-op; on exit the streams are restored and the copies drained."""
    if isinstance(sys.stdout, GuardedStream) or isinstance(sys.stderr, GuardedStream):
        yield
        return
    installed: list[tuple[str, TextIO, int, GuardedStream, threading.Thread]] = []
    try:
        for name, fd in (("stdout", 1), ("stderr", 2)):
            stream: TextIO = getattr(sys, name)
            stream.flush()
            try:
                real = os.dup(fd)
            except OSError:  # closed: nothing to guard
                continue
            target = open(real, "w", encoding=stream.encoding or "utf-8", errors=stream.errors)  # noqa: SIM115
            lock = threading.RLock()
            read_fd, write_fd = os.pipe()
            os.dup2(write_fd, fd)
            os.close(write_fd)
            pump = threading.Thread(
                target=_pump, args=(read_fd, target, lock), name=f"guard-{name}", daemon=True
            )
            pump.start()
            guarded = GuardedStream(target, fd, lock, in_block if name == "stdout" else lambda: False)
            setattr(sys, name, guarded)
            installed.append((name, stream, fd, guarded, pump))
        yield
    finally:
        for name, stream, fd, guarded, pump in reversed(installed):
            guarded.end_line()
            setattr(sys, name, stream)
            os.dup2(guarded.target.fileno(), fd)  # closes the pipe's write end: the pump sees its end
            pump.join(timeout=5)
            if not pump.is_alive():
                guarded.target.close()
