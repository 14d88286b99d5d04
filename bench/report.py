"""bench/results.md: the table "figure | ours | peer | ratio | target | met?" first, then the details."""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field

from detection import THROTTLE_FOR, THROTTLED_ROLLOUT, Outcome, Throttled
from overhead import Sample
from scale import COMMANDS, REVISIONS, STOPPED_TASKS, ScaleSample
from tools import ACTION, FABFUEL, OURS

DASH = "\u2013"
LIMIT = 20.0  # ECS DescribeServices: about 20 requests/s per account and Region
INTERACTIVE = 2.0  # seconds: what "stays interactive" means here
LATENCY_TARGET = 1.5
RATE_TARGET = 0.3
STARTUP_FACTOR = 4.0
IMAGE_TARGET_MB = 200.0
PLAIN_DEPLOY_CALLS = 5


@dataclass
class Results:
    facts: list[str]
    command: str
    startup: dict[str, list[Sample]]
    deploy_wait: dict[str, list[Sample]]
    deploy_nowait: dict[str, list[Sample]]
    detection: list[Outcome]
    scale: dict[str, list[ScaleSample]]
    failed: dict[str, list[ScaleSample]]
    throttle: Throttled
    image: str  # "162 MB" or "not built (run make image)"
    action_why_not: str  # "" when the action ran
    completions: list[float] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)
    long_seconds: int = 300


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}{DASH}{fmt.format(max(values))})"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and a == a and b == b else "-"


def yes(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def ops_line(ops: collections.Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))


class Table:
    def __init__(self, action_why_not: str) -> None:
        self.rows = ["| figure | ours | peer | ratio | target | met? |", "|---|---|---|---|---|---|"]
        self.action_why_not = action_why_not

    def add(self, figure: str, ours: str, peer: str, ratio_: str, target: str, met: str) -> None:
        self.rows.append(f"| {figure} | {ours} | {peer} | {ratio_} | {target} | {met} |")

    def peers(self, fabfuel: str, action: str | None) -> str:
        act = action if action is not None else f"not run ({self.action_why_not})"
        return f"fabfuel {fabfuel}; action {act}"


def _det(outcomes: list[Outcome], tool: str, kind: str) -> list[Outcome]:
    return [o for o in outcomes if o.spec.tool == tool and o.spec.kind == kind]


def _latency_cell(outs: list[Outcome]) -> tuple[str, float | None]:
    """Median latency of the runs that noticed; "never (…)" when none did."""
    if not outs:
        return "-", None
    noticed = [o.latency for o in outs if o.noticed]
    if not noticed:
        if any(o.proc.killed for o in outs):
            return f"never (stopped {outs[0].spec.grace:.0f} s after it)", None
        waited = med([o.proc.ended - o.update_at for o in outs])
        return f"never (time-out after {waited:.0f} s)", None
    cell = f"{spread(noticed)} s"
    if len(noticed) < len(outs):
        cell += f", {len(outs) - len(noticed)} of {len(outs)} never"
    return cell, med(noticed)


