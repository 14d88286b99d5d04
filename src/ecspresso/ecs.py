"""ECS calls shared by several commands (the imperative shell around the pure modules).

Every function takes an :class:`ecspresso.app.App` (for clients and config) and returns plain
dicts in the API's shape. AWS errors become :class:`ecspresso.errors.AwsError` with one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ecspresso.aws import translate
from ecspresso.errors import EcspressoError

if TYPE_CHECKING:
    from ecspresso.app import App

T = TypeVar("T")


def call(what: str, fn: Callable[..., T], **kwargs: Any) -> T:
    """Run one AWS call; an error left after botocore's retries becomes
    ``AwsError("<what>: Code: message")`` carrying the code and whether it was transient."""
    try:
        return fn(**kwargs)
    except EcspressoError:
        raise
    except Exception as exc:
        translated = translate(exc, what)
        if translated is None:
            raise
        raise translated from exc


def family_of(arn_or_name: str) -> str:
    """``arn:…:task-definition/app:3`` or ``app:3`` or ``app`` -> ``app``."""
    return arn_or_name.rsplit("/", 1)[-1].split(":")[0]


def revision_of(arn_or_name: str) -> int:
    tail = arn_or_name.rsplit("/", 1)[-1]
    return int(tail.split(":")[1]) if ":" in tail else 0


def short_name(arn_or_name: str) -> str:
    """``family:revision`` of a task definition ARN."""
    return arn_or_name.rsplit("/", 1)[-1]


def describe_service(app: App, *, include_tags: bool = True) -> dict[str, Any] | None:
    """The configured service, or None if it does not exist (missing or INACTIVE)."""
    cfg = app.config
    kwargs: dict[str, Any] = {"cluster": cfg.cluster, "services": [cfg.service]}
    if include_tags:
        kwargs["include"] = ["TAGS"]
    out = call(f"DescribeServices {cfg.service}", app.client("ecs").describe_services, **kwargs)
    for svc in out.get("services", []):
        if svc.get("status") != "INACTIVE":
            return dict(svc)
    return None


def describe_task_definition(app: App, name: str, *, tags: bool = True) -> dict[str, Any]:
    """DescribeTaskDefinition; the result carries the TD's ``tags`` inside it."""
    kwargs: dict[str, Any] = {"taskDefinition": name}
    if tags:
        kwargs["include"] = ["TAGS"]
    out = call(f"DescribeTaskDefinition {name}", app.client("ecs").describe_task_definition, **kwargs)
    td = dict(out["taskDefinition"])
    if out.get("tags"):
        td["tags"] = out["tags"]
    return td


def list_task_definition_arns(
    app: App, family: str, *, sort: str = "ASC", status: str = "ACTIVE"
) -> list[str]:
    """Every revision ARN of ``family`` (paginated), oldest first with ``ASC``."""
    return list(iter_task_definition_arns(app, family, sort=sort, status=status))


def iter_task_definition_arns(
    app: App, family: str, *, sort: str = "DESC", status: str = "ACTIVE"
) -> Iterator[str]:
    """Revision ARNs of ``family`` page by page (stop iterating to stop listing)."""
    return _paginate(
        app, "list_task_definitions", "taskDefinitionArns", familyPrefix=family, sort=sort, status=status
    )


def latest_task_definition_arn(app: App, family: str, *, missing_ok: bool = False) -> str:
    """The newest ACTIVE revision of ``family``; ``""`` if there is none and ``missing_ok``."""
    arns = [a for a in list_task_definition_arns(app, family, sort="DESC") if family_of(a) == family]
    if not arns:
        if missing_ok:
            return ""
        raise EcspressoError(f"no ACTIVE revision of task definition family {family!r}")
    return max(arns, key=revision_of)


def existing_task_definition(
    app: App, family: str, *, current: str = "", revision: int = 0, latest: bool = False, skip: bool = False
) -> str | None:
    """The task definition ARN that ``--revision N`` / ``--latest-task-definition`` /
    ``--skip-task-definition`` choose (deploy and run), or None: none of them, register the local one.

    ``--revision N`` is ``family:N`` and must be ACTIVE; ``--skip-task-definition`` is ``current``
    (what the service runs) or, without a service, the latest ACTIVE revision of ``family``."""
    if revision:
        name = f"{family}:{revision}"
        td = describe_task_definition(app, name, tags=False)
        if td.get("status") != "ACTIVE":
            raise EcspressoError(
                f"task definition {name} is {td.get('status')}; only ACTIVE revisions can be used"
            )
        return str(td["taskDefinitionArn"])
    if latest or (skip and not current):
        return latest_task_definition_arn(app, family)
    if skip:
        return current
    return None


def without_empty_tags(params: dict[str, Any]) -> dict[str, Any]:
    """ECS refuses ``"tags": []`` ("Tags can not be empty"); a definition with an empty list
    means no tags, as in ecspresso."""
    if "tags" in params and not params["tags"]:
        return {k: v for k, v in params.items() if k != "tags"}
    return params


def register_task_definition(app: App, td: dict[str, Any]) -> dict[str, Any]:
    td = without_empty_tags(td)
    out = call(f"RegisterTaskDefinition {td.get('family')}", app.client("ecs").register_task_definition, **td)
    return dict(out["taskDefinition"])


def list_service_task_arns(app: App, *, desired_status: str, service: str | None = None,
                           family: str | None = None, started_by: str | None = None) -> list[str]:  # fmt: skip
    kwargs: dict[str, Any] = {"cluster": app.config.cluster, "desiredStatus": desired_status}
    if service:
        kwargs["serviceName"] = service
    if family:
        kwargs["family"] = family
    if started_by:
        kwargs["startedBy"] = started_by
    return list(_paginate(app, "list_tasks", "taskArns", **kwargs))


def describe_tasks(app: App, arns: list[str], *, tags: bool = False) -> list[dict[str, Any]]:
    """DescribeTasks, 100 at a time; tasks it does not know are left out (``failures``)."""
    tasks: list[dict[str, Any]] = []
    ecs = app.client("ecs")
    extra: dict[str, Any] = {"include": ["TAGS"]} if tags else {}
    for i in range(0, len(arns), 100):
        out = call("DescribeTasks", ecs.describe_tasks, cluster=app.config.cluster, tasks=arns[i : i + 100],
                   **extra)  # fmt: skip
        tasks.extend(out.get("tasks", []))
    return tasks


def _paginate(app: App, method: str, key: str, **kwargs: Any) -> Iterator[str]:
    fn = getattr(app.client("ecs"), method)
    token: str | None = None
    while True:
        page = call(method, fn, **kwargs, **({"nextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return
