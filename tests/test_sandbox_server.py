"""The sandbox as a server: HTTP control API, --seed, and `python -m ecspresso.sandbox` in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import pytest

TD = {
    "family": "demo",
    "containerDefinitions": [{"name": "app", "image": "{{ must_env `SANDBOX_IMAGE` }}", "memory": 128}],
}
SERVICE_DEF = {
    "desiredCount": 2,
    "launchType": "FARGATE",
    "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"]}},
}


def post(url, route, body=None):
    req = urllib.request.Request(
        f"{url}/_sandbox/{route}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def get(url, route):
    with urllib.request.urlopen(f"{url}/_sandbox/{route}", timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_IMAGE", "nginx:1.27")
    (tmp_path / "ecspresso.yml").write_text(
        "region: ap-northeast-1\ncluster: demo\nservice: web\n"
        "task_definition: ecs-task-def.json\nservice_definition: ecs-service-def.json\n"
    )
    (tmp_path / "ecs-task-def.json").write_text(json.dumps(TD))
    (tmp_path / "ecs-service-def.json").write_text(json.dumps(SERVICE_DEF))
    return tmp_path


def test_http_control_api(sandbox):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "a", "image": "x", "memory": 8}]
    )
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="app", desiredCount=1)

    body = {"cluster": "c", "service": "web", "kind": "fail", "polls": 1, "seconds": None, "rollback": False}
    assert post(sandbox.url, "scenario", {**body, "reason": "CannotPullContainerError: nope"}) == {"ok": True}
    ecs.update_service(cluster="c", service="web", forceNewDeployment=True)
    dep = ecs.describe_services(cluster="c", services=["web"])["services"][0]["deployments"][0]
    assert dep["rolloutState"] == "FAILED"

    fault = {
        "operation": "ListClusters",
        "code": "ThrottlingException",
        "status": 400,
        "times": 1,
        "delay": 0,
    }
    post(sandbox.url, "fault", fault)
    with pytest.raises(Exception, match="ThrottlingException"):
        sandbox.client("ecs", config=_no_retry()).list_clusters()
    ops = get(sandbox.url, "operations")
    assert ops["operations"][-1] == "ListClusters" and "UpdateService" in ops["mutating"]

    post(sandbox.url, "fault", {"operation": "ListClusters", "code": None, "delay": 0.2})  # latency only
    started = time.monotonic()
    assert ecs.list_clusters()["clusterArns"]
    assert time.monotonic() - started >= 0.2

    post(sandbox.url, "reset")
    assert ecs.list_clusters()["clusterArns"] == []
    assert sandbox.operations == ["ListClusters"]

    for route, bad in (("scenario", {"service": "web", "kind": "explode"}), ("fault", {"code": "x"})):
        with pytest.raises(urllib.error.HTTPError) as err:
            post(sandbox.url, route, bad)
        assert err.value.code == 400 and "error" in json.loads(err.value.read())
    with pytest.raises(urllib.error.HTTPError) as err:
        post(sandbox.url, "nope")
    assert err.value.code == 404


def test_seed_creates_a_stable_service_from_an_ecspresso_config(sandbox, config_dir):
    sandbox.seed(config_dir)
    assert sandbox.operations == []  # seeding is not the tool's traffic
    ecs = sandbox.client("ecs", region_name="ap-northeast-1")
    svc = ecs.describe_services(cluster="demo", services=["web"])["services"][0]
    assert svc["deployments"][0]["rolloutState"] == "COMPLETED" and svc["runningCount"] == 2
    assert svc["launchType"] == "FARGATE"
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-0123456789abcdef0"]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == "nginx:1.27"

    sandbox.reset()  # not kept: gone
    assert sandbox.client("ecs", region_name="ap-northeast-1").list_clusters()["clusterArns"] == []


def test_seed_minimal_reader(config_dir, monkeypatch):
    from ecspresso.sandbox.seed import SeedError, load_minimal, render_env_templates

    spec = load_minimal(config_dir / "ecspresso.yml")
    assert (spec.region, spec.cluster, spec.service) == ("ap-northeast-1", "demo", "web")
    assert spec.task_definition["containerDefinitions"][0]["image"] == "nginx:1.27"
    assert spec.service_definition == SERVICE_DEF
    monkeypatch.delenv("SANDBOX_IMAGE")
    assert render_env_templates('{{ env "SANDBOX_IMAGE" `busybox` }}', "x") == "busybox"
    with pytest.raises(SeedError, match="SANDBOX_IMAGE"):
        render_env_templates("{{ must_env `SANDBOX_IMAGE` }}", "x")
    with pytest.raises(SeedError, match="only env/must_env"):
        render_env_templates("{{ tfstate `aws_subnet.a.id` }}", "x")


def test_sandbox_refuses_non_loopback_hosts():
    from ecspresso.sandbox import Sandbox

    with pytest.raises(ValueError, match="loopback"):
        Sandbox(host="0.0.0.0")


def test_cli_subprocess_serves_until_sigterm(config_dir):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecspresso.sandbox", "--port", "0", "--seed", str(config_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()  # printed once ready (after seeding)
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0"), proc.stderr.read()
        ecs = boto3.client(
            "ecs",
            endpoint_url=url,
            region_name="ap-northeast-1",
            aws_access_key_id="dummy",
            aws_secret_access_key="dummy",
        )
        post(url, "scenario", {"cluster": "demo", "service": "web", "kind": "stable", "polls": 3})
        svc = ecs.update_service(cluster="demo", service="web", forceNewDeployment=True)["service"]
        assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
        states = [ecs.describe_services(cluster="demo", services=["web"])["services"][0] for _ in range(3)]
        assert [s["deployments"][0]["rolloutState"] for s in states] == [
            "IN_PROGRESS",
            "IN_PROGRESS",
            "COMPLETED",
        ]
        post(url, "reset")  # the --seed config is seeded again
        assert ecs.describe_services(cluster="demo", services=["web"])["services"][0]["status"] == "ACTIVE"
        assert get(url, "operations")["operations"] == ["DescribeServices"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert "stopped" in stderr


def test_cli_refuses_a_public_host():
    from ecspresso.sandbox.__main__ import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0"])
    assert parse_args(["--port", "0"]).port == 0


def _no_retry():
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1})


def test_package_import_is_cheap():
    code = "import sys, ecspresso.sandbox; print(any(m.split('.')[0] in ('moto', 'boto3', 'werkzeug') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
