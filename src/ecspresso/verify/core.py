"""The pure core of ``verify``: a tree of checks, their outcomes, the cache and the renderers.

A check is a named function. :meth:`Verifier.check` runs it under its parent, records its outcome
(OK, NG, SKIP, WARN, with a message) and tells the :class:`Sink` when it starts and ends, so the
tree is printed as it grows. A function ends its check by returning (OK, with an optional message)
or by raising :class:`Outcome` (``Ng``, ``Skip``, ``Warn``). The first NG stops the run: it is
raised up the tree as :class:`Aborted`, each ancestor ends NG naming it, and no later check runs.

With the cache on, a check whose ``key`` was already run in this verify (the same role, image or
secret) is not run again: it ends with the first run's outcome, marked ``(cached)``.

Rendering is pure (table-tested): the text tree as ecspresso prints it::

    TaskDefinition
      ExecutionRole[arn:aws:iam::123456789012:role/ecsTaskExecutionRole]
      --> [OK]
    --> [OK]

and, with ``--log-format json``, one JSON line per finished check
(``{"verify": name, "path": [...], "result": "NG", "error": ..., "cached": true}``: ecspresso's
keys, plus ``path``; the note of an OK check is its ``message``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from ecspresso.errors import EcspressoError


class Status(enum.StrEnum):
    OK = "OK"
    NG = "NG"  # the deploy would fail on this item: verify stops and exits 1
    SKIP = "SKIP"  # not checked, on purpose (a flag, nothing to check)
    WARN = "WARN"  # could not be checked here (access denied, registry unreachable)


class Outcome(Exception):  # not an error: how a check ends other than OK
    """Raised by a check function to end its check with ``status`` and ``message``."""

    status = Status.NG

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Ng(Outcome):
    status = Status.NG


class Skip(Outcome):
    status = Status.SKIP


class Warn(Outcome):
    status = Status.WARN


@dataclass
class Check:
    """One node of the tree."""

    name: str
    path: tuple[str, ...]  # names from the top check down to this one (this one included)
    status: Status | None = None  # None while running
    message: str = ""
    cached: bool = False
    children: list[Check] = field(default_factory=list)

    @property
    def level(self) -> int:
        return len(self.path)


class Aborted(Exception):  # the NG that stops the run, carried to the top
    """The first NG: ``failed`` is the check that was NG (its ancestors end NG too)."""

    def __init__(self, failed: Check) -> None:
        super().__init__(" > ".join(failed.path) + f": {failed.message}")
        self.failed = failed


class Sink:
    """Where the tree goes while it grows (the command prints; tests may collect)."""

    def started(self, check: Check) -> None:  # pragma: no cover - interface
        pass

    def ended(self, check: Check) -> None:  # pragma: no cover - interface
        pass


CheckFn = Callable[[], str | None]


class Verifier:
    """Runs checks as a tree; the first NG aborts (see the module docstring)."""

    def __init__(self, sink: Sink | None = None, *, cache: bool = True) -> None:
        self.sink = sink or Sink()
        self.use_cache = cache
        self.roots: list[Check] = []
        self._stack: list[Check] = []
        self._cache: dict[Hashable, tuple[Status, str]] = {}

    def check(self, name: str, fn: CheckFn, *, key: Hashable | None = None) -> Check:
        """Run ``fn`` as the check ``name`` under the running one. Returns the finished check;
        raises :class:`Aborted` when it (or a check under it) is NG."""
        parent = self._stack[-1] if self._stack else None
        node = Check(name=name, path=(*parent.path, name) if parent else (name,))
        (parent.children if parent else self.roots).append(node)
        self.sink.started(node)
        cache_key = (key,) if key is not None else None
        if self.use_cache and cache_key is not None and cache_key in self._cache:
            node.status, node.message = self._cache[cache_key]
            node.cached = True
            self.sink.ended(node)
            if node.status is Status.NG:  # pragma: no cover - an NG aborts the run before a repeat
                raise Aborted(node)
            return node
        self._stack.append(node)
        try:
            message = fn()
            node.status, node.message = Status.OK, message or ""
        except Outcome as out:
            node.status, node.message = out.status, out.message
        except EcspressoError as exc:  # an AWS error the check did not judge: NG, with its one line
            node.status, node.message = Status.NG, str(exc)
        except Aborted as abort:
            node.status, node.message = Status.NG, f"{abort.failed.name} is NG"
            self.sink.ended(node)
            raise
        finally:
            self._stack.pop()
        if cache_key is not None and self.use_cache:
            self._cache[cache_key] = (node.status, node.message)
        self.sink.ended(node)
        if node.status is Status.NG:
            raise Aborted(node)
        return node


# -- rendering (pure) ---------------------------------------------------------------------------------
INDENT = "  "


def header_line(check: Check) -> str:
    """``<indent>Name`` (printed when the check starts)."""
    return INDENT * check.level + check.name


def result_line(check: Check) -> str:
    """``<indent>--> [OK](cached) message`` (printed when the check ends)."""
    status = check.status.value if check.status else "?"
    line = f"{INDENT * check.level}--> [{status}]" + ("(cached)" if check.cached else "")
    return line + (f" {check.message}" if check.message else "")


def json_line(check: Check) -> str:
    """One JSON object for a finished check."""
    doc: dict[str, object] = {
        "verify": check.name,
        "path": list(check.path),
        "result": check.status.value if check.status else "",
    }
    if check.message:
        doc["message" if check.status is Status.OK else "error"] = check.message
    if check.cached:
        doc["cached"] = True
    return json.dumps(doc, ensure_ascii=False)


def walk(checks: list[Check]) -> Iterator[tuple[str, Check]]:
    """("start", check) / ("end", check) in the order a run reports them."""
    for check in checks:
        yield "start", check
        yield from walk(check.children)
        yield "end", check


def render_text(checks: list[Check]) -> str:
    """The whole tree as text, as it is printed while it runs."""
    return "".join(
        (header_line(c) if event == "start" else result_line(c)) + "\n" for event, c in walk(checks)
    )


def render_json(checks: list[Check]) -> str:
    """The whole tree as JSON lines (one per finished check, in the order they finished)."""
    return "".join(json_line(c) + "\n" for event, c in walk(checks) if event == "end")


def counts(checks: list[Check]) -> dict[Status, int]:
    """How many checks ended with each status."""
    out = dict.fromkeys(Status, 0)
    for event, c in walk(checks):
        if event == "end" and c.status is not None:
            out[c.status] += 1
    return out
