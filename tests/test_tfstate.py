"""tfstate plugin: tfstate-lookup's address syntax, state sources (file, S3, HTTP, backend), functions."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecspresso.errors import AwsError, InputError
from ecspresso.log import redact
from ecspresso.plugins import FunctionSet, PluginSpec, load_plugins
from ecspresso.plugins.tfstate import TFState, go_sprintf, to_template_string
from ecspresso.render.jsonnet import default_natives, evaluate_file

COMPAT = Path(__file__).parent / "compat"
CI_STATE = COMPAT / "ci" / "terraform.tfstate"
ACM = "arn:aws:kms:ap-northeast-1:123456789012:key/500193e3-ddd9-4581-ab0c-fd7aeaedf3e1"


def tfstate(
    sandbox: Any, config: dict[str, Any], prefix: str = "", base_dir: Path = COMPAT
) -> tuple[FunctionSet, Any]:
    aws = sandbox.aws()
    fs = load_plugins(
        [PluginSpec("tfstate", config, prefix)], base_dir=base_dir, aws=aws, source="ecspresso.yml"
    )
    return fs, aws


@pytest.fixture(scope="module")
def ci_state() -> TFState:
    return TFState(json.loads(CI_STATE.read_text()), str(CI_STATE))


# The lookups of fujiwara/tfstate-lookup's own test suite that apply to this state file.
LOOKUPS: list[tuple[str, Any]] = [
    ("data.aws_caller_identity.current.account_id", "123456789012"),
    ("data.aws_caller_identity.xxxx.account_id", None),
    ("aws_acm_certificate.main.validation_method", "DNS"),
    ("aws_acm_certificate.main2", None),
    ("aws_acm_certificate.main.validation_method_xxx", None),
    ("aws_acm_certificate.main.subject_alternative_names", ["*.example.com"]),
    ("aws_acm_certificate.main.subject_alternative_names[0]", "*.example.com"),
    ("aws_acm_certificate.main.subject_alternative_names[2]", None),
    ('module.logs.aws_cloudwatch_log_group.main["vanish"]', None),
    ('module.logs.aws_cloudwatch_log_group.main["app"].id', "/main/app"),
    ('module.xxx.aws_cloudwatch_log_group.main["app"].id', None),
    ('module.logs.aws_cloudwatch_log_group.main["app"].retention_in_days', 30),
    ('module.logs.aws_cloudwatch_log_group.main["app"].retention_in_days_xxx', None),
    ("module.logs.aws_cloudwatch_log_group.ma", None),
    ("aws_iam_role_policy_attachment.ec2[1].id", "ec2-20190801065413531100000001"),
    ("aws_iam_role_policy_attachment.ec2[2].id", None),
    ("output.foo", "FOO"),
    ("output.bar[1]", "B"),
    ("output.bar[-1]", "C"),
    ("output.bar", ["A", "B", "C"]),
    ("output.baz", None),
    ("module.webapp.module.ecs_task_roles.aws_iam_role.task_execution_role.name", "task-execution-role"),
    ("module.webapp.xxxx.ecs_task_roles.aws_iam_role.task_execution_role", None),
    ("module.subnets.aws_subnet.main[0].cidr_block", "10.11.12.0/22"),
    ("module.subnets.aws_subnet.main[1].cidr_block", "10.11.15.0/22"),
    ('aws_iam_user.users["foo.bar"].name', "foo.bar"),
    ('aws_iam_user.users["hoge.fuga"].name', "hoge.fuga"),
    ('data.aws_lb_target_group.app["dev1"].name', "dev-dev1-app"),
    ("module.example.aws_vpc.example", None),
    ("data.terraform_remote_state.remote.outputs.kms_key.arn", ACM),
    ("data.terraform_remote_state.remote.outputs.kms_key_arn", ACM),
    ("data.terraform_remote_state.remote.outputs.mylist[1]", 2),
    ('aws_iam_user.user["me"].arn', "arn:aws:iam::xxxxxxxxxxxx:user/me"),
    (
        "data.terraform_remote_state.hyphenated-id.outputs.repository-uri",
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app",
    ),
]


@pytest.mark.parametrize(("address", "expected"), LOOKUPS)
def test_lookup(ci_state: TFState, address: str, expected: Any) -> None:
    assert ci_state.lookup(address) == expected


def test_lookup_groups_and_whole_resources(ci_state: TFState) -> None:
    group = ci_state.lookup("aws_iam_role_policy_attachment.ec2")
    assert [g["id"] for g in group] == ["ec2-20190801065413533200000002", "ec2-20190801065413531100000001"]
    users = ci_state.lookup("aws_iam_user.users")
    assert sorted(users) == ["foo.bar", "hoge.fuga"]
    assert ci_state.lookup("aws_acm_certificate.main")["validation_method"] == "DNS"
    assert ci_state.lookup('aws_iam_user.users["foo.bar"]')["name"] == "foo.bar"


def test_lookup_type_errors(ci_state: TFState) -> None:
    with pytest.raises(InputError, match="expected an array but got object"):
        ci_state.lookup("aws_acm_certificate.main[0]")
    with pytest.raises(InputError, match="expected an object but got string"):
        ci_state.lookup("aws_acm_certificate.main.validation_method.x")
    with pytest.raises(InputError, match="invalid syntax"):
        ci_state.lookup("aws_acm_certificate.main.tags[x]")


def test_compat_multiple_plugins(sandbox: Any) -> None:
    """tests/compat/ecs-task-def-multiple-plugins.json and ecs-service-def.json lookups."""
    aws = sandbox.aws()
    specs = [
        PluginSpec("tfstate", {"path": "bucket.tfstate"}, "bucket_"),
        PluginSpec("tfstate", {"path": str(COMPAT / "terraform.tfstate")}),
    ]
    fs = load_plugins(specs, base_dir=COMPAT, aws=aws)
    t = fs.template_funcs
    assert t["tfstate"]("aws_ecr_repository.all['app'].repository_url") == (
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app"
    )
    assert t["bucket_tfstate"]("aws_s3_bucket.main.bucket") == "example"
    assert t["tfstate"]("aws_subnet.private-a.id") == "subnet-07ac54af5e41a4fc4"
    assert t["tfstatef"]("data.aws_security_group.default['%s'].id", "first") == "sg-12345678"
    assert t["tfstate"]("aws_subnet.private-a.tags") == '{"Name":"private-a"}'
    assert (
        t["tfstate"]("aws_ecr_repository.all['app'].image_scanning_configuration[0].scan_on_push") == "true"
    )
    assert aws.calls == []


def test_compat_jsonnet_definitions(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/compat/ecs-service-def.jsonnet and ecs-task-def.jsonnet with the tfstate native."""
    monkeypatch.setenv("TAG", "v1")
    fs, _ = tfstate(sandbox, {"path": "terraform.tfstate"})
    natives = {**default_natives(), **fs.jsonnet_natives}
    svc = json.loads(evaluate_file(COMPAT / "ecs-service-def.jsonnet", natives=natives))
    vpc = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["subnets"] == ["subnet-07ac54af5e41a4fc4"]
    assert vpc["securityGroups"] == ["sg-12345678", "sg-12345679"]
    td = json.loads(evaluate_file(COMPAT / "ecs-task-def.jsonnet", natives=natives))
    assert (
        td["containerDefinitions"][0]["image"] == "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app:v1"
    )


