"""Speed of ecspresso-py against fabfuel's ``ecs-deploy`` 1.17.0, as ratios, measured in one run.

Usage (from the repository root, with the project venv)::

    .venv/bin/python bench/run.py            # n=7 per tool and measure, ~2 minutes
    .venv/bin/python bench/run.py --runs 3   # quicker, noisier

What it does, in one invocation (see bench/README.md for how to read the output):

1. creates ``.bench/fabfuel-venv`` with ``ecs-deploy==1.17.0`` from PyPI if it is missing;
2. starts one sandbox (``python -m ecspresso.sandbox --port 0``) and, before every deploy,
   resets it and creates a VPC, a cluster, a Fargate task definition and a service with boto3;
3. runs both tools interleaved (ecspresso-py, fabfuel, ecspresso-py, fabfuel, ...) for each measure,
   recording wall time, peak RSS and the AWS operations the sandbox received;
4. prints a table of medians and ratios and writes ``bench/results.md``;
5. stops the sandbox (by PID).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".bench"
FABFUEL_VENV = SCRATCH / "fabfuel-venv"
FABFUEL_PIN = "ecs-deploy==1.17.0"
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
ECSPRESSO = ROOT / ".venv" / "bin" / "ecspresso"
ECS = FABFUEL_VENV / "bin" / "ecs"
RESULTS = Path(__file__).resolve().parent / "results.md"
GNU_TIME = "/usr/bin/time"

REGION = "us-east-1"
CLUSTER, SERVICE, CONTAINER, FAMILY = "bench", "web", "app", "bench-web"
IMAGE_REPO = "public.ecr.aws/nginx/nginx"
DESIRED = 2
FLOOR = "import boto3; boto3.client('ecs')"  # what any boto3-based CLI pays before its first call
A, B = "ecspresso-py", "fabfuel"
DASH = "\u2013"  # en dash, for ranges


# -- fabfuel venv ------------------------------------------------------------------------------------
def ensure_fabfuel() -> str:
    """Create ``.bench/fabfuel-venv`` with ecs-deploy 1.17.0 unless it is there; return its version."""
    probe = [
        str(FABFUEL_VENV / "bin" / "python"),
        "-c",
        "import importlib.metadata as m; print(m.version('ecs-deploy'))",
    ]
    if ECS.exists():
        out = subprocess.run(probe, capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip() == FABFUEL_PIN.split("==")[1]:
            return out.stdout.strip()
    # the project venv's own base interpreter, so both tools run on the same Python build
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    print(
        f"creating {FABFUEL_VENV.relative_to(ROOT)} with {base} and pip install {FABFUEL_PIN} ...", flush=True
    )
    subprocess.run([base, "-m", "venv", "--clear", str(FABFUEL_VENV)], check=True)
    pip = [
        str(FABFUEL_VENV / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    res = subprocess.run([*pip, FABFUEL_PIN], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"pip install {FABFUEL_PIN} failed:\n{res.stdout}\n{res.stderr}")
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


# -- sandbox -----------------------------------------------------------------------------------------
class Sandbox:
    """One ``python -m ecspresso.sandbox --port 0`` process, driven over HTTP."""

    def __init__(self, log_path: Path) -> None:
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [str(PROJECT_PY), "-m", "ecspresso.sandbox", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            sys.exit(f"the sandbox did not print its URL (see {log_path})")
        self.url = line

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset", {})

    def scenario(self, **kwargs: Any) -> None:
        self._call("POST", "/_sandbox/scenario", {"cluster": CLUSTER, "service": SERVICE, **kwargs})

    def operations(self) -> list[str]:
        return list(self._call("GET", "/_sandbox/operations")["operations"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM to our own child, by PID
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


class World:
    """The cluster, task definition and service both tools deploy to, recreated before each deploy."""

    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        import boto3

        self.sandbox = sandbox
        self.workdir = workdir
        kw: dict[str, Any] = {
            "region_name": REGION,
            "endpoint_url": sandbox.url,
            "aws_access_key_id": "dummy",
            "aws_secret_access_key": "dummy",
        }
        self.ecs = boto3.client("ecs", **kw)
        self.ec2 = boto3.client("ec2", **kw)

    def fresh(self, scenario: dict[str, Any] | None) -> None:
        """Reset; create VPC, cluster, task definition (image :0) and a stable service; arm ``scenario``."""
        self.sandbox.reset()
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = self.ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
        service_def = {
            "launchType": "FARGATE",
            "desiredCount": DESIRED,
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": [subnet],
                    "securityGroups": [sg],
                    "assignPublicIp": "DISABLED",
                }
            },
        }
        # ecspresso-py's service definition matches the service exactly: no attribute changes on deploy
        (self.workdir / "ecs-service-def.json").write_text(json.dumps(service_def, indent=2) + "\n")
        self.ecs.create_cluster(clusterName=CLUSTER)
        td = task_definition(f"{IMAGE_REPO}:0")
        arn = self.ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, **service_def)
        for _ in range(20):  # the sandbox's first deployment completes after 2 polls
            svc = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
            deps = svc["deployments"]
            if len(deps) == 1 and deps[0].get("rolloutState") == "COMPLETED":
                break
        else:
            sys.exit("setup: the service did not become stable in the sandbox")
        if scenario is not None:
            self.sandbox.scenario(**scenario)

    def deployed_image(self) -> tuple[str, int, str]:
        """(image of the service's task definition, number of deployments, PRIMARY rolloutState)."""
        svc = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        td = self.ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        primary = next(d for d in svc["deployments"] if d["status"] == "PRIMARY")
        return (
            td["containerDefinitions"][0]["image"],
            len(svc["deployments"]),
            primary.get("rolloutState", ""),
        )


def task_definition(image: str) -> dict[str, Any]:
    return {
        "family": FAMILY,
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        "containerDefinitions": [
            {
                "name": CONTAINER,
                "image": image,
                "essential": True,
                "memory": 256,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            }
        ],
    }


def write_ecspresso_config(workdir: Path) -> Path:
    """An ecspresso.yml whose task definition takes the image tag from $IMAGE_TAG."""
    td = task_definition(IMAGE_REPO + ":{{ must_env `IMAGE_TAG` }}")
    (workdir / "ecs-task-def.json").write_text(json.dumps(td, indent=2) + "\n")
    config = workdir / "ecspresso.yml"
    config.write_text(
        f"region: {REGION}\ncluster: {CLUSTER}\nservice: {SERVICE}\n"
        "service_definition: ecs-service-def.json\ntask_definition: ecs-task-def.json\ntimeout: 1m\n"
    )
    return config


# -- running one command -----------------------------------------------------------------------------
@dataclass
class Sample:
    wall: float
    rss_mb: float
    api_calls: int | None = None
    operations: list[str] = field(default_factory=list)


def run_measured(cmd: list[str], env: dict[str, str], tmp: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB) of the tool's process, exit code, combined output."""
    rss_file = tmp / "rss.txt"
    use_time = os.access(GNU_TIME, os.X_OK)
    full = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if use_time else cmd
    out_file = tmp / "out.txt"
    with out_file.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # os.wait4 fallback: Linux reports ru_maxrss in KB, for this child (and its reaped children)
    rss_kb = float(rss_file.read_text().split()[-1]) if use_time else float(rusage.ru_maxrss)
    return wall, rss_kb / 1024, proc.returncode, out_file.read_text()


def tool_env(sandbox_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECSPRESSO_"))}
    env.update(
        AWS_ENDPOINT_URL=sandbox_url,
        AWS_ACCESS_KEY_ID="dummy",
        AWS_SECRET_ACCESS_KEY="dummy",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra or {})
    return env


# -- measures ----------------------------------------------------------------------------------------
@dataclass
class Measure:
    key: str
    title: str
    how: str
    # (tool, image tag) -> (argv, extra env); the tag is unique per run so every deploy is a new image
    command: Callable[[str, str], tuple[list[str], dict[str, str]]]
    deploy: bool = True
    scenario: dict[str, Any] | None = None
    expect_completed: bool = True
    reference: list[str] | None = None  # run after each pair, reported apart (no ratio)
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {A: [], B: []})
    ref_samples: list[Sample] = field(default_factory=list)


def measures(config: Path, rollout_seconds: float) -> list[Measure]:
    def startup(tool: str, _tag: str) -> tuple[list[str], dict[str, str]]:
        return ([str(ECSPRESSO), "version"], {}) if tool == A else ([str(ECS), "--help"], {})

    def deploy(poll: str, *, wait: bool = True) -> Callable[[str, str], tuple[list[str], dict[str, str]]]:
        def command(tool: str, tag: str) -> tuple[list[str], dict[str, str]]:
            if tool == A:
                argv = [str(ECSPRESSO), "--config", str(config), "deploy"] + ([] if wait else ["--no-wait"])
                return argv, {"IMAGE_TAG": tag, "ECSPRESSO_POLL_INTERVAL": poll}
            image = f"{IMAGE_REPO}:{tag}"
            timeout = "60" if wait else "-1"
            argv = [str(ECS), "deploy", CLUSTER, SERVICE, "--image", CONTAINER, image, "--timeout", timeout]
            return [*argv, "--sleep-time", "1"], {}

        return command

    return [
        Measure(
            "startup",
            "start-up",
            "`ecspresso version` vs `ecs --help` (no AWS calls)",
            startup,
            deploy=False,
            reference=[str(PROJECT_PY), "-c", FLOOR],
        ),
        Measure(
            "deploy-instant",
            "deploy, instant rollout (tool overhead)",
            "rollout done at UpdateService (scenario polls=0); ecspresso-py polls with "
            "ECSPRESSO_POLL_INTERVAL=0, fabfuel `--sleep-time 1` (it never sleeps: "
            "its first check succeeds); both register a new image and wait for it",
            deploy("0"),
            scenario={"kind": "stable", "polls": 0},
        ),
        Measure(
            f"deploy-{rollout_seconds:g}s",
            f"deploy, {rollout_seconds:g} s rollout, 1 s polls",
            f"rollout takes {rollout_seconds:g} s of wall clock (scenario seconds={rollout_seconds:g}); "
            "ecspresso-py ECSPRESSO_POLL_INTERVAL=1 vs fabfuel `--sleep-time 1` (its default)",
            deploy("1"),
            scenario={"kind": "stable", "seconds": rollout_seconds},
        ),
        Measure(
            "deploy-nowait",
            "deploy, no wait",
            "`ecspresso deploy --no-wait` vs `ecs deploy --timeout -1` (register + update, no waiting)",
            deploy("1", wait=False),
            expect_completed=False,
        ),
    ]


def run_one(m: Measure, tool: str, tag: str, world: World, tmp: Path) -> Sample:
    argv, extra = m.command(tool, tag)
    env = tool_env(world.sandbox.url, extra)
    base = 0
    if m.deploy:
        world.fresh(m.scenario)
        base = len(world.sandbox.operations())
    wall, rss, rc, output = run_measured(argv, env, tmp)
    if rc != 0:
        sys.exit(f"{tool} failed ({m.key}, exit {rc}): {' '.join(argv)}\n{output[-3000:]}")
    if not m.deploy:
        return Sample(wall, rss)
    ops = world.sandbox.operations()[base:]
    image, n_deps, state = world.deployed_image()
    if image != f"{IMAGE_REPO}:{tag}" or (m.expect_completed and (n_deps != 1 or state != "COMPLETED")):
        sys.exit(
            f"{tool} ({m.key}) exited 0 but the service runs {image} ({n_deps} deployments, {state})\n{output[-3000:]}"
        )
    return Sample(wall, rss, len(ops), ops)


# -- reporting ---------------------------------------------------------------------------------------
def spread(values: list[float], fmt: str) -> str:
    return (
        f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}{DASH}{fmt.format(max(values))})"
    )


