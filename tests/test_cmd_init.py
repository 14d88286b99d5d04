"""``init``: the config and definitions of a live service, such that ``diff`` right after prints
nothing; never overwriting silently; reading AWS only."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecs_fixtures import (
    REGION,
    FakeTTY,
    client,
    default_network,
    make_app,
    make_project,
    start_recording,
    stdout_of,
    task_definition,
)
from ecspresso.cli import run
from ecspresso.commands.diff import DiffOption, diff
from ecspresso.commands.init import InitOption, init
from ecspresso.errors import EcspressoError

NAMESPACE = f"arn:aws:servicediscovery:{REGION}:123456789012:namespace/ns-web"
SERVICE_CONNECT = {
    "enabled": True,
    "namespace": NAMESPACE,
    "services": [{"portName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}]}],
}
STRATEGY = [
    {"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1},
    {"capacityProvider": "FARGATE", "weight": 1},
]
RUNTIME_FIELDS = ("serviceArn", "serviceName", "clusterArn", "status", "runningCount", "pendingCount",
                  "deployments", "events", "taskSets", "taskDefinition", "createdAt", "createdBy", "roleArn")  # fmt: skip
READ_ONLY_TD_FIELDS = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                       "registeredAt", "registeredBy")  # fmt: skip


@pytest.fixture(autouse=True)
def _in_project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # init writes where it runs, as a user would run it
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, as in CI


def live_service(sandbox: Any, *, td: dict[str, Any] | None = None) -> str:
    """Cluster ``prod`` with service ``web``: a load balancer, a capacity provider strategy and
    service connect, created straight through the API (not by ecspresso); its target group ARN."""
    ecs, ec2 = client(sandbox, "ecs"), client(sandbox, "ec2")
    subnets, groups = default_network(sandbox)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    tg = client(sandbox, "elbv2").create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_cluster(clusterName="prod", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    arn = ecs.register_task_definition(**(td or task_definition()), tags=[{"key": "team", "value": "web"}])[
        "taskDefinition"
    ]["taskDefinitionArn"]
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition=arn,
        desiredCount=2,
        capacityProviderStrategy=STRATEGY,
        loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}},
        serviceConnectConfiguration=SERVICE_CONNECT,
        healthCheckGracePeriodSeconds=30,
        enableExecuteCommand=True,
        tags=[{"key": "env", "value": "prod"}],
    )
    start_recording(sandbox)
    return str(tg)


def app_for(sandbox: Any, tmp_path: Path, config: str = "ecspresso.yml") -> Any:
    return make_app(sandbox, tmp_path / config)


def run_init(sandbox: Any, tmp_path: Path, config: str = "ecspresso.yml", **opts: Any) -> tuple[Any, Any]:
    app = app_for(sandbox, tmp_path, config)
    opts = {"cluster": "prod", "service": "web", **opts}
    if opts.get("task_definition"):
        opts.pop("service")
    return app, init(app, InitOption(**opts))


def diff_output(sandbox: Any, config: Path) -> str:
    app = make_app(sandbox, config)
    result = diff(app, DiffOption())
    assert result.diff == stdout_of(app)
    return stdout_of(app)


def read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


# --- init, then diff ---------------------------------------------------------------------------------


def test_init_then_diff_prints_nothing(sandbox: Any, tmp_path: Path) -> None:
    tg = live_service(sandbox)

    app, result = run_init(sandbox, tmp_path)

    assert stdout_of(app).splitlines() == [
        "wrote ecs-service-def.json: service definition of web in cluster prod",
        "wrote ecs-task-def.json: task definition app:1",
        f"wrote {tmp_path / 'ecspresso.yml'}: config",
        "next: `ecspresso diff` compares them with AWS (no output: no difference)",
    ]
    assert (result.exit_code, result.result, result.task_definition_arn.rsplit("/", 1)[-1]) == (
        0,
        "ok",
        "app:1",
    )
    assert yaml.safe_load((tmp_path / "ecspresso.yml").read_text()) == {
        "region": REGION, "cluster": "prod", "service": "web", "service_definition": "ecs-service-def.json",
        "task_definition": "ecs-task-def.json", "timeout": "10m0s",
    }  # fmt: skip
    sv = read_json(tmp_path / "ecs-service-def.json")
    assert sv["loadBalancers"] == [{"containerName": "app", "containerPort": 80, "targetGroupArn": tg}]
    assert sv["capacityProviderStrategy"] == [{"base": 1, "capacityProvider": "FARGATE_SPOT", "weight": 2},
                                              {"capacityProvider": "FARGATE", "weight": 1}]  # fmt: skip
    assert sv["serviceConnectConfiguration"]["namespace"] == NAMESPACE  # lifted from the deployment
    assert (sv["propagateTags"], sv["tags"], sv["desiredCount"]) == (
        "NONE",
        [{"key": "env", "value": "prod"}],
        2,
    )
    assert [k for k in RUNTIME_FIELDS if k in sv] == []
    td = read_json(tmp_path / "ecs-task-def.json")
    assert (td["family"], td["tags"]) == ("app", [{"key": "team", "value": "web"}])
    assert [k for k in READ_ONLY_TD_FIELDS if k in td] == []
    assert sandbox.mutating_operations() == [] and app.aws.calls == [
        "DescribeServices",
        "DescribeTaskDefinition",
    ]

    assert diff_output(sandbox, tmp_path / "ecspresso.yml") == ""


def test_init_then_diff_through_the_cli_as_a_process(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    env = {**os.environ, "AWS_ENDPOINT_URL": sandbox.url, "AWS_REGION": REGION}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ecspresso", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip

    made = cli("init", "--cluster", "prod", "--service", "web")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-2:] == [
        "wrote ecspresso.yml: config",
        "next: `ecspresso diff` compares them with AWS (no output: no difference)",
    ]
    again = cli("init", "--cluster", "prod", "--service", "web")
    assert again.returncode == 1 and "--force-overwrite" in again.stderr

    diffed = cli("diff")
    assert (diffed.returncode, diffed.stdout) == (0, ""), diffed.stderr
    assert sandbox.mutating_operations() == []


def test_ebs_volumes_lattice_placement_and_registries_round_trip(sandbox: Any, tmp_path: Path) -> None:
    """ECS reports volumeConfigurations and vpcLatticeConfigurations on the deployments only."""
    subnets, groups = default_network(sandbox)
    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName="prod")
    td = task_definition(volumes=[{"name": "data", "configuredAtLaunch": True}])
    td["containerDefinitions"][0]["mountPoints"] = [{"sourceVolume": "data", "containerPath": "/data"}]
    arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    volumes = [
        {
            "name": "data",
            "managedEBSVolume": {"roleArn": "arn:aws:iam::123456789012:role/ebs", "sizeInGiB": 10},
        }
    ]
    lattice = [{"portName": "http", "roleArn": "arn:aws:iam::123456789012:role/lattice",
                "targetGroupArn": f"arn:aws:vpc-lattice:{REGION}:123456789012:targetgroup/tg-1"}]  # fmt: skip
    ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition=arn, desiredCount=1, launchType="FARGATE",
        platformVersion="1.4.0", availabilityZoneRebalancing="ENABLED", propagateTags="TASK_DEFINITION",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups,
                                                      "assignPublicIp": "ENABLED"}},
        serviceRegistries=[{"registryArn": f"arn:aws:servicediscovery:{REGION}:123456789012:service/srv-1"}],
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        volumeConfigurations=volumes, vpcLatticeConfigurations=lattice,
    )  # fmt: skip

    run_init(sandbox, tmp_path)

    sv = read_json(tmp_path / "ecs-service-def.json")
    assert (sv["volumeConfigurations"], sv["vpcLatticeConfigurations"]) == (volumes, lattice)
    assert (sv["propagateTags"], sv["platformVersion"], sv["launchType"]) == (
        "TASK_DEFINITION",
        "1.4.0",
        "FARGATE",
    )
    assert diff_output(sandbox, tmp_path / "ecspresso.yml") == ""


def test_jsonnet_writes_jsonnet_files_and_config(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    (tmp_path / "ecspresso.yml").write_text("an older project\n")  # not a target: left alone

    app, _ = run_init(sandbox, tmp_path, jsonnet=True)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ecs-service-def.jsonnet", "ecs-task-def.jsonnet", "ecspresso.jsonnet", "ecspresso.yml",
    ]  # fmt: skip
    assert (tmp_path / "ecspresso.jsonnet").read_text() == (
        "{\n  region: 'us-east-1',\n  cluster: 'prod',\n  service: 'web',\n"
        "  service_definition: 'ecs-service-def.jsonnet',\n  task_definition: 'ecs-task-def.jsonnet',\n"
        "  timeout: '10m0s',\n}\n"
    )
    assert (tmp_path / "ecs-task-def.jsonnet").read_text().startswith("{\n  containerDefinitions: [\n")
    # `ecspresso diff` would look ecspresso.yml up first
    assert f"next: `ecspresso --config {tmp_path / 'ecspresso.jsonnet'} diff`" in stdout_of(app)
    assert diff_output(sandbox, tmp_path / "ecspresso.jsonnet") == ""


def test_sort_sorts_the_task_definition_like_ecspresso(sandbox: Any, tmp_path: Path) -> None:
    td = task_definition()
    first = td["containerDefinitions"][0]
    first["environment"] = [{"name": "Z", "value": "1"}, {"name": "A", "value": "2"}]
    td["containerDefinitions"] = [{**first, "name": "web"}, {**first, "name": "app", "essential": False}]
    live_service(sandbox, td=td)

    run_init(sandbox, tmp_path)
    as_registered = read_json(tmp_path / "ecs-task-def.json")["containerDefinitions"]
    run_init(sandbox, tmp_path, force_overwrite=True, sort=True)
    srt = read_json(tmp_path / "ecs-task-def.json")["containerDefinitions"]

    assert [c["name"] for c in as_registered] == ["web", "app"]
    assert [e["name"] for e in as_registered[0]["environment"]] == ["Z", "A"]
    assert [c["name"] for c in srt] == ["app", "web"]
    assert [e["name"] for e in srt[0]["environment"]] == ["A", "Z"]
    assert srt[0]["portMappings"] == [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]
    assert diff_output(sandbox, tmp_path / "ecspresso.yml") == ""


def test_task_definition_only_writes_the_task_definition_and_config(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)

    app, result = run_init(sandbox, tmp_path, task_definition="app:1")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["ecs-task-def.json", "ecspresso.yml"]
    assert yaml.safe_load((tmp_path / "ecspresso.yml").read_text()) == {
        "region": REGION, "cluster": "prod", "task_definition": "ecs-task-def.json", "timeout": "10m0s"
    }  # fmt: skip
    assert result.task_definition_arn.endswith(":task-definition/app:1")
    assert app.aws.calls == ["DescribeTaskDefinition"] and sandbox.mutating_operations() == []
    assert diff_output(sandbox, tmp_path / "ecspresso.yml") == ""


@pytest.mark.parametrize("jsonnet", [False, True])
def test_template_braces_in_values_survive_the_loader(sandbox: Any, tmp_path: Path, jsonnet: bool) -> None:
    td = task_definition()
    td["containerDefinitions"][0]["command"] = ["sh", "-c", "echo '{{ .Name }}' {{{x}}}"]
    td["containerDefinitions"][0]["dockerLabels"] = {"{{label}}": "{{value}}"}
    live_service(sandbox, td=td)

    run_init(sandbox, tmp_path, jsonnet=jsonnet)

    assert diff_output(sandbox, tmp_path / ("ecspresso.jsonnet" if jsonnet else "ecspresso.yml")) == ""


def test_a_symbolic_link_is_written_through(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "td.json").write_text("{}\n")
    (tmp_path / "ecs-task-def.json").symlink_to(tmp_path / "shared" / "td.json")

    run_init(sandbox, tmp_path, force_overwrite=True)

    assert (tmp_path / "ecs-task-def.json").is_symlink()
    assert read_json(tmp_path / "shared" / "td.json")["family"] == "app"


def test_a_codedeploy_service_gets_the_codedeploy_section(sandbox: Any, tmp_path: Path) -> None:
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef"
    seeded = tmp_path / "seeded"
    sv = {"deploymentController": {"type": "CODE_DEPLOY"}, "desiredCount": 1,
          "loadBalancers": [{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}]}  # fmt: skip
    sandbox.seed(make_project(seeded, service_def=sv, config_extra={"codedeploy": {}}))
    start_recording(sandbox)

    app = app_for(sandbox, tmp_path)
    init(app, InitOption(service="web"))

    config = yaml.safe_load((tmp_path / "ecspresso.yml").read_text())
    assert config["codedeploy"] == {
        "application_name": "AppECS-default-web",
        "deployment_group_name": "DgpECS-default-web",
    }
    assert sandbox.mutating_operations() == []
    assert diff_output(sandbox, tmp_path / "ecspresso.yml") == ""


# --- existing files ----------------------------------------------------------------------------------


def test_existing_files_without_a_terminal_refuse_before_any_aws_call(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    (tmp_path / "ecspresso.yml").write_text("mine\n")
    (tmp_path / "ecs-task-def.json").write_text("{}\n")
    app = app_for(sandbox, tmp_path)

    with pytest.raises(EcspressoError) as caught:
        init(app, InitOption(cluster="prod", service="web"))

    assert str(caught.value) == (
        f"ecs-task-def.json, {tmp_path / 'ecspresso.yml'} already exist and stdin is not a terminal "
        "to confirm overwriting: pass --force-overwrite to overwrite"
    )
    assert caught.value.exit_code == 1 and app.aws.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ecs-task-def.json", "ecspresso.yml"]
    assert (tmp_path / "ecspresso.yml").read_text() == "mine\n"


def test_force_overwrite_overwrites(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    (tmp_path / "ecspresso.yml").write_text("mine\n")
    os.chmod(tmp_path / "ecspresso.yml", 0o600)

    run_init(sandbox, tmp_path, force_overwrite=True)

    assert yaml.safe_load((tmp_path / "ecspresso.yml").read_text())["service"] == "web"
    assert (tmp_path / "ecspresso.yml").stat().st_mode & 0o777 == 0o600  # its permissions are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ecs-service-def.json",
        "ecs-task-def.json",
        "ecspresso.yml",
    ]  # no temporary file left behind


@pytest.mark.parametrize(("answer", "kept"), [("n", True), ("y", False)])
def test_on_a_terminal_each_existing_file_is_asked_about(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, answer: str, kept: bool
) -> None:
    live_service(sandbox)
    (tmp_path / "ecspresso.yml").write_text("mine\n")
    monkeypatch.setattr(sys, "stdin", FakeTTY(answer))

    run_init(sandbox, tmp_path)

    assert ((tmp_path / "ecspresso.yml").read_text() == "mine\n") is kept
    assert (tmp_path / "ecs-service-def.json").is_file() and (tmp_path / "ecs-task-def.json").is_file()
    assert f"Overwrite existing file {tmp_path / 'ecspresso.yml'}? [y/N]: " in capsys.readouterr().err


def test_the_question_is_injectable(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    for name in ("ecs-service-def.json", "ecs-task-def.json"):
        (tmp_path / name).write_text("mine\n")
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return "service" in question

    init(app_for(sandbox, tmp_path), InitOption(cluster="prod", service="web"), confirm=confirm)

    assert asked == [
        "Overwrite existing file ecs-service-def.json?",
        "Overwrite existing file ecs-task-def.json?",
    ]
    assert (tmp_path / "ecs-task-def.json").read_text() == "mine\n"
    assert read_json(tmp_path / "ecs-service-def.json")["desiredCount"] == 2


def test_keeping_every_file_reads_nothing_and_writes_nothing(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    for name in ("ecs-service-def.json", "ecs-task-def.json", "ecspresso.yml"):
        (tmp_path / name).write_text("mine\n")
    app = app_for(sandbox, tmp_path)

    result = init(app, InitOption(cluster="prod", service="web"), confirm=lambda question: False)

    assert (result.result, result.exit_code, app.aws.calls, stdout_of(app)) == ("no-change", 0, [], "")
    assert {p.read_text() for p in tmp_path.iterdir()} == {"mine\n"}


def test_a_file_that_cannot_be_written_leaves_nothing_written(sandbox: Any, tmp_path: Path) -> None:
    live_service(sandbox)
    (tmp_path / "blocker").write_text("a file where a directory should be\n")

    with pytest.raises(EcspressoError, match=r"^cannot write blocker/td\.json: "):
        run_init(sandbox, tmp_path, task_definition_path="blocker/td.json")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


# --- what is not there, and usage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"service": "nope"}, "service nope not found in cluster prod (--service, --cluster)"),
        ({"cluster": "nowhere"}, "cluster nowhere not found (--cluster)"),
        ({"task_definition": "app:9"}, "task definition app:9 not found (DescribeTaskDefinition app:9: "),
    ],
)
def test_what_does_not_exist_is_named_and_nothing_is_written(
    sandbox: Any, tmp_path: Path, opts: dict[str, Any], message: str
) -> None:
    live_service(sandbox)

    with pytest.raises(EcspressoError) as caught:
        run_init(sandbox, tmp_path, **opts)

    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert caught.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--service", "web", "--task-definition", "app:1"], "cannot be used together"),
        ([], "--service or --task-definition is required"),
        (
            ["--service", "web", "--config", "ecspresso.toml"],
            "the config must be a .yml, .yaml, .json or .jsonnet",
        ),
    ],
)
def test_usage_errors_exit_2_without_aws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, argv: list[str], message: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there

    code, _ = run(["init", *argv])

    assert code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the pure part (init_files) --------------------------------------------------------------------------

DESCRIBED_SERVICE: dict[str, Any] = {
    "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web", "serviceName": "web",
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "status": "ACTIVE", "desiredCount": 2,
    "runningCount": 2, "pendingCount": 0, "launchType": "FARGATE", "platformFamily": "Linux",
    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:3", "roleArn": "arn:aws:iam::1:role/r",
    "deployments": [{"status": "PRIMARY", "serviceConnectConfiguration": {"enabled": True, "namespace": "ns"}}],
    "events": [{"message": "steady"}], "taskSets": [], "createdAt": "2026-01-01T00:00:00Z", "createdBy": "me",
    "serviceRegistries": [], "currentServiceDeployment": "arn:sd", "currentServiceRevisions": [{"arn": "x"}],
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {},
            {
                "desiredCount": 2,
                "launchType": "FARGATE",
                "propagateTags": "NONE",
                "serviceConnectConfiguration": {"enabled": True, "namespace": "ns"},
            },
            id="runtime-stripped",
        ),
        pytest.param({"propagateTags": "SERVICE"}, {"propagateTags": "SERVICE"}, id="propagate-service"),
        pytest.param(
            {"propagateTags": "TASK_DEFINITION"}, {"propagateTags": "TASK_DEFINITION"}, id="propagate-td"
        ),
        pytest.param({"propagateTags": "NONE"}, {"propagateTags": "NONE"}, id="propagate-none"),
        pytest.param({"tags": []}, {"propagateTags": "NONE"}, id="no-tags"),
        pytest.param(
            {"tags": [{"key": "a", "value": "1"}]}, {"tags": [{"key": "a", "value": "1"}]}, id="tags"
        ),
        pytest.param(
            {"deploymentController": {"type": "CODE_DEPLOY"}, "deployments": []},
            {"deploymentController": {"type": "CODE_DEPLOY"}},
            id="code-deploy",
        ),
    ],
)
def test_service_definition_file(change: dict[str, Any], expected: dict[str, Any]) -> None:
    from ecspresso.init_files import service_definition_file

    out = service_definition_file({**DESCRIBED_SERVICE, **change})

    for key, value in expected.items():
        assert out[key] == value
    assert [k for k in RUNTIME_FIELDS if k in out] == []
    assert "platformFamily" not in out and "currentServiceDeployment" not in out


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        pytest.param(
            {
                "family": "app",
                "revision": 3,
                "status": "ACTIVE",
                "taskDefinitionArn": "arn",
                "compatibilities": ["EC2"],
                "requiresAttributes": [{"name": "x"}],
                "registeredAt": "t",
                "registeredBy": "me",
                "deregisteredAt": "t",
                "cpu": "256",
            },
            {"family": "app", "cpu": "256"},
            id="read-only-stripped",
        ),
        pytest.param(
            {
                "family": "app",
                "tags": [{"key": "ecspresso-py:deploy-failed", "value": "x"}, {"key": "team", "value": "a"}],
            },
            {"family": "app", "tags": [{"key": "team", "value": "a"}]},
            id="own-tags-dropped",
        ),
        pytest.param(
            {"family": "app", "tags": [{"key": "ecspresso-py:deploy-failed", "value": "x"}]},
            {"family": "app"},
            id="only-own-tags",
        ),
        pytest.param(
            {"taskDefinition": {"family": "app", "revision": 1}, "tags": [{"key": "k", "value": "v"}]},
            {"family": "app", "tags": [{"key": "k", "value": "v"}]},
            id="wrapped",
        ),
        pytest.param(
            {"family": "app", "newFieldOfNextYear": {"on": True}},
            {"family": "app", "newFieldOfNextYear": {"on": True}},
            id="unknown-kept",
        ),
    ],
)
def test_task_definition_file(described: dict[str, Any], expected: dict[str, Any]) -> None:
    from ecspresso.init_files import task_definition_file

    assert task_definition_file(described) == expected


def test_task_definition_file_sorted() -> None:
    from ecspresso.init_files import task_definition_file

    td = {"family": "f", "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2 GB",
          "requiresCompatibilities": ["FARGATE", "EC2"], "tags": [{"key": "b"}, {"key": "a"}],
          "containerDefinitions": [
              {"name": "z", "secrets": [{"name": "S2"}, {"name": "S1"}], "portMappings": [{"containerPort": 81}]},
              {"name": "a", "environment": [{"name": "B"}, {"name": "A"}]}]}  # fmt: skip

    assert task_definition_file(td, sort=True) == {
        "family": "f", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048",
        "requiresCompatibilities": ["EC2", "FARGATE"], "tags": [{"key": "a"}, {"key": "b"}],
        "containerDefinitions": [
            {"name": "a", "environment": [{"name": "A"}, {"name": "B"}]},
            {"name": "z", "secrets": [{"name": "S1"}, {"name": "S2"}],
             "portMappings": [{"containerPort": 81, "hostPort": 81}]}]}  # fmt: skip
    assert task_definition_file(td)["containerDefinitions"][0]["name"] == "z"  # not sorted without sort


@pytest.mark.parametrize(
    ("config", "td", "sv", "jsonnet", "expected"),
    [
        ("ecspresso.yml", "ecs-task-def.json", "ecs-service-def.json", False,
         ("ecspresso.yml", "ecs-task-def.json", "ecs-service-def.json")),
        ("ecspresso.yml", "ecs-task-def.json", "ecs-service-def.json", True,
         ("ecspresso.jsonnet", "ecs-task-def.jsonnet", "ecs-service-def.jsonnet")),
        ("conf/app.yaml", "td.JSON", None, True, ("conf/app.jsonnet", "td.jsonnet", None)),
        ("ecspresso.json", "td.json", None, True, ("ecspresso.json", "td.jsonnet", None)),
        ("x.jsonnet", "td.txt", "sv.jsonnet", True, ("x.jsonnet", "td.txt", "sv.jsonnet")),
    ],
)  # fmt: skip
def test_target_paths(config: str, td: str, sv: str | None, jsonnet: bool, expected: tuple[Any, ...]) -> None:
    from ecspresso.init_files import target_paths

    t = target_paths(config, td, sv, jsonnet=jsonnet)

    assert (
        str(t.config),
        str(t.task_definition),
        str(t.service_definition) if t.service_definition else None,
    ) == expected


@pytest.mark.parametrize(
    ("definition", "config", "expected"),
    [
        ("ecs-task-def.json", "ecspresso.yml", "ecs-task-def.json"),
        ("deploy/td.json", "deploy/ecspresso.yml", "td.json"),
        ("td.json", "deploy/ecspresso.yml", "../td.json"),
        ("deploy/defs/td.json", "deploy/ecspresso.yml", "defs/td.json"),
        ("/abs/td.json", "deploy/ecspresso.yml", "/abs/td.json"),
    ],
)
def test_config_reference(definition: str, config: str, expected: str) -> None:
    from pathlib import PurePath

    from ecspresso.init_files import config_reference

    assert config_reference(PurePath(definition), PurePath(config)) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.yml", "region: r\ncluster: c\ntask_definition: td.json\ntimeout: 10m0s\n"),
        (
            "c.json",
            '{\n  "region": "r",\n  "cluster": "c",\n  "task_definition": "td.json",\n  "timeout": "10m0s"\n}\n',
        ),
        (
            "c.jsonnet",
            "{\n  region: 'r',\n  cluster: 'c',\n  task_definition: 'td.json',\n  timeout: '10m0s',\n}\n",
        ),
    ],
)
def test_config_text_follows_the_extension(name: str, text: str) -> None:
    from pathlib import PurePath

    from ecspresso.init_files import config_document, config_text

    doc = config_document(
        region="r", cluster="c", service="", service_definition="", task_definition="td.json"
    )

    assert config_text(doc, PurePath(name)) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("plain", "plain"), ("{{ .X }}", "{{`{{`}} .X }}"), ("a {{{b", "a {{`{{`}}{b"), ("}} {", "}} {")],
)
def test_template_actions_are_escaped_so_the_loader_gives_them_back(text: str, escaped: str) -> None:
    from ecspresso.init_files import escape_template_actions
    from ecspresso.render import template

    assert escape_template_actions(text) == escaped
    assert template.render(escaped, template.default_funcs(), source="t") == text


def test_refusal_names_the_files_and_the_flag() -> None:
    from ecspresso.init_files import refusal

    assert refusal(["ecspresso.yml"]) == (
        "ecspresso.yml already exists and stdin is not a terminal to confirm overwriting: "
        "pass --force-overwrite to overwrite"
    )
