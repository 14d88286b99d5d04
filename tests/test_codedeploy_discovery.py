"""Finding the CodeDeploy application and deployment group of the configured service.

Two layers: a small in-memory CodeDeploy (pages of 100 names, batch limits of 100, every call
recorded, as AWS answers) for exact call counts and pagination; the sandbox (moto) for the same
paths over HTTP with botocore, counting what the server received.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import REGION, client, make_app, make_project
from ecspresso.app import App, GlobalOptions
from ecspresso.aws import AwsContext
from ecspresso.codedeploy import MAX_DISCOVERY_CALLS, DeploymentGroup, find_deployment_group
from ecspresso.config import Config
from ecspresso.errors import AwsError, EcspressoError

PAGE = 100  # names per ListApplications / ListDeploymentGroups page, as AWS answers


# -- an in-memory CodeDeploy ------------------------------------------------------------------------


def _error(operation: str, code: str, message: str = "") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


class FakeCodeDeploy:
    """Applications -> (computePlatform, {group: [(cluster, service), ...]}); answers as AWS does."""

    def __init__(self) -> None:
        self.apps: dict[str, tuple[str, dict[str, list[tuple[str, str]]]]] = {}
        self.deployments: dict[str, tuple[str, str]] = {}
        self.calls: list[str] = []

    def add(self, name: str, platform: str = "ECS", **groups: list[tuple[str, str]]) -> None:
        self.apps[name] = (platform, dict(groups))

    def _group_info(self, app: str, group: str) -> dict[str, Any]:
        return {
            "applicationName": app,
            "deploymentGroupName": group,
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "computePlatform": self.apps[app][0],
            "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
            "ecsServices": [{"clusterName": c, "serviceName": s} for c, s in self.apps[app][1][group]],
        }

    @staticmethod
    def _page(names: list[str], token: str | None) -> dict[str, Any]:
        start = int(token or 0)
        out: dict[str, Any] = {"items": names[start : start + PAGE]}
        if start + PAGE < len(names):
            out["nextToken"] = str(start + PAGE)
        return out

    def list_applications(self, nextToken: str | None = None) -> dict[str, Any]:
        self.calls.append("ListApplications")
        page = self._page(list(self.apps), nextToken)
        return {"applications": page.pop("items"), **page}

    def batch_get_applications(self, applicationNames: list[str]) -> dict[str, Any]:
        self.calls.append("BatchGetApplications")
        if len(applicationNames) > 100:
            raise _error("BatchGetApplications", "BatchLimitExceededException")
        for n in applicationNames:
            if n not in self.apps:
                raise _error("BatchGetApplications", "ApplicationDoesNotExistException")
        return {"applicationsInfo": [{"applicationName": n, "computePlatform": self.apps[n][0]}
                                     for n in applicationNames]}  # fmt: skip

    def list_deployment_groups(self, applicationName: str, nextToken: str | None = None) -> dict[str, Any]:
        self.calls.append("ListDeploymentGroups")
        if applicationName not in self.apps:
            raise _error("ListDeploymentGroups", "ApplicationDoesNotExistException")
        page = self._page(list(self.apps[applicationName][1]), nextToken)
        return {"applicationName": applicationName, "deploymentGroups": page.pop("items"), **page}

    def batch_get_deployment_groups(
        self, applicationName: str, deploymentGroupNames: list[str]
    ) -> dict[str, Any]:
        self.calls.append("BatchGetDeploymentGroups")
        if len(deploymentGroupNames) > 100:
            raise _error("BatchGetDeploymentGroups", "BatchLimitExceededException")
        groups = self.apps[applicationName][1]
        return {"deploymentGroupsInfo": [self._group_info(applicationName, g)
                                         for g in deploymentGroupNames if g in groups]}  # fmt: skip

    def get_deployment_group(self, applicationName: str, deploymentGroupName: str) -> dict[str, Any]:
        self.calls.append("GetDeploymentGroup")
        if applicationName not in self.apps:
            raise _error("GetDeploymentGroup", "ApplicationDoesNotExistException")
        if deploymentGroupName not in self.apps[applicationName][1]:
            raise _error("GetDeploymentGroup", "DeploymentGroupDoesNotExistException")
        return {"deploymentGroupInfo": self._group_info(applicationName, deploymentGroupName)}

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        self.calls.append("GetDeployment")
        if deploymentId not in self.deployments:
            raise _error("GetDeployment", "DeploymentDoesNotExistException")
        app, group = self.deployments[deploymentId]
        return {"deploymentInfo": {"deploymentId": deploymentId, "applicationName": app,
                                   "deploymentGroupName": group}}  # fmt: skip


def fake_app(cd: FakeCodeDeploy, *, cluster: str = "default", service: str = "web", **codedeploy: str) -> App:
    aws = AwsContext(region=REGION)
    aws._clients["codedeploy"] = cd
    config = Config(path=Path("ecspresso.yml"), cluster=cluster, service=service, codedeploy=codedeploy)
    return App(GlobalOptions(), config=config, aws=aws)


def filler(cd: FakeCodeDeploy, n: int, *, prefix: str = "team", platform: str = "ECS") -> None:
    """``n`` applications of one deployment group each, deploying other services."""
    for i in range(n):
        cd.add(f"{prefix}-{i:03d}", platform, **{f"dg-{i:03d}": [("prod", f"svc-{i:03d}")]})


WEB = [("default", "web")]


# -- config names ------------------------------------------------------------------------------------


def test_config_names_make_one_call_and_no_listing() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 300)
    cd.add("billing", blue=WEB)

    group = find_deployment_group(fake_app(cd, application_name="billing", deployment_group_name="blue",
                                           deployment_config_name="CodeDeployDefault.ECSLinear10PercentEvery1Minutes"))  # fmt: skip

    assert cd.calls == ["GetDeploymentGroup"]
    assert (group.application, group.name, group.found_by, group.calls) == ("billing", "blue", "config", 1)
    assert group.config_name == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"  # the config wins
    assert group.auto_rollback_enabled and group.auto_rollback_events == ("DEPLOYMENT_FAILURE",)
    assert group.ecs_services == (("default", "web"),)


def test_config_names_of_a_group_deploying_another_service_are_refused() -> None:
    cd = FakeCodeDeploy()
    cd.add("billing", blue=[("default", "api")])

    with pytest.raises(EcspressoError) as err:
        find_deployment_group(fake_app(cd, application_name="billing", deployment_group_name="blue"))

    assert str(err.value) == (
        "CodeDeploy deployment group blue of application billing (codedeploy in ecspresso.yml) deploys "
        "service api in cluster default, not service web in cluster default"
    )


def test_config_names_of_a_missing_group_fail_with_the_aws_error() -> None:
    cd = FakeCodeDeploy()
    cd.add("billing", blue=WEB)

    with pytest.raises(AwsError) as err:
        find_deployment_group(fake_app(cd, application_name="billing", deployment_group_name="green"))

    assert err.value.code == "DeploymentGroupDoesNotExistException"
    assert "GetDeploymentGroup billing/green" in str(err.value)


def test_application_name_alone_lists_only_that_application() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 50)
    cd.add("billing", green=[("default", "api")], blue=WEB)

    group = find_deployment_group(fake_app(cd, application_name="billing"))

    assert cd.calls == ["ListDeploymentGroups", "BatchGetDeploymentGroups"]
    assert (group.application, group.name, group.config_name) == (
        "billing",
        "blue",
        "CodeDeployDefault.ECSAllAtOnce",
    )


def test_group_name_alone_is_looked_up_in_each_ecs_application_without_listing_groups() -> None:
    cd = FakeCodeDeploy()
    cd.add("a-server-app", "Server", main=[])
    cd.add("first", other=[("default", "api")])
    cd.add("second", main=[("default", "api")])
    cd.add("third", main=WEB)

    group = find_deployment_group(fake_app(cd, deployment_group_name="main"))

    assert (group.application, group.name) == ("third", "main")
    assert cd.calls == ["ListApplications", "BatchGetApplications"] + ["GetDeploymentGroup"] * 3


# -- discovery ----------------------------------------------------------------------------------------


def test_discovery_with_300_applications_named_by_the_console_makes_6_calls() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 150)
    cd.add("AppECS-default-web", **{"DgpECS-default-web": WEB})
    filler(cd, 149, prefix="later")

    group = find_deployment_group(fake_app(cd))

    assert (group.application, group.name, group.found_by) == (
        "AppECS-default-web",
        "DgpECS-default-web",
        "discovery",
    )
    # 3 pages of names, the first 100 ranked names described, then its one group listed and read
    assert cd.calls == ["ListApplications"] * 3 + [
        "BatchGetApplications",
        "ListDeploymentGroups",
        "GetDeploymentGroup",
    ]
    assert group.calls == 6


def test_discovery_with_300_applications_never_makes_more_than_the_bound() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 299)
    cd.add("zz-payments", main=WEB)  # a name that says nothing about the service: searched last

    with pytest.raises(EcspressoError) as err:
        find_deployment_group(fake_app(cd))

    assert len(cd.calls) == MAX_DISCOVERY_CALLS == 100
    message = str(err.value)
    assert message.startswith("CodeDeploy discovery gave up after 100 API calls without finding the "
                              "deployment group of service web in cluster default (")  # fmt: skip
    assert message.endswith("set codedeploy.application_name and codedeploy.deployment_group_name in "
                            "ecspresso.yml to skip discovery")  # fmt: skip
    assert "of 300 application(s)" in message


def test_discovery_follows_every_page_of_applications() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 240, prefix="lambda", platform="Lambda")  # never listed: not ECS
    filler(cd, 4, prefix="ecs")
    cd.add("payments", main=WEB)  # on the third page of names
    filler(cd, 10, prefix="server", platform="Server")

    group = find_deployment_group(fake_app(cd))

    assert (group.application, group.name) == ("payments", "main")
    assert cd.calls == (["ListApplications"] * 3 + ["BatchGetApplications"] * 3
                        + ["ListDeploymentGroups", "GetDeploymentGroup"] * 5)  # fmt: skip


def test_discovery_follows_every_page_of_deployment_groups() -> None:
    cd = FakeCodeDeploy()
    groups = {f"dg-{i:03d}": [("prod", f"svc-{i:03d}")] for i in range(150)}
    groups["dg-140"] = WEB
    cd.add("platform", **groups)

    group = find_deployment_group(fake_app(cd))

    assert (group.application, group.name) == ("platform", "dg-140")
    assert (
        cd.calls
        == ["ListApplications", "BatchGetApplications"]
        + ["ListDeploymentGroups"] * 2
        + ["BatchGetDeploymentGroups"] * 2
    )


def test_discovery_matches_the_cluster_as_well_as_the_service() -> None:
    cd = FakeCodeDeploy()
    cd.add("alpha", main=[("staging", "web")])  # listed first, the same service name
    cd.add("beta", other=[("prod", "api")], main=[("prod", "web")])

    group = find_deployment_group(fake_app(cd, cluster="prod"))

    assert (group.application, group.name) == ("beta", "main")


def test_discovery_matches_names_in_arns() -> None:
    cd = FakeCodeDeploy()
    cd.add("shop", main=[("arn:aws:ecs:us-east-1:123456789012:cluster/prod", "web")])

    group = find_deployment_group(fake_app(cd, cluster="arn:aws:ecs:us-east-1:123456789012:cluster/prod"))

    assert group.name == "main"


def test_no_match_names_cluster_service_and_what_was_searched() -> None:
    cd = FakeCodeDeploy()
    cd.add("server-app", "Server", deploy=[])
    cd.add("web-staging", main=[("staging", "web")])
    cd.add("api", main=[("default", "api")], empty=[])

    with pytest.raises(EcspressoError) as err:
        find_deployment_group(fake_app(cd))

    assert str(err.value) == (
        "no CodeDeploy deployment group deploys service web in cluster default (searched 3 deployment "
        "group(s) in 2 ECS application(s) of 3 application(s); deployment groups for a service web in "
        "another cluster: web-staging/main (service web in cluster staging)): create one, or set "
        "codedeploy.application_name and codedeploy.deployment_group_name in the config"
    )


def test_no_application_at_all() -> None:
    with pytest.raises(
        EcspressoError, match=r"^no CodeDeploy application found to deploy service web in cluster default"
    ):
        find_deployment_group(fake_app(FakeCodeDeploy()))


# -- the service's task set names its deployment --------------------------------------------------------


def _service(*external_ids: str) -> dict[str, Any]:
    statuses = ["PRIMARY"] + ["ACTIVE"] * (len(external_ids) - 1)
    return {
        "taskSets": [{"externalId": x, "status": s} for x, s in zip(external_ids, statuses, strict=True)][
            ::-1
        ]
    }


def test_a_task_set_created_by_codedeploy_names_the_group_in_two_calls() -> None:
    cd = FakeCodeDeploy()
    filler(cd, 300)
    cd.add("zz-payments", main=WEB)
    cd.deployments["d-OLD000000"] = ("team-000", "dg-000")
    cd.deployments["d-ABCDEFGHI"] = ("zz-payments", "main")

    group = find_deployment_group(fake_app(cd), _service("d-ABCDEFGHI", "d-OLD000000"))

    assert cd.calls == ["GetDeployment", "GetDeploymentGroup"]
    assert (group.application, group.name, group.found_by, group.calls) == (
        "zz-payments", "main", "deployment d-ABCDEFGHI", 2
    )  # fmt: skip


@pytest.mark.parametrize("stale", ["gone", "retargeted", "deleted-group"])
def test_a_stale_task_set_falls_back_to_discovery(stale: str) -> None:
    cd = FakeCodeDeploy()
    cd.add("AppECS-default-web", main=WEB)
    if stale == "retargeted":
        cd.add("old", main=[("default", "api")])
        cd.deployments["d-ABCDEFGHI"] = ("old", "main")
    elif stale == "deleted-group":
        cd.add("old", other=[("default", "api")])
        cd.deployments["d-ABCDEFGHI"] = ("old", "main")

    group = find_deployment_group(fake_app(cd), _service("d-ABCDEFGHI"))

    assert (group.application, group.found_by) == ("AppECS-default-web", "discovery")
    assert cd.calls[0] == "GetDeployment" and "ListApplications" in cd.calls


def test_config_names_win_over_the_task_set() -> None:
    cd = FakeCodeDeploy()
    cd.add("billing", blue=WEB)
    cd.deployments["d-ABCDEFGHI"] = ("billing", "blue")

    find_deployment_group(
        fake_app(cd, application_name="billing", deployment_group_name="blue"), _service("d-ABCDEFGHI")
    )

    assert cd.calls == ["GetDeploymentGroup"]


def test_the_group_as_the_strategy_uses_it() -> None:
    group = DeploymentGroup(application="a", name="g", config_name="c")

    assert (group.auto_rollback_events, group.auto_rollback_enabled, group.ecs_services) == ((), False, ())
    assert group == DeploymentGroup(application="a", name="g", config_name="c", info={"x": 1})


# -- against the sandbox --------------------------------------------------------------------------------

_PROBED: dict[str, bool] = {}


def sandbox_has(sandbox: Any, operation: str) -> bool:
    """Whether the sandbox answers ``operation`` (moto 5.2.5's CodeDeploy has no
    BatchGetDeploymentGroups: HTTP 500). Probed once per session, with a name that does not exist."""
    if operation not in _PROBED:
        import boto3
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import ClientError

        cd = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION).client(
            "codedeploy", endpoint_url=sandbox.url, config=BotoConfig(retries={"total_max_attempts": 1})
        )
        assert operation == "BatchGetDeploymentGroups"
        try:
            cd.batch_get_deployment_groups(applicationName="ecspresso-probe", deploymentGroupNames=["probe"])
            _PROBED[operation] = True
        except ClientError as exc:
            _PROBED[operation] = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) < 500
        sandbox.operations.clear()
    return _PROBED[operation]


NEEDS_BATCH = "needs the sandbox's CodeDeploy model (moto has no BatchGetDeploymentGroups)"


@pytest.fixture
def project(sandbox: Any, tmp_path: Path) -> Path:
    return make_project(tmp_path, service="web", cluster="default")


def create(sandbox: Any, name: str, platform: str = "ECS", **groups: list[tuple[str, str]]) -> None:
    cd = client(sandbox, "codedeploy")
    cd.create_application(applicationName=name, computePlatform=platform)
    for group, services in groups.items():
        cd.create_deployment_group(
            applicationName=name,
            deploymentGroupName=group,
            serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
            deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            autoRollbackConfiguration={
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"],
            },
            ecsServices=[{"clusterName": c, "serviceName": s} for c, s in services],
        )


def test_sandbox_config_names(sandbox: Any, project: Path) -> None:
    create(sandbox, "billing", blue=WEB)
    (project.parent / "ecspresso.yml").write_text(
        project.read_text() + "codedeploy:\n  application_name: billing\n  deployment_group_name: blue\n"
    )
    sandbox.operations.clear()

    group = find_deployment_group(make_app(sandbox, project))

    assert sandbox.operations == ["GetDeploymentGroup"]
    assert (group.application, group.name, group.config_name) == (
        "billing",
        "blue",
        "CodeDeployDefault.ECSAllAtOnce",
    )
    assert group.auto_rollback_events == ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST")


def test_sandbox_discovery_among_applications(sandbox: Any, project: Path) -> None:
    create(sandbox, "legacy-web", "Server")
    create(sandbox, "web-lambda", "Lambda")
    create(sandbox, "web-staging", main=[("staging", "web")])
    create(sandbox, "api", main=[("default", "api")])
    create(sandbox, "shop", release=WEB)
    sandbox.operations.clear()

    group = find_deployment_group(make_app(sandbox, project))

    assert (group.application, group.name, group.found_by) == ("shop", "release", "discovery")
    # ranked: names holding "web" first (web-staging), then the others in listed order
    assert sandbox.operations == ["ListApplications", "BatchGetApplications"] + [
        "ListDeploymentGroups", "GetDeploymentGroup"] * 3  # fmt: skip


def test_sandbox_discovery_with_several_groups_per_application(sandbox: Any, project: Path) -> None:
    if not sandbox_has(sandbox, "BatchGetDeploymentGroups"):
        pytest.skip(NEEDS_BATCH)
    create(sandbox, "shop", api=[("default", "api")], release=WEB, worker=[("default", "worker")])
    sandbox.operations.clear()

    group = find_deployment_group(make_app(sandbox, project))

    assert (group.application, group.name) == ("shop", "release")
    assert sandbox.operations == ["ListApplications", "BatchGetApplications", "ListDeploymentGroups",
                                  "BatchGetDeploymentGroups"]  # fmt: skip


def _many(sandbox: Any, n: int) -> Iterator[str]:
    cd = client(sandbox, "codedeploy")
    for i in range(n):
        name = f"team-{i:03d}"
        cd.create_application(applicationName=name, computePlatform="ECS")
        yield name


@pytest.mark.parametrize("named_by_console", [True, False], ids=["console-name", "arbitrary-name"])
def test_sandbox_discovery_with_300_applications_is_bounded(
    sandbox: Any, project: Path, named_by_console: bool
) -> None:
    names = list(_many(sandbox, 299))
    create(sandbox, "AppECS-default-web" if named_by_console else "zz-payments", main=WEB)
    sandbox.operations.clear()

    if named_by_console:
        group = find_deployment_group(make_app(sandbox, project))
        pages = sandbox.operations.count("ListApplications")
        assert 1 <= pages <= math.ceil(300 / PAGE)
        assert sandbox.operations == ["ListApplications"] * pages + [
            "BatchGetApplications", "ListDeploymentGroups", "GetDeploymentGroup"]  # fmt: skip
        assert group.calls == pages + 3
    else:
        with pytest.raises(EcspressoError, match="gave up after 100 API calls"):
            find_deployment_group(make_app(sandbox, project))
        assert len(sandbox.operations) == MAX_DISCOVERY_CALLS
    assert len(names) == 299


def test_sandbox_task_set_of_a_codedeploy_deployment(sandbox: Any, project: Path) -> None:
    create(sandbox, "AppECS-default-api", main=[("default", "api")])
    create(sandbox, "zz-payments", main=WEB)
    deployment = client(sandbox, "codedeploy").create_deployment(
        applicationName="zz-payments",
        deploymentGroupName="main",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0\n"}},
    )["deploymentId"]
    sandbox.operations.clear()

    group = find_deployment_group(
        make_app(sandbox, project), {"taskSets": [{"status": "PRIMARY", "externalId": deployment}]}
    )

    assert sandbox.operations == ["GetDeployment", "GetDeploymentGroup"]
    assert (group.application, group.name, group.found_by) == (
        "zz-payments",
        "main",
        f"deployment {deployment}",
    )


def test_sandbox_no_match(sandbox: Any, project: Path) -> None:
    create(sandbox, "api", main=[("default", "api")])

    with pytest.raises(
        EcspressoError,
        match=r"^no CodeDeploy deployment group deploys service web in cluster default \(searched 1",
    ):
        find_deployment_group(make_app(sandbox, project))


def test_sandbox_throttling_is_retried(sandbox: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    create(sandbox, "shop", release=WEB)
    sandbox.fault("codedeploy:ListApplications", "ThrottlingException", times=2)
    sandbox.fault("codedeploy:GetDeploymentGroup", "ThrottlingException", times=1)
    sandbox.operations.clear()

    group = find_deployment_group(make_app(sandbox, project))

    assert group.name == "release"
    assert group.calls == 4  # calls, not attempts
    assert sandbox.operations.count("ListApplications") == 3
