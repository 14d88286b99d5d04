"""``deregister``: deregister (and optionally delete) task definition revisions that are not in use.

A revision is *in use* (:func:`ecspresso.inuse.in_use_revisions`) when a deployment or task set of
any service in any cluster runs it, a task that has not stopped runs it (any cluster), or an ECS
target of an EventBridge rule (any event bus) or of an EventBridge Scheduler schedule pins it
(``TaskDefinitionArn`` naming the revision; a family-only ARN, as ecschedule writes for
``taskDefinition: app``, pins nothing: it runs the newest ACTIVE revision).

In-use revisions are never deregistered. When the check cannot be completed (a listing denied,
e.g. ``events:ListRules``, or a bound exceeded) nothing is deregistered: the command refuses,
naming what it could not check, unless ``--force`` (then it warns and still skips what it knows
to be in use). ``--dry-run`` gives the same answer.

``--keeps N`` keeps the N newest revisions *not* in use and never touches the newest revision of
the family (family-only schedules and ``run --latest-task-definition`` would silently fall back
to an older one); ``--revision latest`` deregisters the newest revision, but only when asked
explicitly (the ecschedule roll-back flow: deregister a broken batch revision so family-only
targets run the previous one).

Confirmation: without ``--force`` ecspresso asks ``y/N``. When stdin is not a terminal (CI, the
GitHub Action) there is nobody to ask, so the command refuses with an error telling to pass
``--force`` instead of hanging or silently aborting. ``--dry-run`` makes no mutating call.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ecspresso import ecs
from ecspresso.app import App
from ecspresso.errors import EcspressoError, UsageError
from ecspresso.inuse import InUse, in_use_reason, in_use_revisions, refusal
from ecspresso.options import Command, option
from ecspresso.report import Result

__all__ = ["DeregisterOption", "deregister", "in_use_reason", "in_use_revisions"]

DELETE_BATCH = 10  # DeleteTaskDefinitions accepts at most 10 ARNs


@dataclass
class DeregisterOption:
    dry_run: bool = option(False, "show what would be deregistered; change nothing")
    keeps: int | None = option(None, "number of revisions to keep, not counting those in use")
    revision: str = option("", "revision number to deregister, or 'latest'", metavar="N|latest")
    force: bool = option(False, "deregister without confirmation (required when stdin is not a terminal), "
                                "even when the in-use check could not be completed")  # fmt: skip
    delete: bool = option(False, "also delete the deregistered revisions (DeleteTaskDefinitions)")


# ---------------------------------------------------------------------------------------------
# confirmation


def ask(question: str, flag: str = "--force") -> str:
    """Ask on the terminal and return the answer; refuse when nobody can answer (no TTY)."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise EcspressoError(f"{question} needs confirmation, but stdin is not a terminal: pass {flag}")
    sys.stderr.write(question + " ")
    sys.stderr.flush()
    return stdin.readline().strip()


def confirm(app: App, question: str, *, force: bool) -> None:
    """y/N prompt unless ``force``; anything but y/yes aborts."""
    if force:
        return
    if ask(f"{question} [y/N]:").lower() not in ("y", "yes"):
        app.log.info("Aborted")
        raise EcspressoError("confirmation failed")


# ---------------------------------------------------------------------------------------------
# the command


def deregister(app: App, opts: DeregisterOption) -> Result:
    if not opts.revision and not (opts.keeps and opts.keeps > 0):
        raise UsageError("--revision or --keeps required")
    if opts.revision and opts.keeps:
        raise UsageError("--revision and --keeps are mutually exclusive")
    app.log.info("Starting deregister task definition" + (" (dry run)" if opts.dry_run else ""))
    family = str(app.load_task_definition()["family"])
    if opts.revision:
        return _deregister_revision(app, opts, family)
    return _deregister_keeps(app, opts, family)


def _deregister_revision(app: App, opts: DeregisterOption, family: str) -> Result:
    if opts.revision == "latest":
        target = ecs.latest_task_definition_arn(app, family)
    elif opts.revision.isdigit() and int(opts.revision) > 0:
        target = f"{family}:{int(opts.revision)}"
    else:
        raise UsageError(f"invalid --revision {opts.revision!r}: a revision number or 'latest'")
    td = ecs.describe_task_definition(app, target, tags=False)
    arn, name = str(td["taskDefinitionArn"]), f"{family}:{td['revision']}"
    if td.get("status") != "ACTIVE":
        if not opts.delete:
            app.log.info(f"{name} is already {td.get('status')}")
            return _result(app, "no-change", arn, f"{name} is already {td.get('status')}")
    else:
        in_use = in_use_revisions(app, family)
        why = in_use.why(arn)
        if why:
            raise EcspressoError(f"{name} is in use by {why}")
        _unless_incomplete(app, opts, in_use, [name])
        if opts.revision == "latest":
            app.log.warning(
                f"{name} is the newest revision: family-only references will use the previous one"
            )
    if opts.dry_run:
        app.log.info(f"task definition {name} will be deregistered" + (" and deleted" if opts.delete else ""))
        app.log.info("DRY RUN OK")
        return _result(app, "dry-run", arn, name, removed=[name])
    confirm(app, f"Deregister {name} ?", force=opts.force)
    if td.get("status") == "ACTIVE":
        _deregister_one(app, name)
    if opts.delete:
        _delete(app, [name])
    return _result(app, "deregistered", arn, name, removed=[name])


