"""The three tools the bench runs, how each is installed and invoked, and running one process.

* ecspresso-py: this repository's ``.venv`` (``make setup``).
* fabfuel ``ecs-deploy`` 1.17.0 from PyPI, in ``.bench/fabfuel-venv`` (created on first use with the
  project venv's own base interpreter, so both Python tools run on the same Python build).
* the official AWS action, aws-actions/amazon-ecs-deploy-task-definition: a Node action whose bundled
  ``dist/index.js`` runs with ``node dist/index.js`` and ``INPUT_*`` variables, as the runner does.
  Taken from ``--aws-action DIR`` / ``$BENCH_AWS_ACTION``, else ``.bench/aws-action``, else cloned
  from GitHub (tag :data:`ACTION_TAG`) into ``.bench/aws-action`` when GitHub is reachable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from world import CLUSTER, CONTAINER, REGION, Service

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".bench"
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
ECSPRESSO = ROOT / ".venv" / "bin" / "ecspresso"
FABFUEL_VENV = SCRATCH / "fabfuel-venv"
FABFUEL_PIN = "ecs-deploy==1.17.0"
ECS = FABFUEL_VENV / "bin" / "ecs"
ACTION_REPO = "https://github.com/aws-actions/amazon-ecs-deploy-task-definition"
ACTION_TAG = "v2.6.3"
GNU_TIME = "/usr/bin/time"
OURS, FABFUEL, ACTION = "ecspresso-py", "fabfuel", "aws-action"


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
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    print(f"creating {FABFUEL_VENV.relative_to(ROOT)}: pip install {FABFUEL_PIN} ...", flush=True)
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


@dataclass
class ActionSetup:
    dir: Path | None  # a checkout holding dist/index.js, or None
    why_not: str  # when dir is None: why the action is not run
    node: str = ""  # `node --version`
    version: str = ""  # the checkout's tag/description


def locate_action(given: str | None) -> ActionSetup:
    """Find (or fetch) the AWS action; say why not when it cannot run."""
    node = shutil.which("node")
    if node is None:
        return ActionSetup(None, "node is not installed")
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    given = given or os.environ.get("BENCH_AWS_ACTION")
    target = Path(given) if given else SCRATCH / "aws-action"
    if not (target / "dist" / "index.js").is_file():
        if given:
            return ActionSetup(None, f"{given} has no dist/index.js", node_version)
        print(f"cloning {ACTION_REPO} {ACTION_TAG} into {target.relative_to(ROOT)} ...", flush=True)
        try:
            res = subprocess.run(
                ["git", "clone", "--quiet", "--depth", "1", "--branch", ACTION_TAG, ACTION_REPO, str(target)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
            ok, detail = res.returncode == 0, (res.stderr.strip().splitlines() or [""])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            ok, detail = False, str(exc)
        if not ok or not (target / "dist" / "index.js").is_file():
            shutil.rmtree(target, ignore_errors=True)
            return ActionSetup(
                None,
                f"GitHub not reachable to fetch the action ({detail[:80]}); pass --aws-action DIR",
                node_version,
            )
    version = ""
    pkg = target / "package.json"
    if pkg.is_file():
        import json

        version = "v" + str(json.loads(pkg.read_text()).get("version", "?"))
    return ActionSetup(target, "", node_version, version)


def tool_env(url: str, key: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The same environment for every tool: dummy credentials (``key`` tells runs apart), the sandbox
    as ``AWS_ENDPOINT_URL``, no config files, no inherited ``AWS_*`` / ``ECSPRESSO_*`` / ``INPUT_*``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECSPRESSO_", "INPUT_", "GITHUB_"))
    }
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY="dummy",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra or {})
    return env


def deploy_command(
    tool: str, svc: Service, action: ActionSetup, *, wait: bool = True, wait_minutes: int | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and extra env of a deploy of ``svc.image`` at the tool's defaults.

    ecspresso-py: ``ecspresso deploy`` (waits by default). fabfuel: ``ecs deploy CLUSTER SERVICE --image
    app IMAGE`` (waits by default: ``--timeout 300``, ``--sleep-time 1``; ``--timeout -1`` does not wait).
    The action: ``wait-for-service-stability: true`` when waiting (its default is not to wait),
    ``wait-for-minutes`` left at its default (30) unless given.
    """
    if tool == OURS:
        return [str(ECSPRESSO), "--config", str(svc.config), "deploy", *([] if wait else ["--no-wait"])], {}
    if tool == FABFUEL:
        argv = [str(ECS), "deploy", CLUSTER, svc.name, "--image", CONTAINER, svc.image]
        return [*argv, *([] if wait else ["--timeout", "-1"])], {}
    assert action.dir is not None
    (svc.dir / "github-output").touch()  # the runner creates it; @actions/core appends to it
    env = {
        "INPUT_TASK-DEFINITION": str(svc.td_file),
        "INPUT_SERVICE": svc.name,
        "INPUT_CLUSTER": CLUSTER,
        "GITHUB_WORKSPACE": str(svc.dir),
        "GITHUB_OUTPUT": str(svc.dir / "github-output"),
    }
    if wait:
        env["INPUT_WAIT-FOR-SERVICE-STABILITY"] = "true"
    if wait_minutes is not None:
        env["INPUT_WAIT-FOR-MINUTES"] = str(wait_minutes)
    return ["node", str(action.dir / "dist" / "index.js")], env


@dataclass
class Proc:
    """One finished process."""

    started: float  # time.monotonic() just before it was started
    ended: float  # time.monotonic() when it was reaped
    rc: int
    rss_mb: float
    output: str
    killed: bool = False

    @property
    def wall(self) -> float:
        return self.ended - self.started


def run_process(
    argv: list[str], env: dict[str, str], cwd: Path, *, kill_at: float | None = None, tag: str = "out"
) -> Proc:
    """Run ``argv`` under GNU time (peak RSS, ``%M``; else ``os.wait4``'s ``ru_maxrss``) and reap it
    with a blocking ``os.wait4`` (the exit instant is exact). ``kill_at``: a ``time.monotonic()``
    instant at which it is stopped (SIGTERM to its PID) if it is still running."""
    use_time = os.access(GNU_TIME, os.X_OK)
    rss_file = cwd / f"{tag}.rss"
    full = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv] if use_time else argv
    out_file = cwd / f"{tag}.txt"
    killed = threading.Event()
    with out_file.open("w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)

        def stop() -> None:
            if proc.returncode is None:
                killed.set()
                os.kill(proc.pid, signal.SIGTERM)  # our own child, by PID; GNU time passes it on

        timer = threading.Timer(max(0.0, kill_at - time.monotonic()), stop) if kill_at is not None else None
        if timer is not None:
            timer.start()
        _, status, rusage = os.wait4(proc.pid, 0)
        ended = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if timer is not None:
            timer.cancel()
    rss_kb = float(rusage.ru_maxrss)
    if use_time and rss_file.exists():
        with contextlib.suppress(ValueError, IndexError):  # killed: GNU time wrote a note instead
            rss_kb = float(rss_file.read_text().split()[-1])
    return Proc(
        started, ended, proc.returncode, rss_kb / 1024, out_file.read_text(errors="replace"), killed.is_set()
    )
