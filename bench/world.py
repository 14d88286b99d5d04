"""The bench's AWS: the project's sandbox, in this process, with a request recorder in front of it.

* :class:`Recorder` is WSGI middleware around the sandbox's server: it notes every request's arrival
  time (``time.monotonic``), its signing service (``ecs``, ``logs``…), its operation and the access
  key that signed it. Every tool run gets its own access key (moto answers any key with the same
  account), so requests are attributed to runs even when several tools wait at the same time.
* :class:`World` creates one service per run (own task definition family, own config files) and arms
  its rollout scenario; a hook on the simulator records the instant each armed deployment started,
  so "completed at" is that instant plus the scenario's seconds: the moment the sandbox first
  answers COMPLETED (or FAILED) to whoever asks.
* :func:`seed_revisions` puts thousands of task definition revisions straight into moto's backend.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "bench"
CONTAINER = "app"
IMAGE_REPO = "public.ecr.aws/nginx/nginx"
DESIRED = 2
SETUP_KEY = "BENCHSETUP"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
_CBOR_PATH = re.compile(r"/service/[^/]+/operation/([^/?]+)")


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic() at arrival
    key: str  # access key id: which run
    service: str  # signing name: ecs, logs, ec2 …
    operation: str


class Recorder:
    """WSGI middleware: remembers every AWS request (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.requests: list[Request] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        at = time.monotonic()
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        path = _CBOR_PATH.search(environ.get("PATH_INFO", ""))
        op = target.rsplit(".", 1)[-1] if target else (path.group(1) if path else "")
        if match and op:
            with self.lock:
                self.requests.append(Request(at, match.group(1), match.group(2), op))
        return self.app(environ, start_response)

    def of(self, key: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.key == key]


def ecs_reads(requests: list[Request]) -> list[Request]:
    """The DescribeServices-equivalent requests: ECS Describe*/List* calls."""
    return [r for r in requests if r.service == "ecs" and r.operation.startswith(("Describe", "List"))]


class Bench:
    """The in-process sandbox, its recorder and the deployment start instants."""

    def __init__(self) -> None:
        from ecspresso.sandbox import Sandbox
        from ecspresso.sandbox.simulator import SIMULATOR

        self.sandbox = Sandbox().start()
        server = self.sandbox._server  # the werkzeug server: put the recorder in front of its app
        self.recorder = Recorder(server.app)
        server.app = self.recorder
        self.armed: set[str] = set()
        self.started: dict[str, float] = {}
        real = SIMULATOR._start

        def recording_start(backend: Any, svc: Any, td_arn: str, **kw: Any) -> Any:
            rollout = real(backend, svc, td_arn, **kw)
            if kw.get("rollback_of") is None and svc.name in self.armed:
                self.armed.discard(svc.name)
                self.started[svc.name] = rollout.started  # SIMULATOR.clock is time.monotonic
            return rollout

        SIMULATOR._start = recording_start
        self.url = self.sandbox.url
        self.ecs = self.client("ecs")
        self.ec2 = self.client("ec2")
        self.network: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id=SETUP_KEY,
            aws_secret_access_key="dummy",
        )

    def reset(self) -> None:
        """Wipe the sandbox; create the VPC, subnet, security group and cluster again."""
        self.sandbox.reset()
        with self.recorder.lock:
            self.recorder.requests.clear()
        self.armed.clear()
        self.started.clear()
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = self.ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
        self.network = {
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}
        }
        self.ecs.create_cluster(clusterName=CLUSTER)

    def stop(self) -> None:
        self.sandbox.stop()


def task_definition(family: str, image: str) -> dict[str, Any]:
    return {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": EXECUTION_ROLE,
        "containerDefinitions": [
            {
                "name": CONTAINER,
                "image": image,
                "essential": True,
                "memory": 256,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            }
        ],
    }


@dataclass
class Service:
    """One service, made for one run: its name, family, config files and access key."""

    name: str
    family: str
    key: str
    dir: Path
    config: Path  # ecspresso.yml (ecspresso-py)
    td_file: Path  # the task definition to deploy, new image (ecspresso-py and the AWS action)
    image: str  # the image the run deploys
    extra: dict[str, Any] = field(default_factory=dict)


def make_service(
    bench: Bench,
    workdir: Path,
    name: str,
    *,
    scenario: dict[str, Any] | None,
    family: str | None = None,
    register: bool = True,
) -> Service:
    """Create service ``name`` (2 tasks, rolled out and stable), write its ecspresso project whose task
    definition has a new image, and arm ``scenario`` for its next deployment."""
    family = family or f"bench-{name}"
    svc_dir = workdir / name
    svc_dir.mkdir(parents=True, exist_ok=True)
    service_def = {
        "launchType": "FARGATE",
        "desiredCount": DESIRED,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "networkConfiguration": bench.network,
    }
    if register:
        td = task_definition(family, f"{IMAGE_REPO}:0")
        arn = bench.ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    else:  # seeded: the family's latest revision
        arn = bench.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["taskDefinitionArn"]
    bench.ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=arn, **service_def)
    for _ in range(20):  # the sandbox's first deployment completes after 2 polls
        svc = bench.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
        deps = svc["deployments"]
        if len(deps) == 1 and deps[0].get("rolloutState") == "COMPLETED":
            break
    else:
        raise SystemExit(f"setup: service {name} did not become stable in the sandbox")
    image = f"{IMAGE_REPO}:{name}"
    (svc_dir / "ecs-service-def.json").write_text(json.dumps(service_def, indent=2) + "\n")
    td_file = svc_dir / "ecs-task-def.json"
    td_file.write_text(json.dumps(task_definition(family, image), indent=2) + "\n")
    config = svc_dir / "ecspresso.yml"
    config.write_text(
        f"region: {REGION}\ncluster: {CLUSTER}\nservice: {name}\n"
        "service_definition: ecs-service-def.json\ntask_definition: ecs-task-def.json\ntimeout: 10m\n"
    )
    if scenario is not None:
        bench.sandbox.scenario(name, cluster=CLUSTER, **scenario)
        bench.armed.add(name)
    key = "BENCH" + re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return Service(name, family, key, svc_dir, config, td_file, image)


def seed_revisions(family: str, count: int) -> None:
    """Register ``count`` revisions of ``family`` directly in moto's backend (no HTTP: seconds, not minutes)."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[ACCOUNT][REGION]
    for n in range(1, count + 1):
        td = task_definition(family, f"{IMAGE_REPO}:{n}")
        backend.register_task_definition(
            family=family,
            container_definitions=td["containerDefinitions"],
            network_mode=td["networkMode"],
            requires_compatibilities=td["requiresCompatibilities"],
            cpu=td["cpu"],
            memory=td["memory"],
            execution_role_arn=td["executionRoleArn"],
        )


def deployed(bench: Bench, service: str) -> tuple[str, int, str]:
    """(image of the service's task definition, number of deployments, PRIMARY rolloutState)."""
    svc = bench.ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    td = bench.ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    primary = next(d for d in svc["deployments"] if d["status"] == "PRIMARY")
    return td["containerDefinitions"][0]["image"], len(svc["deployments"]), primary.get("rolloutState", "")
