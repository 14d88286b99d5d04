"""Fault injection (throttling, 5xx, latency) seen through botocore's real retry logic; operations."""

from __future__ import annotations

import time

import botocore.retries.standard
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

STANDARD = Config(retries={"mode": "standard", "total_max_attempts": 5})


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)


@pytest.fixture
def ecs(sandbox):
    client = sandbox.client("ecs", config=STANDARD)
    client.create_cluster(clusterName="default")
    return client


def test_throttling_is_retried_by_botocore(sandbox, ecs):
    sandbox.fault("DescribeServices", "ThrottlingException", times=2)
    resp = ecs.describe_services(cluster="default", services=["web"])
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2
    assert resp["failures"][0]["reason"] == "MISSING"  # then moto answered
    assert (
        ecs.describe_services(cluster="default", services=["web"])["ResponseMetadata"]["RetryAttempts"] == 0
    )


def test_throttling_beyond_the_retry_budget_surfaces_as_the_error(sandbox, ecs):
    sandbox.fault("ListClusters", "ThrottlingException", times=10, message="Rate exceeded")
    with pytest.raises(ClientError) as err:
        ecs.list_clusters()
    assert err.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 4


@pytest.mark.parametrize(("code", "status"), [("ServerException", 500), ("ServiceUnavailableException", 503)])
def test_5xx_is_retried(sandbox, ecs, code, status):
    sandbox.fault("ListClusters", code, status=status, times=1)
    resp = ecs.list_clusters()
    assert resp["ResponseMetadata"]["RetryAttempts"] == 1 and resp["clusterArns"]


def test_query_protocol_services_get_xml_errors(sandbox):
    sts = sandbox.client("sts", config=STANDARD)
    sandbox.fault("GetCallerIdentity", "Throttling", times=2)
    resp = sts.get_caller_identity()
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2 and resp["Account"] == "123456789012"

    elbv2 = sandbox.client("elbv2", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    sandbox.fault("elasticloadbalancing:DescribeTargetGroups", "Throttling", message="Rate exceeded")
    with pytest.raises(ClientError) as err:
        elbv2.describe_target_groups()
    assert err.value.response["Error"]["Code"] == "Throttling"
    assert err.value.response["Error"]["Message"] == "Rate exceeded"
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_ec2_protocol_errors(sandbox):
    ec2 = sandbox.client("ec2", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    sandbox.fault("DescribeSubnets", "RequestLimitExceeded", status=503)
    with pytest.raises(ClientError) as err:
        ec2.describe_subnets()
    assert err.value.response["Error"]["Code"] == "RequestLimitExceeded"


def test_latency(sandbox, ecs):
    sandbox.fault("ListClusters", "delay", delay=0.3)
    started = time.monotonic()
    ecs.list_clusters()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    ecs.list_clusters()
    assert time.monotonic() - started < 0.3  # used up


def test_latency_beyond_the_read_timeout(sandbox):
    ecs = sandbox.client("ecs", config=Config(read_timeout=0.1, retries={"total_max_attempts": 1}))
    sandbox.fault("ListClusters", None, delay=0.3)
    with pytest.raises(ReadTimeoutError):
        ecs.list_clusters()


def test_wildcards_and_forever(sandbox, ecs):
    sandbox.fault("ecs:*", "ThrottlingException", times=-1)
    sts = sandbox.client("sts", config=STANDARD)
    assert sts.get_caller_identity()["ResponseMetadata"]["RetryAttempts"] == 0  # other services untouched
    for _ in range(2):
        with pytest.raises(ClientError, match="ThrottlingException"):
            ecs.list_clusters()
    sandbox.reset()  # clears faults
    assert ecs.list_clusters()["ResponseMetadata"]["RetryAttempts"] == 0


def test_faults_are_validated(sandbox):
    with pytest.raises(ValueError, match="status"):
        sandbox.fault("ListClusters", status=42)


def test_operations_are_recorded_in_order_and_cleared_by_reset(sandbox, ecs):
    assert sandbox.operations == ["CreateCluster"]
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "a", "image": "x", "memory": 8}]
    )
    ecs.create_service(cluster="default", serviceName="web", taskDefinition="app", desiredCount=1)
    ecs.describe_services(cluster="default", services=["web"])
    ecs.list_tasks(cluster="default")
    sandbox.client("sts").get_caller_identity()
    sandbox.fault("UpdateService", "ServerException", status=500, times=1)
    ecs.update_service(cluster="default", service="web", desiredCount=2)
    assert sandbox.operations == [
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
        "DescribeServices",
        "ListTasks",
        "GetCallerIdentity",
        "UpdateService",  # the attempt that got the fault counts too: it reached the sandbox
        "UpdateService",
    ]
    assert sandbox.mutating_operations() == [
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
        "UpdateService",
        "UpdateService",
    ]
    sandbox.reset()
    assert sandbox.operations == [] and sandbox.mutating_operations() == []


def test_rest_xml_and_cbor_protocols(sandbox):
    s3 = sandbox.client("s3", config=STANDARD)
    s3.create_bucket(Bucket="tfstate")
    s3.put_object(Bucket="tfstate", Key="env/terraform.tfstate", Body=b"{}")
    sandbox.fault("GetObject", "SlowDown", status=503, times=1)
    resp = s3.get_object(Bucket="tfstate", Key="env/terraform.tfstate")
    assert resp["ResponseMetadata"]["RetryAttempts"] == 1 and resp["Body"].read() == b"{}"
    sandbox.fault("s3:*", "AccessDenied", status=403, message="nope")
    with pytest.raises(ClientError) as err:
        s3.list_objects_v2(Bucket="tfstate")
    assert err.value.response["Error"] == {"Code": "AccessDenied", "Message": "nope"}

    cloudwatch = sandbox.client("cloudwatch", config=STANDARD)
    sandbox.fault("ListMetrics", "ThrottlingException", times=1)
    assert cloudwatch.list_metrics()["ResponseMetadata"]["RetryAttempts"] == 1
    assert sandbox.operations == [
        "CreateBucket",
        "PutObject",
        "GetObject",
        "GetObject",
        "ListObjectsV2",
        "ListMetrics",
        "ListMetrics",
    ]
