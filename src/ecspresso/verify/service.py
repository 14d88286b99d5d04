"""The service definition's checks (SKIP without one) and the cluster's.

* awsvpc task definition => ``networkConfiguration.awsvpcConfiguration`` is required;
* each load balancer: its target group exists (elbv2 DescribeTargetGroups), ``containerName`` and
  ``containerPort`` are a port mapping of the task definition, and for blue/green
  ``advancedConfiguration`` its role trusts ``ecs.amazonaws.com`` and its alternate target group
  exists;
* each ``deploymentConfiguration.lifecycleHooks`` entry: its role trusts ``ecs.amazonaws.com`` and
  its Lambda function exists (GetFunction);
* EBS volume and VPC Lattice roles trust ``ecs.amazonaws.com``; a Lattice ``portName`` is a named
  port mapping;
* the cluster exists and is ACTIVE (DescribeClusters).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ecspresso.errors import AwsError
from ecspresso.verify.context import VerifyContext, call
from ecspresso.verify.core import Ng, Skip
from ecspresso.verify.roles import ECS, check_role


def port_mappings(task_definition: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """container name -> its port mappings (pure)."""
    return {
        str(c.get("name") or ""): list(c.get("portMappings") or [])
        for c in task_definition.get("containerDefinitions") or []
    }


def _ports_text(mappings: list[dict[str, Any]]) -> str:
    return ", ".join(f"{pm.get('containerPort')}/{pm.get('protocol') or 'tcp'}" for pm in mappings) or "none"


def container_port_problem(task_definition: dict[str, Any], name: str, port: Any) -> str | None:
    """Why ``name``:``port`` is not a port mapping of the task definition, or None (pure)."""
    containers = port_mappings(task_definition)
    if name not in containers:
        return f"container {name} is not in the task definition (containers: {', '.join(sorted(containers)) or 'none'})"
    if any(pm.get("containerPort") == port for pm in containers[name]):
        return None
    return (
        f"container {name} has no port mapping for containerPort {port} "
        f"(the task definition maps {_ports_text(containers[name])})"
    )


def verify_service_definition(ctx: VerifyContext) -> str | None:
    sv = ctx.service_definition
    if sv is None:
        raise Skip("no service definition")
    td = ctx.task_definition
    if td.get("networkMode") == "awsvpc" and not (sv.get("networkConfiguration") or {}).get(
        "awsvpcConfiguration"
    ):
        raise Ng(
            "networkConfiguration.awsvpcConfiguration is required: the task definition's networkMode is awsvpc"
        )
    for i, lb in enumerate(sv.get("loadBalancers") or []):
        ctx.verifier.check(f"LoadBalancer[{i}]", partial(verify_load_balancer, ctx, lb))
    hooks = (sv.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
    for i, hook in enumerate(hooks):
        ctx.verifier.check(f"LifecycleHook[{i}]", partial(verify_lifecycle_hook, ctx, hook))
    for i, vc in enumerate(sv.get("volumeConfigurations") or []):
        role = (vc.get("managedEBSVolume") or {}).get("roleArn")
        if role:
            ctx.verifier.check(f"VolumeConfigurations[{i}]", partial(_role_only, ctx, str(role)))
    for i, lc in enumerate(sv.get("vpcLatticeConfigurations") or []):
        ctx.verifier.check(f"VpcLatticeConfiguration[{i}]", partial(verify_lattice, ctx, lc))
    return None


def _role_only(ctx: VerifyContext, role: str) -> None:
    check_role(ctx, "RoleArn", role, ECS)


def verify_load_balancer(ctx: VerifyContext, lb: dict[str, Any]) -> str | None:
    tg = str(lb.get("targetGroupArn") or "")
    if not tg:
        if lb.get("loadBalancerName"):
            raise Skip(f"Classic Load Balancer {lb['loadBalancerName']} is not checked")
        raise Ng("targetGroupArn is required")
    check_target_group(ctx, tg)
    advanced = lb.get("advancedConfiguration") or {}
    if advanced:
        if advanced.get("roleArn"):
            check_role(ctx, "RoleArn", str(advanced["roleArn"]), ECS)
        else:
            raise Ng("advancedConfiguration.roleArn is required")
        if advanced.get("alternateTargetGroupArn"):
            check_target_group(ctx, str(advanced["alternateTargetGroupArn"]))
        else:
            raise Ng("advancedConfiguration.alternateTargetGroupArn is required")
    name, port = str(lb.get("containerName") or ""), lb.get("containerPort")
    ctx.verifier.check(f"Container[{name}:{port}]", lambda: _container_port(ctx, name, port))
    return None


def _container_port(ctx: VerifyContext, name: str, port: Any) -> None:
    problem = container_port_problem(ctx.task_definition, name, port)
    if problem:
        raise Ng(problem)


def check_target_group(ctx: VerifyContext, arn: str) -> None:
    ctx.verifier.check(
        f"TargetGroup[{arn}]", lambda: verify_target_group(ctx, arn), key=("target-group", arn)
    )


def verify_target_group(ctx: VerifyContext, arn: str) -> str | None:
    elbv2 = ctx.client("elbv2")
    try:
        out = call(ctx, f"DescribeTargetGroups {arn}", elbv2.describe_target_groups, TargetGroupArns=[arn])
    except AwsError as exc:
        if exc.code == "TargetGroupNotFound":
            raise Ng(f"target group {arn} does not exist") from exc
        raise Ng(str(exc)) from exc
    if not out.get("TargetGroups"):
        raise Ng(f"target group {arn} does not exist")
    return None


def verify_lifecycle_hook(ctx: VerifyContext, hook: dict[str, Any]) -> str | None:
    if hook.get("roleArn"):
        check_role(ctx, "RoleArn", str(hook["roleArn"]), ECS)
    else:
        raise Ng("roleArn is required")
    target = str(hook.get("hookTargetArn") or "")
    if not target:
        raise Ng("hookTargetArn is required")
    ctx.verifier.check(f"Function[{target}]", lambda: verify_function(ctx, target), key=("function", target))
    return None


def verify_function(ctx: VerifyContext, arn: str) -> str | None:
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else None
    lam = ctx.client("lambda", region)
    try:
        call(ctx, f"GetFunction {arn}", lam.get_function, FunctionName=arn)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise Ng(f"Lambda function {arn} does not exist") from exc
        raise Ng(str(exc)) from exc
    return None


def verify_lattice(ctx: VerifyContext, lc: dict[str, Any]) -> str | None:
    if lc.get("roleArn"):
        check_role(ctx, "RoleArn", str(lc["roleArn"]), ECS)
    port_name = str(lc.get("portName") or "")
    if not port_name:
        raise Ng("portName is required")
    named = {
        str(pm.get("name"))
        for pms in port_mappings(ctx.task_definition).values()
        for pm in pms
        if pm.get("name")
    }
    if port_name not in named:
        raise Ng(
            f"portName {port_name} is not the name of a port mapping (named: {', '.join(sorted(named)) or 'none'})"
        )
    return None


def verify_cluster(ctx: VerifyContext) -> str | None:
    cluster = ctx.app.config.cluster
    ecs = ctx.client("ecs")
    out = call(ctx, f"DescribeClusters {cluster}", ecs.describe_clusters, clusters=[cluster])
    found = out.get("clusters") or []
    if not found:
        raise Ng(f"cluster {cluster} is not found")
    status = found[0].get("status")
    if status and status != "ACTIVE":
        raise Ng(f"cluster {cluster} is {status}")
    return None
