"""``verify``: a correct setup passes; each broken item is NG by name, stops the run, exit 1; SKIP
and WARN where verify cannot or must not check; the only writes are the log test line; secret
values never printed. Images: tests/test_verify_images.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from action_harness import run_step
from ecs_fixtures import ACCOUNT, REGION, client
from verify_fixtures import EXEC_ROLE, IMAGE, SM_VALUE, SSM_VALUE, TASK_ROLE, Setup, failed, setup, trust

__all__ = ["setup"]  # the fixture


def expected_tree(s: Setup, *, logs: str = "") -> str:
    sm = f"{s.secret_arn}:password::"
    log_label = f"awslogs-group=/ecs/app,awslogs-region={REGION},awslogs-stream-prefix=web"
    return "\n".join([
        "  TaskDefinition",
        f"    ExecutionRole[{EXEC_ROLE}]",
        "    --> [OK]",
        f"    TaskRole[{TASK_ROLE}]",
        "    --> [OK]",
        "    ContainerDefinition[app]",
        f"      Image[{IMAGE}]",
        "      --> [OK]",
        "      Secret TOKEN[/app/token]",
        "      --> [OK]",
        f"      Secret DB_PASSWORD[{sm}]",
        "      --> [OK]",
        f"      LogConfiguration[{log_label}]",
        f"      --> [OK] {logs}",
        "    --> [OK]",
        "  --> [OK]",
        "  ServiceDefinition",
        "    LoadBalancer[0]",
        f"      TargetGroup[{s.tg_arn}]",
        "      --> [OK]",
        "      Container[app:80]",
        "      --> [OK]",
        "    --> [OK]",
        "  --> [OK]",
        "  Cluster",
        "  --> [OK]",
        "",
    ])  # fmt: skip


def test_a_correct_setup_passes_with_every_item_ok(setup: Setup) -> None:
    result, out = setup.run()
    assert not isinstance(result, Exception), result
    assert result.result == "ok" and result.exit_code == 0
    stream = next(line.split(" wrote to /ecs/app ")[1] for line in out.splitlines() if "wrote to" in line)
    assert stream.startswith("web/app/ecspresso-verify-")
    assert out == expected_tree(setup, logs=f"wrote to /ecs/app {stream}")
    assert "[OK]" in out and not any(s in out for s in ("[NG]", "[WARN]", "[SKIP]"))
    assert setup.writes() == ["CreateLogStream", "PutLogEvents"]  # the log test line, nothing else
    events = client(setup.sandbox, "logs").get_log_events(logGroupName="/ecs/app", logStreamName=stream)
    assert [e["message"] for e in events["events"]] == ["This is a verify message by ecspresso"]


def test_missing_ssm_parameter_is_ng_and_stops(setup: Setup) -> None:
    client(setup.sandbox, "ssm").delete_parameter(Name="/app/token")
    result, out = setup.run()
    failed(result, out, "TaskDefinition > ContainerDefinition[app] > Secret TOKEN[/app/token]",
            "SSM parameter /app/token is not found")  # fmt: skip
    assert "    --> [NG] Secret TOKEN[/app/token] is NG\n  --> [NG] Secret TOKEN[/app/token] is NG\n" in out
    # nothing after the first NG ran: not the next secret, the logs, the service or the cluster
    assert "DB_PASSWORD" not in out and "Cluster" not in out
    ops = setup.sandbox.operations
    assert "GetSecretValue" not in ops and "CreateLogStream" not in ops and "DescribeClusters" not in ops


def test_missing_secrets_manager_secret_is_ng(setup: Setup) -> None:
    sm = client(setup.sandbox, "secretsmanager")
    sm.delete_secret(SecretId=setup.secret_arn, ForceDeleteWithoutRecovery=True)
    result, out = setup.run()
    failed(result, out, "Secret DB_PASSWORD", f"secret {setup.secret_arn} is not found in Secrets Manager")
    assert "LogConfiguration" not in out


def test_missing_json_key_of_a_secret_is_ng(setup: Setup) -> None:
    setup.container["secrets"][1]["valueFrom"] = f"{setup.secret_arn}:passwd::"
    result, out = setup.run()
    failed(
        result,
        out,
        "Secret DB_PASSWORD",
        f"secret {setup.secret_arn} is not a JSON object with the key passwd",
    )


def test_missing_execution_role_is_ng(setup: Setup) -> None:
    client(setup.sandbox, "iam").delete_role(RoleName="ecsTaskExecutionRole")
    result, out = setup.run()
    failed(result, out, f"ExecutionRole[{EXEC_ROLE}]", "role ecsTaskExecutionRole does not exist")
    assert "TaskRole" not in out and "BatchGetImage" not in setup.sandbox.operations


def test_role_without_the_ecs_tasks_trust_is_ng(setup: Setup) -> None:
    iam = client(setup.sandbox, "iam")
    iam.update_assume_role_policy(RoleName="app-task", PolicyDocument=trust("ec2.amazonaws.com"))
    result, out = setup.run()
    failed(result, out, f"TaskRole[{TASK_ROLE}]", "role app-task does not trust ecs-tasks.amazonaws.com")


def test_wrong_container_port_is_ng_naming_container_port_and_the_task_definition(setup: Setup) -> None:
    assert setup.sv is not None
    setup.sv["loadBalancers"][0]["containerPort"] = 8080
    result, out = setup.run()
    failed(result, out, "ServiceDefinition > LoadBalancer[0] > Container[app:8080]",
            "container app has no port mapping for containerPort 8080 (the task definition maps 80/tcp)")  # fmt: skip
    assert "Cluster" not in out


def test_missing_target_group_is_ng(setup: Setup) -> None:
    client(setup.sandbox, "elbv2").delete_target_group(TargetGroupArn=setup.tg_arn)
    result, out = setup.run()
    failed(result, out, f"TargetGroup[{setup.tg_arn}]", f"target group {setup.tg_arn} does not exist")
    assert "Container[app:80]" not in out


def test_blue_green_role_needs_the_ecs_trust_and_hook_functions_must_exist(setup: Setup) -> None:
    client(setup.sandbox, "iam").create_role(
        RoleName="ecs-bg", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com")
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/ecs-bg"
    assert setup.sv is not None
    setup.sv["loadBalancers"][0]["advancedConfiguration"] = {
        "alternateTargetGroupArn": setup.tg_arn, "productionListenerRule": "arn:rule", "roleArn": role}  # fmt: skip
    result, out = setup.run(put_logs=False)
    failed(result, out, f"LoadBalancer[0] > RoleArn[{role}]", "role ecs-bg does not trust ecs.amazonaws.com")

    client(setup.sandbox, "iam").update_assume_role_policy(
        RoleName="ecs-bg", PolicyDocument=trust("ecs.amazonaws.com")
    )
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook"
    setup.sv["deploymentConfiguration"] = {"strategy": "BLUE_GREEN", "lifecycleHooks": [
        {"hookTargetArn": function, "roleArn": role, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}  # fmt: skip
    result, out = setup.run(put_logs=False)
    failed(
        result, out, f"LifecycleHook[0] > Function[{function}]", f"Lambda function {function} does not exist"
    )
    assert f"    LifecycleHook[0]\n      RoleArn[{role}]\n      --> [OK](cached)\n" in out
    assert f"      TargetGroup[{setup.tg_arn}]\n      --> [OK](cached)\n" in out  # the alternate one


def test_missing_cluster_is_ng(setup: Setup) -> None:
    setup.cluster = "staging"  # never created
    result, out = setup.run()
    failed(result, out, "Cluster", "cluster staging is not found")


def test_inactive_cluster_is_ng(setup: Setup) -> None:
    client(setup.sandbox, "ecs").delete_cluster(cluster="default")
    result, out = setup.run()
    failed(result, out, "Cluster", "cluster default is INACTIVE")


def test_awsvpc_without_network_configuration_is_ng(setup: Setup) -> None:
    assert setup.sv is not None
    del setup.sv["networkConfiguration"]
    result, out = setup.run()
    failed(result, out, "ServiceDefinition", "networkConfiguration.awsvpcConfiguration is required")


def test_without_a_service_definition_the_service_checks_skip(setup: Setup) -> None:
    setup.sv = None
    result, out = setup.run()
    assert result.result == "ok"
    assert "  ServiceDefinition\n  --> [SKIP] no service definition\n  Cluster\n  --> [OK]\n" in out


def test_no_get_secrets_skips_and_reads_no_secret(setup: Setup) -> None:
    client(setup.sandbox, "ssm").delete_parameter(Name="/app/token")  # not read, so not NG
    result, out = setup.run(get_secrets=False)
    assert result.result == "ok", out
    assert "--> [SKIP] not read (--no-get-secrets): ssm /app/token" in out
    assert f"--> [SKIP] not read (--no-get-secrets): secretsmanager {setup.secret_arn}" in out
    assert not {"GetParameters", "GetSecretValue"} & set(setup.sandbox.operations)


def test_no_put_logs_skips_and_verify_writes_nothing(setup: Setup) -> None:
    result, out = setup.run(put_logs=False)
    assert result.result == "ok", out
    assert "--> [SKIP] putting logs to /ecs/app (--no-put-logs)" in out
    assert setup.writes() == []


def test_put_logs_writes_only_the_log_line_and_creates_the_group_when_asked(setup: Setup) -> None:
    options = setup.container["logConfiguration"]["options"]
    options.update({"awslogs-group": "/ecs/new", "awslogs-create-group": "true"})
    result, out = setup.run()
    assert result.result == "ok", out
    assert setup.writes() == ["CreateLogGroup", "CreateLogStream", "PutLogEvents"]
    streams = client(setup.sandbox, "logs").describe_log_streams(logGroupName="/ecs/new")["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == ["web/app/ecspresso-verify"]


def test_create_group_denied_to_the_tools_credentials_is_a_warning_and_the_stream_still_tells(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.sandbox.fault("sts:AssumeRole", "AccessDenied", status=403, times=-1)
    setup.sandbox.fault("logs:CreateLogGroup", "AccessDeniedException", times=-1)
    setup.container["logConfiguration"]["options"]["awslogs-create-group"] = "true"
    result, out = setup.run()
    assert result.result == "ok", out
    assert (
        "cannot create log group /ecs/app: cannot verify: CreateLogGroup /ecs/app" in capsys.readouterr().err
    )
    assert "      --> [OK] wrote to /ecs/app web/app/ecspresso-verify-" in out


def test_missing_log_group_is_ng(setup: Setup) -> None:
    setup.container["logConfiguration"]["options"]["awslogs-group"] = "/ecs/none"
    result, out = setup.run()
    failed(result, out, "LogConfiguration[", f"log group /ecs/none does not exist in {REGION}")


def test_access_denied_with_the_tools_credentials_is_warn_and_verify_goes_on(setup: Setup) -> None:
    setup.sandbox.fault("iam:GetRole", "AccessDenied", status=403, times=-1)
    result, out = setup.run()
    assert result.result == "ok", out
    assert out.count("--> [WARN] cannot verify: GetRole") == 2  # execution and task roles
    assert "Cluster\n  --> [OK]" in out
    assert "2 WARN" in result.message


def test_secret_denied_to_the_assumed_execution_role_is_ng(setup: Setup) -> None:
    setup.sandbox.fault("ssm:GetParameters", "AccessDeniedException", times=-1)
    result, out = setup.run()
    failed(
        result, out, "Secret TOKEN", "the execution role may not do this, and the tasks would fail the same"
    )


def test_secret_denied_without_the_execution_role_is_warn(setup: Setup) -> None:
    setup.sandbox.fault("sts:AssumeRole", "AccessDenied", status=403, times=-1)
    setup.sandbox.fault("ssm:GetParameters", "AccessDeniedException", times=-1)
    result, out = setup.run()
    assert result.result == "ok", out
    assert "      Secret TOKEN[/app/token]\n      --> [WARN] cannot verify: GetParameters /app/token" in out


def test_the_cache_checks_a_role_an_image_and_a_secret_once(setup: Setup) -> None:
    setup.td["taskRoleArn"] = EXEC_ROLE
    setup.td["containerDefinitions"].append(
        {k: v for k, v in setup.container.items() if k not in ("portMappings", "logConfiguration")}
        | {"name": "sidecar"}
    )
    result, out = setup.run()
    assert result.result == "ok", out
    assert f"    TaskRole[{EXEC_ROLE}]\n    --> [OK](cached)" in out
    assert "      Secret TOKEN[/app/token]\n      --> [OK](cached)" in out
    assert out.count("--> [OK](cached)") == 4  # the role, the image, two secrets
    ops = setup.sandbox.operations
    assert ops.count("GetRole") == 1 and ops.count("BatchGetImage") == 1 and ops.count("GetParameters") == 1

    result, out = setup.run(cache=False)
    assert "(cached)" not in out
    assert setup.sandbox.operations.count("BatchGetImage") == 2


def test_json_log_format_prints_one_json_line_per_check(setup: Setup) -> None:
    result, out = setup.run(put_logs=False, global_opts={"log_format": "json"})
    assert result.result == "ok", out
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1] == {"verify": "Cluster", "path": ["Cluster"], "result": "OK"}
    assert {"verify": "Secret TOKEN[/app/token]", "result": "OK",
            "path": ["TaskDefinition", "ContainerDefinition[app]", "Secret TOKEN[/app/token]"]} in lines  # fmt: skip
    skipped = [line for line in lines if line["result"] == "SKIP"]
    assert [line["error"] for line in skipped] == ["putting logs to /ecs/app (--no-put-logs)"]
    assert len(lines) == out.count("\n") == 13


# -- secrets never printed, the CLI and the Action --------------------------------------------------------


def test_secret_values_are_never_printed_even_with_debug(setup: Setup, monkeypatch: pytest.MonkeyPatch,
                                                          capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from ecspresso.cli import run

    monkeypatch.setenv("AWS_ENDPOINT_URL", setup.sandbox.url)
    setup.container["secrets"][1]["valueFrom"] = f"{setup.secret_arn}:passwd::"  # NG, after reading it
    code, _ = run(["--config", str(setup.write()), "--debug", "verify"])
    out, err = capfd.readouterr()
    assert code == 1 and "Secret TOKEN[/app/token]\n      --> [OK]" in out
    assert "FAILED. verify TaskDefinition > ContainerDefinition[app] > Secret DB_PASSWORD" in err
    for value in (SSM_VALUE, SM_VALUE):
        assert value not in out and value not in err


def test_cli_subprocess_names_the_broken_item_and_exits_1(setup: Setup, tmp_path: Path) -> None:
    client(setup.sandbox, "ssm").delete_parameter(Name="/app/token")
    env = {"AWS_ENDPOINT_URL": setup.sandbox.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": REGION, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "ecspresso", "--config", str(setup.write()), "verify"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "--> [NG] SSM parameter /app/token is not found" in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        "FAILED. verify TaskDefinition > ContainerDefinition[app] > Secret TOKEN[/app/token]: "
        "SSM parameter /app/token is not found"
    )


def test_the_action_runs_verify_before_a_deploy(setup: Setup, tmp_path: Path) -> None:
    setup.write()
    setup.sandbox.operations.clear()
    step = run_step(setup.dir, setup.sandbox, tmp_path, command="verify", args="--no-put-logs")
    assert step.code == 0, step.raw
    assert step.outputs["result"] == "ok"
    assert any("Cluster" in line for line in step.log.lines)
    assert not [a for a in step.log.annotations if a.level == "error"]
    assert setup.writes() == []
    checks = step.summary.split("<summary>Checks</summary>", 1)[1]  # the tree, in the job summary
    assert "Cluster" in checks and "--> [OK]" in checks
