"""Which revisions of a task definition family are in use: the check behind ``deregister``,
``revisions`` and the deregistration after a rollback.

A revision of family F is *in use* when

* a deployment or task set of **any** service in **any** cluster of the account/region runs it
  (not only the configured service: another service, or the same image in another cluster);
* a task of F that has not stopped runs it, in any cluster (schedules start standalone tasks in
  clusters that have no service at all);
* an ECS target of an EventBridge rule on **any** event bus (default, custom, partner) pins it;
* an ECS target of an EventBridge Scheduler schedule (any schedule group) pins it.

A target *pins* a revision when its ``TaskDefinitionArn`` names one (``…/app:3``). A family-only
ARN (``…/app``, what ecschedule writes for ``taskDefinition: app``) runs the newest ACTIVE revision
and pins nothing.

The check is *complete* only when every listing above answered, within the bounds below. A call
that is denied (or fails for any other AWS reason) or a bound that is exceeded is a :class:`Gap`:
the answer is then "these are in use, and others may be too". Callers must not deregister on an
incomplete answer unless the user forces it (:func:`refusal` words the error).

Calls (each listing asks for 100 items a page):

* ECS: ``ListClusters`` 1 + per cluster ``ListServices`` 1 and ``ListTasks`` 2 (desired RUNNING
  and STOPPED: a stopping task still runs) + ``DescribeServices`` per 10 services +
  ``DescribeTasks`` per 100 tasks of the family found;
* EventBridge: ``ListEventBuses`` 1 + per bus ``ListRules`` 1 + ``ListTargetsByRule`` per rule;
* Scheduler: ``ListSchedules`` 1 + ``GetSchedule`` per schedule whose target is an ECS cluster
  (the listing shows only the target's ARN, not its task definition).

A typical account, 1 cluster with 10 services (the family's own service running its tasks), the
default bus with R rules and S ECS schedules, costs 1+1+1+2+1 + 1+1+R + 1+S = **9 + R + S calls**
(ecspresso's own check, configured service and its cluster's tasks only: 4; the previous check of
this port: 5 + R). Every further 100 tasks of the family (running, or stopped within the hour ECS
keeps listing them) add one ``DescribeTasks``.

Bounds (exceeding one makes the check incomplete, never silently partial): :data:`MAX_CLUSTERS`
clusters, :data:`MAX_SERVICES` services and :data:`MAX_TASKS` tasks of the family in all,
:data:`MAX_EVENT_BUSES` buses, :data:`MAX_RULES` rules in all, :data:`MAX_SCHEDULES` schedules
listed, of which at most :data:`MAX_ECS_SCHEDULES` are read. At the bounds the check costs at most
about 1 + 55 + 100 + 110 + 60 (ECS) + 1 + 23 + 300 (EventBridge) + 11 + 300 (Scheduler) ≈ 960 calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.errors import AwsError

if TYPE_CHECKING:
    from ecspresso.app import App

MAX_CLUSTERS = 50
MAX_SERVICES = 500  # in all clusters together
MAX_TASKS = 1000  # tasks of the family (live or recently stopped) in all clusters together
MAX_EVENT_BUSES = 20
MAX_RULES = 300  # on all buses together; one ListTargetsByRule each
MAX_SCHEDULES = 1000  # listed (100 a page)
MAX_ECS_SCHEDULES = 300  # schedules with an ECS target; one GetSchedule each
PAGE_SIZE = 100
DESCRIBE_SERVICES_BATCH = 10
DESCRIBE_TASKS_BATCH = 100

DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
     "UnrecognizedClientException", "AuthorizationError"}
)  # fmt: skip
_GONE_CODES = frozenset({"ClusterNotFoundException", "ResourceNotFoundException"})

#: what an unanswered question leaves open, by kind of gap
_DOUBTS = {
    "cluster": "used by a service or task in another cluster",
    "service": "used by a service",
    "task": "run by a task",
    "schedule": "pinned by a schedule",
}

# priorities of the reasons: the first found for a revision is not always the one to show; the
# configured service's own deployment reads as ecspresso writes it ("PRIMARY deployment")
_OWN_SERVICE, _OTHER_SERVICE, _OWN_CLUSTER_TASK, _OTHER_TASK, _RULE, _SCHEDULE = range(6)


@dataclass(frozen=True)
class Gap:
    """One part of the check that could not be completed."""

    kind: str  # "cluster", "service", "task" or "schedule" (what the gap leaves open, see _DOUBTS)
    action: str  # the IAM action of the call: "events:ListRules"
    detail: str  # "denied (AccessDeniedException)", "failed (…)", "more than 50 clusters (…)"
    denied: bool = False

    def __str__(self) -> str:
        return f"{self.action} {self.detail}"


class InUse(Mapping[str, str]):
    """Revision ARN -> why it is in use, plus the :class:`Gap` s that make the answer incomplete."""

    def __init__(self, revisions: Mapping[str, str], gaps: Iterable[Gap] = ()) -> None:
        self._revisions = dict(revisions)
        self.gaps: tuple[Gap, ...] = tuple(dict.fromkeys(gaps))

    def __getitem__(self, arn: str) -> str:
        return self._revisions[arn]

    def __iter__(self) -> Iterator[str]:
        return iter(self._revisions)

    def __len__(self) -> int:
        return len(self._revisions)

    def __repr__(self) -> str:
        return f"InUse({self._revisions!r}, gaps={list(self.gaps)!r})"

    @property
    def complete(self) -> bool:
        return not self.gaps

    def why(self, name_or_arn: str) -> str:
        """Why ``family:N`` (or its ARN) is in use, or ``""``."""
        return in_use_reason(self, name_or_arn)

    def doubt(self) -> str:
        """What the gaps leave open: ``"used by a service or pinned by a schedule"``."""
        kinds = dict.fromkeys(g.kind for g in self.gaps)
        return " or ".join(_DOUBTS.get(k, k) for k in kinds)

    def gap_text(self) -> str:
        return "; ".join(str(g) for g in self.gaps)


def in_use_reason(in_use: Mapping[str, str], name_or_arn: str) -> str:
    """Why ``family:N`` (or its ARN) is in use, or ``""``."""
    name = ecs.short_name(name_or_arn)
    return next((why for arn, why in in_use.items() if ecs.short_name(arn) == name), "")


def uncertainty(in_use: InUse, names: list[str]) -> str:
    """``cannot tell whether app:3 is pinned by a schedule: events:ListRules denied (…)``."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    verb = "is" if len(names) == 1 else "are"
    return f"cannot tell whether {shown} {verb} {in_use.doubt()}: {in_use.gap_text()}"


