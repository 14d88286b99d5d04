"""aws.translate: the one place an SDK error becomes the user's one line (code kept, hint added)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ecspresso.aws import translate


def client_error(code: str, status: int = 400, message: str = "nope") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "UpdateService")  # fmt: skip


def test_access_denied_keeps_the_code_and_says_what_to_grant() -> None:
    err = translate(client_error("AccessDeniedException"), "UpdateService web")
    assert err is not None
    assert err.code == "AccessDeniedException" and not err.transient
    assert (
        str(err)
        == "UpdateService web: AccessDeniedException: nope (the role in use may not call UpdateService)"
    )


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("ThrottlingException"), True),
        (client_error("ServerException", 500), True),
        (client_error("SomethingNew", 503), True),
        (client_error("InvalidParameterException"), False),
        (EndpointConnectionError(endpoint_url="https://ecs.example"), True),
    ],
)
def test_transient_errors_are_told_apart(exc: Exception, transient: bool) -> None:
    err = translate(exc, "DescribeServices web")
    assert err is not None and err.transient is transient
    assert "\n" not in str(err)


def test_a_bug_is_not_translated() -> None:
    assert translate(KeyError("taskDefinition"), "UpdateService web") is None