def ratio(a: list[float], b: list[float]) -> str:
    mb = statistics.median(b)
    return f"{statistics.median(a) / mb:.2f}" if mb else "—"


def table(ms: list[Measure]) -> list[str]:
    rows = [
        f"| Measure | {A} median (min{DASH}max) | {B} median (min{DASH}max) | ratio {A}/{B} |",
        "|---|---|---|---|",
    ]
    for m in ms:
        a, b = m.samples[A], m.samples[B]
        rows.append(
            f"| {m.title}: wall s | {spread([s.wall for s in a], '{:.2f}')} | "
            f"{spread([s.wall for s in b], '{:.2f}')} | **{ratio([s.wall for s in a], [s.wall for s in b])}** |"
        )
        if m.deploy:
            ca = [float(s.api_calls or 0) for s in a]
            cb = [float(s.api_calls or 0) for s in b]
            rows.append(
                f"| {m.title}: API calls | {spread(ca, '{:.0f}')} | {spread(cb, '{:.0f}')} | **{ratio(ca, cb)}** |"
            )
        rows.append(
            f"| {m.title}: peak RSS MB | {spread([s.rss_mb for s in a], '{:.1f}')} | "
            f"{spread([s.rss_mb for s in b], '{:.1f}')} | **{ratio([s.rss_mb for s in a], [s.rss_mb for s in b])}** |"
        )
    return rows


