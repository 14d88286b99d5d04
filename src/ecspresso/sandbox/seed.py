"""``--seed``: create the cluster, task definition and service an ecspresso config describes.

The config and definitions are read with the project's own loader (``ecspresso.app.App``: templates,
Jsonnet and plugins). If that is not importable, a minimal reader handles YAML/JSON configs and
JSON/Jsonnet definitions with ``{{ env }}``/``{{ must_env }}`` templates only.

The service is created in the config's region and polled until its first deployment has completed,
so the sandbox starts ready to deploy. moto validates subnets and security groups against its own
EC2; the seeded service keeps the config's network configuration without that check.

A CODE_DEPLOY service (``deploymentController``) is polled until its first task set serves, and
gets a CodeDeploy application and deployment group (the config's ``codedeploy`` names, else
``AppECS-<cluster>-<service>`` / ``DgpECS-<cluster>-<service>`` as the ECS console names them):
BLUE_GREEN with traffic control, the config's ``deployment_config_name`` (else ECSAllAtOnce), the
target group pair ``<blue>`` / ``<blue with blue→green>`` from the service's first load balancer,
no automatic rollback (a deploy asks for it) and no termination wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CONFIG_NAMES = ("ecspresso.yml", "ecspresso.yaml", "ecspresso.json", "ecspresso.jsonnet")
_TEMPLATE_RE = re.compile(r"{{-?\s*(must_env|env)\s+((?:`[^`]*`|\"[^\"]*\"|\s)+?)\s*-?}}")
_ARG_RE = re.compile(r"`([^`]*)`|\"([^\"]*)\"")
_MAX_POLLS = 50


class SeedError(Exception):
    """The config cannot be seeded."""


@dataclass
class Seed:
    region: str | None
    cluster: str
    service: str
    task_definition: dict[str, Any]
    service_definition: dict[str, Any] | None
    codedeploy: dict[str, str] | None = None


def find_config(path: Path) -> Path:
    if path.is_dir():
        for name in _CONFIG_NAMES:
            if (path / name).is_file():
                return path / name
        raise SeedError(f"no ecspresso config ({', '.join(_CONFIG_NAMES)}) in {path}")
    if not path.is_file():
        raise SeedError(f"config {path} not found")
    return path


def seed(sandbox: Any, path: Path) -> Seed:
    """Load ``path`` and create what it describes in ``sandbox``."""
    config = find_config(path)
    try:
        spec = load_with_project(config, sandbox)
    except ImportError:
        spec = load_minimal(config)
    create(sandbox, spec)
    return spec


def load_with_project(config: Path, sandbox: Any) -> Seed:
    from ecspresso.app import App, GlobalOptions
    from ecspresso.config import load_config

    # the same ECSPRESSO_EXT_STR / ECSPRESSO_EXT_CODE variables the CLI reads
    opts = GlobalOptions(
        config=str(config),
        ext_str=[v for v in [os.environ.get("ECSPRESSO_EXT_STR", "")] if v],
        ext_code=[v for v in [os.environ.get("ECSPRESSO_EXT_CODE", "")] if v],
    )
    probe = App(opts)
    cfg = load_config(config, ext_str=probe.ext_str, ext_code=probe.ext_code)
    app = App(opts, aws=sandbox.aws(region=cfg.region or sandbox.region), config=cfg)
    if not cfg.task_definition:
        raise SeedError(f"{config}: task_definition is not set")
    return Seed(
        cfg.region,
        cfg.cluster,
        cfg.service,
        app.load_task_definition(),
        app.load_service_definition(),
        dict(cfg.codedeploy),
    )


def load_minimal(config: Path) -> Seed:
    """Fallback reader: YAML/JSON/Jsonnet config, ``env``/``must_env`` templates only."""
    doc = _read(config)
    if not isinstance(doc, dict):
        raise SeedError(f"{config}: not a mapping")
    base = config.parent
    td_path = doc.get("task_definition")
    if not td_path:
        raise SeedError(f"{config}: task_definition is not set")
    td = _read(base / td_path)
    td = td.get("taskDefinition", td) if isinstance(td, dict) else td
    sv = _read(base / doc["service_definition"]) if doc.get("service_definition") else None
    codedeploy = doc.get("codedeploy") if isinstance(doc.get("codedeploy"), dict) else None
    return Seed(
        doc.get("region"), doc.get("cluster") or "default", doc.get("service") or "", td, sv, codedeploy
    )


def _read(path: Path) -> Any:
    import yaml

    if path.suffix.lower() == ".jsonnet":
        import _gojsonnet

        text = _gojsonnet.evaluate_file(str(path))
    else:
        text = path.read_text(encoding="utf-8")
    text = render_env_templates(text, str(path))
    return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)


def render_env_templates(text: str, source: str) -> str:
    """Substitute ``{{ env `NAME` `default` }}`` and ``{{ must_env `NAME` }}``; refuse anything else."""

    def sub(m: re.Match[str]) -> str:
        args = [a if a is not None else b for a, b in _ARG_RE.findall(m.group(2))]
        name = args[0] if args else ""
        if m.group(1) == "must_env":
            if name not in os.environ:
                raise SeedError(f"{source}: environment variable {name} is not defined")
            return os.environ[name]
        return os.environ.get(name, args[1] if len(args) > 1 else "")

    out = _TEMPLATE_RE.sub(sub, text)
    if "{{" in out:
        raise SeedError(f"{source}: only env/must_env templates are supported without ecspresso.app")
    return out


def create(sandbox: Any, spec: Seed) -> None:
    """Cluster, task definition, service; then poll until the first deployment has completed."""
    if not spec.service:
        raise SeedError("the config names no service")
    region = spec.region or sandbox.region
    ecs = sandbox.client("ecs", region_name=region)
    model = ecs.meta.service_model
    ecs.create_cluster(clusterName=spec.cluster)
    td = _known(model, "RegisterTaskDefinition", spec.task_definition)
    td_arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    sv = _known(model, "CreateService", spec.service_definition or {})
    network = sv.pop("networkConfiguration", None)
    sv.update(cluster=spec.cluster, serviceName=spec.service, taskDefinition=td_arn)
    sv.setdefault("desiredCount", 1)
    _create_target_groups(region, sv)
    ecs.create_service(**sv)
    if network:
        _set_network(region, spec.cluster, spec.service, network)
    for _ in range(_MAX_POLLS):
        svc = ecs.describe_services(cluster=spec.cluster, services=[spec.service])["services"][0]
        deployments = svc.get("deployments") or []
        task_sets = svc.get("taskSets") or []
        if (svc.get("deploymentController") or {}).get("type") == "CODE_DEPLOY":
            if all(ts.get("stabilityStatus") == "STEADY_STATE" for ts in task_sets):
                _create_codedeploy(sandbox, region, spec, svc)
                return
        elif not deployments or deployments[0].get("rolloutState") == "COMPLETED":
            return
    raise SeedError(f"service {spec.service} did not reach a steady state while seeding")


def _create_codedeploy(sandbox: Any, region: str, spec: Seed, svc: dict[str, Any]) -> None:
    """The CodeDeploy application and deployment group of a CODE_DEPLOY service."""
    names = spec.codedeploy or {}
    app = names.get("application_name") or f"AppECS-{spec.cluster}-{spec.service}"
    group = names.get("deployment_group_name") or f"DgpECS-{spec.cluster}-{spec.service}"
    config = names.get("deployment_config_name") or "CodeDeployDefault.ECSAllAtOnce"
    cd = sandbox.client("codedeploy", region_name=region)
    region_, account = svc["serviceArn"].split(":")[3:5]
    lbs = svc.get("loadBalancers") or []
    blue = (lbs[0].get("targetGroupArn") or "").split(":targetgroup/")[-1].split("/")[0] if lbs else ""
    green = blue.replace("blue", "green") if "blue" in blue else f"{blue}-green"
    load_balancer_info = (
        {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": blue}, {"name": green}],
                    "prodTrafficRoute": {
                        "listenerArns": [
                            f"arn:aws:elasticloadbalancing:{region_}:{account}:listener/app/{spec.service}/"
                            "0a1b2c3d4e5f6070/0a1b2c3d4e5f6071"
                        ]
                    },
                }
            ]
        }
        if blue
        else {}
    )
    with contextlib.suppress(cd.exceptions.ApplicationAlreadyExistsException):
        cd.create_application(applicationName=app, computePlatform="ECS")
    cd.create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        deploymentConfigName=config,
        serviceRoleArn=f"arn:aws:iam::{account}:role/ecsCodeDeployRole",
        ecsServices=[{"clusterName": spec.cluster, "serviceName": spec.service}],
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
        },
        **({"loadBalancerInfo": load_balancer_info} if load_balancer_info else {}),
    )


def _known(model: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    members = model.operation_model(operation).input_shape.members
    return {k: v for k, v in params.items() if k in members and v is not None}


def _create_target_groups(region: str, sv: dict[str, Any]) -> None:
    """The target groups the service definition names (blue and green), under those very ARNs, so
    that reading their health answers as it does on AWS (moto would give them ARNs of its own)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    elbv2 = elbv2_backends[DEFAULT_ACCOUNT_ID][region]
    vpc = next(iter(ec2_backends[DEFAULT_ACCOUNT_ID][region].vpcs.values()))
    for lb in sv.get("loadBalancers") or []:
        advanced = lb.get("advancedConfiguration") or {}
        for arn in (lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")):
            if not arn or arn in elbv2.target_groups or ":targetgroup/" not in arn:
                continue
            name = arn.split(":targetgroup/", 1)[1].split("/", 1)[0]
            group = elbv2.create_target_group(name, protocol="HTTP", port=int(lb.get("containerPort") or 80),
                                              vpc_id=vpc.id, target_type="ip")  # fmt: skip
            elbv2.target_groups.pop(group.arn)
            group.arn = arn
            elbv2.target_groups[arn] = group


def _set_network(region: str, cluster: str, service: str, network: dict[str, Any]) -> None:
    """Store the network configuration without moto's subnet/security group validation."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    from ecspresso.sandbox.service_deployments import state

    svc = ecs_backends[DEFAULT_ACCOUNT_ID][region].services[f"{cluster}:{service}"]
    svc.network_configuration = network
    for dep in svc.deployments:
        dep["networkConfiguration"] = network
    for revision in state(svc).revisions.values():
        revision["networkConfiguration"] = network
    for task_set in svc.task_sets:
        task_set.network_configuration = network
