"""``secretsmanager`` plugin: ``secretsmanager_arn "id"`` → the secret's full ARN (DescribeSecret).

The ARN is not secret, so nothing is masked. One DescribeSecret per id and run.
"""

from __future__ import annotations

from typing import Any

from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, as_str, aws_call


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    cache: dict[str, str] = {}

    def secretsmanager_arn(secret_id: Any) -> str:
        secret_id = as_str(secret_id, "secretsmanager_arn: id")
        if secret_id not in cache:
            res = aws_call(
                ctx,
                "secretsmanager",
                "describe_secret",
                f"failed to describe secret {secret_id}",
                SecretId=secret_id,
            )
            cache[secret_id] = str(res["ARN"])
        return cache[secret_id]

    return {"secretsmanager_arn": secretsmanager_arn}, {"secretsmanager_arn": (secretsmanager_arn, ("id",))}