def references(ms: list[Measure]) -> list[str]:
    return [
        f'Reference floor, run after each {m.title} pair (project venv): `python -c "{FLOOR}"` '
        f"{spread([r.wall for r in m.ref_samples], '{:.2f}')} s, "
        f"peak RSS {spread([r.rss_mb for r in m.ref_samples], '{:.1f}')} MB"
        for m in ms
        if m.ref_samples
    ]


def op_breakdown(ms: list[Measure]) -> list[str]:
    lines = []
    for m in ms:
        if not m.deploy:
            continue
        for tool in (A, B):
            last = m.samples[tool][-1]
            counts = collections.Counter(last.operations)
            parts = ", ".join(f"{op} {n}" for op, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"- {m.title}, {tool} (last run, {last.api_calls} calls): {parts}")
    return lines


def machine_facts(fabfuel_version: str, runs: int, warmup: int, total: float) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def pyver(py: Path) -> str:
        code = (
            "import sys, importlib.metadata as m; "
            "print(sys.version.split()[0], m.version('boto3'), m.version('botocore'), sep=' / ')"
        )
        return subprocess.run(
            [str(py), "-c", code], capture_output=True, text=True, check=False
        ).stdout.strip()

    def head() -> str:
        git = ["git", "-C", str(ROOT)]
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=False
        )
        return rev.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")

    ecspresso_version = subprocess.run(
        [str(ECSPRESSO), "version"], capture_output=True, text=True, check=False
    )
    rss = "GNU time `%M`" if os.access(GNU_TIME, os.X_OK) else "os.wait4 ru_maxrss"
    return [
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; total bench wall time {total:.0f} s",
        f"- Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}",
        f"- ecspresso-py: {ecspresso_version.stdout.strip()} at git {head()}; "
        f"Python / boto3 / botocore: {pyver(PROJECT_PY)}",
        f"- fabfuel ecs-deploy {fabfuel_version}; Python / boto3 / botocore: {pyver(FABFUEL_VENV / 'bin' / 'python')}",
        f"- Runs: n={runs} per tool and measure, interleaved {A}, {B}, {A}, {B} …, after {warmup} "
        f"discarded warm-up pair(s); peak RSS by {rss}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per tool and measure (default 7)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="discarded warm-up pairs per measure (default 1)"
    )
    parser.add_argument(
        "--rollout-seconds", type=float, default=3.0, help="simulated rollout time (default 3)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results.md")
    args = parser.parse_args(argv)
    if not PROJECT_PY.exists() or not ECSPRESSO.exists():
        sys.exit(f"{PROJECT_PY} / {ECSPRESSO} not found: create the project venv first")
    try:
        import boto3  # noqa: F401
    except ImportError:
        os.execv(str(PROJECT_PY), [str(PROJECT_PY), __file__, *sys.argv[1:]])

    started = time.perf_counter()
    SCRATCH.mkdir(exist_ok=True)
    fabfuel_version = ensure_fabfuel()
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=SCRATCH))
    sandbox = Sandbox(workdir / "sandbox.log")
    try:
        print(
            f"sandbox at {sandbox.url} (pid {sandbox.proc.pid}); scratch {workdir.relative_to(ROOT)}",
            flush=True,
        )
        world = World(sandbox, workdir)
        config = write_ecspresso_config(workdir)
        ms = measures(config, args.rollout_seconds)
        for m in ms:
            print(f"{m.key}: ", end="", flush=True)
            for i in range(args.warmup + args.runs):
                for tool in (A, B):
                    sample = run_one(m, tool, f"{m.key}-{i}-{'a' if tool == A else 'b'}", world, workdir)
                    if i >= args.warmup:
                        m.samples[tool].append(sample)
                if m.reference is not None:
                    wall, rss, rc, out = run_measured(m.reference, tool_env(sandbox.url), workdir)
                    if rc != 0:
                        sys.exit(f"reference command failed: {out[-2000:]}")
                    if i >= args.warmup:
                        m.ref_samples.append(Sample(wall, rss))
                print("." if i >= args.warmup else "w", end="", flush=True)
            print(flush=True)
    finally:
        sandbox.stop()
    total = time.perf_counter() - started

    facts = machine_facts(fabfuel_version, args.runs, args.warmup, total)
    rows = table(ms)
    print()
    print("\n".join(rows))
    print("\n".join(["", *references(ms), ""]))
    print("\n".join(op_breakdown(ms)))
    print(f"\ntotal wall time {total:.0f} s")
    if not args.no_write:
        lines = [
            f"# ecspresso-py vs fabfuel ecs-deploy {fabfuel_version}: one run of `bench/run.py`",
            "",
            "These numbers are for this machine and this run only. A ratio below 1 means ecspresso-py "
            "is faster / lighter / makes fewer calls. See bench/README.md for what each measure means.",
            "",
            *facts,
            "",
            *rows,
            "",
            *references(ms),
            "",
            "## How each measure was run",
            "",
            *[f"- **{m.title}**: {m.how}" for m in ms],
            "",
            "## AWS operations per deploy (as received by the sandbox)",
            "",
            *op_breakdown(ms),
            "",
        ]
        RESULTS.write_text("\n".join(lines))
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
