"""``make bench``: ecspresso-py against fabfuel's ``ecs-deploy`` and the official AWS action, at the
defaults a user gets, in one run; writes bench/results.md.

    make bench                          # everything, about 10 minutes
    make bench BENCH_ARGS=--quick       # 1 run each, short rollouts: about 3 minutes (writes .bench/results-quick.md)
    .venv/bin/python bench/run.py --aws-action DIR   # a checkout of the action holding dist/index.js

Phases (see bench/README.md): start-up; deploy with an instant rollout (waiting and not); detection
(every tool, a spread of completion times, failures, a five-minute rollout, all waiting at once);
scale (2,000 revisions, 100 stopped tasks); a rollout with DescribeServices throttled for 10 s; image size. One sandbox, in this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.md"
QUICK_RESULTS = ROOT / ".bench" / "results-quick.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="1 run each, completions at 6 and 13 s, a 60 s 'long' rollout"
    )
    p.add_argument(
        "--runs", type=int, default=None, help="runs per tool for start-up and deploy (default 5; quick 1)"
    )
    p.add_argument("--aws-action", metavar="DIR", help="checkout of aws-actions/amazon-ecs-deploy-task-definition "
                   "(dist/index.js) [env BENCH_AWS_ACTION]; default .bench/aws-action, cloned from GitHub if missing")  # fmt: skip
    p.add_argument("--no-action", action="store_true", help="do not run the AWS action")
    p.add_argument("--no-write", action="store_true", help="print only; write no results file")
    p.add_argument("--image", default=os.environ.get("IMAGE", "localhost/ecspresso-py:dev"),
                   help="image whose size is read with buildah (default localhost/ecspresso-py:dev)")  # fmt: skip
    return p.parse_args(argv)


def image_size(image: str) -> str:
    if shutil.which("buildah") is None:
        return "not built (no buildah; run make image)"
    res = subprocess.run(
        ["buildah", "images", "--format", "{{.Size}}", image], capture_output=True, text=True, check=False
    )
    size = res.stdout.strip().splitlines()
    return size[0] if res.returncode == 0 and size else "not built (run make image)"


def machine_facts(fabfuel: str, action: object, runs: int, total: float) -> list[str]:
    from tools import ECSPRESSO, FABFUEL_VENV, PROJECT_PY

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break

    def out(cmd: list[str]) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()

    code = "import sys, importlib.metadata as m; print(sys.version.split()[0], m.version('boto3'), m.version('botocore'), sep=' / ')"
    rev = out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "bench"])
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    act = getattr(action, "dir", None)
    action_line = (
        f"- AWS action: aws-actions/amazon-ecs-deploy-task-definition {getattr(action, 'version', '')} "
        f"(dist/index.js, AWS SDK for JavaScript v3, which honours AWS_ENDPOINT_URL) on node {getattr(action, 'node', '')}"
        if act is not None
        else f"- AWS action: not run ({getattr(action, 'why_not', '')})"
    )
    return [
        "## Machine and versions",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; bench wall time {total / 60:.1f} min; "
        f"load average at the end {load}",
        f"- Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}",
        f"- ecspresso-py: {out([str(ECSPRESSO), 'version'])} at git {rev}"
        f"{' + uncommitted changes' if dirty else ''}; Python / boto3 / botocore {out([str(PROJECT_PY), '-c', code])}",
        f"- fabfuel ecs-deploy {fabfuel}; Python / boto3 / botocore {out([str(FABFUEL_VENV / 'bin' / 'python'), '-c', code])}",
        action_line,
        f"- Start-up and deploy: n={runs} per tool, interleaved, after one discarded warm-up round; peak RSS by GNU time `%M`",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(HERE))
    from tools import PROJECT_PY

    try:
        import moto  # noqa: F401
    except ImportError:  # not the project venv: re-run with it
        if not PROJECT_PY.exists():
            sys.exit(f"{PROJECT_PY} not found: run make setup first")
        os.execv(str(PROJECT_PY), [str(PROJECT_PY), __file__, *sys.argv[1:]])

    import detection
    import overhead
    import report
    import scale
    from tools import ACTION, FABFUEL, OURS, ActionSetup, ensure_fabfuel, locate_action
    from world import Bench

    runs = args.runs or (1 if args.quick else 5)
    # fractional seconds: completions fall at every phase of a 1 s poll cycle, not at one favoured phase
    completions = [6.2, 13.5] if args.quick else [6.2, 13.5, 21.8, 34.1, 55.4]
    failures = [6.7] if args.quick else [6.7, 13.3, 21.6, 34.9]
    long_seconds = 60 if args.quick else 300
    grace = 90.0 if args.quick else 180.0
    started = time.perf_counter()
    (ROOT / ".bench").mkdir(exist_ok=True)
    fabfuel = ensure_fabfuel()
    action = ActionSetup(None, "--no-action") if args.no_action else locate_action(args.aws_action)
    tools = [OURS, FABFUEL] + ([ACTION] if action.dir is not None else [])
    if action.dir is None:
        print(f"the AWS action is not run: {action.why_not}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / ".bench")).resolve()
    bench = Bench()
    try:
        bench.reset()
        print(f"sandbox {bench.url}; scratch {workdir.relative_to(ROOT)}", flush=True)
        print("start-up ", end="", flush=True)
        startup = overhead.startup(bench, workdir, action, runs, 1)
        print("\ndeploy, instant rollout ", end="", flush=True)
        deploy_wait = overhead.deploys(bench, workdir, tools, action, runs, 1, wait=True)
        print("\ndeploy, no wait ", end="", flush=True)
        deploy_nowait = overhead.deploys(bench, workdir, tools, action, runs, 1, wait=False)
        specs = detection.plan(tools, completions, failures, long_seconds, grace)
        print(
            f"\ndetection: {len(specs)} runs at once, about {(long_seconds + 60) / 60:.0f} min ",
            end="",
            flush=True,
        )
        outcomes = detection.run_all(bench, workdir, specs, action)
        print("\nscale ", end="", flush=True)
        bench.reset()
        revs = scale.revisions(bench, workdir, max(1, min(runs, 3)))
        failed = scale.failed_deploy(bench, workdir, list(scale.SCALE_TOOLS), max(1, min(runs, 3)))
        print("\nthrottled ", end="", flush=True)
        throttle = detection.throttled(bench, workdir, tools, action)
        print(flush=True)
    finally:
        bench.stop()
    total = time.perf_counter() - started
    command = os.environ.get("BENCH_COMMAND") or "python bench/run.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    results = report.Results(
        facts=machine_facts(fabfuel, action, runs, total), command=command.strip(), startup=startup,
        deploy_wait=deploy_wait, deploy_nowait=deploy_nowait, detection=outcomes, scale=revs, failed=failed, throttle=throttle,
        image=image_size(args.image), action_why_not=action.why_not, completions=completions,
        failures=failures, long_seconds=long_seconds,
    )  # fmt: skip
    text = report.render(results, tools)
    print("\n" + "\n".join(report.table(results, tools)) + f"\n\nbench wall time {total / 60:.1f} min")
    if not args.no_write:
        target = QUICK_RESULTS if args.quick else RESULTS
        target.write_text(text)
        print(f"wrote {target.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
