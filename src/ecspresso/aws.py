"""The one place that makes boto3 sessions and clients.

boto3 is imported lazily so that ``version``, ``render`` of local files and argument errors do not
pay ~0.3 s for it. Every client gets botocore's ``standard`` retry mode (throttling and 5xx are
retried with back-off), the region of the config, ``AWS_ENDPOINT_URL`` (honoured by botocore itself)
and, with ``--assume-role-arn``, credentials from STS AssumeRole that refresh themselves.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ecspresso.errors import AwsError

DEFAULT_MAX_ATTEMPTS = 8  # total attempts, first included (botocore's ``total_max_attempts``)


@dataclass
class AwsContext:
    """Lazily built boto3 session plus cached clients, shared by a whole command run."""

    region: str | None = None
    assume_role_arn: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_mode: str = "standard"
    endpoint_url: str | None = None  # tests; users set AWS_ENDPOINT_URL instead
    session: Any = None  # a boto3.Session to use as is (tests)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    calls: list[str] = field(default_factory=list, repr=False)  # operation names, in order

    def _session(self) -> Any:
        if self.session is None:
            from ecspresso.api_model import boto3_session

            base = boto3_session(region_name=self.region or _env_region())
            if self.assume_role_arn:
                base = _assume_role_session(base, self.assume_role_arn, self._config())
            self.session = base
        return self.session

    def _config(self) -> Any:
        from botocore.config import Config

        retries: Any = {"mode": self.retry_mode, "total_max_attempts": max(1, self.max_attempts)}
        return Config(retries=retries, user_agent_extra="ecspresso-py")

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client for ``service`` (``ecs``, ``ssm``…), in ``region`` if given (else the
        tool's Region)."""
        key = f"{service}@{region}" if region else service
        with self._lock:
            if key not in self._clients:
                session = self._session()
                kwargs: dict[str, Any] = {"config": self._config()}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                if region or self.region:
                    kwargs["region_name"] = region or self.region
                try:
                    client = session.client(service, **kwargs)
                except Exception as exc:  # NoRegionError and friends
                    raise AwsError(f"cannot create the {service} client: {exc}") from exc
                client.meta.events.register("before-call", self._record_call)
                self._clients[key] = client
            return self._clients[key]

    def _record_call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    @property
    def resolved_region(self) -> str | None:
        return self.region or _env_region() or (self.session.region_name if self.session else None)


def _env_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def _assume_role_session(base: Any, role_arn: str, config: Any) -> Any:
    """A boto3 session whose credentials come from STS AssumeRole and refresh before expiry."""
    from botocore.credentials import DeferredRefreshableCredentials
    from botocore.session import get_session

    from ecspresso.api_model import boto3_session

    sts = base.client("sts", config=config)

    def refresh() -> dict[str, str]:
        try:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="ecspresso-py")["Credentials"]
        except Exception as exc:
            raise AwsError(f"cannot assume role {role_arn}: {exc}") from exc
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    botocore_session = get_session()
    botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=refresh, method="assume-role"
    )
    return boto3_session(botocore_session=botocore_session, region_name=base.region_name)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


#: error codes that mean "try again later" (botocore's standard retry mode retries the same set)
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "InternalServerError",
    "ServiceUnavailable", "ServiceUnavailableException", "ServerException",
})  # fmt: skip
_TRANSIENT_TYPES = (
    "EndpointConnectionError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
)


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx answer, a time-out or a lost connection: the call may have taken effect
    (a write) and may succeed if repeated later."""
    if type(exc).__name__ in _TRANSIENT_TYPES:
        return True
    if error_code(exc) in TRANSIENT_CODES:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return False


_SDK_ERRORS = ("ClientError", "ParamValidationError", "EndpointConnectionError", "ReadTimeoutError",
               "ConnectTimeoutError", "ConnectionClosedError", "NoCredentialsError", "NoRegionError",
               "PartialCredentialsError", "TokenRetrievalError", "SSOTokenLoadError")  # fmt: skip

#: a next step for the user, by error code (the operation fills the blank)
_HINTS = {
    "AccessDeniedException": "the role in use may not call {operation}",
    "AccessDenied": "the role in use may not call {operation}",
    "UnauthorizedOperation": "the role in use may not call {operation}",
    "ExpiredTokenException": "the AWS credentials have expired",
    "ExpiredToken": "the AWS credentials have expired",
    "UnrecognizedClientException": "the AWS credentials are not valid here (wrong account, region or endpoint?)",
    "ClusterNotFoundException": "check `cluster` in the config",
    "ServiceNotActiveException": "the service is not ACTIVE (deleted or draining)",
    "NoCredentialsError": "no AWS credentials found (environment, profile, OIDC role)",
    "NoRegionError": "set `region` in the config or AWS_REGION",
}


def translate(exc: BaseException, what: str) -> AwsError | None:
    """The one translation of an SDK error into :class:`AwsError`: ``"<what>: Code: message"``
    plus a hint where one helps, keeping the code and whether a retry may succeed. None when
    ``exc`` is not an SDK error (a bug, left to propagate)."""
    name = type(exc).__name__
    code = error_code(exc)
    if name not in _SDK_ERRORS and not code:
        return None
    operation = str(getattr(exc, "operation_name", "") or what.split()[0])
    hint = _HINTS.get(code or name, "").format(operation=operation)
    message = f"{what}: {describe_error(exc)}" + (f" ({hint})" if hint else "")
    return AwsError(message, code=code or name, transient=is_transient(exc))


def describe_error(exc: BaseException) -> str:
    """One line for a botocore error: ``Code: message`` without the SDK's boilerplate."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return str(exc)
