"""Scale: a family with 2,000 revisions (``rollback --dry-run``, ``deregister --keeps 5 --dry-run``,
``revisions``) and a failed deploy that left 100 stopped tasks (time from the failure to the
explanation, calls), ecspresso-py and, for the failed deploy, fabfuel; runs interleaved."""

from __future__ import annotations

import collections
import sys
from dataclasses import dataclass, field
from pathlib import Path

from detection import REASON
from tools import ECSPRESSO, FABFUEL, OURS, ActionSetup, deploy_command, run_process, tool_env
from world import Bench, make_service, seed_revisions

REVISIONS = 2000
FAMILY = "bench-scale"
STOPPED_TASKS = 100
FAIL_AFTER = 3.0


@dataclass
class ScaleSample:
    wall: float
    calls: int
    ops: collections.Counter[str] = field(default_factory=collections.Counter)
    latency: float | None = None  # failed deploy: exit - failure instant
    explained: bool = False  # failed deploy: the output names the stopped tasks' reason
    rc: int = 0


COMMANDS = {
    f"rollback --dry-run ({REVISIONS} revisions)": ["rollback", "--dry-run"],
    f"deregister --keeps 5 --dry-run ({REVISIONS} revisions)": ["deregister", "--keeps", "5", "--dry-run"],
    f"revisions ({REVISIONS} revisions)": ["revisions"],
}


def revisions(bench: Bench, workdir: Path, runs: int) -> dict[str, list[ScaleSample]]:
    seed_revisions(FAMILY, REVISIONS)
    svc = make_service(bench, workdir, "scale", scenario=None, family=FAMILY, register=False)
    out: dict[str, list[ScaleSample]] = {name: [] for name in COMMANDS}
    for i in range(runs + 1):  # one warm-up round
        for name, args in COMMANDS.items():
            key = f"{svc.key}{i}{args[0][:3].upper()}"
            argv = [str(ECSPRESSO), "--config", str(svc.config), *args]
            proc = run_process(argv, tool_env(bench.url, key), svc.dir)
            if proc.rc != 0:
                sys.exit(f"{' '.join(args)} failed (exit {proc.rc}):\n{proc.output[-3000:]}")
            requests = bench.recorder.of(key)
            if i:
                ops = collections.Counter(r.operation for r in requests)
                out[name].append(ScaleSample(proc.wall, len(requests), ops))
        print(".", end="", flush=True)
    return out


def failed_deploy(bench: Bench, workdir: Path, tools: list[str], runs: int) -> dict[str, list[ScaleSample]]:
    """The new deployment's tasks fail to start (100 of them) and the circuit breaker gives up after 3 s."""
    out: dict[str, list[ScaleSample]] = {t: [] for t in tools}
    none = ActionSetup(None, "")
    for i in range(runs):
        for tool in tools:
            sc = {"kind": "fail", "seconds": FAIL_AFTER, "failed_tasks": STOPPED_TASKS, "reason": REASON}
            svc = make_service(bench, workdir, f"fail{i}{tool[:3]}", scenario=sc)
            argv, extra = deploy_command(tool, svc, none)
            proc = run_process(argv, tool_env(bench.url, svc.key, extra), svc.dir)
            requests = bench.recorder.of(svc.key)
            ops = collections.Counter(r.operation for r in requests)
            latency = proc.ended - (bench.started[svc.name] + FAIL_AFTER)
            explained = "CannotPullContainerError" in proc.output
            out[tool].append(ScaleSample(proc.wall, len(requests), ops, latency, explained, proc.rc))
        print(".", end="", flush=True)
    return out


SCALE_TOOLS = (OURS, FABFUEL)
