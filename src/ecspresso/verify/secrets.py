"""Container secrets: each ``valueFrom`` is well formed and can be read as ECS will read it.

* A Secrets Manager ARN (``arn:aws:secretsmanager:<region>:<account>:secret:<name>`` optionally
  followed by ``:<json-key>:<version-stage>:<version-id>``) is read with GetSecretValue (that
  version), and when a JSON key is given the value must be a JSON object holding that key.
* Anything else is an SSM parameter (a name, or an ARN ``arn:aws:ssm:…:parameter/…``), read with
  GetParameters(WithDecryption) as ECS does: it must not come back in ``InvalidParameters``.

An ARN's Region is used for the call. ``--no-get-secrets`` reads nothing: the check still NGs a
malformed entry, then SKIPs (no call, so no secret permission is needed; ecspresso makes no call
either). The values read are never printed, logged or kept: only whether they exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng, Skip

_SM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[^:]+$")
_SSM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:ssm:([a-z0-9-]+):(\d{12}):parameter/.+$")


@dataclass(frozen=True)
class SecretRef:
    """Where a container secret comes from (pure parse of ``valueFrom``)."""

    kind: str  # "secretsmanager" or "ssm"
    secret_id: str  # the secret ARN (without the JSON key part) or the parameter name/ARN
    region: str | None = None
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


def parse_value_from(value_from: str) -> SecretRef:
    """A ``valueFrom`` -> :class:`SecretRef`; raises :class:`Ng` when it cannot be one."""
    parts = value_from.split(":")
    if len(parts) > 2 and parts[0] == "arn" and parts[2] == "secretsmanager":
        if len(parts) < 7 or len(parts) > 10:
            raise Ng(
                f"{value_from} is not a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:KEY:STAGE:ID])"
            )
        arn = ":".join(parts[:7])
        if not _SM_ARN.match(arn):
            raise Ng(f"{value_from} is not a Secrets Manager ARN")
        extra = [*parts[7:], "", "", ""]
        return SecretRef("secretsmanager", arn, parts[3], extra[0], extra[1], extra[2])
    if value_from.startswith("arn:"):
        m = _SSM_ARN.match(value_from)
        if not m:
            raise Ng(f"{value_from} is neither a Secrets Manager nor an SSM parameter ARN")
        return SecretRef("ssm", value_from, m.group(1))
    if not re.fullmatch(r"[A-Za-z0-9_.\-/]+", value_from):
        raise Ng(f"{value_from!r} is not a valid SSM parameter name")
    return SecretRef("ssm", value_from)


def verify_secret(ctx: VerifyContext, value_from: str) -> str | None:
    ref = parse_value_from(value_from)
    if not ctx.settings.get_secrets:
        raise Skip(f"not read (--no-get-secrets): {ref.kind} {ref.secret_id}")
    if ref.kind == "secretsmanager":
        return _secrets_manager(ctx, ref)
    return _ssm(ctx, ref)


def _secrets_manager(ctx: VerifyContext, ref: SecretRef) -> str | None:
    sm = ctx.exec_aws.client("secretsmanager", ref.region)
    kwargs: dict[str, Any] = {"SecretId": ref.secret_id}
    if ref.version_stage:
        kwargs["VersionStage"] = ref.version_stage
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    try:
        out = call(
            ctx, f"GetSecretValue {ref.secret_id}", sm.get_secret_value, as_execution_role=True, **kwargs
        )
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            version = (
                f" (version {ref.version_stage or ref.version_id})" if kwargs.keys() - {"SecretId"} else ""
            )
            raise Ng(f"secret {ref.secret_id}{version} is not found in Secrets Manager") from exc
        raise Ng(str(exc)) from exc
    if not ref.json_key:
        return None
    has_key = _has_json_key(out.get("SecretString"), ref.json_key)
    del out  # the value goes no further
    if not has_key:
        raise Ng(f"secret {ref.secret_id} is not a JSON object with the key {ref.json_key}")
    return None


def _has_json_key(text: Any, key: str) -> bool:
    if not isinstance(text, str):
        return False
    try:
        doc = json.loads(text)
    except ValueError:  # the parser's message may quote the value: never shown
        return False
    return isinstance(doc, dict) and key in doc


def _ssm(ctx: VerifyContext, ref: SecretRef) -> str | None:
    ssm = ctx.exec_aws.client("ssm", ref.region)
    try:
        out = call(ctx, f"GetParameters {ref.secret_id}", ssm.get_parameters, as_execution_role=True,
                   Names=[ref.secret_id], WithDecryption=True)  # fmt: skip
    except AwsError as exc:
        raise Ng(str(exc)) from exc
    found = bool(out.get("Parameters")) and not out.get("InvalidParameters")
    del out  # the value goes no further
    if not found:
        raise Ng(f"SSM parameter {ref.secret_id} is not found")
    return None


def _fail(problem: str) -> None:
    raise Ng(problem)


def check_secrets(ctx: VerifyContext, container: dict[str, Any]) -> None:
    """One check per secret of ``container``: ``Secret NAME[valueFrom]`` (cached per valueFrom)."""
    for i, secret in enumerate(container.get("secrets") or []):
        name = str(secret.get("name") or "")
        value_from = str(secret.get("valueFrom") or "")
        if not name or not value_from:
            label = f"Secret {name or f'secrets[{i}]'}"

            problem = f"secrets[{i}] {name} has no valueFrom" if name else f"secrets[{i}] has no name"
            ctx.verifier.check(label, partial(_fail, problem))
            continue
        ctx.verifier.check(
            f"Secret {name}[{value_from}]",
            partial(verify_secret, ctx, value_from),
            key=("secret", value_from),
        )
