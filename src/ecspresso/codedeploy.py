"""CodeDeploy blue/green: the AppSpec of a deployment and the deployment group that deploys a service.

Two halves:

* pure: :func:`build_appspec` (ecspresso's ``appspec.NewWithService`` plus the config's hooks),
  :func:`appspec_yaml` (the text ``ecspresso appspec`` prints and CreateDeployment sends as
  ``AppSpecContent``) and :func:`console_url`;
* AWS: :func:`find_deployment_group`, which finds the CodeDeploy application and deployment group
  whose ``ecsServices`` hold the configured cluster and service, in as few calls as it can and never
  in more than :data:`MAX_DISCOVERY_CALLS` (see its docstring for the count).

Every AWS call goes through :func:`ecspresso.ecs.call` (the one error translator) on the client
``app.client("codedeploy")``, whose botocore ``standard`` retry mode retries throttling.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.errors import AwsError, EcspressoError, InputError

if TYPE_CHECKING:
    from ecspresso.app import App

APPSPEC_VERSION = "0.0"
TARGET_TYPE = "AWS::ECS::Service"
#: the lifecycle hooks an ECS AppSpec may name, in the order ecspresso prints them
HOOK_EVENTS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)
#: names per BatchGetApplications / BatchGetDeploymentGroups call (the API's limit)
BATCH_SIZE = 100
#: the most CodeDeploy calls (retries of one call not counted) discovery makes before giving up
#: and asking for ``codedeploy.application_name`` / ``deployment_group_name`` in the config
MAX_DISCOVERY_CALLS = 100

# -- the AppSpec (pure) ------------------------------------------------------------------------------


def build_appspec(
    service: Mapping[str, Any],
    task_definition_arn: str,
    hooks: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The AppSpec of a CodeDeploy ECS deployment of ``task_definition_arn`` for ``service``
    (a service in the API's shape: DescribeServices output or a service definition).

    ``Resources[0].TargetService.Properties`` holds the task definition, the container name and
    port of the first load balancer, and, when the service has them, its platform version, awsvpc
    network configuration (AssignPublicIp, SecurityGroups, Subnets) and capacity provider strategy
    (Base and Weight left out when 0) -- empty properties are left out, as ecspresso does.
    ``hooks`` is the config's ``appspec`` section (only its ``Hooks`` are used, as in ecspresso),
    its ``Hooks`` list (``[{"BeforeInstall": "fn"}, …]``) or one mapping of hook to function.

    A service without load balancers cannot be deployed by CodeDeploy: :class:`InputError`.
    """
    lbs = service.get("loadBalancers") or []
    if not lbs:
        name = service.get("serviceName") or "the service"
        raise InputError(f"cannot build an AppSpec: {name} has no loadBalancers; a CodeDeploy "
                         "blue/green deployment requires loadBalancers (a target group, container name and port)")  # fmt: skip
    lb = lbs[0]
    if not lb.get("containerName") or lb.get("containerPort") is None:
        raise InputError("cannot build an AppSpec: loadBalancers[0] needs containerName and containerPort")
    props: dict[str, Any] = {
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": lb["containerName"], "ContainerPort": int(lb["containerPort"])},
    }
    if service.get("platformVersion"):
        props["PlatformVersion"] = service["platformVersion"]
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    vpc = {
        key: awsvpc[src]
        for key, src in (
            ("AssignPublicIp", "assignPublicIp"),
            ("SecurityGroups", "securityGroups"),
            ("Subnets", "subnets"),
        )
        if awsvpc.get(src)
    }
    if vpc:
        props["NetworkConfiguration"] = {"AwsvpcConfiguration": vpc}
    strategy = []
    for item in service.get("capacityProviderStrategy") or []:
        entry: dict[str, Any] = {"CapacityProvider": item.get("capacityProvider")}
        for key, src in (("Base", "base"), ("Weight", "weight")):
            if item.get(src):
                entry[key] = int(item[src])
        strategy.append(entry)
    if strategy:
        props["CapacityProviderStrategy"] = strategy
    spec: dict[str, Any] = {
        "version": APPSPEC_VERSION,
        "Resources": [{"TargetService": {"Type": TARGET_TYPE, "Properties": props}}],
    }
    if listed := normalize_hooks(hooks):
        spec["Hooks"] = listed
    return spec