def _deregister_keeps(app: App, opts: DeregisterOption, family: str) -> Result:
    keeps = int(opts.keeps or 0)
    arns = sorted(
        (a for a in ecs.list_task_definition_arns(app, family) if ecs.family_of(a) == family),
        key=ecs.revision_of,
    )
    in_use = in_use_revisions(app, family)
    candidates: list[str] = []
    kept: list[str] = []
    for arn in arns:
        why = in_use_reason(in_use, arn)
        if why:
            app.log.info(f"{ecs.short_name(arn)} is in use by {why}. skip")
            kept.append(f"{ecs.short_name(arn)}: in use by {why}")
        elif arns and arn == arns[-1]:
            app.log.info(f"{ecs.short_name(arn)} is the newest revision. skip")
            kept.append(f"{ecs.short_name(arn)}: the newest revision")
        else:
            candidates.append(arn)
    # the newest revision, when not in use, counts as one of the revisions kept
    kept_newest = 1 if arns and not in_use_reason(in_use, arns[-1]) else 0
    victims = candidates[: max(0, len(candidates) - max(0, keeps - kept_newest))]
    kept += [f"{ecs.short_name(a)}: one of the {keeps} kept (--keeps)" for a in candidates[len(victims) :]]
    if not victims:
        app.log.info("No need to deregister task definitions")
        return _result(app, "no-change", "", "", kept=kept)
    names = [ecs.short_name(a) for a in victims]
    _unless_incomplete(app, opts, in_use, names)
    for name in names:
        app.log.info(f"{name} will be deregistered")
    if opts.dry_run:
        app.log.info("DRY RUN OK")
        return _result(app, "dry-run", "", ", ".join(names), removed=names, kept=kept)
    confirm(app, f"Deregister {len(names)} revisions?", force=opts.force)
    pause = min(1.0, app.timing.poll_interval / 5)  # ecspresso pauses 1 s between calls
    for i, name in enumerate(names):
        if i:
            app.timing.sleep(pause)
        _deregister_one(app, name)
    app.log.info(f"{len(names)} task definitions were deregistered")
    if opts.delete:
        _delete(app, names)
    return _result(app, "deregistered", victims[-1], ", ".join(names), removed=names, kept=kept)


def _unless_incomplete(app: App, opts: DeregisterOption, in_use: InUse, names: list[str]) -> None:
    """Refuse to deregister ``names`` on an incomplete in-use check, unless ``--force``."""
    if in_use.complete:
        return
    if not opts.force:
        raise EcspressoError(refusal(in_use, names), title="in-use check incomplete")
    app.log.warning(
        f"the in-use check is incomplete ({in_use.gap_text()}): {', '.join(names)} may be "
        f"{in_use.doubt()}; deregistering anyway (--force)"
    )


def _deregister_one(app: App, name: str) -> None:
    app.log.info(f"Deregistering {name}")
    ecs.call(
        f"DeregisterTaskDefinition {name}", app.client("ecs").deregister_task_definition, taskDefinition=name
    )
    app.log.info(f"{name} was deregistered successfully")


def _delete(app: App, names: list[str]) -> None:
    client = app.client("ecs")
    for i in range(0, len(names), DELETE_BATCH):
        chunk = names[i : i + DELETE_BATCH]
        app.log.info(f"Deleting task definitions {','.join(chunk)}")
        out = ecs.call("DeleteTaskDefinitions", client.delete_task_definitions, taskDefinitions=chunk)
        failures = out.get("failures") or []
        if failures:
            detail = "; ".join(
                f"{f.get('arn', '?')}: {f.get('reason', '')} {f.get('detail', '')}".strip() for f in failures
            )
            raise EcspressoError(f"failed to delete task definitions: {detail}")
        app.log.info(f"{len(chunk)} task definitions were deleted successfully")


def _result(
    app: App,
    result: str,
    arn: str,
    message: str,
    *,
    removed: list[str] | None = None,
    kept: list[str] | None = None,
) -> Result:
    return Result(
        command="deregister",
        result=result,
        service=app.config.service,
        cluster=app.config.cluster,
        task_definition_arn=arn,
        message=message,
        removed=list(removed or []),
        kept=sorted(kept or [], key=lambda k: ecs.revision_of(k.split(":", 2)[0] + ":" + k.split(":", 2)[1])),
    )


COMMANDS = [
    Command(
        "deregister",
        "deregister task definition revisions not in use",
        DeregisterOption,
        deregister,
        examples=("deregister --revision latest --dry-run", "deregister --keeps 5 --force"),
    )
]
