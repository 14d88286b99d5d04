"""Config plugins against the in-process moto sandbox: ssm, secretsmanager, cloudformation, external."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ecspresso.errors import AwsError, InputError, TemplateError
from ecspresso.log import redact
from ecspresso.plugins import FunctionSet, PluginContext, PluginSpec, load_plugins
from ecspresso.plugins.cloudformation import CfnLookup
from ecspresso.render.jsonnet import default_natives, evaluate_file, evaluate_snippet
from ecspresso.render.template import default_funcs, render

COMPAT = Path(__file__).parent / "compat"


def load(sandbox: Any, *specs: PluginSpec, base_dir: Path = COMPAT) -> tuple[FunctionSet, Any]:
    aws = sandbox.aws()
    return load_plugins(list(specs), base_dir=base_dir, aws=aws, source="ecspresso.yml"), aws


# --- loading ---------------------------------------------------------------------------------------


def test_default_plugins_are_always_loaded_and_lazy(sandbox: Any) -> None:
    fs, aws = load(sandbox)
    assert sorted(fs.template_funcs) == ["secretsmanager_arn", "secretsmanager_arnf", "ssm"]
    assert sorted(fs.jsonnet_natives) == ["secretsmanager_arn", "secretsmanager_arnf", "ssm", "ssm_list"]
    assert fs.jsonnet_natives["secretsmanager_arnf"][1] == ("format", "args")
    assert fs.jsonnet_natives["ssm_list"][1] == ("name", "index")
    assert aws.calls == [] and aws._clients == {}


def test_loading_and_rendering_without_plugin_calls_does_not_import_boto3(tmp_path: Path) -> None:
    src = tmp_path / "td.jsonnet"
    src.write_text("local env = std.native('env'); { a: env('NOPE_X', 'd') }")
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from ecspresso.aws import AwsContext
        from ecspresso.plugins import PluginSpec, load_plugins
        from ecspresso.render.jsonnet import default_natives, evaluate_file
        fs = load_plugins(
            [PluginSpec("tfstate", {{"path": "terraform.tfstate"}}), PluginSpec("cloudformation", {{}})],
            base_dir=Path({str(COMPAT)!r}), aws=AwsContext(region="us-east-1"),
        )
        out = evaluate_file(Path({str(src)!r}), natives={{**default_natives(), **fs.jsonnet_natives}})
        assert fs.template_funcs["tfstate"]("aws_subnet.private-a.id") == "subnet-07ac54af5e41a4fc4"
        assert "boto3" not in sys.modules and "botocore" not in sys.modules, "boto3 imported"
        print(out)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"a": "d"}


def test_listed_default_plugin_without_prefix_is_skipped_and_with_prefix_added(sandbox: Any) -> None:
    fs, _ = load(
        sandbox, PluginSpec("ssm"), PluginSpec("secretsmanager", {}, "sm_"), PluginSpec("SSM", {}, "x_")
    )
    assert sorted(fs.template_funcs) == [
        "secretsmanager_arn",
        "secretsmanager_arnf",
        "sm_secretsmanager_arn",
        "sm_secretsmanager_arnf",
        "ssm",
        "x_ssm",
    ]
    assert sorted(fs.jsonnet_natives) == [
        "secretsmanager_arn",
        "secretsmanager_arnf",
        "sm_secretsmanager_arn",
        "sm_secretsmanager_arnf",
        "ssm",
        "ssm_list",
        "x_ssm",
        "x_ssm_list",
    ]


def test_duplicate_functions_need_func_prefix(sandbox: Any) -> None:
    # tests/compat/config_duplicate_plugins.yaml: two tfstate plugins, no prefix
    specs = [
        PluginSpec("tfstate", {"path": "bucket.tfstate"}),
        PluginSpec("tfstate", {"path": "terraform.tfstate"}),
    ]
    with pytest.raises(InputError) as info:
        load(sandbox, *specs)
    msg = str(info.value)
    assert msg.startswith("ecspresso.yml: ")
    assert "function tfstate is defined by more than one plugin" in msg and "func_prefix" in msg
    # config_multiple_plugins.yaml: the prefix resolves it
    fs, _ = load(sandbox, PluginSpec("tfstate", {"path": "bucket.tfstate"}, "bucket_"), specs[1])
    assert {"bucket_tfstate", "bucket_tfstatef", "tfstate", "tfstatef"} <= set(fs.template_funcs)
    assert fs.template_funcs["bucket_tfstate"]("aws_s3_bucket.main.bucket") == "example"


def test_external_plugin_cannot_shadow_a_default_function(sandbox: Any) -> None:
    spec = PluginSpec("external", {"name": "ssm", "command": ["true"]})
    with pytest.raises(InputError, match="function ssm is defined by more than one plugin"):
        load(sandbox, spec)


def test_unknown_plugin(sandbox: Any) -> None:
    with pytest.raises(InputError, match=r"^ecspresso.yml: plugin vault is not available$"):
        load(sandbox, PluginSpec("vault"))


# --- ssm -----------------------------------------------------------------------------------------


@pytest.fixture
def params(sandbox: Any) -> Any:
    ssm = sandbox.client("ssm")
    ssm.put_parameter(Name="/app/plain", Value="hello", Type="String")
    ssm.put_parameter(Name="/app/secret", Value="s3cr3t-value", Type="SecureString")
    ssm.put_parameter(Name="/app/list", Value="a,b,c", Type="StringList")
    return sandbox


def test_ssm_template_function(params: Any) -> None:
    fs, aws = load(params)
    ssm = fs.template_funcs["ssm"]
    assert ssm("/app/plain") == "hello"
    assert ssm("/app/secret") == "s3cr3t-value"
    assert ssm("/app/list", 0) == "a"
    assert ssm("/app/list", 2) == "c"
    assert redact("token s3cr3t-value") == "token ***"
    # one GetParameter per name, however often it is used
    for _ in range(3):
        ssm("/app/plain")
        ssm("/app/list", 1)
    assert aws.calls.count("GetParameter") == 3


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("/app/list",), "StringList: the second argument is required"),
        (("/app/list", 3), "index 3 is out of range"),
        (("/app/list", -1), "index -1 is out of range"),
        (
            ("/app/plain", 0),
            "supported only for StringList type, but the parameter /app/plain is of type String",
        ),
        (("/app/list", 0, 1), "at most 2 parameters"),
    ],
)
def test_ssm_usage_errors(params: Any, args: tuple[Any, ...], match: str) -> None:
    fs, _ = load(params)
    with pytest.raises(InputError, match=match):
        fs.template_funcs["ssm"](*args)


def test_ssm_missing_parameter(params: Any) -> None:
    fs, _ = load(params)
    with pytest.raises(AwsError, match=r"failed to get SSM parameter /app/nope: ParameterNotFound"):
        fs.template_funcs["ssm"]("/app/nope")


def test_ssm_natives_in_jsonnet(params: Any, tmp_path: Path) -> None:
    fs, aws = load(params)
    src = tmp_path / "td.jsonnet"
    src.write_text(
        "local ssm = std.native('ssm');\nlocal ssm_list = std.native('ssm_list');\n"
        "{ a: ssm('/app/plain'), b: ssm_list('/app/list', 1), c: ssm('/app/plain') }\n"
    )
    assert json.loads(evaluate_file(src, natives=fs.jsonnet_natives)) == {
        "a": "hello",
        "b": "b",
        "c": "hello",
    }
    assert aws.calls.count("GetParameter") == 2
    src.write_text("local ssm = std.native('ssm');\n{\n  a: ssm('/app/missing'),\n}\n")
    with pytest.raises(InputError) as info:
        evaluate_file(src, natives=fs.jsonnet_natives)
    assert str(info.value).startswith(f"{src}:3: failed to get SSM parameter /app/missing: ParameterNotFound")
    assert info.value.title == AwsError.default_title


# --- secretsmanager --------------------------------------------------------------------------------


def test_secretsmanager_arn(sandbox: Any) -> None:
    arn = sandbox.client("secretsmanager").create_secret(Name="app/baz", SecretString="x")["ARN"]
    fs, aws = load(sandbox)
    assert fs.template_funcs["secretsmanager_arn"]("app/baz") == arn
    assert fs.template_funcs["secretsmanager_arn"]("app/baz") == arn
    assert evaluate_snippet(
        "x.jsonnet", "std.native('secretsmanager_arn')('app/baz')", natives=fs.jsonnet_natives
    )
    assert aws.calls.count("DescribeSecret") == 1
    with pytest.raises(AwsError, match="failed to describe secret app/nope: ResourceNotFoundException"):
        fs.template_funcs["secretsmanager_arn"]("app/nope")


def test_secretsmanager_arnf_formats_the_id(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sm = sandbox.client("secretsmanager")
    arn = sm.create_secret(Name="prod/app/db", SecretString="x")["ARN"]
    arn2 = sm.create_secret(Name="app-2", SecretString="x")["ARN"]
    monkeypatch.setenv("STAGE", "prod")
    fs, aws = load(sandbox, PluginSpec("secretsmanager", {}, "sm_"))
    funcs = {**default_funcs(), **fs.template_funcs}
    text = '{{ secretsmanager_arnf "%s/%s/db" (must_env "STAGE") "app" }}|{{ sm_secretsmanager_arnf "app-%d" 2 }}'
    assert render(text, funcs, source="td.json") == f"{arn}|{arn2}"
    jsonnet = (
        "local arnf = std.native('secretsmanager_arnf');"
        "[arnf('%s/app/db', std.native('env')('STAGE', '')), arnf('app-%v', 2), std.native('sm_secretsmanager_arn')('app-2')]"
    )
    natives = {**default_natives(), **fs.jsonnet_natives}
    assert json.loads(evaluate_snippet("x.jsonnet", jsonnet, natives=natives)) == [arn, arn2, arn2]
    # one DescribeSecret per id and plugin (the prefixed one is a plugin of its own, as in ecspresso)
    assert aws.calls.count("DescribeSecret") == 3
    # Jsonnet numbers are float64, as in Go: %d does not format them
    with pytest.raises(InputError, match=r"failed to describe secret app-%!d\(float64=2\)"):
        evaluate_snippet("x.jsonnet", "std.native('secretsmanager_arnf')('app-%d', 2)", natives=natives)
    with pytest.raises(TemplateError, match="secretsmanager_arnf: format must be a string"):
        render("{{ secretsmanager_arnf 1 }}", funcs, source="td.json")


# --- cloudformation --------------------------------------------------------------------------------

STACK = {
    "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q1"}}},
    "Outputs": {
        "QueueName": {"Value": {"Fn::GetAtt": ["Q", "QueueName"]}, "Export": {"Name": "shared-queue"}},
        "Plain": {"Value": "hello"},
    },
}


def test_cloudformation_outputs_and_exports(sandbox: Any) -> None:
    sandbox.client("cloudformation").create_stack(StackName="app", TemplateBody=json.dumps(STACK))
    fs, aws = load(sandbox, PluginSpec("cloudformation", {}, "cfn_"))
    out, export = fs.template_funcs["cfn_cfn_output"], fs.template_funcs["cfn_cfn_export"]
    assert out("app", "Plain") == "hello"
    assert out("app", "QueueName") == "q1"
    assert export("shared-queue") == "q1"
    assert export("shared-queue") == "q1"
    natives = {k.removeprefix("cfn_"): v for k, v in fs.jsonnet_natives.items()}
    text = "{ o: std.native('cfn_output')('app', 'Plain'), e: std.native('cfn_export')('shared-queue') }"
    assert json.loads(evaluate_snippet("x.jsonnet", text, natives=natives)) == {"o": "hello", "e": "q1"}
    assert aws.calls.count("DescribeStacks") == 1 and aws.calls.count("ListExports") == 1
    with pytest.raises(InputError, match="outputKey Nope is not found in stack app"):
        out("app", "Nope")
    with pytest.raises(InputError, match="nope is not found in exports"):
        export("nope")
    with pytest.raises(AwsError, match="failed to describe stack ghost: ValidationError"):
        out("ghost", "X")


def test_cloudformation_exports_are_paginated() -> None:
    pages = [
        {"Exports": [{"Name": "a", "Value": "1"}], "NextToken": "t1"},
        {"Exports": [{"Name": "b", "Value": "2"}], "NextToken": "t2"},
        {"Exports": [{"Name": "c", "Value": "3"}]},
    ]
    seen: list[dict[str, Any]] = []

    class FakeCfn:
        def list_exports(self, **params: Any) -> dict[str, Any]:
            seen.append(params)
            return pages[len(seen) - 1]

    class FakeAws:
        def client(self, service: str) -> Any:
            assert service == "cloudformation"
            return FakeCfn()

    app = CfnLookup(PluginContext(base_dir=Path("."), aws=FakeAws()))  # type: ignore[arg-type]
    assert [app.export(n) for n in "cab"] == ["3", "1", "2"]
    assert seen == [{}, {"NextToken": "t1"}, {"NextToken": "t2"}]


# --- external --------------------------------------------------------------------------------------

SCRIPT = """
import json, sys, time
mode, args = sys.argv[1], sys.argv[2:]
if mode == "json":
    print(json.dumps({"args": args, "n": len(args)}), "trailing garbage")