def normalize_hooks(hooks: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None) -> list[dict[str, str]]:
    """``Hooks`` as the AppSpec lists them: one ``{event: function}`` per item, events in
    :data:`HOOK_EVENTS` order inside an item, items in the given order; empty ones dropped.
    A misspelt event is an :class:`InputError` (ecspresso drops it silently: the hook never runs)."""
    if hooks is None:
        return []
    if isinstance(hooks, Mapping):
        if "Hooks" in hooks or set(hooks) & {"version", "Resources"}:
            hooks = hooks.get("Hooks") or []  # the config's whole ``appspec`` section
        else:
            hooks = [{event: fn} for event, fn in hooks.items()]
    if not isinstance(hooks, Sequence) or isinstance(hooks, str):
        raise InputError(f"appspec.Hooks must be a list of {{hook: lambda function}}, got {hooks!r}")
    out: list[dict[str, str]] = []
    for i, item in enumerate(hooks):
        if not isinstance(item, Mapping):
            raise InputError(f"appspec.Hooks[{i}] must be a mapping of hook to lambda function, got {item!r}")
        unknown = sorted(str(k) for k in item if k not in HOOK_EVENTS)
        if unknown:
            raise InputError(f"appspec.Hooks[{i}]: unknown lifecycle hook {', '.join(unknown)} "
                             f"(an ECS AppSpec has {', '.join(HOOK_EVENTS)})")  # fmt: skip
        entry = {event: str(item[event]) for event in HOOK_EVENTS if item.get(event)}
        if entry:
            out.append(entry)
    return out


def appspec_yaml(appspec: Mapping[str, Any]) -> str:
    """The AppSpec as YAML, keys in the order given (version, Resources, Hooks), block style,
    sequences not indented under their key and strings quoted only where YAML needs it, with
    double quotes -- the text ecspresso prints (``version: "0.0"``)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def choose_scalar_style(self) -> Any:
            style = super().choose_scalar_style()
            return '"' if style == "'" else style

    return str(
        yaml.dump(
            _plain(appspec),
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
        )
    )


def _plain(value: Any) -> Any:
    """Mappings and sequences as dict and list (SafeDumper knows no others)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def console_url(region: str, deployment_id: str) -> str:
    """The CodeDeploy console page of a deployment."""
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/"
        f"{deployment_id}?region={region}"
    )


# -- the deployment group (AWS) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentGroup:
    """The CodeDeploy application and deployment group that deploy the configured service."""

    application: str
    name: str
    #: ``codedeploy.deployment_config_name`` of the config, else the group's own
    config_name: str
    #: the group's automatic rollback events (empty when its automatic rollback is off)
    auto_rollback_events: tuple[str, ...] = ()
    auto_rollback_enabled: bool = False
    #: how it was found: ``config``, ``deployment d-…`` (the service's task set) or ``discovery``
    found_by: str = "discovery"
    #: CodeDeploy calls made to find it (retries of a call not counted)
    calls: int = 0
    #: the DeploymentGroupInfo as CodeDeploy returned it (blue/green settings, load balancers…)
    info: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ecs_services(self) -> tuple[tuple[str, str], ...]:
        """(cluster, service) pairs the group deploys."""
        return tuple(_targets(self.info))


