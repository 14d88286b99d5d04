"""A small ecspresso project on disk plus its cluster, task definition and service in the sandbox.

Usage::

    config = make_project(tmp_path, service="web", image="nginx:1")
    seeded = seed_service(sandbox, config)          # cluster + TD app:1 + service web
    app = make_app(sandbox, config)                 # App wired to the sandbox, output captured
    ...
    assert app.reporter.stdout.getvalue() == ...

The task definition is Fargate/awsvpc with a container-level ``memory`` (moto's RunTask needs it);
the service definition's network configuration is rewritten by :func:`seed_service` (or
:func:`use_default_network`) with the sandbox's default-VPC subnet and security group, because
moto validates them and their IDs change on every reset.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"

_SESSIONS: dict[str, Any] = {}
_CLIENTS: dict[tuple[str, str], Any] = {}
MUTATING_PREFIXES = (
    "Create", "Delete", "Deregister", "Put", "Register", "Remove", "Run", "Start", "Stop",
    "Submit", "Tag", "Untag", "Update",
)  # fmt: skip


def _session() -> Any:
    """One boto3 session for the whole test run: its loaders cache the service models, so making
    a client costs milliseconds instead of ~0.1 s (sandbox state is reset between tests anyway)."""
    if "default" not in _SESSIONS:
        import boto3

        _SESSIONS["default"] = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
    return _SESSIONS["default"]


def client(sandbox: Any, service: str) -> Any:
    """A cached boto3 client on the sandbox (for arranging and inspecting state in tests)."""
    key = (sandbox.url, service)
    if key not in _CLIENTS:
        _CLIENTS[key] = _session().client(service, endpoint_url=sandbox.url, region_name=REGION)
    return _CLIENTS[key]


def task_definition(family: str = "app", image: str = "nginx:1", **extra: Any) -> dict[str, Any]:
    """A Fargate task definition in the API's lowerCamel shape."""
    td: dict[str, Any] = {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": EXECUTION_ROLE,
        "containerDefinitions": [
            {
                "name": "app",
                "image": image,
                "essential": True,
                "memory": 256,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            }
        ],
    }
    td.update(extra)
    return td


def service_definition(desired: int | None = 1, **extra: Any) -> dict[str, Any]:
    sv: dict[str, Any] = {
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-placeholder"],
                "securityGroups": ["sg-placeholder"],
                "assignPublicIp": "DISABLED",
            }
        },
    }
    if desired is not None:
        sv["desiredCount"] = desired
    sv.update(extra)
    return sv


def make_project(
    tmp_path: Path,
    *,
    service: str | None = "web",
    cluster: str = "default",
    family: str = "app",
    image: str = "nginx:1",
    desired: int | None = 1,
    task_def: dict[str, Any] | None = None,
    service_def: dict[str, Any] | None = None,
    with_service_definition: bool = True,
    config_extra: dict[str, Any] | None = None,
    name: str = "ecspresso.yml",
) -> Path:
    """Write ecspresso.yml + ecs-task-def.json (+ ecs-service-def.json) into ``tmp_path``.

    ``service=None`` (or ``""``) writes a task-definition-only project (batch jobs).
    ``task_def`` / ``service_def`` replace the generated definitions entirely.
    Returns the config path.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"region": REGION, "cluster": cluster}
    if service:
        config["service"] = service
    config["task_definition"] = "ecs-task-def.json"
    write_json(tmp_path / "ecs-task-def.json", task_def or task_definition(family, image))
    if service and with_service_definition:
        config["service_definition"] = "ecs-service-def.json"
        write_json(tmp_path / "ecs-service-def.json", service_def or service_definition(desired))
    config.update(config_extra or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")


def read_project(config_path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(config_path.read_text()))


def set_image(config_path: Path, image: str, container: int = 0) -> None:
    """Change the image of a container in the project's task definition file."""
    td_path = config_path.parent / read_project(config_path)["task_definition"]
    td = json.loads(td_path.read_text())
    td["containerDefinitions"][container]["image"] = image
    write_json(td_path, td)


