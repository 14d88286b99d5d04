"""Definition normalisation: key case, API JSON, describe/diff/update/create projections."""

from __future__ import annotations

import copy
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecspresso import normalize as n

COMPAT = Path(__file__).parent / "compat"
UTC = datetime.UTC


def load(name: str) -> Any:
    return json.loads((COMPAT / name).read_text(encoding="utf-8"))


def ecs_shapes() -> dict[str, Any]:
    from botocore.loaders import Loader

    shapes: dict[str, Any] = Loader().load_service_model("ecs", "service-2")["shapes"]
    return shapes


@pytest.fixture
def future_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A botocore model that knows a newer ``fooBar`` parameter on the relevant inputs."""
    shapes = copy.deepcopy(ecs_shapes())
    shapes["FooBarShape"] = {"type": "structure", "members": {"x": {"shape": "Integer"}}}
    for op in ("RegisterTaskDefinitionRequest", "UpdateServiceRequest", "CreateServiceRequest"):
        shapes[op]["members"]["fooBar"] = {"shape": "FooBarShape"}
    monkeypatch.setattr(n, "_ecs_shapes", lambda: shapes)


# --------------------------------------------------------------------------- model-derived constants


def test_data_map_keys_are_all_map_and_document_members_of_the_model() -> None:
    shapes = ecs_shapes()
    opaque = {
        name
        for name, shape in shapes.items()
        if shape["type"] == "map" or shape.get("document") or shape["type"] == "document"
    }
    members = {
        member
        for shape in shapes.values()
        if shape["type"] == "structure"
        for member, ref in shape["members"].items()
        if ref["shape"] in opaque
    }
    assert members == n.DATA_MAP_KEYS


def test_describe_only_fields_cover_the_model() -> None:
    shapes = ecs_shapes()
    output_only = set(shapes["TaskDefinition"]["members"]) - set(
        shapes["RegisterTaskDefinitionRequest"]["members"]
    )
    assert output_only <= n.DESCRIBE_ONLY_TASK_DEFINITION_FIELDS
    assert not n.DESCRIBE_ONLY_TASK_DEFINITION_FIELDS & set(
        shapes["RegisterTaskDefinitionRequest"]["members"]
    )


def test_update_service_fields_exist_in_the_model() -> None:
    assert set(n.UPDATE_SERVICE_FIELDS) <= set(ecs_shapes()["UpdateServiceRequest"]["members"])


def test_botocore_is_not_imported_by_render_paths() -> None:
    code = (
        "import sys\nfrom ecspresso import normalize as n\n"
        "n.to_api_json(n.normalize_keys({'Family': 'x', 'ContainerDefinitions': []}))\n"
        "n.unwrap_task_definition({'taskDefinition': {}}); n.strip_describe_only({'revision': 1})\n"
        "assert 'botocore' not in sys.modules, 'botocore imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- normalize_keys


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"Family": "a", "ContainerDefinitions": []}, {"family": "a", "containerDefinitions": []}),
        ({"family": "a"}, {"family": "a"}),
        (
            {"ContainerDefinitions": [{"Name": "app", "DockerLabels": {"Com.Example": "x", "Foo": "y"}}]},
            {"containerDefinitions": [{"name": "app", "dockerLabels": {"Com.Example": "x", "Foo": "y"}}]},
        ),
        (
            {"LogConfiguration": {"LogDriver": "awslogs", "Options": {"Awslogs-Group": "g"}}},
            {"logConfiguration": {"logDriver": "awslogs", "options": {"Awslogs-Group": "g"}}},
        ),
        (
            {"FirelensConfiguration": {"Type": "fluentbit", "Options": {"Enable-ECS-Log-Metadata": "true"}}},
            {"firelensConfiguration": {"type": "fluentbit", "options": {"Enable-ECS-Log-Metadata": "true"}}},
        ),
        (
            {"DockerVolumeConfiguration": {"DriverOpts": {"Type": "nfs"}, "Labels": {"Team": "a"}}},
            {"dockerVolumeConfiguration": {"driverOpts": {"Type": "nfs"}, "labels": {"Team": "a"}}},
        ),
        (
            {"LifecycleHooks": [{"HookDetails": {"Nested": {"Key": [1]}}}]},
            {"lifecycleHooks": [{"hookDetails": {"Nested": {"Key": [1]}}}]},
        ),
        ({"Tags": [{"Key": "Env", "Value": "Prod"}]}, {"tags": [{"key": "Env", "value": "Prod"}]}),
        ({"FooBar": {"BazQux": 1}}, {"fooBar": {"bazQux": 1}}),  # unknown to botocore: kept
        ([{"A": None}], [{"a": None}]),
    ],
)
def test_normalize_keys(given: Any, expected: Any) -> None:
    original = copy.deepcopy(given)
    assert n.normalize_keys(given) == expected
    assert given == original  # not mutated


def test_pascal_case_file_equals_lower_camel_file() -> None:
    lower = load("td-plain.json")

    def pascal(obj: Any, data: bool = False) -> Any:
        if isinstance(obj, dict):
            return {
                (k if data else k[:1].upper() + k[1:]): pascal(v, k in n.DATA_MAP_KEYS)
                for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [pascal(v) for v in obj]
        return obj

    upper = pascal(lower)
    assert "ContainerDefinitions" in upper
    assert upper["ContainerDefinitions"][0]["DockerLabels"] == {"name": "katsubushi"}
    assert n.normalize_keys(upper) == n.normalize_keys(lower)
    assert n.task_definition_for_diff(upper) == n.task_definition_for_diff(lower)


# --------------------------------------------------------------------------- drop_empty / to_api_json


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"a": None, "b": [], "c": {}, "d": 0, "e": "", "f": False}, {"c": {}, "d": 0, "e": "", "f": False}),
        ({"a": {"b": {"c": None, "d": []}}}, {"a": {"b": {}}}),
        ({"a": [None, [], {"b": None, "c": 1}]}, {"a": [None, [], {"c": 1}]}),
        ({"dockerLabels": {"K": None}}, {"dockerLabels": {}}),
        ([{"a": []}], [{}]),
        ("x", "x"),
    ],
)
def test_drop_empty(given: Any, expected: Any) -> None:
    assert n.drop_empty(given) == expected


def test_to_api_json_matches_ecspresso_marshal_json_for_api() -> None:
    # ecspresso json_test.go "no transform"
    given = {"FooBarBaz": "foo", "Options": {"Foo": "xxx"}, "Nested": {"FooBar": "foobar"}}
    expected = json.dumps(
        {"fooBarBaz": "foo", "nested": {"fooBar": "foobar"}, "options": {"Foo": "xxx"}}, indent=2
    )
    assert n.to_api_json(given) == expected + "\n"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"b": 1, "a": None, "c": []}, '{\n  "b": 1\n}\n'),
        ({"z": {}, "y": [1, 2]}, '{\n  "y": [\n    1,\n    2\n  ],\n  "z": {}\n}\n'),
        ({"name": "日本語 ü"}, '{\n  "name": "日本語 ü"\n}\n'),
        ({"cpu": 256.0, "ratio": 0.5}, '{\n  "cpu": 256,\n  "ratio": 0.5\n}\n'),
        (
            {"t": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},
            '{\n  "t": "2024-01-02T03:04:05+00:00"\n}\n',
        ),
        ({"fooBar": {"x": 1}}, '{\n  "fooBar": {\n    "x": 1\n  }\n}\n'),
        ({}, "{}\n"),
    ],
)
def test_to_api_json(given: Any, expected: str) -> None:
    assert n.to_api_json(given) == expected


# --------------------------------------------------------------------------- describe-only / unwrap


def test_strip_describe_only() -> None:
    td = {
        "family": "web",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        "revision": 3,
        "status": "ACTIVE",
        "requiresAttributes": [{"name": "ecs.capability.task-eni"}],
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": "2024-01-01T00:00:00Z",
        "registeredBy": "arn:aws:iam::1:user/me",
        "containerDefinitions": [{"name": "app", "status": "kept: not top-level"}],
    }
    cleaned, removed = n.strip_describe_only(td)
    assert cleaned == {
        "family": "web",
        "containerDefinitions": [{"name": "app", "status": "kept: not top-level"}],
    }
    assert sorted(removed) == sorted(
        [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy",
        ]
    )
    assert "revision" in td  # input untouched


@pytest.mark.parametrize(
    ("doc", "td", "ignored"),
    [
        ({"family": "a"}, {"family": "a"}, []),
        ({"taskDefinition": {"family": "a"}}, {"family": "a"}, []),
        (
            {"taskDefinition": {"family": "a"}, "tags": [{"key": "k", "value": "v"}]},
            {"family": "a", "tags": [{"key": "k", "value": "v"}]},
            [],
        ),
        ({"taskDefinition": {"family": "a"}, "tags": []}, {"family": "a"}, []),
        (
            {
                "taskDefinition": {"family": "a", "tags": [{"key": "in", "value": "1"}]},
                "tags": [{"key": "out"}],
            },
            {"family": "a", "tags": [{"key": "in", "value": "1"}]},
            ["tags"],
        ),
        (
            {"taskDefinition": {"family": "a"}, "ResponseMetadata": {"RequestId": "x"}, "extra": 1},
            {"family": "a"},
            ["ResponseMetadata", "extra"],
        ),
        (
            {"TaskDefinition": {"family": "a"}, "Tags": [{"key": "k"}]},
            {"family": "a", "tags": [{"key": "k"}]},
            [],
        ),
    ],
)
def test_unwrap_task_definition(doc: dict[str, Any], td: dict[str, Any], ignored: list[str]) -> None:
    assert n.unwrap_task_definition(doc) == (td, ignored)


# --------------------------------------------------------------------------- task_definition_for_diff


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("td.json", "td-plain.json"),
        ("td-in-tags.json", "td-plain-in-tags.json"),
    ],
)
def test_compat_task_definitions_normalise_equal(left: str, right: str) -> None:
    a, b = n.task_definition_for_diff(load(left)), n.task_definition_for_diff(load(right))
    assert a == b
    assert n.to_api_json(a) == n.to_api_json(b)
    assert a != n.task_definition_for_diff(load("ecs-task-def.json"))  # a different one stays different


def test_tags_are_kept_and_sorted() -> None:
    td = n.task_definition_for_diff(load("td-in-tags.json"))
    assert td["tags"] == [{"key": "TagKey", "value": "TagValue"}]
    assert "status" not in td


def test_describe_task_definition_output_equals_minimal_local_file() -> None:
    local = {
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "0.25 vCPU",
        "memory": "0.5 GB",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "essential": True,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            }
        ],
        "tags": [{"key": "z", "value": "1"}, {"key": "a", "value": "2"}],
    }
    remote = {
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "nginx:1.27",
                    "cpu": 0,
                    "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                    "essential": True,
                    "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "mountPoints": [],
                    "volumesFrom": [],
                    "systemControls": [],
                }
            ],
            "family": "web",
            "networkMode": "awsvpc",
            "revision": 7,
            "volumes": [],
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "registeredAt": datetime.datetime(2024, 5, 1, tzinfo=UTC),
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/ci",
        },
        "tags": [{"key": "a", "value": "2"}, {"key": "z", "value": "1"}],
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    assert n.task_definition_for_diff(remote) == n.task_definition_for_diff(local)


def test_ecspresso_sort_task_definition_case() -> None:
    # ecspresso diff_test.go testTaskDefinition1 / testTaskDefinition2
    td1 = {
        "cpu": "0.25 vCPU",
        "memory": "1 GB",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "debian:buster",
                "environment": [{"name": "TZ", "value": "UTC"}, {"name": "LANG", "value": "en_US"}],
            },
            {"cpu": 0, "name": "web", "image": "nginx:latest"},
        ],
        "proxyConfiguration": {
            "containerName": "envoy",
            "properties": [
                {"name": "ProxyIngressPort", "value": "15000"},
                {"name": "ProxyEgressPort", "value": "15001"},
            ],
        },
        "tags": [{"key": "AppVersion", "value": "v1"}, {"key": "Environment", "value": "Dev"}],
    }
    td2 = {
        "cpu": "256",
        "memory": "1024",
        "containerDefinitions": [
            {"name": "web", "image": "nginx:latest"},
            {
                "name": "app",
                "image": "debian:buster",
                "environment": [{"name": "LANG", "value": "en_US"}, {"name": "TZ", "value": "UTC"}],
            },
        ],
        "volumes": [],
        "proxyConfiguration": {
            "containerName": "envoy",
            "properties": [
                {"name": "ProxyEgressPort", "value": "15001"},
                {"name": "ProxyIngressPort", "value": "15000"},
            ],
        },
        "tags": [{"key": "Environment", "value": "Dev"}, {"key": "AppVersion", "value": "v1"}],
    }
    assert n.to_api_json(n.task_definition_for_diff(td1)) == n.to_api_json(n.task_definition_for_diff(td2))


@pytest.mark.parametrize(
    ("given", "cpu"),
    [("256", "256"), ("0.25 vCPU", "256"), ("0.5vcpu", "512"), ("0.5 vCPU", "512"), ("1 vCPU", "1024"),
     ("4 vcpu", "4096"), (1024, "1024"), ("bogus vCPU", "bogus vCPU")],
)  # fmt: skip
def test_cpu_units(given: Any, cpu: str) -> None:
    assert n.task_definition_for_diff({"family": "f", "cpu": given})["cpu"] == cpu


@pytest.mark.parametrize(
    ("given", "memory"),
    [("512", "512"), ("0.5 GB", "512"), ("2 GB", "2048"), ("4GB", "4096"), (2048, "2048")],
)
def test_memory_units(given: Any, memory: str) -> None:
    assert n.task_definition_for_diff({"family": "f", "memory": given})["memory"] == memory


@pytest.mark.parametrize(
    ("network_mode", "mapping", "expected"),
    [
        ("awsvpc", {"containerPort": 8080}, {"containerPort": 8080, "hostPort": 8080}),
        ("awsvpc", {"containerPort": 8080, "hostPort": 8080}, {"containerPort": 8080, "hostPort": 8080}),
        ("bridge", {"containerPort": 8080}, {"containerPort": 8080}),
        (None, {"containerPort": 8080}, {"containerPort": 8080}),
    ],
)
def test_awsvpc_host_port_filled(network_mode: str | None, mapping: dict[str, Any], expected: Any) -> None:
    td: dict[str, Any] = {"family": "f", "containerDefinitions": [{"name": "a", "portMappings": [mapping]}]}
    if network_mode:
        td["networkMode"] = network_mode
    assert n.task_definition_for_diff(td)["containerDefinitions"][0]["portMappings"] == [expected]


def test_order_insensitive_lists_are_sorted() -> None:
    td = {
        "family": "f",
        "requiresCompatibilities": ["FARGATE", "EC2"],
        "placementConstraints": [
            {"type": "memberOf", "expression": "b"},
            {"type": "memberOf", "expression": "a"},
        ],
        "volumes": [{"name": "v2"}, {"name": "v1"}],
        "containerDefinitions": [
            {
                "name": "b",
                "secrets": [{"name": "S2", "valueFrom": "x"}, {"name": "S1", "valueFrom": "y"}],
                "mountPoints": [
                    {"sourceVolume": "v2", "containerPath": "/b"},
                    {"sourceVolume": "v1", "containerPath": "/a"},
                ],
                "volumesFrom": [{"sourceContainer": "z"}, {"sourceContainer": "y"}],
                "portMappings": [{"containerPort": 9000}, {"containerPort": 80}],
            },
            {"name": "a"},
        ],
    }
    out = n.task_definition_for_diff(td)
    assert out["requiresCompatibilities"] == ["EC2", "FARGATE"]
    assert [p["expression"] for p in out["placementConstraints"]] == ["a", "b"]
    assert [v["name"] for v in out["volumes"]] == ["v1", "v2"]
    assert [c["name"] for c in out["containerDefinitions"]] == ["a", "b"]
    b = out["containerDefinitions"][1]
    assert [s["name"] for s in b["secrets"]] == ["S1", "S2"]
    assert [m["sourceVolume"] for m in b["mountPoints"]] == ["v1", "v2"]
    assert [v["sourceContainer"] for v in b["volumesFrom"]] == ["y", "z"]
    assert [p["containerPort"] for p in b["portMappings"]] == [80, 9000]
    assert (
        out["containerDefinitions"][0]["cpu"] == 0
    )  # Go value-typed default, as DescribeTaskDefinition returns


def test_unknown_task_definition_field_passes_through() -> None:
    td = {"family": "f", "fooBar": {"x": 1}, "revision": 3}
    out = n.task_definition_for_diff(td)
    assert out["fooBar"] == {"x": 1}
    assert "revision" not in out
    assert '"fooBar"' in n.to_api_json(td)


def test_future_task_definition_field_in_model_passes_through(future_model: None) -> None:
    assert n.task_definition_for_diff({"family": "f", "fooBar": {"x": 1}})["fooBar"] == {"x": 1}


# --------------------------------------------------------------------------- services: diff projection


def describe_services_element() -> dict[str, Any]:
    """A DescribeServices ``services[0]`` as boto3 returns it today for a plain Fargate service."""
    created = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    network = {
        "awsvpcConfiguration": {
            "subnets": ["subnet-bbbb", "subnet-aaaa"],
            "securityGroups": ["sg-2", "sg-1"],
            "assignPublicIp": "DISABLED",
        }
    }
    return {
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/default/web",
        "serviceName": "web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/default",
        "loadBalancers": [],
        "serviceRegistries": [],
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "platformFamily": "Linux",
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {
                "enable": False,
                "rollback": False,
                "resetOnHealthyTask": True,
                "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50},
            },
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {"alarmNames": [], "enable": False, "rollback": False},
            "strategy": "ROLLING",
            "bakeTimeInMinutes": 0,
        },
        "deployments": [
            {
                "id": "ecs-svc/1234567890",
                "status": "PRIMARY",
                "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "desiredCount": 2,
                "pendingCount": 0,
                "runningCount": 2,
                "failedTasks": 0,
                "createdAt": created,
                "updatedAt": created,
                "launchType": "FARGATE",
                "platformVersion": "1.4.0",
                "platformFamily": "Linux",
                "networkConfiguration": network,
                "rolloutState": "COMPLETED",
                "rolloutStateReason": "ECS deployment ecs-svc/1234567890 completed.",
            }
        ],
        "roleArn": "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        "events": [
            {"id": "e1", "createdAt": created, "message": "(service web) has reached a steady state."}
        ],
        "createdAt": created,
        "placementConstraints": [],
        "placementStrategy": [],
        "networkConfiguration": network,
        "healthCheckGracePeriodSeconds": 0,
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "tags": [{"key": "env", "value": "prod"}, {"key": "app", "value": "web"}],
        "createdBy": "arn:aws:iam::123456789012:role/deploy",
        "enableECSManagedTags": False,
        "propagateTags": "NONE",
        "enableExecuteCommand": False,
        "availabilityZoneRebalancing": "DISABLED",
    }


MINIMAL_LOCAL: dict[str, Any] = {
    "launchType": "FARGATE",
    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-aaaa", "subnet-bbbb"], "securityGroups": ["sg-1", "sg-2"]}},
    "tags": [{"key": "app", "value": "web"}, {"key": "env", "value": "prod"}],
}  # fmt: skip


def for_diff_pair(remote: dict[str, Any], local: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r = n.strip_unmanaged(n.service_definition_for_diff(remote, remote=True), local)
    return r, n.service_definition_for_diff(local)


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(copy.deepcopy(changes))
    return out


REMOTE = describe_services_element()
FULL_DC = REMOTE["deploymentConfiguration"]
HOOK_REMOTE = {
    "targetType": "AWS_LAMBDA",
    "hookTargetArn": "arn:aws:lambda:us-east-1:1:function:hook",
    "roleArn": "arn:aws:iam::1:role/hook",
    "lifecycleStages": ["POST_SCALE_UP"],
    "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 1440},
}


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        pytest.param(REMOTE, MINIMAL_LOCAL, id="describe-services-vs-minimal"),
        pytest.param(REMOTE, with_changes(MINIMAL_LOCAL, DesiredCount=2), id="pascal-desired-count"),
        pytest.param(
            REMOTE,
            with_changes(MINIMAL_LOCAL, deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False}}),
            id="1082-circuit-breaker-defaults",
        ),
        pytest.param(
            with_changes(REMOTE, deploymentConfiguration={**FULL_DC, "strategy": "BLUE_GREEN"}),
            with_changes(
                MINIMAL_LOCAL,
                deploymentConfiguration={
                    "bakeTimeInMinutes": 0,
                    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                    "strategy": "BLUE_GREEN",
                },
            ),
            id="894-max-min-percent-defaults",
        ),
        pytest.param(
            with_changes(REMOTE, deploymentConfiguration={**FULL_DC, "lifecycleHooks": [HOOK_REMOTE]}),
            with_changes(
                MINIMAL_LOCAL,
                deploymentConfiguration={
                    "lifecycleHooks": [{k: v for k, v in HOOK_REMOTE.items() if k not in ("targetType", "timeoutConfiguration")}]
                },
            ),
            id="1082-lifecycle-hook-defaults",
        ),
        pytest.param(
            with_changes(
                REMOTE,
                deploymentConfiguration={
                    **FULL_DC,
                    "earlySuccessCriteria": {"enable": False, "healthyPercent": 100, "sourceServiceRevisionCleanup": "BLOCKING"},
                },
            ),
            with_changes(MINIMAL_LOCAL, deploymentConfiguration={"earlySuccessCriteria": {"enable": False}}),
            id="1082-early-success-defaults",
        ),
        pytest.param(
            with_changes(
                REMOTE, launchType=None, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
            ),
            with_changes(MINIMAL_LOCAL, launchType=None, platformVersion="LATEST",
                         capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]),
            id="capacity-provider-base-zero",
        ),
        pytest.param(
            with_changes(
                REMOTE,
                deployments=[
                    {**REMOTE["deployments"][0], "serviceConnectConfiguration": {"enabled": True, "namespace": "ns"}},
                    {"status": "ACTIVE", "serviceConnectConfiguration": {"enabled": True, "namespace": "old"}},
                ],
            ),
            with_changes(MINIMAL_LOCAL, serviceConnectConfiguration={"enabled": True, "namespace": "ns"}),
            id="service-connect-from-primary-deployment",
        ),
        pytest.param(
            with_changes(
                REMOTE,
                deploymentController={"type": "CODE_DEPLOY"},
                loadBalancers=[{"targetGroupArn": "arn:tg/green", "containerName": "app", "containerPort": 80}],
            ),
            with_changes(
                MINIMAL_LOCAL,
                deploymentController={"type": "CODE_DEPLOY"},
                loadBalancers=[{"targetGroupArn": "arn:tg/blue", "containerName": "app", "containerPort": 80}],
            ),
            id="943-code-deploy-target-group-ignored",
        ),
        pytest.param(
            with_changes(REMOTE, schedulingStrategy="DAEMON", deploymentConfiguration={"maximumPercent": 100, "minimumHealthyPercent": 0}),
            with_changes(MINIMAL_LOCAL, schedulingStrategy="DAEMON", placementStrategy=[{"type": "spread", "field": "x"}]),
            id="daemon-defaults-and-no-placement-strategy",
        ),
    ],
)  # fmt: skip
def test_service_compares_equal(remote: dict[str, Any], local: dict[str, Any]) -> None:
    r, lo = for_diff_pair(remote, local)
    assert r == lo
    assert n.to_api_json(r) == n.to_api_json(lo)


@pytest.mark.parametrize(
    ("remote", "local", "key"),
    [
        pytest.param(REMOTE, with_changes(MINIMAL_LOCAL, desiredCount=3), "desiredCount", id="desired-count"),
        pytest.param(REMOTE, with_changes(MINIMAL_LOCAL, enableExecuteCommand=True), "enableExecuteCommand", id="exec"),
        pytest.param(
            REMOTE,
            with_changes(MINIMAL_LOCAL, deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}}),
            "deploymentConfiguration",
            id="circuit-breaker-enabled",
        ),
        pytest.param(
            with_changes(
                REMOTE,
                deployments=[{**REMOTE["deployments"][0], "serviceConnectConfiguration": {"enabled": True, "namespace": "ns"}}],
            ),
            MINIMAL_LOCAL,
            "serviceConnectConfiguration",
            id="service-connect-removed",
        ),
        pytest.param(
            with_changes(REMOTE, loadBalancers=[{"targetGroupArn": "arn:tg/a", "containerName": "app", "containerPort": 80}]),
            MINIMAL_LOCAL,
            "loadBalancers",
            id="load-balancer-removed",
        ),
        pytest.param(
            REMOTE,
            with_changes(MINIMAL_LOCAL, tags=[{"key": "app", "value": "web"}]),
            "tags",
            id="tag-removed",
        ),
    ],
)  # fmt: skip
def test_service_difference_is_reported(remote: dict[str, Any], local: dict[str, Any], key: str) -> None:
    r, lo = for_diff_pair(remote, local)
    assert r != lo
    assert r.get(key) != lo.get(key)


def test_ecspresso_service_definition_differ_case() -> None:
    # ecspresso diff_test.go testServiceDefinition1 / testServiceDefinition2
    sv1 = {
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-876543210", "subnet-012345678"],
                "securityGroups": ["sg-99999999", "sg-11111111"],
            }
        },
        "tags": [{"key": "Environment", "value": "Dev"}],
    }
    sv2 = {
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100},
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-012345678", "subnet-876543210"],
                "securityGroups": ["sg-11111111", "sg-99999999"],
                "assignPublicIp": "DISABLED",
            }
        },
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "schedulingStrategy": "REPLICA",
        "tags": [{"key": "Environment", "value": "Dev"}],
    }  # fmt: skip
    assert n.to_api_json(n.service_definition_for_diff(sv1)) == n.to_api_json(
        n.service_definition_for_diff(sv2)
    )


def test_service_for_diff_drops_what_is_not_compared() -> None:
    out = n.service_definition_for_diff(REMOTE, remote=True)
    for key in (
        "launchType",
        "schedulingStrategy",
        "deploymentController",
        "status",
        "serviceArn",
        "deployments",
        "events",
        "runningCount",
    ):
        assert key not in out
    assert out["desiredCount"] == 2
    assert out["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-aaaa", "subnet-bbbb"]
    assert [t["key"] for t in out["tags"]] == ["app", "env"]
    assert out["serviceConnectConfiguration"] == {"enabled": False}
    assert "loadBalancers" not in out  # [] is dropped like every empty array


@pytest.mark.parametrize(
    ("local", "kept"),
    [({"desiredCount": 1}, True), ({}, False), ({"desiredCount": None}, False), ({"DesiredCount": 0}, True)],
)
def test_strip_unmanaged_desired_count(local: dict[str, Any], kept: bool) -> None:
    remote = {"desiredCount": 2, "propagateTags": "NONE"}
    out = n.strip_unmanaged(remote, local)
    assert ("desiredCount" in out) is kept
    assert out["propagateTags"] == "NONE"
    assert remote["desiredCount"] == 2


def test_service_from_describe_keeps_top_level_and_skips_code_deploy() -> None:
    dep = {
        "status": "PRIMARY",
        "volumeConfigurations": [{"name": "v"}],
        "vpcLatticeConfigurations": [{"portName": "p"}],
    }
    lifted = n.service_from_describe({"deployments": [dep]})
    assert lifted["volumeConfigurations"] == [{"name": "v"}]
    assert lifted["vpcLatticeConfigurations"] == [{"portName": "p"}]
    cd = n.service_from_describe({"deploymentController": {"type": "CODE_DEPLOY"}, "deployments": [dep]})
    assert "volumeConfigurations" not in cd


# --------------------------------------------------------------------------- UpdateService / CreateService


@pytest.mark.parametrize(
    ("sv", "expected"),
    [
        pytest.param({}, {"loadBalancers": [], "volumeConfigurations": [], "vpcLatticeConfigurations": [],
                          "serviceConnectConfiguration": {"enabled": False},
                          "enableECSManagedTags": False, "enableExecuteCommand": False}, id="removals-sent"),
        pytest.param({"loadBalancers": []}, {"loadBalancers": []}, id="empty-load-balancers"),
        pytest.param({"loadBalancers": [{"containerName": "a", "containerPort": 80}]},
                     {"loadBalancers": [{"containerName": "a", "containerPort": 80}]}, id="load-balancers"),
        pytest.param({"serviceConnectConfiguration": {"enabled": True, "namespace": "n"}},
                     {"serviceConnectConfiguration": {"enabled": True, "namespace": "n"}}, id="service-connect"),
        pytest.param({"enableExecuteCommand": True}, {"enableExecuteCommand": True}, id="exec"),
        pytest.param({"desiredCount": 3, "propagateTags": "SERVICE", "availabilityZoneRebalancing": "ENABLED"},
                     {"desiredCount": 3, "propagateTags": "SERVICE", "availabilityZoneRebalancing": "ENABLED"}, id="scalars"),
        pytest.param({"placementStrategy": [{"type": "spread", "field": "x"}]},
                     {"placementStrategy": [{"type": "spread", "field": "x"}]}, id="placement-strategy"),
        pytest.param({"monitoring": {"x": 1}}, {"monitoring": {"x": 1}}, id="model-member-monitoring"),
    ],
)  # fmt: skip
def test_update_service_input(sv: dict[str, Any], expected: dict[str, Any]) -> None:
    out = n.update_service_input(sv)
    for key, value in expected.items():
        assert out[key] == value


def test_update_service_input_drops_what_update_service_does_not_take() -> None:
    out = n.update_service_input(REMOTE)
    for key in (
        "serviceName",
        "serviceArn",
        "status",
        "runningCount",
        "deployments",
        "events",
        "launchType",
        "schedulingStrategy",
        "deploymentController",
        "taskDefinition",
        "tags",
        "createdAt",
        "roleArn",
    ):
        assert key not in out, key  # fmt: skip
    assert out["desiredCount"] == 2
    assert set(out) <= set(ecs_shapes()["UpdateServiceRequest"]["members"])


def test_update_service_input_daemon_has_no_placement_strategy() -> None:
    sv = {"schedulingStrategy": "DAEMON", "placementStrategy": [{"type": "spread", "field": "x"}],
          "placementConstraints": [{"type": "distinctInstance"}]}  # fmt: skip
    out = n.update_service_input(sv)
    assert "placementStrategy" not in out
    assert out["placementConstraints"] == [{"type": "distinctInstance"}]


def test_update_service_input_code_deploy_strips_unupdatable() -> None:
    sv = with_changes(
        REMOTE,
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": "arn:tg", "containerName": "a", "containerPort": 80}],
        serviceRegistries=[{"registryArn": "arn:r"}],
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    out = n.update_service_input(sv)
    for key in (
        "networkConfiguration",
        "platformVersion",
        "loadBalancers",
        "serviceRegistries",
        "capacityProviderStrategy",
    ):
        assert key not in out, key
    assert out["deploymentConfiguration"] == REMOTE["deploymentConfiguration"]


def test_update_service_input_does_not_mutate_and_accepts_pascal_case() -> None:
    sv = {"DesiredCount": 1, "LoadBalancers": [], "PlatformVersion": None}
    before = copy.deepcopy(sv)
    out = n.update_service_input(sv)
    assert out["desiredCount"] == 1 and out["loadBalancers"] == [] and "platformVersion" not in out
    assert sv == before


def test_create_service_input() -> None:
    sv = with_changes(
        REMOTE,
        serviceConnectConfiguration={"enabled": True, "namespace": "ns"},
        volumeConfigurations=[{"name": "v", "managedEBSVolume": {"roleArn": "arn:r"}}],
        vpcLatticeConfigurations=[{"roleArn": "arn:r", "targetGroupArn": "arn:t", "portName": "p"}],
        platformVersion=None,
    )
    out = n.create_service_input(sv)
    for key in (
        "serviceArn",
        "status",
        "runningCount",
        "pendingCount",
        "deployments",
        "events",
        "createdAt",
        "createdBy",
        "clusterArn",
        "roleArn",
        "platformFamily",
        "platformVersion",
    ):
        assert key not in out, key  # fmt: skip
    for key in (
        "serviceName",
        "launchType",
        "schedulingStrategy",
        "deploymentController",
        "tags",
        "desiredCount",
        "serviceConnectConfiguration",
        "volumeConfigurations",
        "vpcLatticeConfigurations",
        "loadBalancers",
        "networkConfiguration",
        "deploymentConfiguration",
        "propagateTags",
        "taskDefinition",
    ):
        assert key in out, key  # fmt: skip
    assert set(out) <= set(ecs_shapes()["CreateServiceRequest"]["members"])
    assert "tags" not in n.create_service_input({"serviceName": "x", "tags": []})


def test_future_service_field_in_model_passes_to_create_update_and_diff(future_model: None) -> None:
    sv = {"serviceName": "web", "fooBar": {"x": 1}}
    assert n.create_service_input(sv)["fooBar"] == {"x": 1}
    assert n.update_service_input(sv)["fooBar"] == {"x": 1}
    assert n.service_definition_for_diff(sv)["fooBar"] == {"x": 1}


def test_field_unknown_to_the_model_is_not_sent_to_the_api() -> None:
    sv = {"serviceName": "web", "fooBar": {"x": 1}}
    assert "fooBar" not in n.create_service_input(sv)
    assert "fooBar" not in n.update_service_input(sv)