def table(r: Results, tools: list[str]) -> list[str]:
    t = Table(r.action_why_not)
    has_action = ACTION in tools
    bare = med([s.wall for s in r.startup["bare python"]])
    fab_help = med([s.wall for s in r.startup[f"{FABFUEL} ecs --help"]])
    act_start = r.startup.get(f"{ACTION} (no inputs)")
    for cmd in ("version", "--help"):
        ours = med([s.wall for s in r.startup[f"{OURS} {cmd}"]])
        act = f"{med([s.wall for s in act_start]):.2f} (node, no inputs)" if act_start else None
        t.add(
            f"start-up `{cmd}`, s", f"{ours:.3f} ({ours / bare:.1f}x bare python {bare:.3f})",
            t.peers(f"{fab_help:.3f} (`ecs --help`)", act), ratio(ours, fab_help),
            f"≤ {STARTUP_FACTOR:g}x bare python", yes(ours <= STARTUP_FACTOR * bare),
        )  # fmt: skip

    def dep(samples: dict[str, list[Sample]], tool: str, what: str) -> float:
        vals = [float(getattr(s, what)) for s in samples.get(tool, [])]
        return med(vals)

    calls = {tool: dep(r.deploy_wait, tool, "calls") for tool in tools}
    act_calls = f"{calls[ACTION]:.0f}" if has_action else None
    t.add(
        "plain deploy (waits; instant rollout): API calls", f"{calls[OURS]:.0f}",
        t.peers(f"{calls[FABFUEL]:.0f}", act_calls), ratio(calls[OURS], calls[FABFUEL]),
        f"≤ {PLAIN_DEPLOY_CALLS}", yes(calls[OURS] <= PLAIN_DEPLOY_CALLS),
    )  # fmt: skip
    for label, samples in (
        ("plain deploy (waits; instant rollout)", r.deploy_wait),
        ("deploy, no wait", r.deploy_nowait),
    ):
        walls = {tool: dep(samples, tool, "wall") for tool in tools}
        act_wall = f"{walls[ACTION]:.2f}" if has_action else None
        t.add(f"{label}: wall, s", f"{walls[OURS]:.2f}", t.peers(f"{walls[FABFUEL]:.2f}", act_wall),
              ratio(walls[OURS], walls[FABFUEL]), "-", "-")  # fmt: skip
    rss = {tool: dep(r.deploy_wait, tool, "rss_mb") for tool in tools}
    t.add("plain deploy: peak RSS, MB", f"{rss[OURS]:.0f}",
          t.peers(f"{rss[FABFUEL]:.0f}", f"{rss[ACTION]:.0f}" if has_action else None),
          ratio(rss[OURS], rss[FABFUEL]), "-", "-")  # fmt: skip

    det = r.detection
    for kind, label in (("stable", "completion"), ("fail", "failure")):
        times = r.completions if kind == "stable" else r.failures
        cells = {tool: _latency_cell(_det(det, tool, kind)) for tool in tools}
        ours_cell, ours_med = cells[OURS]
        fab_cell, fab_med = cells[FABFUEL]
        act_cell = cells[ACTION][0] if has_action else None
        ok = ours_med is not None and ours_med <= LATENCY_TARGET and (fab_med is None or ours_med < fab_med)
        t.add(
            f"detection latency, {label} at {', '.join(f'{x:g}' for x in times)} s: exit - {label}, s (median)",
            ours_cell, t.peers(fab_cell, act_cell),
            ratio(ours_med or float("nan"), fab_med or float("nan")),
            f"≤ {LATENCY_TARGET} s and ahead of fabfuel", yes(ok),
        )  # fmt: skip

    rates = {tool: med([o.rate for o in _det(det, tool, "stable")]) for tool in tools}
    t.add(
        "requests/s per service while waiting (median over the completion runs)", f"{rates[OURS]:.2f}",
        t.peers(f"{rates[FABFUEL]:.2f}", f"{rates[ACTION]:.3f}" if has_action else None),
        ratio(rates[OURS], rates[FABFUEL]), "-", "-",
    )  # fmt: skip
    longs = {tool: _det(det, tool, "long") for tool in tools}
    long_rate = {tool: (outs[0].rate_rollout if outs else float("nan")) for tool, outs in longs.items()}
    peers_ok = all(long_rate[OURS] < long_rate[p] for p in tools if p != OURS)
    t.add(
        f"requests/s per service, {r.long_seconds} s rollout (average)", f"{long_rate[OURS]:.3f}",
        t.peers(f"{long_rate[FABFUEL]:.3f}", f"{long_rate[ACTION]:.3f}" if has_action else None),
        ratio(long_rate[OURS], long_rate[FABFUEL]),
        f"≤ {RATE_TARGET} and below both peers", yes(long_rate[OURS] <= RATE_TARGET and peers_ok),
    )  # fmt: skip
    first30 = {tool: (outs[0].rate_first30 if outs else float("nan")) for tool, outs in longs.items()}
    for n in (1, 50):
        t.add(
            f"account-wide DescribeServices-equivalent req/s, {n} service(s) deploying ({r.long_seconds} s average; first 30 s)",
            f"{n * long_rate[OURS]:.1f}; {n * first30[OURS]:.1f}",
            t.peers(f"{n * long_rate[FABFUEL]:.1f}; {n * first30[FABFUEL]:.1f}",
                    f"{n * long_rate[ACTION]:.1f}; {n * first30[ACTION]:.1f}" if has_action else None),
            "-", f"≤ {LIMIT:g} (ECS limit; above it: throttled), average and first 30 s",
            yes(n * long_rate[OURS] <= LIMIT and n * first30[OURS] <= LIMIT),
        )  # fmt: skip

    def verdict(tool: str) -> str:
        outs = _det(det, tool, "rollback")
        if not outs:
            return "-"
        o = outs[0]
        if o.proc.killed:
            return f"still waiting {o.latency:.0f} s after the breaker (stopped)"
        what = "failure" if o.proc.rc else "**success**"
        return f"exit {o.proc.rc} ({what}) {o.latency:.1f} s after the breaker"

    ours_rb = _det(det, OURS, "rollback")
    t.add(
        "failure the circuit breaker rolled back: verdict", verdict(OURS),
        t.peers(verdict(FABFUEL), verdict(ACTION) if has_action else None), "-",
        "reported as a failure (exit 1)", yes(bool(ours_rb) and ours_rb[0].proc.rc == 1),
    )  # fmt: skip

    for name, runs in r.scale.items():
        wall = med([s.wall for s in runs])
        ncalls = med([float(s.calls) for s in runs])
        pages = med([float(s.ops.get("ListTaskDefinitions", 0)) for s in runs])
        if name.startswith("rollback"):
            target, ok = (
                f"1 page of ListTaskDefinitions; ≤ {INTERACTIVE:g} s",
                pages <= 1 and wall <= INTERACTIVE,
            )
        elif name.startswith("deregister"):
            # it deregisters all but N: it must see every revision (2,000 / 100 a page = 20 pages + the last)
            need = REVISIONS // 100 + 1
            target, ok = (
                f"≤ {need} pages (inherent: lists all); ≤ {INTERACTIVE:g} s",
                pages <= need and wall <= INTERACTIVE,
            )
        else:
            target, ok = f"≤ {INTERACTIVE:g} s", wall <= INTERACTIVE
        t.add(f"`{name}`: wall s; calls (ListTaskDefinitions pages)", f"{wall:.2f}; {ncalls:.0f} ({pages:.0f})",
              "- (no equivalent)", "-", target, yes(ok))  # fmt: skip

    def failed_cell(tool: str) -> tuple[str, float]:
        samples = r.failed.get(tool, [])
        lat = med([s.latency or 0.0 for s in samples])
        told = all(s.explained for s in samples)
        return (
            f"{lat:.2f} s, {med([float(s.calls) for s in samples]):.0f} calls, reason {'shown' if told else 'not shown'}",
            lat,
        )

    ours_f, ours_lat = failed_cell(OURS)
    fab_f, fab_lat = failed_cell(FABFUEL)
    told = all(s.explained for s in r.failed.get(OURS, []))
    t.add(
        f"failed deploy, {STOPPED_TASKS} stopped tasks: failure → explained exit", ours_f, f"fabfuel {fab_f}",
        ratio(ours_lat, fab_lat), f"≤ {INTERACTIVE:g} s, reason shown", yes(ours_lat <= INTERACTIVE and told),
    )  # fmt: skip

    def under_throttle(tool: str) -> str:
        o = next((o for o in r.throttle.outcomes if o.spec.tool == tool), None)
        if o is None:
            return "-"
        if not o.deployed:
            return f"did not deploy (exit {o.proc.rc}, {r.throttle.throttled_answers(o)} throttled answers)"
        n = r.throttle.throttled_answers(o)
        if o.proc.killed:
            return f"still waiting {o.latency:.0f} s after completion (stopped), {n} throttled answers"
        if o.proc.rc != 0:
            when = f"{-o.latency:.1f} s before" if o.latency < 0 else f"{o.latency:.1f} s after"
            return f"**exit {o.proc.rc}** (deploy reported failed) {when} the rollout completed, {n} throttled answers"
        return f"exit 0, {o.latency:.1f} s after completion, {n} throttled answers"

    ours_t = next(o for o in r.throttle.outcomes if o.spec.tool == OURS)
    t.add(
        f"DescribeServices throttled for {THROTTLE_FOR:g} s of a {THROTTLED_ROLLOUT:g} s rollout: outcome",
        under_throttle(OURS), t.peers(under_throttle(FABFUEL), under_throttle(ACTION) if has_action else None),
        "-", "backs off, keeps waiting, reports the completion", yes(ours_t.proc.rc == 0 and ours_t.noticed),
    )  # fmt: skip
    size = _mb(r.image)
    t.add(
        "image size",
        r.image,
        "-",
        "-",
        f"≤ {IMAGE_TARGET_MB:g} MB",
        yes(None if size is None else size <= IMAGE_TARGET_MB),
    )
    return t.rows


