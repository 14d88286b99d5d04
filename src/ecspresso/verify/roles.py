"""IAM roles: the role exists (GetRole) and its trust policy lets the AWS service assume it.

The execution and task roles must trust ``ecs-tasks.amazonaws.com``; the roles of a service's load
balancer ``advancedConfiguration``, lifecycle hooks, EBS volumes and VPC Lattice trust
``ecs.amazonaws.com``. :func:`trusts` (pure) reads a trust policy: a statement that allows
``sts:AssumeRole`` (or ``sts:*``, ``*``) to that service principal (a string or a list).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng

ECS_TASKS = "ecs-tasks.amazonaws.com"
ECS = "ecs.amazonaws.com"

_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/(?:[^/]+/)*([^/]+)$")
_ASSUME_ACTIONS = {"sts:assumerole", "sts:*", "*"}


def role_name(arn: str) -> str | None:
    """``arn:aws:iam::123456789012:role/path/name`` -> ``name``; None if not a role ARN."""
    m = _ROLE_ARN.match(arn)
    return m.group(1) if m else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def policy_document(raw: Any) -> dict[str, Any]:
    """A trust policy as GetRole answers it: a dict (boto3 decodes it) or URL-encoded JSON text."""
    if isinstance(raw, dict):
        return raw
    text = urllib.parse.unquote(str(raw or ""))
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def trusts(document: Any, service: str) -> bool:
    """Whether the trust policy allows ``service`` to call ``sts:AssumeRole`` (pure)."""
    for st in _as_list(policy_document(document).get("Statement")):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = {str(a).lower() for a in _as_list(st.get("Action"))}
        if not actions & _ASSUME_ACTIONS:
            continue
        principal = st.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict) and service in _as_list(principal.get("Service")):
            return True
    return False


def verify_role(ctx: VerifyContext, arn: str, service: str) -> str | None:
    """The role ``arn`` exists and trusts ``service``; NG otherwise (WARN when GetRole is denied)."""
    name = role_name(arn)
    if name is None:
        raise Ng(f"{arn} is not an IAM role ARN")
    iam = ctx.client("iam")
    try:
        role = call(ctx, f"GetRole {name}", iam.get_role, RoleName=name)["Role"]
    except AwsError as exc:
        if exc.code == "NoSuchEntity":
            raise Ng(f"role {name} does not exist") from exc
        raise Ng(str(exc)) from exc
    if not trusts(role.get("AssumeRolePolicyDocument"), service):
        raise Ng(f"role {name} does not trust {service} (no Allow sts:AssumeRole for it in its trust policy)")
    return None


def check_role(ctx: VerifyContext, label: str, arn: str, service: str) -> None:
    """The check ``<label>[<arn>]`` (cached per role and service)."""
    ctx.verifier.check(f"{label}[{arn}]", lambda: verify_role(ctx, arn, service), key=("role", arn, service))