class _Budget:
    """Counts CodeDeploy calls and refuses the one past :data:`MAX_DISCOVERY_CALLS`."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self) -> None:
        if self.used >= self.limit:
            raise _BudgetExhausted
        self.used += 1


class _BudgetExhausted(Exception):
    pass


@dataclass
class _Search:
    """What discovery has looked at, for the messages of a failed search."""

    cluster: str
    service: str
    applications: int = 0
    examined_applications: int = 0
    groups: int = 0
    elsewhere: list[str] = field(default_factory=list)  # groups deploying the service name in another cluster


def find_deployment_group(app: App, service: Mapping[str, Any] | None = None) -> DeploymentGroup:
    """The CodeDeploy deployment group that deploys ``app.config``'s service in its cluster.

    In this order, stopping at the first that answers:

    1. ``codedeploy.application_name`` and ``deployment_group_name`` both in the config:
       GetDeploymentGroup -- **1 call**, no listing; the group must deploy the configured
       cluster/service (as in ecspresso, so a wrong name cannot deploy another service).
    2. ``service`` (DescribeServices output) has a task set created by CodeDeploy: its
       ``externalId`` is that deployment's id; GetDeployment names the application and group,
       GetDeploymentGroup confirms it still deploys this service -- **2 calls** whatever the
       number of applications (a service CodeDeploy has deployed before). Otherwise, or if that
       group is gone, discovery.
    3. Discovery, as ecspresso's but bounded. ``codedeploy.application_name`` alone limits it to
       that application; ``deployment_group_name`` alone is looked up in each ECS application with
       GetDeploymentGroup instead of listing groups. Otherwise:

       * ListApplications, every page (``L = ceil(N / 100)`` calls for N applications, at least 1);
       * the names are ranked: the console's ``AppECS-<cluster>-<service>`` first, then names
         holding the service name, then the cluster name, then the rest in listed order;
       * BatchGetApplications on the next 100 ranked names, only when the previous 100 are
         exhausted (``C`` calls, ``C <= ceil(N / 100)``), keeping computePlatform ECS;
       * per ECS application, in ranked order: ListDeploymentGroups, every page
         (``max(1, ceil(g / 100))`` calls for g groups), then the groups' details, 100 at a time
         (GetDeploymentGroup for a single name, BatchGetDeploymentGroups otherwise: 0 calls when
         g = 0, ``ceil(g / 100)`` else) -- stopping at the first group whose ``ecsServices`` hold
         the configured cluster and service (names compared, ARNs reduced to names).

       Total for a match in the k-th ECS application examined:
       ``L + C + sum over the k applications of (list pages + detail calls)``; with one group per
       application that is ``L + C + 2k``. For **300 applications** named as the console names
       them: ``3 + 1 + 2 = 6`` calls. Whatever N, discovery never makes more than
       :data:`MAX_DISCOVERY_CALLS` (100) calls: the call past it is not made and the error asks
       for ``codedeploy.application_name`` / ``deployment_group_name`` in the config. (ecspresso
       lists and describes every group of every ECS application first: ``3 + 3 + 600`` calls for
       300 applications of one group each.)

    Throttling is retried by the client (botocore standard mode) inside each call. No match:
    :class:`EcspressoError` naming the cluster, the service and what was searched.
    """
    cfg = app.config
    if not cfg.service:
        raise InputError("service is not set: CodeDeploy deploys a service", source=cfg.path.name)
    wanted_app = cfg.codedeploy.get("application_name", "")
    wanted_group = cfg.codedeploy.get("deployment_group_name", "")
    search = _Search(cluster=_name_of(cfg.cluster), service=_name_of(cfg.service))
    budget = _Budget(MAX_DISCOVERY_CALLS)
    cd = app.client("codedeploy")
    found: tuple[Mapping[str, Any], str] | None = None
    try:
        if wanted_app and wanted_group:
            info = _get_group(cd, budget, wanted_app, wanted_group)
            if not _deploys(info, search):
                raise EcspressoError(
                    f"CodeDeploy deployment group {wanted_group} of application {wanted_app} (codedeploy "
                    f"in {cfg.path.name}) deploys {_describe_targets(info)}, not service {search.service} "
                    f"in cluster {search.cluster}"
                )
            found = (info, "config")
        else:
            if service is not None and not wanted_app and not wanted_group:
                found = _from_task_sets(app, cd, budget, service, search)
            if found is None:
                info = _discover(app, cd, budget, search, wanted_app, wanted_group)
                found = (info, "discovery")
    except _BudgetExhausted:
        raise EcspressoError(
            f"CodeDeploy discovery gave up after {budget.limit} API calls without finding the deployment "
            f"group of service {search.service} in cluster {search.cluster} ({_searched(search)}): set "
            f"codedeploy.application_name and codedeploy.deployment_group_name in {cfg.path.name} "
            "to skip discovery"
        ) from None
    info, how = found
    group = _group_from(info, how, budget.used, cfg.codedeploy.get("deployment_config_name", ""))
    app.log.debug(
        f"CodeDeploy deployment group {group.application}/{group.name} found by {how} "
        f"in {budget.used} call(s)"
    )
    return group


def _group_from(info: Mapping[str, Any], how: str, calls: int, config_name: str) -> DeploymentGroup:
    rollback = info.get("autoRollbackConfiguration") or {}
    enabled = bool(rollback.get("enabled"))
    return DeploymentGroup(
        application=str(info.get("applicationName", "")),
        name=str(info.get("deploymentGroupName", "")),
        config_name=config_name or str(info.get("deploymentConfigName") or ""),
        auto_rollback_events=tuple(str(e) for e in rollback.get("events") or ()) if enabled else (),
        auto_rollback_enabled=enabled,
        found_by=how,
        calls=calls,
        info=dict(info),
    )


def _from_task_sets(
    app: App, cd: Any, budget: _Budget, service: Mapping[str, Any], search: _Search
) -> tuple[Mapping[str, Any], str] | None:
    """The group of the CodeDeploy deployment that created the service's (PRIMARY) task set."""
    sets = sorted(service.get("taskSets") or [], key=lambda t: t.get("status") != "PRIMARY")
    deployment_id = next((str(t["externalId"]) for t in sets if t.get("externalId")), "")
    if not deployment_id:
        return None
    try:
        budget.spend()
        out = ecs.call(f"GetDeployment {deployment_id}", cd.get_deployment, deploymentId=deployment_id)
        dep = out.get("deploymentInfo") or {}
        info = _get_group(cd, budget, str(dep.get("applicationName")), str(dep.get("deploymentGroupName")))
    except AwsError as exc:
        if exc.transient:
            raise
        app.log.debug(f"the deployment of the service's task set does not name its group: {exc}")
        return None
    if not _deploys(info, search):
        return None
    return info, f"deployment {deployment_id}"


