"""``secretsmanager`` plugin: a secret's full ARN by its name or partial ARN (DescribeSecret).

Template: ``{{ secretsmanager_arn "app/db" }}`` and ``{{ secretsmanager_arnf "%s/db" (must_env "ENV") }}``
(the id formatted like Go's ``fmt.Sprintf``). Jsonnet: ``secretsmanager_arn(id)`` and
``secretsmanager_arnf(format, args)``, where ``args`` is the one value formatted (a native function
has fixed parameters; Jsonnet numbers arrive as float64, so use ``%v`` or ``%s``, not ``%d``).

The ARN is not secret, so nothing is masked. One DescribeSecret per id and run, shared by both.
"""

from __future__ import annotations

from typing import Any

from ecspresso.errors import InputError
from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, as_str, aws_call
from ecspresso.render._gotemplate_fmt import sprintf


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    cache: dict[str, str] = {}

    def resolve(secret_id: str) -> str:
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

    def secretsmanager_arn(secret_id: Any) -> str:
        return resolve(as_str(secret_id, "secretsmanager_arn: id"))

    def secretsmanager_arnf(format_: Any, *args: Any) -> str:
        if not isinstance(format_, str):
            raise InputError("secretsmanager_arnf: format must be a string")
        return resolve(sprintf(format_, *args))

    def secretsmanager_arnf_native(format_: Any, args: Any) -> str:
        return secretsmanager_arnf(format_, args)

    return (
        {"secretsmanager_arn": secretsmanager_arn, "secretsmanager_arnf": secretsmanager_arnf},
        {
            "secretsmanager_arn": (secretsmanager_arn, ("id",)),
            "secretsmanager_arnf": (secretsmanager_arnf_native, ("format", "args")),
        },
    )
