"""The CodeDeploy AppSpec: built from a service (pure, table-driven) and printed by ``appspec``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_fixtures import (
    ACCOUNT,
    REGION,
    client,
    default_network,
    make_project,
    register,
    seed_service,
    service_definition,
    write_json,
)
from ecspresso.cli import run
from ecspresso.codedeploy import appspec_yaml, build_appspec, console_url, normalize_hooks
from ecspresso.errors import InputError

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/blue/0123456789abcdef"
LB = [{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}]
HOOKS = {"Hooks": [{"BeforeInstall": "LambdaFunctionToValidateBeforeInstall"},
                   {"AfterAllowTestTraffic": "LambdaFunctionToValidateAfterTestTrafficStarts"}]}  # fmt: skip

FULL_SERVICE = {
    "serviceName": "web",
    "loadBalancers": [
        *LB,
        {"targetGroupArn": "arn:other", "containerName": "sidecar", "containerPort": 9000},
    ],
    "platformVersion": "LATEST",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": ["subnet-1234abcd", "subnet-5678abcd"],
            "securityGroups": ["sg-12345678"],
            "assignPublicIp": "ENABLED",
        }
    },
    "capacityProviderStrategy": [
        {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 2},
        {"capacityProvider": "FARGATE", "base": 0, "weight": 1},
    ],
    "desiredCount": 2,
    "deploymentController": {"type": "CODE_DEPLOY"},
}

# ecspresso's own AppSpec fixture (appspec/test.yml), as its encoder prints it
FULL_YAML = f"""\
version: "0.0"
Resources:
- TargetService:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: {TD}/app:1
      LoadBalancerInfo:
        ContainerName: app
        ContainerPort: 80
      PlatformVersion: LATEST
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: ENABLED
          SecurityGroups:
          - sg-12345678
          Subnets:
          - subnet-1234abcd
          - subnet-5678abcd
      CapacityProviderStrategy:
      - CapacityProvider: FARGATE_SPOT
        Base: 1
        Weight: 2
      - CapacityProvider: FARGATE
        Weight: 1
