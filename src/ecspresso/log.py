"""Logging: structlog with small processors, rendered as ecspresso's text lines or JSON lines.

Text (the default) looks like ecspresso v2.5+::

    2026-11-22T10:00:00.000+00:00 [INFO] [web/prod] Task definition is registered app:42

JSON lines (``--log-format json``) carry ``time``, ``level``, ``msg`` and the bound context
(``service``, ``cluster``) plus any key/value pairs given to the call. A ``diff=`` value is one
record in JSON and one text line per diff line. The front end ends a JSON log with a ``result``
record (see :func:`ecspresso.cli.run`).

Front ends call :func:`configure` once; everything else calls :func:`get_logger` and binds context.
The GitHub Action adds its own processor (warnings and errors become annotations) through
``extra_processors``. Logs go to stderr; results (render, diff, revisions, status) go to stdout.

structlog (which loads asyncio) is imported when a logger is first used, not by this module, nor by
:func:`configure` or :func:`get_logger`: ``version``, ``--help``, a usage error and a ``render``
that has nothing to warn about never load it (the front ends print their one ``FAILED.`` line
with :func:`emit`, through the same processors).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TextIO

Processor = Callable[[Any, str, MutableMapping[str, Any]], Any]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_state: dict[str, Any] = {
    "min_level": 20,
    "stream": None,
    "masks": [],
    "mask_listeners": [],
    "line_listeners": [],  # called before each line is written (the Action opens its lazy group)
    "processors": [],  # the chain after merge_contextvars, renderer last (see configure)
    "structlog": None,  # the structlog module once get_logger has configured it
}


def _now() -> str:
    from datetime import UTC, datetime  # here: a run that logs nothing does not import it

    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")


def add_timestamp(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.setdefault("time", _now())
    return event


def add_level(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.setdefault("level", "warning" if method == "warn" else method)
    return event


def filter_level(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if _LEVELS.get(event.get("level", method), 20) < _state["min_level"]:
        import structlog

        raise structlog.DropEvent
    return event


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace every registered secret value (see :func:`add_mask`) with ``***``."""
    masks: list[str] = _state["masks"]
    if masks:
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = redact(value)
    return event


def redact(text: str) -> str:
    for secret in sorted(_state["masks"], key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def secrets() -> tuple[str, ...]:
    """The values registered with :func:`add_mask` so far."""
    return tuple(_state["masks"])


def redact_traceback(exc: BaseException) -> str:
    """``exc``'s traceback (with its chained causes) as Python prints it, secrets redacted."""
    import traceback

    return redact("".join(traceback.format_exception(exc)))


def add_mask(value: str) -> None:
    """Never print ``value`` (a secret resolved from SSM or Secrets Manager) in any log line."""
    if value and len(value) >= 3 and value not in _state["masks"]:
        _state["masks"].append(value)
        for listener in _state["mask_listeners"]:
            listener(value)


def on_line(listener: Callable[[], None]) -> None:
    """Call ``listener()`` before every log line is written."""
    _state["line_listeners"].append(listener)


def on_mask(listener: Callable[[str], None]) -> None:
    """Call ``listener(value)`` for every secret registered from now on (the Action's ::add-mask::)."""
    _state["mask_listeners"].append(listener)


def text_renderer(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    time = event.pop("time", _now())
    level = str(event.pop("level", "info")).upper()
    msg = event.pop("event", "")
    service, cluster = event.pop("service", None), event.pop("cluster", None)
    where = f" [{service}/{cluster}]" if service or cluster else ""
    block = event.pop("diff", None)  # a diff: its lines under the message, each with the prefix
    extra = " ".join(f"[{k}:{v}]" for k, v in event.items() if not k.startswith("_"))
    head = f"{time} [{level}]{where} {msg}" + (f" {extra}" if extra else "")
    if not block:
        return head
    return "\n".join([head, *(f"{time} [{level}]{where} {line}" for line in str(block).splitlines())])


def json_renderer(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    out = {"time": event.pop("time", _now()), "level": event.pop("level", "info").upper()}
    out["msg"] = event.pop("event", "")
    out.update({k: v for k, v in event.items() if not k.startswith("_")})
    import json

    return json.dumps(out, default=str, ensure_ascii=False)


class _StreamLogger:
    """Writes each rendered line to the configured stream (stderr unless told otherwise)."""

    def msg(self, line: str) -> None:
        for listener in _state["line_listeners"]:
            listener()
        stream: TextIO = _state["stream"] or sys.stderr
        stream.write(line + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = msg


def configure(
    *,
    log_format: str = "text",
    debug: bool = False,
    stream: TextIO | None = None,
    extra_processors: Iterable[Processor] = (),
) -> None:
    """Set the log format and level for this process. Safe to call more than once.

    Cheap: structlog is configured here only if a logger was used already, else when one is."""
    _state["min_level"] = 10 if debug else 20
    _state["stream"] = stream
    renderer: Processor = json_renderer if log_format == "json" else text_renderer
    _state["processors"] = [add_level, filter_level, add_timestamp, mask_secrets, *extra_processors, renderer]
    if _state["structlog"] is not None:
        _configure_structlog(_state["structlog"])


def _configure_structlog(structlog: Any) -> None:
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *_state["processors"]],
        logger_factory=lambda *_: _StreamLogger(),
        wrapper_class=structlog.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _state["structlog"] = structlog


def get_logger(**context: Any) -> Any:
    """A logger; bind ``service=`` and ``cluster=`` to get the ``[service/cluster]`` prefix."""
    return _Logger(context)


class _Logger:
    """structlog's logger, made (importing structlog) when first used: a run that logs nothing,
    such as ``render`` of valid files, never loads structlog."""

    __slots__ = ("_context", "_logger")

    def __init__(self, context: dict[str, Any]) -> None:
        self._context = context
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._logger is None:
            self._logger = _structlog().get_logger(**self._context)
        return getattr(self._logger, name)


def _structlog() -> Any:
    """The structlog module, configured (see :func:`configure`)."""
    structlog = _state["structlog"]
    if structlog is None:
        import structlog

        _configure_structlog(structlog)
    return structlog


def emit(method: str, message: str) -> None:
    """Log one line as ``get_logger().<method>(message)`` does. Until a logger has been used
    (structlog not loaded yet) no context can be bound, so the line goes through the configured
    processors here, without structlog: the front end's ``FAILED.`` line after a usage error
    does not load it."""
    if _state["structlog"] is not None:
        getattr(_structlog().get_logger(), method)(message)
        return
    event: Any = {"event": message}
    try:
        for processor in _state["processors"]:
            event = processor(None, method, event)
    except Exception as exc:
        structlog = sys.modules.get("structlog")  # a processor that drops a line imports it
        if structlog is not None and isinstance(exc, structlog.DropEvent):
            return
        raise
    _StreamLogger().msg(event)


configure()