def _discover(
    app: App, cd: Any, budget: _Budget, search: _Search, wanted_app: str, wanted_group: str
) -> Mapping[str, Any]:
    if wanted_app:
        names = [wanted_app]
        search.applications = 1
        ecs_names: Iterator[str] = iter(names)
    else:
        names = list(_pages(cd.list_applications, "applications", budget, "ListApplications"))
        search.applications = len(names)
        if not names:
            raise EcspressoError(
                f"no CodeDeploy application found to deploy service {search.service} in cluster "
                f"{search.cluster}: create one with a deployment group for the service"
            )
        ecs_names = _ecs_applications(cd, budget, _ranked(names, search))
    for name in ecs_names:
        search.examined_applications += 1
        if wanted_group:
            try:
                groups: Iterator[Mapping[str, Any]] = iter([_get_group(cd, budget, name, wanted_group)])
            except AwsError as exc:
                if exc.code != "DeploymentGroupDoesNotExistException":
                    raise
                continue
        else:
            group_names = list(
                _pages(
                    cd.list_deployment_groups,
                    "deploymentGroups",
                    budget,
                    f"ListDeploymentGroups {name}",
                    applicationName=name,
                )
            )
            groups = _describe_groups(cd, budget, name, _ranked(group_names, search))
        for info in groups:
            search.groups += 1
            if _deploys(info, search):
                return info
            if any(sv == search.service for _, sv in _targets(info)):
                search.elsewhere.append(
                    f"{name}/{info.get('deploymentGroupName')} ({_describe_targets(info)})"
                )
    elsewhere = (
        f"; deployment groups for a service {search.service} in another cluster: "
        + ", ".join(search.elsewhere)
        if search.elsewhere
        else ""
    )
    hint = (
        f"check codedeploy in {app.config.path.name}"
        if wanted_app or wanted_group
        else "create one, or set codedeploy.application_name and codedeploy.deployment_group_name in the config"
    )
    raise EcspressoError(
        f"no CodeDeploy deployment group deploys service {search.service} in cluster {search.cluster} "
        f"({_searched(search)}{elsewhere}): {hint}"
    )


