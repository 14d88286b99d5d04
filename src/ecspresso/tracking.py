"""Following this command's ECS service deployment while waiting (the I/O around
:mod:`ecspresso.deployments`).

After UpdateService/CreateService the deployment is the one the answer names
(``currentServiceDeployment``); where the answer does not name it, it is found with
ListServiceDeployments (created since the command started, closest to the deployment ECS
answered with, as ecspresso does). It is read with DescribeServiceDeployments on every poll. Its service revisions are named once
(DescribeServiceRevisions, ARN -> ``family:revision``). Progress lines are printed when the
status, stage, counts, traffic or a paused hook change; a paused PAUSE hook is warned about once.

Where the API is not answered (an older endpoint, a region without it, a role without
``ecs:ListServiceDeployments``: any error before its first answer, after botocore's retries),
the tracker turns itself off after one debug line and the DescribeServices judgement decides
alone; once it has answered, throttling or a 5xx keeps the last answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ecspresso import ecs
from ecspresso.deployments import ours_among, paused_hook, progress_line
from ecspresso.errors import AwsError

if TYPE_CHECKING:
    from ecspresso.app import App

#: polls to look for our service deployment before judging from DescribeServices alone
FIND_ATTEMPTS = 5
#: clock skew allowed between this machine and ECS when filtering by createdAt
SKEW = timedelta(seconds=30)


class ServiceDeploymentTracker:
    def __init__(
        self,
        app: App,
        *,
        arn: str = "",
        since: datetime | None = None,
        created_at: datetime | None = None,
        enabled: bool = True,
        newest: bool = False,
        detailed: bool = True,
    ) -> None:
        self.app = app
        self.arn = arn
        self.since = since
        self.created_at = created_at
        self.newest = newest  # `wait`: the service's newest deployment, whoever started it
        self.enabled = enabled
        self.detailed = detailed  # False: the ListServiceDeployments brief (status, reason) is enough
        self.attempts = 0
        self.last: dict[str, Any] | None = None
        self.names: dict[str, str] = {}
        self.stages: list[str] = []
        self._line = ""
        self._warned: set[str] = set()

    def poll(self) -> dict[str, Any] | None:
        """Our service deployment now (None while unknown or when the API is not answered)."""
        if not self.enabled:
            return None
        try:
            if not self.arn and not self.detailed and not self.newest:
                return self._brief()
            if not self.arn and not self._find():
                return None
            out = ecs.call("DescribeServiceDeployments", self.app.client("ecs").describe_service_deployments,
                           serviceDeploymentArns=[self.arn])  # fmt: skip
        except AwsError as exc:
            if exc.transient and self.last is not None:
                self.app.log.warning(f"{exc}; keeping the last service deployment state")
                return self.last
            self.app.log.debug(f"service deployments are not answered ({exc}); judging from DescribeServices")
            self.enabled = False
            return None
        found = out.get("serviceDeployments") or []
        if not found:
            return self.last
        sd = dict(found[0])
        if self.detailed:
            self.name_revisions(sd)  # for the progress lines; ROLLING shows DescribeServices' instead
        self._report(sd)
        self.last = sd
        return sd

    def _brief(self) -> dict[str, Any] | None:
        """Our deployment's ListServiceDeployments brief (status, statusReason), one call."""
        briefs = self._list()
        if self.arn:
            sd = next((b for b in briefs if b.get("serviceDeploymentArn") == self.arn), None)
        else:
            sd = ours_among(briefs, self.created_at)
            if sd is None:
                self._give_up_after_attempts()
                return None
            self.arn = str(sd["serviceDeploymentArn"])
            self.app.log.info(f"Service deployment {self.arn.rsplit('/', 1)[-1]}")
        if sd is None:
            return self.last
        sd = dict(sd)
        self._report(sd)
        self.last = sd
        return sd

    def _list(self) -> list[dict[str, Any]]:
        cfg = self.app.config
        kwargs: dict[str, Any] = {"cluster": cfg.cluster, "service": cfg.service}
        if self.since is not None and not self.newest:
            kwargs["createdAt"] = {"after": self.since - SKEW}
        out = ecs.call("ListServiceDeployments", self.app.client("ecs").list_service_deployments, **kwargs)
        return list(out.get("serviceDeployments") or [])

    def _give_up_after_attempts(self) -> None:
        self.attempts += 1
        if self.attempts >= FIND_ATTEMPTS:
            self.app.log.debug("no service deployment found; judging from DescribeServices")
            self.enabled = False

    def _find(self) -> bool:
        briefs = self._list()
        if self.newest:
            briefs = [b for b in briefs if b.get("status") in ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED",
                                                                  "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")]  # fmt: skip
        ours = ours_among(briefs, None if self.newest else self.created_at)
        if ours is None:
            self._give_up_after_attempts()
            return False
        self.arn = str(ours["serviceDeploymentArn"])
        self.app.log.info(f"Service deployment {self.arn.rsplit('/', 1)[-1]}")
        return True

    def name_revisions(self, sd: dict[str, Any]) -> None:
        """ARN -> ``family:revision`` for the target and source revisions not named yet."""
        arns = [str(r.get("arn")) for r in [sd.get("targetServiceRevision") or {}, *(sd.get("sourceServiceRevisions") or [])]
                if r.get("arn") and str(r.get("arn")) not in self.names]  # fmt: skip
        if not arns:
            return
        try:
            out = ecs.call("DescribeServiceRevisions", self.app.client("ecs").describe_service_revisions,
                           serviceRevisionArns=arns[:20])  # fmt: skip
        except AwsError as exc:
            self.app.log.debug(f"cannot name the service revisions: {exc}")
            self.names.update({a: "" for a in arns})
            return
        for rev in out.get("serviceRevisions") or []:
            self.names[str(rev.get("serviceRevisionArn"))] = ecs.short_name(
                str(rev.get("taskDefinition") or "")
            )

    def _report(self, sd: dict[str, Any]) -> None:
        stage = str(sd.get("lifecycleStage") or "")
        if stage and (not self.stages or self.stages[-1] != stage):
            self.stages.append(stage)
        line = progress_line(sd, self.names)
        if line != self._line:
            self._line = line
            self.app.log.info(line)
        hook = paused_hook(sd)
        if hook is not None and str(hook.get("hookId")) not in self._warned:
            self._warned.add(str(hook.get("hookId")))
            self.app.log.warning(
                f"the deployment is paused at {stage or '?'} by a PAUSE hook ({hook.get('hookId')}"
                + (
                    f", until {hook.get('expiresAt')}, then {hook.get('timeoutAction')}"
                    if hook.get("expiresAt")
                    else ""
                )
                + "): run 'ecspresso continue' to go on, or 'ecspresso rollback' to roll back"
            )

    def target_task_definition(self) -> str:
        """``family:revision`` of our deployment's target revision, when known."""
        return self.target_task_definition_of(self.last or {})

    def target_task_definition_of(self, sd: dict[str, Any]) -> str:
        target = sd.get("targetServiceRevision") or {}
        return self.names.get(str(target.get("arn")), "")
