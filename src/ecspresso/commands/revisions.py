"""``revisions``: list the ACTIVE revisions of the local task definition's family, with what uses them.

Revisions whose deploy failed (see :mod:`ecspresso.failed_marks`) get a third column, ``FAILED``
(``failed`` in JSON, a third field in TSV) holding ``deploy failed <when> <deployment>``; the
column is there only when some revision failed, so ecspresso's two-column shape is unchanged
otherwise.

Formats (stdout): ``table`` (ecspresso's tablewriter look: ``| NAME | IN USE |``), ``tsv``
(``name<TAB>in_use``) and ``json`` (one pretty JSON object ``{"in_use": …, "name": …}`` per
revision, concatenated, not an array: ecspresso's shape; ``jq -s`` makes an array). The default
is ``table``, or ``json`` with ``--log-format json``. ``--revision N|current|latest`` prints that
revision's full DescribeTaskDefinition (with tags) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecspresso import ecs, failed_marks
from ecspresso.app import App
from ecspresso.commands.deregister import in_use_reason, in_use_revisions
from ecspresso.errors import UsageError
from ecspresso.options import Command, option
from ecspresso.report import Result

FORMATS = ("table", "json", "tsv")


@dataclass
class RevisionsOption:
    revision: str = option("", "print this revision as JSON: a number, 'current' or 'latest'",
                           metavar="N|current|latest")  # fmt: skip
    output: str | None = option(None, "output format (default: table; json with --log-format json)",
                                choices=FORMATS)  # fmt: skip


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = ("Name", "In Use", "Failed")) -> str:
    """A table like olekukonko/tablewriter with left/right borders only (header upper-cased)."""
    heads = [h.upper() for h in header[: len(rows[0]) if rows else 2]]
    widths = [max([len(heads[i])] + [len(r[i]) for r in rows]) for i in range(len(heads))]
    lines = ["| " + " | ".join(_center(h, w) for h, w in zip(heads, widths, strict=True)) + " |"]
    lines.append("+" + "+".join("-" * (w + 2) for w in widths) + "+")
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines) + "\n"


def _center(text: str, width: int) -> str:
    left = (width - len(text)) // 2  # tablewriter puts the odd space on the right
    return " " * left + text + " " * (width - len(text) - left)


def format_json(rows: list[tuple[str, ...]]) -> str:
    from ecspresso.normalize import to_api_json

    return "".join(
        to_api_json({"name": r[0], "in_use": r[1], **({"failed": r[2]} if len(r) > 2 and r[2] else {})})
        for r in rows
    )


def format_tsv(rows: list[tuple[str, ...]]) -> str:
    return "".join("\t".join(r) + "\n" for r in rows)


def revisions(app: App, opts: RevisionsOption) -> Result:
    family = str(app.load_task_definition()["family"])
    if opts.revision:
        return _dump_revision(app, family, opts.revision)
    in_use = in_use_revisions(app, family)
    if not in_use.complete:
        app.log.warning(f"the IN USE column may be incomplete: {in_use.gap_text()}")
    arns = sorted(
        (a for a in ecs.list_task_definition_arns(app, family) if ecs.family_of(a) == family),
        key=ecs.revision_of,
    )
    marked = failed_marks.failed_revisions(app, family)
    if marked is None:
        app.log.warning("cannot tell which revisions failed to deploy (tag:GetResources is not allowed)")
    marks = {a: f"deploy failed {v}".strip() for a, v in (marked or {}).items()}
    rows: list[tuple[str, ...]] = [(ecs.short_name(a), in_use_reason(in_use, a)) for a in arns]
    if any(a in marks for a in arns):
        rows = [(*row, marks.get(a, "")) for row, a in zip(rows, arns, strict=True)]
    fmt = opts.output or ("json" if app.opts.log_format == "json" else "table")
    text = {"table": format_table, "json": format_json, "tsv": format_tsv}[fmt](rows)
    if text:
        app.reporter.output(text)
    return Result(command="revisions", result="ok", service=app.config.service, cluster=app.config.cluster)


def _dump_revision(app: App, family: str, revision: str) -> Result:
    from ecspresso.normalize import to_api_json

    if revision == "current":
        sv = ecs.describe_service(app, include_tags=False) if app.config.service else None
        if sv is None:
            app.log.info(f"no service in the cluster runs {family}: showing the latest revision")
            name = ecs.latest_task_definition_arn(app, family)
        else:
            name = str(sv["taskDefinition"])
    elif revision == "latest":
        name = ecs.latest_task_definition_arn(app, family)
    elif revision.isdigit():
        name = f"{family}:{int(revision)}"
    else:
        raise UsageError(f"invalid --revision {revision!r}: a revision number, 'current' or 'latest'")
    td = ecs.describe_task_definition(app, name)
    app.reporter.output(to_api_json(td))
    return Result(
        command="revisions",
        result="ok",
        service=app.config.service,
        cluster=app.config.cluster,
        task_definition_arn=str(td.get("taskDefinitionArn", "")),
    )


COMMANDS = [
    Command(
        "revisions",
        "list revisions of the task definition and what uses them",
        RevisionsOption,
        revisions,
        examples=("revisions", "revisions --output json", "revisions --revision current"),
    )
]
