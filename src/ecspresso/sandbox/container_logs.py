"""Containers' log lines in the sandbox: written into moto's CloudWatch Logs where the awslogs driver
would put them (``<awslogs-group>`` / ``<prefix>/<container>/<task id>``), so the product reads them
with the same ``GetLogEvents`` calls as on AWS.

Called with the simulator's lock held or from tests; moto's logs backend is per account and Region.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ecspresso.awslogs import LogTarget, NoLogs, log_target


def _backend(region: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.logs.models import logs_backends

    return logs_backends[DEFAULT_ACCOUNT_ID][region]


def write(target: LogTarget, lines: Sequence[str], *, region: str, start_ms: int | None = None) -> None:
    """Append ``lines`` to the target's stream (group and stream created when missing), one
    millisecond apart from ``start_ms`` (default: now)."""
    backend = _backend(target.region or region)
    if target.group not in backend.groups:
        backend.create_log_group(target.group, {})
    group = backend.groups[target.group]
    if target.stream not in group.streams:
        backend.create_log_stream(target.group, target.stream)
    base = start_ms if start_ms is not None else int(time.time() * 1000)
    events = [{"timestamp": base + i, "message": line} for i, line in enumerate(lines)]
    if events:
        backend.put_log_events(target.group, target.stream, events)


def write_for_task(
    task_definition: dict[str, Any],
    container: str,
    task_id: str,
    lines: Sequence[str],
    *,
    region: str,
    start_ms: int | None = None,
) -> LogTarget | None:
    """Write ``lines`` as ``container`` of task ``task_id`` would through awslogs; ``None`` (nothing
    written) when the task definition gives it no awslogs stream."""
    target = log_target(task_definition, container, task_id)
    if isinstance(target, NoLogs):
        return None
    write(target, lines, region=region, start_ms=start_ms)
    return target