Hooks:
- BeforeInstall: LambdaFunctionToValidateBeforeInstall
- AfterAllowTestTraffic: LambdaFunctionToValidateAfterTestTrafficStarts
"""


def test_full_service_with_hooks() -> None:
    spec = build_appspec(FULL_SERVICE, f"{TD}/app:1", HOOKS)

    assert spec == {
        "version": "0.0",
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": f"{TD}/app:1",
                        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
                        "PlatformVersion": "LATEST",
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "AssignPublicIp": "ENABLED",
                                "SecurityGroups": ["sg-12345678"],
                                "Subnets": ["subnet-1234abcd", "subnet-5678abcd"],
                            }
                        },
                        "CapacityProviderStrategy": [
                            {"CapacityProvider": "FARGATE_SPOT", "Base": 1, "Weight": 2},
                            {"CapacityProvider": "FARGATE", "Weight": 1},
                        ],
                    },
                }
            }
        ],
        "Hooks": HOOKS["Hooks"],
    }
    assert appspec_yaml(spec) == FULL_YAML


def test_yaml_reads_back_as_the_same_appspec() -> None:
    spec = build_appspec(FULL_SERVICE, f"{TD}/app:1", HOOKS)

    assert yaml.safe_load(appspec_yaml(spec)) == spec  # version stays the string "0.0"


@pytest.mark.parametrize(
    ("service", "properties"),
    [
        pytest.param({"loadBalancers": LB}, {}, id="load-balancer-only"),
        pytest.param(
            {
                "loadBalancers": LB,
                "platformVersion": "",
                "networkConfiguration": {},
                "capacityProviderStrategy": [],
            },
            {},
            id="empty-properties-left-out",
        ),
        pytest.param(
            {"loadBalancers": LB, "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}},
            {"NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}}},
            id="awsvpc-subnets-only",
        ),
        pytest.param(
            {
                "loadBalancers": LB,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-1"],
                        "securityGroups": [],
                        "assignPublicIp": "DISABLED",
                    }
                },
            },
            {
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {"AssignPublicIp": "DISABLED", "Subnets": ["subnet-1"]}
                }
            },
            id="awsvpc-disabled-public-ip",
        ),
        pytest.param(
            {"loadBalancers": LB, "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}]},
            id="capacity-provider",
        ),
        pytest.param(
            {
                "loadBalancers": LB,
                "capacityProviderStrategy": [{"capacityProvider": "cp-ec2", "base": 2, "weight": 0}],
            },
            {"CapacityProviderStrategy": [{"CapacityProvider": "cp-ec2", "Base": 2}]},
            id="capacity-provider-zero-weight",
        ),
        pytest.param(
            {"loadBalancers": LB, "platformVersion": "1.4.0"},
            {"PlatformVersion": "1.4.0"},
            id="platform-version",
        ),
    ],
)
def test_properties(service: dict[str, Any], properties: dict[str, Any]) -> None:
    spec = build_appspec(service, f"{TD}/app:7", None)

    assert spec == {
        "version": "0.0",
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": f"{TD}/app:7",
            "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
            **properties,
        }}}],
    }  # fmt: skip


def test_minimal_yaml() -> None:
    assert appspec_yaml(build_appspec({"loadBalancers": LB}, f"{TD}/app:7")) == (
        'version: "0.0"\n'
        "Resources:\n"
        "- TargetService:\n"
        "    Type: AWS::ECS::Service\n"
        "    Properties:\n"
        f"      TaskDefinition: {TD}/app:7\n"
        "      LoadBalancerInfo:\n"
        "        ContainerName: app\n"
        "        ContainerPort: 80\n"
    )


@pytest.mark.parametrize(
    ("hooks", "expected"),
    [
        pytest.param(None, [], id="none"),
        pytest.param({}, [], id="empty-section"),
        pytest.param({"Hooks": None}, [], id="null-hooks"),
        pytest.param(HOOKS, HOOKS["Hooks"], id="config-section"),
        pytest.param(
            {"version": 0.0, "Hooks": [{"AfterInstall": "f"}]},
            [{"AfterInstall": "f"}],
            id="config-section-with-version",
        ),
        pytest.param(HOOKS["Hooks"], HOOKS["Hooks"], id="list"),
        pytest.param(
            {"AfterAllowTraffic": "b", "BeforeInstall": "a"},
            [{"AfterAllowTraffic": "b"}, {"BeforeInstall": "a"}],
            id="one-mapping",
        ),
        pytest.param(
            [{"AfterAllowTraffic": "b", "BeforeInstall": "a"}],
            [{"BeforeInstall": "a", "AfterAllowTraffic": "b"}],
            id="events-in-appspec-order",
        ),
        pytest.param(
            [{"BeforeInstall": ""}, {"AfterInstall": "x"}], [{"AfterInstall": "x"}], id="empty-dropped"
        ),
    ],
)
def test_hooks(hooks: Any, expected: list[dict[str, str]]) -> None:
    assert normalize_hooks(hooks) == expected
    spec = build_appspec({"loadBalancers": LB}, f"{TD}/app:1", hooks)
    assert spec.get("Hooks", []) == expected
    assert list(spec) == (["version", "Resources", "Hooks"] if expected else ["version", "Resources"])


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"Hooks": [{"BeforeInstal": "f"}]}, "appspec.Hooks[0]: unknown lifecycle hook BeforeInstal (an ECS AppSpec has BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic)"),
        ({"Hooks": "BeforeInstall"}, "appspec.Hooks must be a list"),
        ({"Hooks": ["BeforeInstall"]}, "appspec.Hooks[0] must be a mapping"),
    ],
)  # fmt: skip
def test_bad_hooks(hooks: Any, message: str) -> None:
    with pytest.raises(InputError) as err:
        build_appspec({"loadBalancers": LB}, f"{TD}/app:1", hooks)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"serviceName": "web"}, "cannot build an AppSpec: web has no loadBalancers; a CodeDeploy blue/green deployment requires loadBalancers"),
        ({"loadBalancers": []}, "cannot build an AppSpec: the service has no loadBalancers"),
        ({"loadBalancers": [{"targetGroupArn": TG, "containerName": "app"}]}, "cannot build an AppSpec: loadBalancers[0] needs containerName and containerPort"),
    ],
)  # fmt: skip
def test_no_load_balancer(service: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as err:
        build_appspec(service, f"{TD}/app:1", HOOKS)
    assert str(err.value).startswith(message)


def test_console_url() -> None:
    assert console_url("ap-northeast-1", "d-ABCDEFGHI") == (
        "https://ap-northeast-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ABCDEFGHI"
        "?region=ap-northeast-1"
    )


# -- the appspec command against the sandbox ----------------------------------------------------------


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.delenv("AWS_REGION", raising=False)
    return sandbox


def codedeploy_project(sandbox: Any, tmp_path: Path, **service: Any) -> Path:
    """Service web, deployed by CodeDeploy, on app:1; app:2 and app:3 registered since."""
    sv = service_definition(desired=1, deploymentController={"type": "CODE_DEPLOY"}, loadBalancers=LB,
                            platformVersion="1.4.0", **service)  # fmt: skip
    config = make_project(tmp_path, service_def=sv, config_extra={"appspec": HOOKS})
    seed_service(sandbox, config)
    register(sandbox, config, count=2)
    return config


def appspec_cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code, _ = run(["--config", str(config), "appspec", *args])
    out, err = capsys.readouterr()
    return code, out, err


def expected_yaml(
    sandbox: Any, revision: int, *, platform: str = "1.4.0", public_ip: str = "DISABLED"
) -> str:
    subnets, groups = default_network(sandbox)
    return (
        'version: "0.0"\n'
        "Resources:\n"
        "- TargetService:\n"
        "    Type: AWS::ECS::Service\n"
        "    Properties:\n"
        f"      TaskDefinition: {TD}/app:{revision}\n"
        "      LoadBalancerInfo:\n"
        "        ContainerName: app\n"
        "        ContainerPort: 80\n"
        f"      PlatformVersion: {platform}\n"
        "      NetworkConfiguration:\n"
        "        AwsvpcConfiguration:\n"
        f"          AssignPublicIp: {public_ip}\n"
        "          SecurityGroups:\n"
        f"          - {groups[0]}\n"
        "          Subnets:\n"
        f"          - {subnets[0]}\n"
        "Hooks:\n"
        "- BeforeInstall: LambdaFunctionToValidateBeforeInstall\n"
        "- AfterAllowTestTraffic: LambdaFunctionToValidateAfterTestTrafficStarts\n"
    )


@pytest.mark.parametrize(
    ("args", "revision"),
    [((), 3), (("--task-definition", "latest"), 3), (("--task-definition", "current"), 1),
     (("--task-definition", f"{TD}/app:2"), 2)],
    ids=["default-latest", "latest", "current", "arn"],
)  # fmt: skip
def test_appspec_command(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], revision: int
) -> None:
    config = codedeploy_project(cli_env, tmp_path)
    capsys.readouterr()

    code, out, _ = appspec_cli(config, capsys, *args)

    assert code == 0
    assert out == expected_yaml(cli_env, revision)


def test_an_arn_is_printed_as_given(cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = codedeploy_project(cli_env, tmp_path)
    other = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/other-family:42"

    code, out, _ = appspec_cli(config, capsys, "--task-definition", other)

    assert code == 0
    assert yaml.safe_load(out)["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == other


def test_properties_from_the_local_definition_or_the_running_service(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = codedeploy_project(cli_env, tmp_path)
    local = json.loads((tmp_path / "ecs-service-def.json").read_text())
    local["platformVersion"] = "LATEST"
    local["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] = "ENABLED"
    write_json(tmp_path / "ecs-service-def.json", local)

    assert appspec_cli(config, capsys, "--task-definition", "current")[1] == expected_yaml(
        cli_env, 1, platform="LATEST", public_ip="ENABLED"
    )
    assert appspec_cli(config, capsys, "--task-definition", "current", "--no-update-service")[
        1
    ] == expected_yaml(cli_env, 1)


def test_json_with_log_format_json(cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = codedeploy_project(cli_env, tmp_path)

    code, out, _ = appspec_cli(config, capsys, "--log-format", "json")

    assert code == 0
    assert json.loads(out) == yaml.safe_load(expected_yaml(cli_env, 3))
    assert list(json.loads(out)) == ["version", "Resources", "Hooks"]


def test_the_action_result(cli_env: Any, tmp_path: Path) -> None:
    config = codedeploy_project(cli_env, tmp_path)

    code, result = run(["--config", str(config), "appspec", "--task-definition", "current"])

    assert code == 0 and result is not None
    assert (result.command, result.result, result.task_definition_arn) == ("appspec", "ok", f"{TD}/app:1")


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "FAILED" in line]
    assert len(lines) == 1, err
    return lines[0]


def test_a_service_not_deployed_by_codedeploy(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_project(tmp_path)
    seed_service(cli_env, config)
    capsys.readouterr()

    code, out, err = appspec_cli(config, capsys)

    assert (code, out) == (1, "")
    assert _error_line(err).endswith(
        "FAILED. service web uses the ECS deployment controller: an AppSpec is for a service deployed by "
        "CodeDeploy (deploymentController CODE_DEPLOY)"
    )


def test_a_codedeploy_service_without_load_balancer(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sv = service_definition(desired=1, deploymentController={"type": "CODE_DEPLOY"})
    config = make_project(tmp_path, service_def=sv)
    seed_service(cli_env, config)
    capsys.readouterr()

    code, out, err = appspec_cli(config, capsys, "--no-update-service")

    assert (code, out) == (1, "")
    assert (
        "FAILED. cannot build an AppSpec: web has no loadBalancers; a CodeDeploy blue/green deployment requires loadBalancers"
        in _error_line(err)
    )


def test_a_missing_service(cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_project(tmp_path)
    client(cli_env, "ecs").create_cluster(clusterName="default")

    code, out, err = appspec_cli(config, capsys)

    assert (code, out) == (1, "")
    assert _error_line(err).endswith("FAILED. service web is not found in cluster default")


@pytest.mark.parametrize("value", ["app:2", "previous", "arn:aws:ecs:us-east-1:123:task-definition/app"])
def test_a_bad_task_definition_is_a_usage_error(
    cli_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    config = make_project(tmp_path)
    cli_env.operations.clear()

    code, out, err = appspec_cli(config, capsys, "--task-definition", value)

    assert (code, out) == (2, "")
    assert "--task-definition must be latest, current or a task definition ARN" in _error_line(err)
    assert cli_env.operations == []  # refused before any AWS call
