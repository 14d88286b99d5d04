"""Sequential, interleaved measures: start-up, and a deploy whose rollout is instant (the tool's own
cost: wall time, API calls, peak RSS), with and without waiting."""

from __future__ import annotations

import collections
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools import (
    ACTION,
    ECS,
    ECSPRESSO,
    FABFUEL,
    OURS,
    PROJECT_PY,
    ActionSetup,
    deploy_command,
    run_process,
    tool_env,
)
from world import Bench, deployed, make_service

FLOOR = "import boto3; boto3.client('ecs')"  # what any boto3-based CLI pays before its first call


@dataclass
class Sample:
    wall: float
    rss_mb: float
    calls: int = 0
    ops: collections.Counter[str] = field(default_factory=collections.Counter)


def startup(
    bench: Bench, workdir: Path, action: ActionSetup, runs: int, warmup: int
) -> dict[str, list[Sample]]:
    """Each command once per round, rounds interleaved; no AWS calls (the sandbox URL is set anyway)."""
    commands: dict[str, list[str]] = {
        "bare python": [str(PROJECT_PY), "-c", "pass"],
        f"{OURS} version": [str(ECSPRESSO), "version"],
        f"{OURS} --help": [str(ECSPRESSO), "--help"],
        f"{FABFUEL} ecs --help": [str(ECS), "--help"],
        "boto3 floor": [str(PROJECT_PY), "-c", FLOOR],
    }
    if action.dir is not None:  # no inputs: it loads its bundle and stops at the missing task-definition
        commands[f"{ACTION} (no inputs)"] = ["node", str(action.dir / "dist" / "index.js")]
    out: dict[str, list[Sample]] = {name: [] for name in commands}
    env = tool_env(bench.url, "BENCHSTARTUP")
    for i in range(warmup + runs):
        for name, argv in commands.items():
            proc = run_process(argv, env, workdir)
            if proc.rc != 0 and not name.startswith(ACTION):
                sys.exit(f"start-up command failed: {' '.join(argv)}\n{proc.output[-2000:]}")
            if i >= warmup:
                out[name].append(Sample(proc.wall, proc.rss_mb))
    return out


def deploys(
    bench: Bench, workdir: Path, tools: list[str], action: ActionSetup, runs: int, warmup: int, *, wait: bool
) -> dict[str, list[Sample]]:
    """A fresh service per run whose rollout completes at UpdateService (scenario ``polls: 0``), so no
    tool ever has to sleep: what is left is each tool's own work. Checked after every run."""
    out: dict[str, list[Sample]] = {t: [] for t in tools}
    label = "wait" if wait else "nowait"
    for i in range(warmup + runs):
        for tool in tools:
            svc = make_service(
                bench, workdir, f"{label}{i}{tool[:3]}", scenario={"kind": "stable", "polls": 0}
            )
            argv, extra = deploy_command(tool, svc, action, wait=wait)
            proc = run_process(argv, tool_env(bench.url, svc.key, extra), svc.dir)
            if proc.rc != 0:
                sys.exit(f"{tool} deploy failed (exit {proc.rc}): {' '.join(argv)}\n{proc.output[-3000:]}")
            image, n_deps, state = deployed(bench, svc.name)
            if image != svc.image or (wait and (n_deps != 1 or state != "COMPLETED")):
                sys.exit(f"{tool} exited 0 but {svc.name} runs {image} ({n_deps} deployments, {state})")
            requests = bench.recorder.of(svc.key)
            if i >= warmup:
                ops = collections.Counter(r.operation for r in requests)
                out[tool].append(Sample(proc.wall, proc.rss_mb, len(requests), ops))
        print("." if i >= warmup else "w", end="", flush=True)
    return out
