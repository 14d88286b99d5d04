"""What every verify check gets: the app, the options, the definitions and two ways to call AWS.

``app`` calls AWS with the tool's own credentials (IAM, ELBv2, Lambda, ECS). Secrets, logs and ECR
are called with the *execution role* when ``sts:AssumeRole`` on it succeeds (session
``ecspresso-verifier``, as ecspresso): those are the calls ECS makes with that role to start a
task, so a denial there is a real problem (NG); with the tool's own credentials (no execution role,
or it cannot be assumed) a denial only means verify cannot tell (WARN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ecspresso.errors import AwsError
from ecspresso.verify.core import Ng, Verifier, Warn

if TYPE_CHECKING:
    from ecspresso.app import App
    from ecspresso.aws import AwsContext

T = TypeVar("T")

SESSION_NAME = "ecspresso-verifier"

#: error codes meaning "the credentials in use may not do this"
ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "NotAuthorized", "AuthorizationError", "Forbidden", "AuthFailure",
})  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The verify flags, as the checks need them."""

    get_secrets: bool = True
    put_logs: bool = True


@dataclass
class VerifyContext:
    app: App
    settings: Settings
    verifier: Verifier
    task_definition: dict[str, Any]
    service_definition: dict[str, Any] | None
    #: clients for secrets, logs and ECR: the execution role's when assumed, else the app's
    exec_aws: AwsContext
    assumed_role: str = ""  # the execution role ARN when ``exec_aws`` uses it
    now_ns: Callable[[], int] = lambda: 0

    def client(self, service: str, region: str | None = None) -> Any:
        return self.app.client(service, region)


def call(
    ctx: VerifyContext,
    what: str,
    fn: Callable[..., T],
    *,
    as_execution_role: bool = False,
    **kwargs: Any,
) -> T:
    """One AWS call for a check. A denial ends the check WARN (cannot tell), or NG when the call was
    made as the execution role (the tasks would be denied the same); other AWS errors propagate as
    :class:`AwsError` for the check to judge (not found => NG) and end NG by default."""
    from ecspresso import ecs

    try:
        return ecs.call(what, fn, **kwargs)
    except AwsError as exc:
        if exc.code in ACCESS_DENIED_CODES:
            if as_execution_role and ctx.assumed_role:
                raise Ng(
                    f"the execution role may not do this, and the tasks would fail the same: {exc}"
                ) from exc
            raise Warn(f"cannot verify: {exc}") from exc
        raise


def assume_execution_role(app: App, role_arn: str) -> AwsContext | None:
    """An :class:`AwsContext` on the execution role's credentials, or None (logged) when it cannot
    be assumed: verify then goes on with the tool's own credentials, as ecspresso does."""
    from botocore.session import get_session

    from ecspresso import ecs
    from ecspresso.api_model import boto3_session
    from ecspresso.aws import AwsContext
    from ecspresso.errors import EcspressoError

    log = app.log
    try:
        out = ecs.call(
            f"AssumeRole {role_arn}",
            app.client("sts").assume_role,
            RoleArn=role_arn,
            RoleSessionName=SESSION_NAME,
        )
    except EcspressoError as exc:
        log.info(f"cannot assume the execution role; verifying with the current credentials: {exc}")
        return None
    creds = out["Credentials"]
    core = get_session()
    core.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    base = app.aws
    log.info(f"verifying secrets, logs and images as the execution role {role_arn}")
    return AwsContext(
        region=base.resolved_region,
        max_attempts=base.max_attempts,
        retry_mode=base.retry_mode,
        endpoint_url=base.endpoint_url,
        session=boto3_session(region_name=base.resolved_region, botocore_session=core),
        calls=base.calls,
    )