def test_missing_address_names_address_and_state(sandbox: Any, tmp_path: Path) -> None:
    fs, _ = tfstate(sandbox, {"path": "terraform.tfstate"})
    with pytest.raises(InputError) as info:
        fs.template_funcs["tfstate"]("aws_vpc.nope.id")
    assert str(info.value) == f"aws_vpc.nope.id is not found in tfstate ({COMPAT / 'terraform.tfstate'})"
    src = tmp_path / "td.jsonnet"
    src.write_text(
        "local tfstate = std.native('tfstate');\n{\n  a: tfstate('aws_subnet.private-a.timeouts'),\n}\n"
    )
    with pytest.raises(
        InputError, match=r"td\.jsonnet:3: aws_subnet\.private-a\.timeouts is not found in tfstate"
    ):
        evaluate_file(src, natives=fs.jsonnet_natives)


def test_template_string_conversion() -> None:
    assert to_template_string("x") == "x"
    assert to_template_string(30) == "30"
    assert to_template_string(1.5) == "1.5"
    assert to_template_string(False) == "false"
    assert to_template_string({"b": [1, None], "a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e","b":[1,null]}'


def test_go_sprintf() -> None:
    assert go_sprintf("a['%s'].b[%d]", "k", 2) == "a['k'].b[2]"
    assert go_sprintf("%v/%v/%q/%%", "s", 3, "q") == 's/3/"q"/%'
    assert go_sprintf("%03d|%-4s|%5s", 7, "ab", "cd") == "007|ab  |   cd"
    assert go_sprintf("%s %s", "a") == "a %!s(MISSING)"
    assert go_sprintf("%s", "a", 1) == "a%!(EXTRA int=1)"
    assert go_sprintf("%d", "x") == "%!d(string=x)"


def test_path_errors(sandbox: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^ecspresso.yml: tfstate plugin requires path or url"):
        tfstate(sandbox, {})
    with pytest.raises(InputError, match="requires path for tfstate file as a string"):
        tfstate(sandbox, {"path": 1})
    with pytest.raises(InputError, match=r"failed to read tfstate from .*missing.tfstate"):
        tfstate(sandbox, {"path": "missing.tfstate"})
    (tmp_path / "v3.tfstate").write_text(json.dumps({"version": 3, "modules": []}))
    with pytest.raises(InputError, match="unsupported state version 3"):
        tfstate(sandbox, {"path": "v3.tfstate"}, base_dir=tmp_path)
    (tmp_path / "bad.tfstate").write_text("{")
    with pytest.raises(InputError, match="invalid json"):
        tfstate(sandbox, {"path": "bad.tfstate"}, base_dir=tmp_path)


def test_optional_missing_state_is_empty(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fs, _ = tfstate(sandbox, {"path": "missing.tfstate", "optional": True})
    assert "continuing with empty state because optional=true" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"aws_vpc\.main\.id is not found in tfstate"):
        fs.template_funcs["tfstate"]("aws_vpc.main.id")


def test_file_url(sandbox: Any) -> None:
    fs, _ = tfstate(sandbox, {"url": f"file://{COMPAT / 'bucket.tfstate'}"})
    assert fs.template_funcs["tfstate"]("aws_s3_bucket.main.arn") == "arn:aws:s3:::example"


def test_s3_url_is_read_lazily_once(sandbox: Any) -> None:
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="states")
    s3.put_object(Bucket="states", Key="app/terraform.tfstate", Body=CI_STATE.read_bytes())
    fs, aws = tfstate(sandbox, {"url": "s3://states/app/terraform.tfstate"}, "s3_")
    assert aws.calls == []
    assert fs.template_funcs["s3_tfstate"]("output.foo") == "FOO"
    assert fs.template_funcs["s3_tfstate"]("output.bar") == '["A","B","C"]'
    assert fs.jsonnet_natives["s3_tfstate"][0]("output.bar") == ["A", "B", "C"]
    assert aws.calls == ["GetObject"]


def test_s3_url_missing_object(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox.client("s3").create_bucket(Bucket="states")
    fs, _ = tfstate(sandbox, {"url": "s3://states/nope.tfstate"})
    with pytest.raises(AwsError, match=r"failed to read tfstate from s3://states/nope.tfstate: NoSuchKey"):
        fs.template_funcs["tfstate"]("output.foo")
    fs, _ = tfstate(sandbox, {"url": "s3://states/nope.tfstate", "optional": True})
    with pytest.raises(InputError, match=r"output\.foo is not found in tfstate"):
        fs.template_funcs["tfstate"]("output.foo")
    assert "optional=true" in capsys.readouterr().err


@pytest.fixture
def http_root() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(COMPAT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_http_url(sandbox: Any, http_root: str) -> None:
    fs, _ = tfstate(sandbox, {"url": f"{http_root}/bucket.tfstate"})
    assert fs.template_funcs["tfstate"]("aws_s3_bucket.main.region") == "us-east-1"
    fs, _ = tfstate(sandbox, {"url": f"{http_root}/nope.tfstate"})
    with pytest.raises(InputError, match=r"failed to read tfstate from http.*404"):
        fs.template_funcs["tfstate"]("x.y")


def test_follows_s3_backend_with_workspace(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_WORKSPACE", raising=False)
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="tf-states")
    s3.put_object(
        Bucket="tf-states", Key="svc/terraform.tfstate", Body=(COMPAT / "bucket.tfstate").read_bytes()
    )
    s3.put_object(Bucket="tf-states", Key="env:/stg/svc/terraform.tfstate", Body=CI_STATE.read_bytes())
    dot = tmp_path / ".terraform"
    dot.mkdir()
    backend = {
        "version": 3,
        "backend": {"type": "s3", "config": {"bucket": "tf-states", "key": "svc/terraform.tfstate"}},
    }
    (dot / "terraform.tfstate").write_text(json.dumps(backend))
    fs, aws = tfstate(sandbox, {"path": ".terraform/terraform.tfstate"}, base_dir=tmp_path)
    assert aws.calls == []
    assert fs.template_funcs["tfstate"]("aws_s3_bucket.main.bucket") == "example"
    (dot / "environment").write_text("stg")
    fs, _ = tfstate(sandbox, {"path": ".terraform/terraform.tfstate"}, base_dir=tmp_path)
    assert fs.template_funcs["tfstate"]("output.foo") == "FOO"
    monkeypatch.setenv("TF_WORKSPACE", "default")
    fs, _ = tfstate(sandbox, {"path": ".terraform/terraform.tfstate"}, base_dir=tmp_path)
    assert fs.template_funcs["tfstate"]("aws_s3_bucket.main.bucket") == "example"


def test_sensitive_outputs_are_masked(sandbox: Any, tmp_path: Path) -> None:
    state = {"version": 4, "outputs": {"pw": {"value": "hunter2-pass", "type": "string", "sensitive": True}}}
    (tmp_path / "s.tfstate").write_text(json.dumps(state))
    fs, _ = tfstate(sandbox, {"path": "s.tfstate"}, base_dir=tmp_path)
    assert fs.template_funcs["tfstate"]("output.pw") == "hunter2-pass"
    assert redact("pw=hunter2-pass") == "pw=***"
