"""The job summary (GitHub's ``GITHUB_STEP_SUMMARY``) of one command, as Markdown (pure).

A head line with the outcome, the service table, then what this command has to say: the plan of a
dry run, the diff, what was registered or deregistered (and what was kept, and why), the rollback,
why a deploy failed (in the container's own words), the events. Text from outside (ECS, inputs,
container lines) goes through :func:`_cell` or :func:`_fenced`: one line or a fenced block, secrets
redacted, no HTML or Markdown that could break out.
"""

from __future__ import annotations

import re

from ecspresso import log
from ecspresso.report import Result


def summary_markdown(command: str, result: Result | None, code: int, error: str, duration: float) -> str:
    from ecspresso.ecs import short_name

    r = result or Result(command=command)
    icon = "✅" if code == 0 else ("↩️" if r.rolled_back else "❌")
    outcome = write_outcome_label(r, code)
    lines = [f"### {icon} ecspresso {_cell(command)}: {outcome}", ""]
    if r.service or r.task_definition_arn:
        lines += [
            "| Service | Cluster | From | To | Deployment | Duration | Result |",
            "|---|---|---|---|---|---|---|",
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    r.service or "-",
                    r.cluster or "-",
                    short_name(r.previous_task_definition_arn) or "-",
                    short_name(r.task_definition_arn) or "-",
                    r.deployment_id or "-",
                    f"{duration:.1f}s",
                    outcome,
                )
            )
            + " |",
            "",
        ]
    lines += _command_section(r, code)
    if error:
        lines += [f"**Why:** {_cell(error)}", ""]
    if r.rolled_back and r.command != "rollback":  # the rollback command says it in its own section
        by = (
            "by ECS's deployment circuit breaker"
            if r.rolled_back_by == "ecs"
            else "by ecspresso (--rollback-on-failure)"
        )
        lines += [
            f"**Rolled back** {by} to `{_cell(short_name(r.rollback_target_arn))}`; the service runs the previous revision again.",
            "",
        ]
    elif r.result == "superseded":
        lines += [
            "**Superseded:** another deployment replaced this one; it was not rolled back (that would undo it).",
            "",
        ]
    if code and r.current_task_definition_arn:
        lines += [f"**Now running:** `{_cell(short_name(r.current_task_definition_arn))}`", ""]
    if r.lifecycle_events:
        lines += ["#### CodeDeploy lifecycle events", "", "| Event | Status |", "|---|---|"]
        lines += [
            f"| {_cell(e.rsplit(' ', 1)[0])} | {_cell(e.rsplit(' ', 1)[-1])} |" for e in r.lifecycle_events
        ]
        lines.append("")
    elif r.lifecycle_stages:
        lines += ["**Lifecycle stages:** " + " → ".join(_cell(st) for st in r.lifecycle_stages), ""]
    if r.console_url.startswith("https://") and ".console.aws.amazon.com/" in r.console_url:
        what = (
            f"CodeDeploy deployment `{_cell(r.deployment_id)}`"
            if r.controller == "CODE_DEPLOY"
            else f"Service `{_cell(r.service)}`"
        )
        lines += [f"[{what} in the AWS console]({_cell(r.console_url)})", ""]
    lines += _why_it_failed(r)
    if r.events:
        lines += [
            "<details><summary>Last service events</summary>",
            "",
            *(f"- {_cell(e)}" for e in r.events),
            "",
            "</details>",
            "",
        ]
    if r.plan or (r.command == "diff" and code == 0):
        lines += _plan_markdown(r)
    elif r.diff:
        lines += ["<details><summary>Diff</summary>", "", *_fenced(r.diff, "diff"), "", "</details>", ""]
    return "\n".join(lines)


