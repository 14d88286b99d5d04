"""The pure parts of ``verify``: the tree (outcomes, first NG aborts, cache), its renderers and the
parsers of images, secrets, roles and trust policies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecspresso.errors import AwsError
from ecspresso.verify.core import (
    Aborted,
    Check,
    Ng,
    Sink,
    Skip,
    Status,
    Verifier,
    Warn,
    counts,
    render_json,
    render_text,
)
from ecspresso.verify.images import ImageRef, parse_challenge, parse_image
from ecspresso.verify.logs import options_label, stream_name
from ecspresso.verify.platform import platform_problem, task_platform
from ecspresso.verify.roles import role_name, trusts
from ecspresso.verify.secrets import SecretRef, parse_value_from
from ecspresso.verify.service import container_port_problem
from ecspresso.verify.taskdef import port_mapping_problems, s3_location


class Lines(Sink):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def started(self, check: Check) -> None:
        self.events.append(("start", check.name))

    def ended(self, check: Check) -> None:
        self.events.append(("end", check.name))


def _raise(exc: Exception) -> Any:
    def fn() -> None:
        raise exc

    return fn


def test_outcomes_and_the_text_tree() -> None:
    v = Verifier()

    def parent() -> None:
        v.check("A", lambda: None)
        v.check("B", _raise(Skip("not asked")))
        v.check("C", _raise(Warn("cannot tell")))
        v.check("D", lambda: "note")

    v.check("Top", parent)
    assert render_text(v.roots) == (
        "  Top\n"
        "    A\n    --> [OK]\n"
        "    B\n    --> [SKIP] not asked\n"
        "    C\n    --> [WARN] cannot tell\n"
        "    D\n    --> [OK] note\n"
        "  --> [OK]\n"
    )
    assert counts(v.roots) == {Status.OK: 3, Status.NG: 0, Status.SKIP: 1, Status.WARN: 1}


def test_first_ng_aborts_and_marks_the_ancestors() -> None:
    sink = Lines()
    v = Verifier(sink)
    ran: list[str] = []

    def parent() -> None:
        v.check("A", _raise(Ng("broken")))
        ran.append("after")  # never

    with pytest.raises(Aborted) as info:
        v.check("Top", parent)
        v.check("Next", lambda: None)  # never
    assert ran == [] and str(info.value) == "Top > A: broken"
    assert sink.events == [("start", "Top"), ("start", "A"), ("end", "A"), ("end", "Top")]
    assert render_text(v.roots).endswith("    --> [NG] broken\n  --> [NG] A is NG\n")


def test_an_untranslated_aws_error_is_ng_with_its_line() -> None:
    v = Verifier()
    with pytest.raises(Aborted):
        v.check("X", _raise(AwsError("DescribeClusters default: ServerException: boom")))
    assert v.roots[0].message == "DescribeClusters default: ServerException: boom"


@pytest.mark.parametrize("cache", [True, False])
def test_the_cache_runs_a_key_once(cache: bool) -> None:
    calls: list[str] = []
    v = Verifier(cache=cache)

    def check() -> None:
        calls.append("x")
        raise Warn("denied")

    v.check("Role[a]", check, key="a")
    second = v.check("Other[a]", check, key="a")
    v.check("Role[b]", lambda: None)
    assert len(calls) == (1 if cache else 2)
    assert second.cached is cache and second.status is Status.WARN and second.message == "denied"
    assert ("--> [WARN](cached) denied" in render_text(v.roots)) is cache


def test_json_lines_one_per_finished_check() -> None:
    v = Verifier()
    v.check("Top", lambda: v.check("A", _raise(Skip("why"))) and "note")
    lines = [json.loads(line) for line in render_json(v.roots).splitlines()]
    assert lines == [
        {"verify": "A", "path": ["Top", "A"], "result": "SKIP", "error": "why"},
        {"verify": "Top", "path": ["Top"], "result": "OK", "message": "note"},
    ]


ECR = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"


@pytest.mark.parametrize(
    ("image", "ref"),
    [
        ("nginx", ImageRef("registry-1.docker.io", "library/nginx", "latest")),
        ("nginx:1.25", ImageRef("registry-1.docker.io", "library/nginx", "1.25")),
        ("bitnami/redis:7", ImageRef("registry-1.docker.io", "bitnami/redis", "7")),
        ("docker.io/library/nginx:1", ImageRef("registry-1.docker.io", "library/nginx", "1")),
        ("ghcr.io/org/app:sha-1", ImageRef("ghcr.io", "org/app", "sha-1")),
        ("localhost:5000/app", ImageRef("localhost:5000", "app", "latest")),
        ("public.ecr.aws/nginx/nginx@sha256:ab", ImageRef("public.ecr.aws", "nginx/nginx", "", "sha256:ab")),
        (
            f"{ECR}/app:v1",
            ImageRef(ECR, "app", "v1", ecr_account="123456789012", ecr_region="ap-northeast-1"),
        ),
        (
            f"{ECR}.cn/team/app",
            ImageRef(
                f"{ECR}.cn", "team/app", "latest", ecr_account="123456789012", ecr_region="ap-northeast-1"
            ),
        ),
        (f"{ECR}/app@sha256:cd", ImageRef(ECR, "app", "", "sha256:cd", "123456789012", "ap-northeast-1")),
    ],
)
def test_parse_image(image: str, ref: ImageRef) -> None:
    assert parse_image(image) == ref


def test_an_empty_image_is_ng() -> None:
    with pytest.raises(Ng, match="image is not defined"):
        parse_image("")


SM = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"


@pytest.mark.parametrize(
    ("value_from", "ref"),
    [
        ("/app/token", SecretRef("ssm", "/app/token")),
        ("token", SecretRef("ssm", "token")),
        (
            "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token",
            SecretRef("ssm", "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token", "eu-west-1"),
        ),
        (SM, SecretRef("secretsmanager", SM, "eu-west-1")),
        (f"{SM}:password::", SecretRef("secretsmanager", SM, "eu-west-1", "password")),
        (
            f"{SM}:password:AWSPREVIOUS:",
            SecretRef("secretsmanager", SM, "eu-west-1", "password", "AWSPREVIOUS"),
        ),
        (f"{SM}:::v-1", SecretRef("secretsmanager", SM, "eu-west-1", version_id="v-1")),
    ],
)
def test_parse_value_from(value_from: str, ref: SecretRef) -> None:
    assert parse_value_from(value_from) == ref


@pytest.mark.parametrize(
    "value_from",
    [
        "arn:aws:secretsmanager:eu-west-1:123456789012:db",
        "arn:aws:s3:::bucket/key",
        "has space",
        f"{SM}:a:b:c:d",
    ],
)
def test_malformed_value_from_is_ng(value_from: str) -> None:
    with pytest.raises(Ng):
        parse_value_from(value_from)


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:iam::123456789012:role/ecsTaskExecutionRole", "ecsTaskExecutionRole"),
        ("arn:aws:iam::123456789012:role/service-role/app", "app"),
        ("arn:aws-cn:iam::123456789012:role/app", "app"),
        ("arn:aws:iam::123456789012:user/app", None),
        ("ecsTaskExecutionRole", None),
    ],
)
def test_role_name(arn: str, name: str | None) -> None:
    assert role_name(arn) == name


def _doc(principal: Any, action: Any = "sts:AssumeRole", effect: str = "Allow") -> dict[str, Any]:
    return {"Statement": [{"Effect": effect, "Principal": principal, "Action": action}]}


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        (_doc({"Service": "ecs-tasks.amazonaws.com"}), True),
        (_doc({"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}), True),
        (_doc({"Service": "ecs-tasks.amazonaws.com"}, ["sts:TagSession", "sts:AssumeRole"]), True),
        (_doc("*"), True),
        (_doc({"Service": "ecs.amazonaws.com"}), False),
        (_doc({"Service": "ecs-tasks.amazonaws.com"}, "sts:AssumeRoleWithWebIdentity"), False),
        (_doc({"Service": "ecs-tasks.amazonaws.com"}, effect="Deny"), False),
        (_doc({"AWS": "arn:aws:iam::123456789012:root"}), False),
        (
            "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22"
            "ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
            True,
        ),
        ("not json", False),
    ],
)
def test_trusts(doc: Any, ok: bool) -> None:
    assert trusts(doc, "ecs-tasks.amazonaws.com") is ok


TD = {
    "networkMode": "awsvpc",
    "containerDefinitions": [
        {"name": "app", "portMappings": [{"containerPort": 80}, {"containerPort": 443, "protocol": "tcp"}]},
        {"name": "sidecar"},
    ],
}


@pytest.mark.parametrize(
    ("name", "port", "problem"),
    [
        ("app", 80, None),
        ("app", 443, None),
        ("app", 8080, "container app has no port mapping for containerPort 8080 (the task definition maps 80/tcp, 443/tcp)"),
        ("sidecar", 80, "container sidecar has no port mapping for containerPort 80 (the task definition maps none)"),
        ("web", 80, "container web is not in the task definition (containers: app, sidecar)"),
    ],
)  # fmt: skip
def test_container_port_problem(name: str, port: int, problem: str | None) -> None:
    assert container_port_problem(TD, name, port) == problem


def test_port_mapping_problems_only_for_awsvpc() -> None:
    container = {
        "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 81}]
    }
    assert port_mapping_problems({"networkMode": "awsvpc"}, container) == [
        "hostPort 8080 must equal containerPort 80 with networkMode awsvpc"
    ]
    assert port_mapping_problems({"networkMode": "bridge"}, container) == []


def test_small_parsers() -> None:
    assert stream_name("web", "app", 42) == "web/app/ecspresso-verify-42"
    assert stream_name("", "app", 42) == "app/ecspresso-verify-42"
    assert options_label({"b": "2", "a": "1"}) == "a=1,b=2"
    assert s3_location("arn:aws:s3:::bucket/dir/app.env") == ("bucket", "dir/app.env")
    assert s3_location("arn:aws:s3:::bucket") is None
    assert parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"') == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
    }


def _index(*platforms: tuple[str, str], media_type: str = "application/vnd.oci.image.index.v1+json") -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"architecture": a, "os": o}} for a, o in platforms]})  # fmt: skip


@pytest.mark.parametrize(
    ("td", "sv", "platform"),
    [
        ({"requiresCompatibilities": ["FARGATE"]}, None, ("amd64", "linux")),
        ({"runtimePlatform": {"cpuArchitecture": "ARM64"}}, None, ("arm64", "linux")),
        (
            {"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}},
            None,
            ("amd64", "windows"),
        ),
        ({"requiresCompatibilities": ["EC2", "FARGATE"]}, None, None),
        ({}, {"launchType": "FARGATE"}, ("amd64", "linux")),
        ({}, {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}, ("amd64", "linux")),
        ({}, {"launchType": "EC2"}, None),
    ],
)
def test_task_platform(
    td: dict[str, Any], sv: dict[str, Any] | None, platform: tuple[str, str] | None
) -> None:
    assert task_platform(td, sv) == platform


@pytest.mark.parametrize(
    ("manifest", "platform", "problem"),
    [
        (_index(("amd64", "linux"), ("arm64", "linux")), ("arm64", "linux"), None),
        (
            _index(("arm64", "linux")),
            ("amd64", "linux"),
            "has no linux/amd64 image (the index lists linux/arm64)",
        ),
        (
            _index(
                ("arm64", "linux"), media_type="application/vnd.docker.distribution.manifest.list.v2+json"
            ),
            ("amd64", "linux"),
            "has no linux/amd64 image (the index lists linux/arm64)",
        ),
        (_index(("arm64", "linux")), None, None),  # platform unknown: not checked
        (
            json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}),
            ("amd64", "linux"),
            None,
        ),
        ("not json", ("amd64", "linux"), None),
    ],
)
def test_platform_problem(manifest: str, platform: tuple[str, str] | None, problem: str | None) -> None:
    assert platform_problem(manifest, "", platform) == problem