def refusal(in_use: InUse, names: list[str]) -> str:
    """The one-line error for deregistering ``names`` on an incomplete check."""
    remedy = "pass --force to deregister anyway"
    denied = [g for g in in_use.gaps if g.denied]
    if denied:
        remedy = f"grant {'it' if len(denied) == 1 else 'them'} or {remedy}"
    return f"{uncertainty(in_use, names)}; {remedy}"


# ---------------------------------------------------------------------------------------------
# pure: from API answers to pinned revisions


def as_task_definition_arn(ref: str, like: str) -> str:
    """``app:3`` -> full task definition ARN in the partition/region/account of ``like`` (any ARN)."""
    if ref.startswith("arn:") or not like.startswith("arn:"):
        return ref
    prefix = ":".join(like.split(":")[:5]).replace(":scheduler:", ":ecs:").replace(":events:", ":ecs:")
    return f"{prefix}:task-definition/{ref}"


def pinned_revisions(targets: Iterable[tuple[str, str]], family: str) -> dict[str, str]:
    """``(TaskDefinitionArn, where)`` pairs of ECS targets -> ``{revision ARN: where}`` for the
    targets of ``family`` that name a revision (the first ``where`` wins). Family-only ARNs, other
    families and empty references pin nothing."""
    pinned: dict[str, str] = {}
    for ref, where in targets:
        if ref and ecs.family_of(ref) == family and ecs.revision_of(ref) > 0:
            pinned.setdefault(ref, where)
    return pinned