def _command_section(r: Result, code: int) -> list[str]:
    """What this command did, in its own words: images registered or deployed, revisions
    deregistered and kept (with why), the rollback."""
    from ecspresso.ecs import short_name

    lines: list[str] = []
    if r.command == "register" and r.task_definition_arn and code == 0:
        lines += [f"**Registered** `{_cell(short_name(r.task_definition_arn))}`", ""]
    if r.images and (r.command == "register" or code == 0):
        lines += ["| Container | Image |", "|---|---|", *(f"| {_cell(c)} | `{_cell(i)}` |" for c, i in
                  (x.split(": ", 1) if ": " in x else (x, "") for x in r.images)), ""]  # fmt: skip
    if r.command == "rollback" and code == 0 and r.result == "rolled-back":
        lines += [
            f"**Rolled back** from `{_cell(short_name(r.previous_task_definition_arn) or '?')}` to "
            f"`{_cell(short_name(r.rollback_target_arn or r.task_definition_arn) or '?')}`.",
            "",
        ]
    if r.command == "run" and r.task_arn:
        exit_code = "no exit code" if r.container_exit_code is None else f"exit code {r.container_exit_code}"
        lines += [f"**Task** `{_cell(r.task_arn.rsplit('/', 1)[-1])}` of "
                  f"`{_cell(short_name(r.task_definition_arn) or '?')}`: {exit_code}", ""]  # fmt: skip
    if r.report:
        lines += [
            "<details open><summary>Checks</summary>",
            "",
            *_fenced(r.report, "text"),
            "",
            "</details>",
            "",
        ]
    if r.removed:
        verb = "Would deregister" if r.result == "dry-run" else "Deregistered"
        lines += [f"**{verb}:** " + ", ".join(f"`{_cell(n)}`" for n in r.removed), ""]
    if r.kept:
        lines += ["**Kept:**", "", *(f"- {_cell(k)}" for k in r.kept), ""]
    return lines


def _fenced(text: str, info: str) -> list[str]:
    """``text`` (secrets redacted) as a fenced code block whose text cannot close it: the fence is
    longer than any run of backticks inside."""
    body = log.redact(text).rstrip("\n")
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", body))])
    return [f"{fence}{info}", body, fence]


def _plan_markdown(r: Result) -> list[str]:
    """A dry run's plan or a diff: whether anything would change, then the diff, open (a pull
    request's plan job is read for this)."""
    if r.changed:
        head = (
            "**Would change:** yes"
            if r.plan
            else "**Differences:** the local definitions differ from what runs"
        )
    else:
        head = "**Would change:** no" if r.plan else "**Differences:** none"
    out = [head, ""]
    if r.plan:
        out += [*_fenced("\n".join(r.plan), ""), ""]
    if r.diff:
        out += [*_fenced(r.diff, "diff"), ""]
    return out


def _why_it_failed(r: Result) -> list[str]:
    """The failure's explanation: stopped tasks grouped (cause first, stop code once), the last
    lines of the container that explains each, failing targets, and what could not be read."""
    from ecspresso.explain import group_stopped_tasks

    why = r.explanation
    groups = why.groups or group_stopped_tasks(r.stopped_tasks)
    if not (groups or why.targets or why.notes):
        return []
    lines = ["#### Why it failed", ""]
    for g in groups:
        ids = ", ".join(f"`{_cell(t[:8])}`" for t in g.task_ids[:5]) + (", …" if g.count > 5 else "")
        lines += [f"**{_cell(g.headline())}** — {_cell(g.task.task_definition or '?')}, task {ids}", ""]
        if g.log_lines:
            lines += [f"Last {len(g.log_lines)} line(s) of container `{_cell(g.container)}` "
                      f"(task `{_cell(g.task.task_id[:8])}`):", ""]  # fmt: skip
            lines += [*_fenced("\n".join(one_line(x) for x in g.log_lines), "text"), ""]
        if g.note:
            lines += [f"_{_cell(g.note)}_", ""]
    if why.targets:
        lines += ["Failing load balancer targets:", "", *(f"- {_cell(t.line())}" for t in why.targets), ""]
    lines += [f"_{_cell(note)}_\n" for note in why.notes]
    return lines


def one_line(text: str) -> str:
    """A container's log line as one printable line: no control characters (ANSI colours, \\r)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0a-\x1f\x7f]", "", text.replace("\t", "    "))


def write_outcome_label(r: Result, code: int) -> str:
    if code == 0:
        return r.result
    return "rolled-back" if r.rolled_back else ("superseded" if r.result == "superseded" else "failed")


def _cell(text: str) -> str:
    """Text from outside (ECS, inputs) as one Markdown table cell or list item: one line, secrets
    redacted, no table separator, no HTML (a ``</details>`` must not close our block)."""
    text = log.redact(" ".join(str(text).split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
