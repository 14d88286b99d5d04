"""Remembering which task definition revisions failed to deploy, across runs.

ECS keeps a revision whose deployment failed ACTIVE, so "the previous ACTIVE revision" can be
one that never served. When a deploy of this tool fails, it tags the failed revision
``ecspresso-py:deploy-failed`` (value: when, and the ECS deployment id); ``rollback`` skips
revisions carrying the tag, the automatic rollback never targets one, and ``revisions`` marks
them. A later successful deploy of the same revision removes the tag.

All of it is best effort: a role without ``ecs:TagResource`` or ``tag:GetResources`` gets one
warning, and the deploy's own outcome never changes because a tag could not be written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ecspresso import ecs
from ecspresso.errors import AwsError
from ecspresso.normalize import OWN_TAG_PREFIX

if TYPE_CHECKING:
    from ecspresso.app import App

FAILED_TAG = f"{OWN_TAG_PREFIX}deploy-failed"


def mark_failed(app: App, arn: str, deployment_id: str) -> None:
    """Tag ``arn`` as a revision whose deployment failed (never raises)."""
    if not arn:
        return
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    value = f"{when} {deployment_id}".strip()
    try:
        ecs.call(f"TagResource {ecs.short_name(arn)}", app.client("ecs").tag_resource, resourceArn=arn,
                 tags=[{"key": FAILED_TAG, "value": value}])  # fmt: skip
    except AwsError as exc:
        app.log.warning(
            f"could not mark {ecs.short_name(arn)} as failed ({exc}): a later 'rollback' may pick it"
        )
        return
    app.log.info(f"{ecs.short_name(arn)} is marked as failed ({FAILED_TAG})")


def clear_failed(app: App, arn: str) -> None:
    """Remove the failed mark of ``arn`` if it has one (it deployed fine after all; never raises)."""
    try:
        if not is_marked_failed(app, arn):
            return
        ecs.call(f"UntagResource {ecs.short_name(arn)}", app.client("ecs").untag_resource, resourceArn=arn,
                 tagKeys=[FAILED_TAG])  # fmt: skip
    except AwsError as exc:
        app.log.warning(f"could not clear the failed mark of {ecs.short_name(arn)}: {exc}")
        return
    app.log.info(f"{ecs.short_name(arn)} deployed successfully: its failed mark is removed")


def is_marked_failed(app: App, arn: str) -> bool:
    out = ecs.call(f"ListTagsForResource {ecs.short_name(arn)}", app.client("ecs").list_tags_for_resource,
                   resourceArn=arn)  # fmt: skip
    return any(t.get("key") == FAILED_TAG for t in out.get("tags") or [])


def failed_revisions(app: App, family: str) -> dict[str, str] | None:
    """ARN -> mark (when, deployment) of ``family``'s revisions marked failed, in one paginated
    Resource Groups Tagging API query; None when that API cannot be asked (the caller then checks
    revisions one by one, or says it cannot tell)."""
    client = app.client("resourcegroupstaggingapi")
    found: dict[str, str] = {}
    token = ""
    try:
        while True:
            page = ecs.call("GetResources", client.get_resources, TagFilters=[{"Key": FAILED_TAG}],
                            ResourceTypeFilters=["ecs:task-definition"],
                            **({"PaginationToken": token} if token else {}))  # fmt: skip
            for item in page.get("ResourceTagMappingList", []):
                arn = str(item.get("ResourceARN", ""))
                if ecs.family_of(arn) == family:
                    tags = {t.get("Key"): t.get("Value", "") for t in item.get("Tags", [])}
                    found[arn] = str(tags.get(FAILED_TAG) or "")
            token = str(page.get("PaginationToken") or "")
            if not token:
                return found
    except AwsError as exc:
        app.log.debug(f"cannot list revisions marked failed with the tagging API: {exc}")
        return None
