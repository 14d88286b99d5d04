"""A correct ``verify`` setup in the sandbox (roles, ECR image, secrets, log group, target group,
cluster) and its project files, for tests/test_cmd_verify.py and tests/test_verify_images.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import ACCOUNT, REGION, client, make_app, make_project, stdout_of, task_definition
from ecspresso.commands.verify import VerifyOption, verify
from ecspresso.errors import EcspressoError

EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-task"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:v1"
SSM_VALUE = "s3cr3t-ssm-value-42"
SM_VALUE = "s3cr3t-sm-value-43"
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
               "digest": "sha256:" + "a" * 64},
    "layers": [],
})  # fmt: skip


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": [service]}, "Action": "sts:AssumeRole"}]})  # fmt: skip


class Setup:
    """A correct project and everything it refers to, in the sandbox."""

    def __init__(self, sandbox: Any, tmp_path: Path) -> None:
        self.sandbox, self.dir = sandbox, tmp_path / "project"
        self.cluster = "default"
        iam = client(sandbox, "iam")
        iam.create_role(
            RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com")
        )
        iam.create_role(RoleName="app-task", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
        ecr = client(sandbox, "ecr")
        ecr.create_repository(repositoryName="app")
        ecr.put_image(repositoryName="app", imageManifest=MANIFEST, imageTag="v1")
        client(sandbox, "ssm").put_parameter(Name="/app/token", Value=SSM_VALUE, Type="SecureString")
        self.secret_arn = client(sandbox, "secretsmanager").create_secret(
            Name="db", SecretString=json.dumps({"password": SM_VALUE})
        )["ARN"]
        client(sandbox, "logs").create_log_group(logGroupName="/ecs/app")
        ec2 = client(sandbox, "ec2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.tg_arn = client(sandbox, "elbv2").create_target_group(
            Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        client(sandbox, "ecs").create_cluster(clusterName="default")
        self.td = task_definition(image=IMAGE, taskRoleArn=TASK_ROLE)
        self.container["secrets"] = [
            {"name": "TOKEN", "valueFrom": "/app/token"},
            {"name": "DB_PASSWORD", "valueFrom": f"{self.secret_arn}:password::"},
        ]
        self.container["logConfiguration"] = {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/app", "awslogs-region": REGION, "awslogs-stream-prefix": "web"}}  # fmt: skip
        self.sv: dict[str, Any] | None = {
            "launchType": "FARGATE",
            "desiredCount": 1,
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}
            },
            "loadBalancers": [{"targetGroupArn": self.tg_arn, "containerName": "app", "containerPort": 80}],
        }

    @property
    def container(self) -> dict[str, Any]:
        container: dict[str, Any] = self.td["containerDefinitions"][0]
        return container

    def write(self) -> Path:
        return make_project(self.dir, task_def=self.td, service_def=self.sv, cluster=self.cluster,
                            with_service_definition=self.sv is not None)  # fmt: skip

    def run(self, **opts: Any) -> tuple[Any, str]:
        """verify in process: (result or the error, stdout)."""
        app = make_app(self.sandbox, self.write(), **opts.pop("global_opts", {}))
        self.sandbox.operations.clear()
        try:
            result: Any = verify(app, VerifyOption(**opts))
        except EcspressoError as exc:
            result = exc
        return result, stdout_of(app)

    def writes(self) -> list[str]:
        """What the sandbox received that is not a read (AssumeRole gives credentials, changes nothing)."""
        return [op for op in self.sandbox.mutating_operations() if op != "AssumeRole"]


@pytest.fixture
def setup(sandbox: Any, tmp_path: Path) -> Setup:
    return Setup(sandbox, tmp_path)


def failed(result: Any, out: str, item: str, message: str) -> None:
    assert isinstance(result, EcspressoError), out
    assert result.exit_code == 1
    assert item in str(result) and message in str(result), str(result)
    assert f"--> [NG] {message}" in out
