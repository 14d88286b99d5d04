"""The task definition's checks: its roles, then each container (image, secrets, logs, environment
files, port mappings)."""

from __future__ import annotations

from functools import partial
from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng, Skip, Warn
from ecspresso.verify.images import check_image
from ecspresso.verify.logs import check_log_configuration
from ecspresso.verify.roles import ECS_TASKS, check_role
from ecspresso.verify.secrets import check_secrets


def verify_task_definition(ctx: VerifyContext) -> str | None:
    td = ctx.task_definition
    if td.get("executionRoleArn"):
        check_role(ctx, "ExecutionRole", str(td["executionRoleArn"]), ECS_TASKS)
    if td.get("taskRoleArn"):
        check_role(ctx, "TaskRole", str(td["taskRoleArn"]), ECS_TASKS)
    for container in td.get("containerDefinitions") or []:
        name = str(container.get("name") or "")
        ctx.verifier.check(f"ContainerDefinition[{name}]", partial(verify_container, ctx, container))
    return None


def port_mapping_problems(task_definition: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """awsvpc: a hostPort, when given, must equal the containerPort (pure)."""
    if task_definition.get("networkMode") != "awsvpc":
        return []
    return [
        f"hostPort {pm['hostPort']} must equal containerPort {pm.get('containerPort')} with networkMode awsvpc"
        for pm in container.get("portMappings") or []
        if pm.get("hostPort") is not None and pm.get("hostPort") != pm.get("containerPort")
    ]


def verify_container(ctx: VerifyContext, container: dict[str, Any]) -> str | None:
    check_image(ctx, container)
    check_secrets(ctx, container)
    check_log_configuration(ctx, container)
    for env_file in container.get("environmentFiles") or []:
        kind, value = str(env_file.get("type") or ""), str(env_file.get("value") or "")
        ctx.verifier.check(
            f"EnvironmentFile[{kind} {value}]",
            partial(verify_environment_file, ctx, kind, value),
            key=("envfile", kind, value),
        )
    problems = port_mapping_problems(ctx.task_definition, container)
    if problems:
        raise Ng("; ".join(problems))
    return None


def s3_location(arn: str) -> tuple[str, str] | None:
    """``arn:aws:s3:::bucket/key`` -> (bucket, key) (pure); None if not an S3 object ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "s3":
        return None
    bucket, _, key = parts[5].partition("/")
    return (bucket, key) if bucket and key else None


def verify_environment_file(ctx: VerifyContext, kind: str, value: str) -> str | None:
    if kind != "s3":
        raise Skip(f"environment file type {kind!r} is not checked")
    loc = s3_location(value)
    if loc is None:
        raise Ng(f"{value} is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY)")
    bucket, key = loc
    s3 = ctx.client("s3")
    try:
        call(ctx, f"HeadObject {value}", s3.head_object, Bucket=bucket, Key=key)
    except AwsError as exc:
        if exc.code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            raise Ng(f"{value} does not exist") from exc
        if exc.code == "403":  # HeadObject has no body: a denial comes as a bare 403
            raise Warn(f"cannot verify: {exc}") from exc
        raise Ng(str(exc)) from exc
    return None
