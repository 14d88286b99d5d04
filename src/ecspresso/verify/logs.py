"""A container's ``awslogs`` configuration: group and Region set, and the log can be written.

With ``--put-logs`` (the default) it writes as the awslogs driver will, as the execution role when
it could be assumed: ``awslogs-create-group: "true"`` => CreateLogGroup (an existing group is fine),
then CreateLogStream ``<prefix>/<container>/ecspresso-verify-<ns>`` (``<container>/ecspresso-verify-<ns>``
without a prefix) and one PutLogEvents line. These are the only writes verify makes.
``--no-put-logs`` writes nothing: the check SKIPs after the option checks.
"""

from __future__ import annotations

from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng, Skip, Warn

MESSAGE = "This is a verify message by ecspresso"


def options_label(options: dict[str, Any]) -> str:
    """``awslogs-group=/ecs/app,awslogs-region=us-east-1,…`` (sorted), for the check's name."""
    return ",".join(f"{k}={v}" for k, v in sorted(options.items()))


def stream_name(prefix: str, container: str, ns: int) -> str:
    suffix = f"ecspresso-verify-{ns}"
    return f"{prefix}/{container}/{suffix}" if prefix else f"{container}/{suffix}"


def verify_log_configuration(ctx: VerifyContext, container: dict[str, Any]) -> str | None:
    options = dict((container.get("logConfiguration") or {}).get("options") or {})
    group = str(options.get("awslogs-group") or "")
    region = str(options.get("awslogs-region") or "")
    if not group:
        raise Ng("awslogs-group is required")
    if not region:
        raise Ng("awslogs-region is required")
    if not ctx.settings.put_logs:
        raise Skip(f"putting logs to {group} (--no-put-logs)")
    logs = ctx.exec_aws.client("logs", region)
    if str(options.get("awslogs-create-group", "")).lower() == "true":
        _create_group(ctx, logs, group)
    name = str(container.get("name") or "")
    stream = stream_name(str(options.get("awslogs-stream-prefix") or ""), name, ctx.now_ns())
    try:
        call(ctx, f"CreateLogStream {group} {stream}", logs.create_log_stream, as_execution_role=True,
             logGroupName=group, logStreamName=stream)  # fmt: skip
        call(ctx, f"PutLogEvents {group} {stream}", logs.put_log_events, as_execution_role=True,
             logGroupName=group, logStreamName=stream,
             logEvents=[{"message": MESSAGE, "timestamp": ctx.now_ns() // 1_000_000}])  # fmt: skip
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise Ng(f"log group {group} does not exist in {region}") from exc
        raise Ng(str(exc)) from exc
    return f"wrote to {group} {stream}"


def _create_group(ctx: VerifyContext, logs: Any, group: str) -> None:
    try:
        call(
            ctx, f"CreateLogGroup {group}", logs.create_log_group, as_execution_role=True, logGroupName=group
        )
    except Warn as denied:  # the tool's own credentials may not: the stream write still tells
        ctx.app.log.warning(f"cannot create log group {group}: {denied.message}")
        return
    except AwsError as exc:
        if exc.code == "ResourceAlreadyExistsException":
            return
        if ctx.assumed_role:  # the driver will try the same as the execution role
            raise Ng(f"cannot create log group {group}: {exc}") from exc
        ctx.app.log.warning(f"cannot create log group {group}: {exc}")
        return
    ctx.app.log.info(f"created log group {group}")


def check_log_configuration(ctx: VerifyContext, container: dict[str, Any]) -> None:
    conf = container.get("logConfiguration") or {}
    if conf.get("logDriver") != "awslogs":
        return
    label = f"LogConfiguration[{options_label(dict(conf.get('options') or {}))}]"
    name = str(container.get("name") or "")
    ctx.verifier.check(label, lambda: verify_log_configuration(ctx, container), key=("logs", name, label))
