"""Detection: how late each tool notices that a rollout completed (or failed), and how many
DescribeServices-equivalent requests it makes meanwhile, at each tool's defaults.

All runs of this phase wait at the same time, each on its own service with its own access key (the
recorder attributes every request to its run): the three tools for every completion time, the
failures, and the five-minute rollouts. They are started in rounds, one tool after the other
(ecspresso-py, fabfuel, the action, ecspresso-py, …), 2 s apart, so they share the machine's
load equally; the phase lasts as long as its longest run (the five-minute rollout plus a grace).

* latency = process exit - the instant the sandbox's rollout completes or fails (its start, recorded
  by the simulator hook, + the scenario's seconds): from then on any DescribeServices sees it.
* request rate = ECS Describe*/List* requests of the run from its UpdateService until its exit (for
  the five-minute rollout: until the completion instant, and for its first 30 s), per second.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools import ACTION, FABFUEL, OURS, ActionSetup, Proc, deploy_command, run_process, tool_env
from world import Bench, Request, Service, ecs_reads, make_service

REASON = "CannotPullContainerError: pull image manifest has been retried 7 time(s): not found"
STAGGER = (
    2.0  # s between launches: a Python tool's start-up takes ~1 s of CPU; 60 at once would crowd 2 cores
)


@dataclass
class Spec:
    tool: str
    kind: str  # "stable", "fail", "rollback" (fail + ECS circuit-breaker rollback), "long"
    seconds: float
    grace: float  # stopped (SIGTERM) this long after the completion instant if still waiting
    wait_minutes: int | None = None  # the action's wait-for-minutes (None: its default, 30)
    extra_argv: tuple[str, ...] = ()


@dataclass
class Outcome:
    spec: Spec
    svc: Service
    proc: Proc
    done_at: float  # the sandbox's completion (or failure) instant
    update_at: float  # the run's UpdateService request
    reads: int  # ECS Describe*/List* from UpdateService to exit
    rate: float  # reads per second over that window
    waiting_ops: collections.Counter[str] = field(
        default_factory=collections.Counter
    )  # all calls after UpdateService
    bench_requests: list[Request] = field(default_factory=list)  # every request of the run
    deployed: bool = True  # False: it never got to UpdateService (only tolerated under throttling)
    rate_first30: float = 0.0  # long runs: the first 30 s after UpdateService
    rate_rollout: float = 0.0  # long runs: UpdateService to the completion instant

    @property
    def latency(self) -> float:
        return self.proc.ended - self.done_at

    @property
    def noticed(self) -> bool:
        """It ended on its own, by the verdict (not killed, not at its own time-out)."""
        return not self.proc.killed and not timed_out(self.spec.tool, self.proc.output)


def timed_out(tool: str, output: str) -> bool:
    text = output.lower()
    if tool == FABFUEL:
        return "due to timeout" in text
    if tool == ACTION:
        return "exceeded max wait time" in text or "timeout" in text
    return "timed out" in text


def plan(
    tools: list[str], completions: list[float], failures: list[float], long_seconds: int, grace: float
) -> list[Spec]:
    specs: list[Spec] = []
    for tool in tools:  # the longest first
        argv = ("--timeout", str(long_seconds * 2)) if tool == FABFUEL else ()
        specs.append(Spec(tool, "long", long_seconds, min(grace, 120.0), extra_argv=argv))
    rounds: list[tuple[str, float]] = [("stable", t) for t in completions] + [("fail", t) for t in failures]
    rounds.append(("rollback", failures[0]))
    for kind, seconds in rounds:
        for tool in tools:
            # the action never notices a failure without a rollback (two deployments stay): bound its wait
            minutes = 1 if tool == ACTION and kind == "fail" else None
            specs.append(Spec(tool, kind, seconds, grace, minutes))
    return specs


def scenario(spec: Spec) -> dict[str, object]:
    if spec.kind in ("stable", "long", "throttled"):
        return {"kind": "stable", "seconds": spec.seconds}
    return {"kind": "fail", "seconds": spec.seconds, "reason": REASON, "rollback": spec.kind == "rollback"}


def run_all(
    bench: Bench,
    workdir: Path,
    specs: list[Spec],
    action: ActionSetup,
    on_start: Callable[[list[Service]], object] | None = None,
) -> list[Outcome]:
    """Create a service per spec, then start every run (``on_start`` first) and wait for all."""
    services = [
        make_service(bench, workdir, f"det{n}{spec.kind[:4]}{spec.tool[:3]}", scenario=scenario(spec))
        for n, spec in enumerate(specs)
    ]
    procs: dict[int, Proc] = {}

    def one(n: int, spec: Spec, svc: Service) -> None:
        argv, extra = deploy_command(spec.tool, svc, action, wait_minutes=spec.wait_minutes)
        kill_at = time.monotonic() + spec.seconds + spec.grace
        procs[n] = run_process(
            [*argv, *spec.extra_argv], tool_env(bench.url, svc.key, extra), svc.dir, kill_at=kill_at
        )
        print(".", end="", flush=True)

    if on_start is not None:
        on_start(services)
    threads = []
    for n, (spec, svc) in enumerate(zip(specs, services, strict=True)):
        thread = threading.Thread(target=one, args=(n, spec, svc), daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(STAGGER)
    for thread in threads:
        thread.join()

    outcomes = []
    for n, (spec, svc) in enumerate(zip(specs, services, strict=True)):
        proc = procs[n]
        started = bench.started.get(svc.name)
        requests = bench.recorder.of(svc.key)
        update = next((r.at for r in requests if r.operation == "UpdateService"), None)
        if (started is None or update is None) and spec.kind == "throttled":
            outcomes.append(
                Outcome(
                    spec, svc, proc, proc.ended, proc.ended, 0, 0.0, bench_requests=requests, deployed=False
                )
            )
            continue
        if started is None or update is None:
            raise SystemExit(
                f"{spec.tool} ({spec.kind} {spec.seconds}s) did not deploy:\n{proc.output[-3000:]}"
            )
        done_at = started + spec.seconds
        reads = [r for r in ecs_reads(requests) if r.at >= update]
        window = max(proc.ended - update, 1e-3)
        after = collections.Counter(f"{r.service}:{r.operation}" for r in requests if r.at > update)
        out = Outcome(spec, svc, proc, done_at, update, len(reads), len(reads) / window, after, requests)
        if spec.kind == "long":
            out.rate_first30 = sum(1 for r in reads if r.at < update + 30) / 30
            out.rate_rollout = sum(1 for r in reads if r.at <= done_at) / max(done_at - update, 1e-3)
        outcomes.append(out)
    return outcomes


def tools_in(outcomes: list[Outcome]) -> list[str]:
    return [t for t in (OURS, FABFUEL, ACTION) if any(o.spec.tool == t for o in outcomes)]


THROTTLE_FOR, THROTTLED_ROLLOUT = 10.0, 20.0


@dataclass
class Throttled:
    outcomes: list[Outcome]
    window: tuple[float, float]  # monotonic instants the fault was on

    def throttled_answers(self, o: Outcome) -> int:
        lo, hi = self.window
        return sum(
            1
            for r in o.bench_requests
            if r.service == "ecs" and r.operation == "DescribeServices" and lo <= r.at < hi
        )


def throttled(bench: Bench, workdir: Path, tools: list[str], action: ActionSetup) -> Throttled:
    """Every tool at once on a 20 s rollout; once every run has sent its UpdateService, every
    DescribeServices is answered ThrottlingException for 10 s (the sandbox's fault injection)."""
    specs = [Spec(tool, "throttled", THROTTLED_ROLLOUT, 120.0) for tool in tools]
    window = [0.0, 0.0]
    threads: list[threading.Thread] = []

    def fault(services: list[Service]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(bench.started.get(s.name) for s in services):
            time.sleep(0.1)
        time.sleep(1.0)
        bench.sandbox.fault("DescribeServices", "ThrottlingException", times=-1)
        window[0] = time.monotonic()
        time.sleep(THROTTLE_FOR)
        bench.sandbox._injector.clear()  # the sandbox's own fault list (reset() clears it too)
        window[1] = time.monotonic()

    def on_start(services: list[Service]) -> None:
        threads.append(threading.Thread(target=fault, args=(services,), daemon=True))
        threads[0].start()

    outcomes = run_all(bench, workdir, specs, action, on_start=on_start)
    threads[0].join()
    return Throttled(outcomes, (window[0], window[1]))