def service_revisions(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(task definition ARN, status)`` of every deployment and task set of a DescribeServices
    service (CODE_DEPLOY and EXTERNAL services have task sets instead of deployments)."""
    like = str(service.get("serviceArn") or service.get("clusterArn") or "")
    found: list[tuple[str, str]] = []
    for dep in service.get("deployments") or []:
        found.append((str(dep.get("taskDefinition") or ""), f"{dep.get('status') or 'ACTIVE'} deployment"))
    for ts in service.get("taskSets") or []:
        found.append((str(ts.get("taskDefinition") or ""), f"{ts.get('status') or 'ACTIVE'} task set"))
    if service.get("taskDefinition"):
        found.append((str(service["taskDefinition"]), "service"))
    return [(as_task_definition_arn(ref, like), why) for ref, why in found if ref]


def is_ecs_cluster_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "ecs" and parts[5].startswith("cluster/")


def name_of(arn_or_name: str) -> str:
    """``arn:…:cluster/prod`` -> ``prod`` (a name stays a name)."""
    return arn_or_name.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# the check (read-only AWS calls)


class _Gone(Exception):
    """The thing asked about went away between two calls (cluster, rule, schedule): skip it."""


def in_use_revisions(app: App, family: str) -> InUse:
    """Revisions of ``family`` in use, with reasons, and what could not be checked. Read-only."""
    check = _Check(app, family)
    check.services_and_tasks()
    check.eventbridge_rules()
    check.scheduler_schedules()
    result = check.result()
    for arn, why in result.items():
        app.log.debug(f"{ecs.short_name(arn)} is in use by {why}")
    if result.gaps:
        app.log.debug(f"the in-use check of {family} is incomplete: {result.gap_text()}")
    app.log.debug(f"the in-use check of {family} took {check.calls} calls")
    return result


class _Check:
    def __init__(self, app: App, family: str) -> None:
        self.app, self.family = app, family
        self.cluster = name_of(str(app.config.cluster or "default"))
        self.service = str(app.config.service or "")
        self.found: dict[str, tuple[int, str]] = {}
        self.gaps: list[Gap] = []
        self.calls = 0

    def result(self) -> InUse:
        return InUse({arn: why for arn, (_, why) in self.found.items()}, self.gaps)

    def _add(self, arn: str, priority: int, why: str) -> None:
        if ecs.family_of(arn) != self.family or ecs.revision_of(arn) <= 0:
            return
        if arn not in self.found or priority < self.found[arn][0]:
            self.found[arn] = (priority, why)

    def _gap(self, kind: str, action: str, detail: str, *, denied: bool = False) -> None:
        self.gaps.append(Gap(kind, action, detail, denied))

    def _call(self, kind: str, action: str, fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any] | None:
        """One call; an AWS error becomes a gap (``None``), a vanished resource raises :class:`_Gone`."""
        self.calls += 1
        try:
            return dict(ecs.call(action, fn, **kwargs))
        except AwsError as exc:
            code = exc.code
            if code in _GONE_CODES:
                raise _Gone(code) from exc
            if code in DENIED_CODES:
                self._gap(kind, action, f"denied ({code})", denied=True)
            else:
                self._gap(kind, action, f"failed ({code or exc})")
            return None

    def _pages(self, kind: str, action: str, fn: Callable[..., Any], key: str, *, bound: int, noun: str,
               token: str = "NextToken", limit: str = "Limit", **kwargs: Any) -> tuple[list[Any], bool]:  # fmt: skip
        """Every item of a paginated listing, at most ``bound`` (more is a gap), and whether the
        listing was complete."""
        items: list[Any] = []
        next_token: str | None = None
        while True:
            paging = {limit: PAGE_SIZE, **({token: next_token} if next_token else {})}
            page = self._call(kind, action, fn, **kwargs, **paging)
            if page is None:
                return items, False
            items.extend(page.get(key) or [])
            if len(items) > bound:
                self._gap(kind, action, f"more than {bound} {noun} (the in-use check's bound)")
                return items[:bound], False
            next_token = page.get(token)
            if not next_token:
                return items, True

    # -- ECS ------------------------------------------------------------------------------------
    def services_and_tasks(self) -> None:
        client = self.app.client("ecs")
        clusters, ok = self._pages("cluster", "ecs:ListClusters", client.list_clusters, "clusterArns",
                                   bound=MAX_CLUSTERS, noun="clusters", token="nextToken", limit="maxResults")  # fmt: skip
        if not ok and self.cluster not in {name_of(c) for c in clusters}:
            clusters.append(self.cluster)  # at least what ecspresso itself checks
        # the configured cluster first: its reasons read as ecspresso's
        clusters.sort(key=lambda c: name_of(c) != self.cluster)
        budget = {"services": MAX_SERVICES, "tasks": MAX_TASKS}
        for cluster in clusters:
            try:
                self._services(client, cluster, budget)
            except _Gone:
                self.app.log.debug(f"cluster {name_of(cluster)} not found: no service in it")
            try:
                self._tasks(client, cluster, budget)
            except _Gone:
                self.app.log.debug(f"cluster {name_of(cluster)} not found: no task in it")

    def _services(self, client: Any, cluster: str, budget: dict[str, int]) -> None:
        own_cluster = name_of(cluster) == self.cluster
        arns, ok = self._pages("service", "ecs:ListServices", client.list_services, "serviceArns",
                               bound=budget["services"], noun="services", token="nextToken",
                               limit="maxResults", cluster=cluster)  # fmt: skip
        budget["services"] -= len(arns)
        if not ok and own_cluster and self.service and self.service not in {name_of(a) for a in arns}:
            arns.append(self.service)
        for i in range(0, len(arns), DESCRIBE_SERVICES_BATCH):
            out = self._call("service", "ecs:DescribeServices", client.describe_services,
                             cluster=cluster, services=arns[i : i + DESCRIBE_SERVICES_BATCH])  # fmt: skip
            for sv in (out or {}).get("services") or []:
                if sv.get("status") == "INACTIVE":
                    continue
                name = str(sv.get("serviceName") or name_of(str(sv.get("serviceArn", ""))))
                own = own_cluster and name == self.service
                where = "" if own else f" of service {name_of(cluster)}/{name}"
                for arn, why in service_revisions(sv):
                    self._add(arn, _OWN_SERVICE if own else _OTHER_SERVICE, why + where)

    def _tasks(self, client: Any, cluster: str, budget: dict[str, int]) -> None:
        own_cluster = name_of(cluster) == self.cluster
        arns: list[str] = []
        for desired in ("RUNNING", "STOPPED"):
            found, _ = self._pages("task", "ecs:ListTasks", client.list_tasks, "taskArns",
                                   bound=budget["tasks"] - len(arns), noun="tasks of the family",
                                   token="nextToken", limit="maxResults",
                                   cluster=cluster, family=self.family, desiredStatus=desired)  # fmt: skip
            arns += found
        budget["tasks"] -= len(arns)
        for i in range(0, len(arns), DESCRIBE_TASKS_BATCH):
            out = self._call("task", "ecs:DescribeTasks", client.describe_tasks,
                             cluster=cluster, tasks=arns[i : i + DESCRIBE_TASKS_BATCH])  # fmt: skip
            for task in (out or {}).get("tasks") or []:
                status = task.get("lastStatus") or task.get("desiredStatus") or "RUNNING"
                if status == "STOPPED" or not task.get("taskDefinitionArn"):
                    continue
                where = "" if own_cluster else f" in cluster {name_of(cluster)}"
                priority = _OWN_CLUSTER_TASK if own_cluster else _OTHER_TASK
                self._add(str(task["taskDefinitionArn"]), priority, f"{status} task{where}")

    # -- EventBridge rules ----------------------------------------------------------------------
    def eventbridge_rules(self) -> None:
        client = self.app.client("events")
        buses, ok = self._pages("schedule", "events:ListEventBuses", client.list_event_buses, "EventBuses",
                                bound=MAX_EVENT_BUSES, noun="event buses")  # fmt: skip
        names = [str(b.get("Name") or "") for b in buses if b.get("Name")]
        if not ok and "default" not in names:
            names.insert(0, "default")  # at least what the rules ecschedule writes live on
        budget = MAX_RULES
        for bus in names:
            try:
                rules, _ = self._pages("schedule", "events:ListRules", client.list_rules, "Rules",
                                       bound=budget, noun="EventBridge rules", EventBusName=bus)  # fmt: skip
            except _Gone:
                continue
            budget -= len(rules)
            for rule in rules:
                self._rule_targets(client, bus, str(rule.get("Name") or ""))

    def _rule_targets(self, client: Any, bus: str, rule: str) -> None:
        try:
            targets, _ = self._pages("schedule", "events:ListTargetsByRule", client.list_targets_by_rule,
                                     "Targets", bound=PAGE_SIZE, noun="targets of a rule",
                                     Rule=rule, EventBusName=bus)  # fmt: skip
        except _Gone:
            return  # deleted since it was listed
        where = f"EventBridge rule {rule}" + ("" if bus == "default" else f" on event bus {bus}")
        refs = ((str((t.get("EcsParameters") or {}).get("TaskDefinitionArn") or ""), where) for t in targets)
        for arn, why in pinned_revisions(refs, self.family).items():
            self._add(arn, _RULE, why)

    # -- EventBridge Scheduler ------------------------------------------------------------------
    def scheduler_schedules(self) -> None:
        client = self.app.client("scheduler")
        schedules, _ = self._pages("schedule", "scheduler:ListSchedules", client.list_schedules, "Schedules",
                                   bound=MAX_SCHEDULES, noun="schedules", limit="MaxResults")  # fmt: skip
        ecs_targets = [
            s for s in schedules if is_ecs_cluster_arn(str((s.get("Target") or {}).get("Arn", "")))
        ]
        if len(ecs_targets) > MAX_ECS_SCHEDULES:
            self._gap("schedule", "scheduler:GetSchedule",
                      f"more than {MAX_ECS_SCHEDULES} schedules with an ECS target (the in-use check's bound)")  # fmt: skip
            ecs_targets = ecs_targets[:MAX_ECS_SCHEDULES]
        for summary in ecs_targets:
            name, group = str(summary.get("Name") or ""), str(summary.get("GroupName") or "default")
            try:
                out = self._call("schedule", "scheduler:GetSchedule", client.get_schedule,
                                 Name=name, GroupName=group)  # fmt: skip
            except _Gone:
                continue
            params = ((out or {}).get("Target") or {}).get("EcsParameters") or {}
            ref = str(params.get("TaskDefinitionArn") or "")
            where = f"EventBridge Scheduler schedule {name}" + (
                "" if group == "default" else f" in group {group}"
            )
            for arn, why in pinned_revisions([(ref, where)], self.family).items():
                self._add(arn, _SCHEDULE, why)