def _mb(text: str) -> float | None:
    parts = text.split()
    if len(parts) != 2:
        return None
    try:
        value = float(parts[0])
    except ValueError:
        return None
    return value * {"KB": 1 / 1000, "MB": 1.0, "GB": 1000.0}.get(parts[1].upper(), float("nan"))


def details(r: Results, tools: list[str]) -> list[str]:
    lines = [
        "## Start-up (no AWS calls)",
        "",
        "| command | wall s median (min-max) | peak RSS MB |",
        "|---|---|---|",
    ]
    for name, samples in r.startup.items():
        lines.append(
            f"| `{name}` | {spread([s.wall for s in samples], '{:.3f}')} | {spread([s.rss_mb for s in samples], '{:.1f}')} |"
        )
    for title, per_tool in (
        ("Plain deploy, waits, instant rollout", r.deploy_wait),
        ("Deploy, no wait", r.deploy_nowait),
    ):
        lines += [
            "",
            f"## {title} (the tool's own cost)",
            "",
            "| tool | wall s | API calls | peak RSS MB | calls (last run) |",
            "|---|---|---|---|---|",
        ]
        for tool in tools:
            s = per_tool[tool]
            lines.append(
                f"| {tool} | {spread([x.wall for x in s])} | {spread([float(x.calls) for x in s], '{:.0f}')} | "
                f"{spread([x.rss_mb for x in s], '{:.1f}')} | {ops_line(s[-1].ops)} |"
            )
    lines += [
        "", "## Detection, every run", "",
        "Latency = process exit - the sandbox's completion (or failure) instant. Requests = ECS Describe*/List* "
        "calls from the run's UpdateService to its exit.", "",
        "| tool | rollout | at s | exit | latency s | requests | req/s | calls while waiting |", "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for o in sorted(r.detection, key=lambda o: (o.spec.kind, o.spec.seconds, tools.index(o.spec.tool))):
        how = "stopped" if o.proc.killed else ("time-out" if not o.noticed else "")
        lines.append(
            f"| {o.spec.tool} | {o.spec.kind} | {o.spec.seconds:g} | {o.proc.rc}{' ' + how if how else ''} | "
            f"{o.latency:.2f} | {o.reads} | {o.rate:.3f} | {ops_line(o.waiting_ops)} |"
        )
    lines += ["", f"## The {r.long_seconds} s rollout (all tools at once, each on its own service)", ""]
    for o in [o for o in r.detection if o.spec.kind == "long"]:
        end = "stopped by the bench" if o.proc.killed else f"exit {o.proc.rc}"
        lines.append(
            f"- {o.spec.tool}: {o.rate_rollout:.3f} requests/s from UpdateService to completion, "
            f"{o.rate_first30:.2f} in the first 30 s; {end}, {o.latency:.1f} s after completion"
            + (f" (run with `{' '.join(o.spec.extra_argv)}`)" if o.spec.extra_argv else "")
        )
    lines += ["", f"## Scale ({REVISIONS} revisions; {STOPPED_TASKS} stopped tasks)", "",
              "| command | wall s | calls | calls (last run) |", "|---|---|---|---|"]  # fmt: skip
    for name in COMMANDS:
        sc = r.scale[name]
        lines.append(
            f"| `{name}` | {spread([x.wall for x in sc])} | {spread([float(x.calls) for x in sc], '{:.0f}')} | {ops_line(sc[-1].ops)} |"
        )
    for tool, fl in r.failed.items():
        lines.append(
            f"| {tool}: failed deploy, {STOPPED_TASKS} stopped tasks (failure → exit {spread([x.latency or 0.0 for x in fl])} s; "
            f"exit code {fl[-1].rc}) | {spread([x.wall for x in fl])} | {spread([float(x.calls) for x in fl], '{:.0f}')} | {ops_line(fl[-1].ops)} |"
        )
    return lines


def account_wide(r: Results, tools: list[str]) -> list[str]:
    def rate(tool: str, attr: str) -> float:
        outs = _det(r.detection, tool, "long")
        return float(getattr(outs[0], attr)) if outs else float("nan")

    ours, first = rate(OURS, "rate_rollout"), rate(OURS, "rate_first30")
    peers = "; ".join(
        f"{tool} {rate(tool, 'rate_rollout'):.3f} req/s ({50 * rate(tool, 'rate_rollout'):.1f} for 50)"
        for tool in tools if tool != OURS
    )  # fmt: skip
    return [
        "## Account-wide request rate, and throttling",
        "",
        f"ECS allows about {LIMIT:g} DescribeServices requests a second per account and Region (a token bucket "
        "shared by every caller). Measured per service over the "
        f"{r.long_seconds} s rollout, ecspresso-py averages {ours:.3f} requests/s, {first:.2f}/s in its first 30 s "
        "(it polls every second while a rollout is young or about to change, then backs off to 10 s). "
        f"One service deploying: {ours:.2f} req/s account-wide, far below the limit. 50 services started at the "
        f"same moment: about {50 * first:.0f} req/s during their first 30 s, above the limit, so some answers are "
        f"ThrottlingException; averaged over the rollout {50 * ours:.1f} req/s. Peers over the same rollout: {peers}.",
        "",
        "When throttled, ecspresso-py backs off and keeps reporting (src/ecspresso/aws.py, watch.py): every "
        "client uses botocore's `standard` retry mode with 8 attempts in total (`DEFAULT_MAX_ATTEMPTS`), which "
        "retries ThrottlingException and 5xx with exponential back-off and jitter; if a poll still fails with a "
        "transient error, `watch_rollout` logs `<error>; still waiting (backing off)`, doubles its poll interval "
        "(up to 4x the slow interval: 40 s at the defaults) and keeps polling and printing events until the "
        "rollout ends or the deploy's time-out. A throttled poll never counts as a verdict.",
    ]


def render(r: Results, tools: list[str]) -> str:
    lines = [
        "# bench: ecspresso-py vs fabfuel `ecs-deploy` and the official AWS action",
        "",
        f"Produced by `{r.command}`. Numbers hold for this machine and this run only; the sandbox runs on "
        "loopback in the bench's own process, where a call costs milliseconds. Ratios are ours / fabfuel "
        "(below 1: ours is faster, lighter or makes fewer calls). See bench/README.md for how each figure is measured.",
        "",
        *table(r, tools),
        "",
        *r.facts,
        "",
        *account_wide(r, tools),
        "",
        *details(r, tools),
        "",
    ]
    return "\n".join(lines)