def default_network(sandbox: Any) -> tuple[list[str], list[str]]:
    """(subnet IDs, security group IDs) of the sandbox's default VPC."""
    ec2 = client(sandbox, "ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return [sorted(s["SubnetId"] for s in subnets)[0]], [groups[0]["GroupId"]]


def use_default_network(sandbox: Any, config_path: Path) -> dict[str, Any] | None:
    """Rewrite the service definition's awsvpc subnets/security groups with real sandbox IDs."""
    cfg = read_project(config_path)
    if not cfg.get("service_definition"):
        return None
    sv_path = config_path.parent / cfg["service_definition"]
    sv = json.loads(sv_path.read_text())
    awsvpc = (sv.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(awsvpc, dict):
        awsvpc["subnets"], awsvpc["securityGroups"] = default_network(sandbox)
        write_json(sv_path, sv)
    return dict(sv)


@dataclass
class Seeded:
    """What :func:`seed_service` created."""

    cluster: str
    service: str
    task_definition_arn: str
    service_arn: str = ""
    service_definition: dict[str, Any] = field(default_factory=dict)


def register(sandbox: Any, config_path: Path, *, image: str | None = None, count: int = 1) -> list[str]:
    """Register ``count`` revisions of the project's task definition (optionally another image)."""
    cfg = read_project(config_path)
    td = json.loads((config_path.parent / cfg["task_definition"]).read_text())
    if image:
        td = copy.deepcopy(td)
        td["containerDefinitions"][0]["image"] = image
    ecs = client(sandbox, "ecs")
    return [ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"] for _ in range(count)]


def seed_service(
    sandbox: Any, config_path: Path, *, create_service: bool = True, revisions: int = 1
) -> Seeded:
    """Create the cluster, register the task definition (``revisions`` times) and, when the
    project has a service and ``create_service``, create the service on the newest revision."""
    cfg = read_project(config_path)
    ecs = client(sandbox, "ecs")
    cluster = cfg.get("cluster", "default")
    ecs.create_cluster(clusterName=cluster)
    sv = use_default_network(sandbox, config_path)
    arns = register(sandbox, config_path, count=revisions)
    seeded = Seeded(
        cluster=cluster, service=cfg.get("service", ""), task_definition_arn=arns[-1] if arns else ""
    )
    if create_service and seeded.service and arns:
        params: dict[str, Any] = dict(sv or {})
        params.setdefault("desiredCount", 1)
        out = ecs.create_service(
            cluster=cluster, serviceName=seeded.service, taskDefinition=arns[-1], **params
        )["service"]
        seeded.service_arn = out["serviceArn"]
        seeded.service_definition = sv or {}
    return seeded


def run_task(sandbox: Any, config_path: Path, task_definition_arn: str) -> str:
    """Start a standalone task of ``task_definition_arn`` (PENDING, RUNNING at the next two
    DescribeTasks, then STOPPED with exit code 0: see ecspresso.sandbox.run_task)."""
    cfg = read_project(config_path)
    subnets, groups = default_network(sandbox)
    out = client(sandbox, "ecs").run_task(
        cluster=cfg.get("cluster", "default"),
        taskDefinition=task_definition_arn,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}},
    )
    return str(out["tasks"][0]["taskArn"])


def schedule(sandbox: Any, rule: str, task_definition_arn: str, *, cluster: str = "default") -> None:
    """An EventBridge rule with an ECS target, as ecschedule creates (pinned or family-only ARN)."""
    events = client(sandbox, "events")
    events.put_rule(Name=rule, ScheduleExpression="rate(1 hour)")
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": f"{rule}-target",
                "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsEventsRole",
                "EcsParameters": {"TaskDefinitionArn": task_definition_arn, "TaskCount": 1},
            }
        ],
    )


def make_app(sandbox: Any, config_path: Path, **global_opts: Any) -> Any:
    """An :class:`ecspresso.app.App` on the sandbox whose stdout is a StringIO
    (``app.reporter.stdout.getvalue()``) and whose waits and pauses take no time."""
    from ecspresso.app import App, GlobalOptions
    from ecspresso.report import Reporter

    global_opts.setdefault("poll_interval", 0.0)
    opts = GlobalOptions(config=str(config_path), **global_opts)
    return App(opts, reporter=Reporter(stdout=io.StringIO()), aws=sandbox.aws(session=_session()))


def stdout_of(app: Any) -> str:
    return str(app.reporter.stdout.getvalue())


def start_recording(sandbox: Any) -> None:
    """Forget the operations the sandbox received so far (seeding), if it records them."""
    if hasattr(sandbox, "operations"):
        sandbox.operations.clear()


def mutating_calls(app: Any, sandbox: Any = None) -> list[str]:
    """Mutating AWS operations: those the tool's clients made (``app.aws.calls``) plus, when the
    sandbox records what it receives, those it received since :func:`start_recording`."""
    ops = [op for op in app.aws.calls if op.startswith(MUTATING_PREFIXES)]
    if sandbox is not None and hasattr(sandbox, "mutating_operations"):
        ops += [f"server:{op}" for op in sandbox.mutating_operations()]
    return ops


class FakeTTY(io.StringIO):
    """A stdin that claims to be a terminal and answers a prompt with ``answer``."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer + "\n")

    def isatty(self) -> bool:
        return True


def td_status(sandbox: Any, name: str) -> str:
    return str(
        client(sandbox, "ecs").describe_task_definition(taskDefinition=name)["taskDefinition"]["status"]
    )