elif mode == "text":
    sys.stdout.write("plain " + " ".join(args) + "\\n")
elif mode == "fail":
    print("some progress", file=sys.stderr)
    print("fatal: it broke", file=sys.stderr)
    sys.exit(3)
elif mode == "sleep":
    time.sleep(30)
elif mode == "bad":
    print("{not json")
"""


@pytest.fixture
def script(tmp_path: Path) -> list[str]:
    path = tmp_path / "plugin.py"
    path.write_text(SCRIPT)
    return [sys.executable, str(path)]


def external(sandbox: Any, **config: Any) -> FunctionSet:
    return load(sandbox, PluginSpec("external", config))[0]


def test_external_json_and_string(sandbox: Any, script: list[str]) -> None:
    fs = load(
        sandbox,
        PluginSpec("external", {"name": "info", "command": [*script, "json"], "num_args": 2}),
        PluginSpec(
            "external", {"name": "text", "command": [*script, "text"], "parser": "string", "num_args": 1}
        ),
    )[0]
    assert fs.template_funcs["info"]("a", "b c") == {"args": ["a", "b c"], "n": 2}
    assert fs.template_funcs["info"]() == {"args": [], "n": 0}
    assert fs.template_funcs["text"]("x", 1) == "plain x 1\n"
    assert fs.jsonnet_natives["info"][1] == ("arg0", "arg1")
    text = "{ i: std.native('info')('p', 'q'), t: std.native('text')('z') }"
    out = json.loads(evaluate_snippet("x.jsonnet", text, natives=fs.jsonnet_natives))
    assert out == {"i": {"args": ["p", "q"], "n": 2}, "t": "plain z\n"}
    with pytest.raises(InputError, match="text: arg0 must be a string, got number"):
        evaluate_snippet("x.jsonnet", "std.native('text')(1)", natives=fs.jsonnet_natives)


def test_external_failure_reports_last_stderr_line(sandbox: Any, script: list[str]) -> None:
    fs = external(sandbox, name="f", command=[*script, "fail"])
    with pytest.raises(InputError, match=r"external plugin f: .* exited with status 3: fatal: it broke$"):
        fs.template_funcs["f"]()


def test_external_timeout_is_a_go_duration(sandbox: Any, script: list[str]) -> None:
    fs = external(sandbox, name="slow", command=[*script, "sleep"], timeout="500ms")
    with pytest.raises(InputError, match="external plugin slow: command timed out after 500ms"):
        fs.template_funcs["slow"]()


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        ("1s", 1.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("+2s", 2.0),
        ("-1s", 0.0),
        ("0", 0.0),
        (None, 0.0),
        (0, 0.0),
        (1_500_000_000, 1.5),
    ],
)
def test_external_timeout_values(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, timeout: Any, seconds: float
) -> None:
    from ecspresso.plugins import external as ext

    seen: list[float] = []
    monkeypatch.setattr(ext.ExternalCommand, "run", lambda self, args: seen.append(self.timeout))
    fs = external(sandbox, name="f", command=["true"], timeout=timeout)
    fs.template_funcs["f"]()
    assert seen == [seconds]


def test_external_timeout_as_a_bare_number_is_nanoseconds_and_warns(
    sandbox: Any, script: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    fs = external(sandbox, name="quick", command=[*script, "sleep"], timeout=5)
    assert (
        'external plugin quick: timeout 5 is 5ns (a number is nanoseconds, as in ecspresso); write "5s"'
        in (capsys.readouterr().err)
    )
    with pytest.raises(InputError, match="external plugin quick: command timed out after 5ns"):
        fs.template_funcs["quick"]()


def test_external_bad_json_and_missing_command(sandbox: Any, script: list[str]) -> None:
    fs = external(sandbox, name="bad", command=[*script, "bad"])
    with pytest.raises(InputError, match=r"failed to decode the output .* as JSON"):
        fs.template_funcs["bad"]()
    fs = external(sandbox, name="ghost", command=["/nonexistent/ecspresso-plugin"])
    with pytest.raises(
        InputError, match="external plugin ghost: failed to run /nonexistent/ecspresso-plugin"
    ):
        fs.template_funcs["ghost"]()


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"command": ["true"]}, "name is required"),
        ({"name": "x"}, "command is required"),
        ({"name": "x", "command": "true"}, "command is required"),
        ({"name": "x", "command": ["true"], "parser": "yaml"}, "unsupported parser: yaml"),
        ({"name": "x", "command": ["true"], "timeout": "5 seconds"}, "x: invalid timeout '5 seconds'"),
        ({"name": "x", "command": ["true"], "timeout": True}, "x: invalid timeout True"),
        ({"name": "x", "command": ["true"], "timeout": [1]}, "x: invalid timeout"),
        ({"name": "x", "command": ["true"], "num_args": -1}, "num_args must be a non-negative integer"),
    ],
)
def test_external_config_errors(sandbox: Any, config: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        external(sandbox, **config)
    assert info.value.source == "ecspresso.yml"


# --- the compat CI definitions -----------------------------------------------------------------------


def test_compat_ci_task_definition_natives(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """tests/compat/ci/ecs-task-def.jsonnet: ssm, secretsmanager_arn and a prefixed tfstate native."""
    sandbox.client("ssm").put_parameter(Name="/ecspresso-test/foo", Value="FOO-VALUE", Type="String")
    arn = sandbox.client("secretsmanager").create_secret(Name="ecspresso-test/baz", SecretString="z")["ARN"]
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
    monkeypatch.delenv("DEPLOYMENT_CONTROLLER", raising=False)
    monkeypatch.chdir(tmp_path)  # url "./terraform.tfstate" falls back to the config directory
    spec = PluginSpec("tfstate", {"url": "./terraform.tfstate"}, "local_")
    fs, _ = load(sandbox, spec, base_dir=COMPAT / "ci")
    out = json.loads(
        evaluate_file(
            COMPAT / "ci" / "ecs-task-def.jsonnet", natives={**default_natives(), **fs.jsonnet_natives}
        )
    )
    env = {e["name"]: e["value"] for e in out["containerDefinitions"][0]["environment"]}
    assert env["FOO_ENV_FUNC"] == "FOO-VALUE"
    assert env["OUTPUT_FOO"] == "FOO"
    assert env["BAZ_ARN_FUNC"] == arn
    assert env["FOO_ENV"] == "{{ ssm `/ecspresso-test/foo` }}"  # left for the template pass
    assert fs.template_funcs["ssm"]("/ecspresso-test/foo") == "FOO-VALUE"


def test_compat_ci_service_definition_external(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/compat/ci/ecspresso.yml's external plugins (jq, cat) used by ci/ecs-service-def.jsonnet."""
    import shutil

    if not shutil.which("jq"):
        pytest.skip("jq is not installed")
    monkeypatch.chdir(COMPAT / "ci")
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
    fs, _ = load(
        sandbox,
        PluginSpec("external", {"name": "jq", "command": ["jq", "-n"], "num_args": 1}),
        PluginSpec("external", {"name": "cat", "command": ["cat"], "parser": "string", "num_args": 1}),
        base_dir=COMPAT / "ci",
    )
    out = json.loads(
        evaluate_file(
            COMPAT / "ci" / "ecs-service-def.jsonnet", natives={**default_natives(), **fs.jsonnet_natives}
        )
    )
    tags = {t["key"]: t["value"] for t in out["tags"]}
    assert tags["envfile_content"] == (COMPAT / "ci" / "envfile").read_text()
    assert tags["deployed_at_localtime"][:2] == "20"
    assert fs.template_funcs["jq"]("1 + 2") == 3