def _searched(search: _Search) -> str:
    return (
        f"searched {search.groups} deployment group(s) in {search.examined_applications} ECS "
        f"application(s) of {search.applications} application(s)"
    )


def _ecs_applications(cd: Any, budget: _Budget, names: list[str]) -> Iterator[str]:
    """ECS applications among ``names``, in their order; BatchGetApplications 100 names at a time,
    the next 100 only when the caller asks for more."""
    for i in range(0, len(names), BATCH_SIZE):
        chunk = names[i : i + BATCH_SIZE]
        budget.spend()
        out = ecs.call("BatchGetApplications", cd.batch_get_applications, applicationNames=chunk)
        platforms = {
            a.get("applicationName"): a.get("computePlatform") for a in out.get("applicationsInfo") or []
        }
        yield from (n for n in chunk if platforms.get(n) == "ECS")


def _describe_groups(
    cd: Any, budget: _Budget, application: str, names: list[str]
) -> Iterator[Mapping[str, Any]]:
    """DeploymentGroupInfo of ``names``: GetDeploymentGroup for one name (same cost, same
    permission), BatchGetDeploymentGroups 100 at a time otherwise, the next 100 only when asked."""
    if len(names) == 1:
        yield _get_group(cd, budget, application, names[0])
        return
    for i in range(0, len(names), BATCH_SIZE):
        chunk = names[i : i + BATCH_SIZE]
        budget.spend()
        out = ecs.call(f"BatchGetDeploymentGroups {application}", cd.batch_get_deployment_groups,
                       applicationName=application, deploymentGroupNames=chunk)  # fmt: skip
        by_name = {g.get("deploymentGroupName"): g for g in out.get("deploymentGroupsInfo") or []}
        yield from (by_name[n] for n in chunk if n in by_name)


def _get_group(cd: Any, budget: _Budget, application: str, group: str) -> Mapping[str, Any]:
    budget.spend()
    out = ecs.call(f"GetDeploymentGroup {application}/{group}", cd.get_deployment_group,
                   applicationName=application, deploymentGroupName=group)  # fmt: skip
    return dict(out.get("deploymentGroupInfo") or {})


def _pages(fn: Any, key: str, budget: _Budget, what: str, **kwargs: Any) -> Iterator[str]:
    token = ""
    while True:
        budget.spend()
        page = ecs.call(what, fn, **kwargs, **({"nextToken": token} if token else {}))
        yield from (str(n) for n in page.get(key) or [])
        token = str(page.get("nextToken") or "")
        if not token:
            return


def _ranked(names: list[str], search: _Search) -> list[str]:
    """Likely names first (stable): the console's ``AppECS-<cluster>-<service>`` /
    ``DgpECS-<cluster>-<service>``, then those holding the service name, then the cluster name."""
    console = {f"AppECS-{search.cluster}-{search.service}", f"DgpECS-{search.cluster}-{search.service}"}

    def score(name: str) -> int:
        low = name.lower()
        return -(
            4 * (name in console) + 2 * (search.service.lower() in low) + (search.cluster.lower() in low)
        )

    return sorted(names, key=score)


def _name_of(arn_or_name: str) -> str:
    """``arn:aws:ecs:…:cluster/name`` (or ``service/cluster/name``) -> ``name``."""
    return str(arn_or_name).rsplit("/", 1)[-1]


def _targets(info: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for target in info.get("ecsServices") or []:
        yield _name_of(target.get("clusterName", "")), _name_of(target.get("serviceName", ""))


def _deploys(info: Mapping[str, Any], search: _Search) -> bool:
    return (search.cluster, search.service) in set(_targets(info))


def _describe_targets(info: Mapping[str, Any]) -> str:
    pairs = [f"service {sv} in cluster {cl}" for cl, sv in _targets(info)]
    return ", ".join(pairs) or "no ECS service"
