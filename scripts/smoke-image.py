#!/usr/bin/env python3
"""Deploy smoke test of the built image (issue #5): run the Action inside the REAL image the way
the runner would, against the sandbox on 127.0.0.1, and report image size and start-up time.

    .venv/bin/python scripts/smoke-image.py --image localhost/ecspresso-py:dev [--keep]

Normally run by ``scripts/build-image.sh --smoke`` (or ``--deploy-smoke``), as root.

What it does:

1. starts the sandbox on the host (``python -m ecspresso.sandbox --port 0 --seed <copy of
   examples/>``, ``ECSPRESSO_EXT_STR=type=web``) and checks that a container reaches it: with
   ``--isolation chroot`` the container shares the host's network namespace (``--network host``
   is used only if the plain run cannot connect);
2. runs ``/entrypoint.sh`` with ``buildah run`` like the runner's ``docker run``: working directory
   /github/workspace holding a copy of examples/ owned by uid 1001, the runner's mounts
   (runner_temp, home, workflow, file_commands), every input of action.yml as ``INPUT_<NAME>``
   (hyphens kept, defaults from action.yml) and the translated ``GITHUB_*`` variables;
3. case A: deploy nginx 1.29 (exit 0, result=deployed, revision 2);
4. case B: deploy a broken image, the sandbox fails the rollout with CannotPullContainerError:
   exit 1, result=rolled-back, one error annotation, the service back on demo-web:2;
5. cases C and D: a deployment that never finishes, then SIGTERM (C) or SIGINT (D, what the
   runner sends first) to the container's main process: exit 130 within seconds, saying the
   deployment is still in progress, no rollback;
6. case E, the image in another CI (no GITHUB_*, no INPUT_*): ``/entrypoint.sh status --events 1``
   runs the CLI's ``status`` (exit 0, the service's status printed, no mutating AWS call), and
   ``/entrypoint.sh`` without arguments refuses (exit 2, no AWS call at all) instead of deploying;
7. reports the image size, the container start-up time (``buildah run`` to Python's first
   output, ``INPUT_COMMAND=version``, median of 5; ``version`` must also exit 0) and the wall
   time of case A.

Exit status 0 when every check passed, else 1 with the failed checks listed; the figures are
printed as JSON on stdout either way (``--json FILE`` also writes them to FILE).

Every step's output is read with tests/runner_oracle.py, as the runner reads it.

Signals: the runner signals ``docker run``, which forwards the signal to the container's PID 1.
``buildah run --isolation chroot`` has no PID namespace (``--pid private`` is ignored, and
``unshare`` is not permitted inside) and answers SIGTERM by SIGKILLing its child, so this
script sends the signal straight to the process ``/entrypoint.sh`` exec'd, after checking that
it is Python (``-m ecspresso.action``) with no shell left between it and buildah: in Docker that
process is PID 1. PID 1 only receives signals it has a handler for, which the delivered
"interrupted by SIGTERM" message proves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from runner_oracle import RunnerLog, check_summary, parse_env_file  # noqa: E402

RUNNER_UID, RUNNER_GID = 1001, 127  # the hosted runner's user owns the checkout
CLUSTER, SERVICE = "demo", "web"
PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
    "failed to resolve ref public.ecr.aws/nginx/nginx:broken: not found"
)
# lines buildah itself prints when the command exits non-zero (docker run prints nothing)
BUILDAH_NOISE = re.compile(r"^(subprocess exited (with status \d+|on \w+)|Error: exit status \d+)$")


def log(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


class SmokeFailure(Exception):
    pass


def check(cond: bool, what: str, failures: list[str]) -> None:
    print(f"    [{'ok' if cond else 'FAIL'}] {what}", file=sys.stderr, flush=True)
    if not cond:
        failures.append(what)


# --- the sandbox, on the host ----------------------------------------------------------------


class Sandbox:
    def __init__(self, seed: Path, logfile: Path) -> None:
        env = {**os.environ, "ECSPRESSO_EXT_STR": "type=web"}
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(name, None)
        self._log = logfile.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ecspresso.sandbox", "--port", "0", "--seed", str(seed)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        self.url = self._read_url(timeout=60)

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise SmokeFailure(
                    f"the sandbox did not print its URL (exit {self.proc.poll()}); see {self._log.name}"
                )
            if sel.select(left):
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
        sel.close()
        return buf.split(b"\n", 1)[0].decode().strip()

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def scenario(self, **body: Any) -> None:
        self._call("/_sandbox/scenario", {"cluster": CLUSTER, "service": SERVICE, **body})

    def operations(self) -> list[str]:
        return list(self._call("/_sandbox/operations")["operations"])

    def ecs(self) -> Any:
        import boto3

        return boto3.client(
            "ecs",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="dummy",
            aws_secret_access_key="dummy",
        )

    def service(self) -> dict[str, Any]:
        return self.ecs().describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# --- processes --------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    children = _children_map()
    out, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def _proc(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def cmdline(pid: int) -> list[str]:
    return [a for a in _proc(pid, "cmdline").split("\0") if a]


def ppid_of(pid: int) -> int:
    stat = _proc(pid, "stat")
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else 0


def main_process(buildah_pid: int) -> int | None:
    """The process /entrypoint.sh exec'd: the one running ``-m ecspresso.action``."""
    for pid in descendants(buildah_pid):
        args = cmdline(pid)
        if "ecspresso.action" in args:
            return pid
    return None


# --- the runner's docker run, with buildah ------------------------------------------------------


@dataclass
class Step:
    name: str
    code: int
    wall: float
    first_output: float | None
    output: str
    outputs: dict[str, str]
    summary: bytes
    log: RunnerLog
    workspace: Path
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Any]:
        return [a for a in self.log.annotations if a.level == "error"]


class Runner:
    def __init__(self, image: str, tmp: Path, examples: Path, env: dict[str, str]) -> None:
        self.image, self.tmp, self.examples, self.env = image, tmp, examples, env
        self.network: list[str] = []
        self.inputs = self._action_inputs()
        self.containers: list[str] = []
        self.running: list[subprocess.Popen[bytes]] = []

    @staticmethod
    def _action_inputs() -> dict[str, str]:
        import yaml

        spec = yaml.safe_load((ROOT / "action.yml").read_text())
        # ActionRunner: every declared input, its default or ""; Handler: INPUT_ + upper, ' ' -> '_'
        return {
            name: "" if meta.get("default") is None else str(meta["default"])
            for name, meta in spec["inputs"].items()
        }

    def new_container(self) -> str:
        ctr = (
            subprocess.run(["buildah", "from", self.image], check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        self.containers.append(ctr)
        return ctr

    def remove_container(self, ctr: str) -> None:
        subprocess.run(["buildah", "rm", ctr], capture_output=True)
        if ctr in self.containers:
            self.containers.remove(ctr)

    def cleanup(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                for pid in descendants(proc.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait()
        for ctr in list(self.containers):
            self.remove_container(ctr)

    def run_in(
        self, ctr: str, args: list[str], extra: list[str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["buildah", "run", "--isolation", "chroot", *self.network, *(extra or []), ctr, "--", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def choose_network(self, url: str) -> str:
        """Plain ``buildah run`` first: chroot isolation keeps the host's network namespace."""
        ctr = self.new_container()
        probe = [
            "/opt/venv/bin/python", "-I", "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/_sandbox/operations', timeout=5).read(); print('reached')",
            url,
        ]  # fmt: skip
        try:
            for network in ([], ["--network", "host"]):
                self.network = network
                res = self.run_in(ctr, probe)
                if res.returncode == 0 and "reached" in res.stdout:
                    host_ns = os.readlink("/proc/self/ns/net")
                    ns = self.run_in(ctr, ["/usr/bin/readlink", "/proc/self/ns/net"]).stdout.strip()
                    how = " ".join(network) or "no --network flag"
                    return f"{url} reachable from buildah run ({how}); container net ns {ns}, host {host_ns}"
                log(f"sandbox not reachable with {network or 'no --network'}: {res.stderr.strip()[-300:]}")
            raise SmokeFailure(f"the container cannot reach the sandbox at {url}")
        finally:
            self.remove_container(ctr)

    def step(
        self,
        name: str,
        inputs: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        during: Callable[[subprocess.Popen[bytes], Step], None] | None = None,
        timeout: float = 180,
    ) -> Step:
        base = self.tmp / name
        ws, rt = base / "workspace", base / "runner_temp"
        shutil.copytree(self.examples, ws)
        fc = rt / "_runner_file_commands"
        for d in (rt / "_github_home", rt / "_github_workflow", fc):
            d.mkdir(parents=True)
        guid = str(uuid.uuid4())
        files = {
            "GITHUB_OUTPUT": f"set_output_{guid}",
            "GITHUB_ENV": f"set_env_{guid}",
            "GITHUB_PATH": f"add_path_{guid}",
            "GITHUB_STATE": f"save_state_{guid}",
            "GITHUB_STEP_SUMMARY": f"step_summary_{guid}",
        }
        for f in files.values():
            (fc / f).write_text("")  # FileCommandManager creates them empty before the step
        for path in [ws, *ws.rglob("*"), rt, *rt.rglob("*")]:
            os.lchown(path, RUNNER_UID, RUNNER_GID)

        values = {**self.inputs, **(inputs or {})}
        environ = {f"INPUT_{k.replace(' ', '_').upper()}": v for k, v in values.items()}
        environ |= self.env | (env or {})
        environ |= {f"{k}": f"/github/file_commands/{v}" for k, v in files.items()}
        environ |= {
            "HOME": "/github/home",
            "GITHUB_WORKSPACE": "/github/workspace",
            "RUNNER_TEMP": "/github/runner_temp",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
        }
        env_args = [a for k, v in environ.items() for a in ("-e", f"{k}={v}")]
        mounts = {
            rt: "/github/runner_temp",
            rt / "_github_home": "/github/home",
            rt / "_github_workflow": "/github/workflow",
            fc: "/github/file_commands",
            ws: "/github/workspace",
        }
        mount_args = [a for host, ctr_path in mounts.items() for a in ("-v", f"{host}:{ctr_path}")]

        ctr = self.new_container()
        argv = ["buildah", "run", "--isolation", "chroot", *self.network, "--workingdir", "/github/workspace",
                *mount_args, *env_args, ctr, "--", "/entrypoint.sh"]  # fmt: skip
        chunks: list[bytes] = []
        first: list[float] = []
        step = Step(name, -1, 0.0, None, "", {}, b"", RunnerLog(), ws)
        t0 = time.monotonic()
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )  # both streams, as the runner
        self.running.append(proc)

        def reader() -> None:
            assert proc.stdout is not None
            while chunk := os.read(proc.stdout.fileno(), 65536):
                if not first:
                    first.append(time.monotonic())
                chunks.append(chunk)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            if during is not None:
                during(proc, step)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"step {name} did not end within {timeout:.0f} s") from None
        finally:
            step.wall = time.monotonic() - t0
            if proc.poll() is None:
                self.cleanup()
            thread.join(10)
            self.running.remove(proc)
            self.remove_container(ctr)
        step.code = proc.returncode
        step.first_output = first[0] - t0 if first else None
        text = b"".join(chunks).decode(errors="replace")
        (base / "output.log").write_text(text)  # raw, for --keep
        harness = [line for line in text.splitlines() if BUILDAH_NOISE.match(line)]
        step.output = "\n".join(line for line in text.splitlines() if not BUILDAH_NOISE.match(line)) + "\n"
        step.notes["buildah"] = harness
        step.log = RunnerLog().feed(step.output)
        step.outputs = parse_env_file((fc / files["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
        step.summary = (fc / files["GITHUB_STEP_SUMMARY"]).read_bytes()
        step.notes["root_owned"] = [
            str(p.relative_to(ws)) for p in [ws, *ws.rglob("*")] if p.lstat().st_uid != RUNNER_UID
        ]
        return step


def show(step: Step) -> None:
    """The step log as the runner would show it (masked, commands executed)."""
    print(
        f"    --- {step.name}: exit {step.code} in {step.wall:.2f} s; log as the runner shows it:",
        file=sys.stderr,
    )
    for line in step.log.lines:
        print(f"    | {line}", file=sys.stderr)
    for a in step.log.annotations:
        print(f"    | annotation {a.level}: {a.message!r} {a.properties}", file=sys.stderr)
    print(f"    | outputs: {step.outputs}", file=sys.stderr)
    for line in step.summary.decode(errors="replace").splitlines()[:6]:
        print(f"    | summary: {line}", file=sys.stderr)
    sys.stderr.flush()


def common_checks(step: Step, failures: list[str]) -> None:
    n = step.name
    check(not step.log.errors, f"{n}: the runner reports no command errors {step.log.errors}", failures)
    check(
        check_summary(step.summary) is None and bool(step.summary.strip()),
        f"{n}: step summary written and accepted",
        failures,
    )
    check("Traceback" not in step.output, f"{n}: no Python traceback in the log", failures)
    check(
        not step.notes["root_owned"],
        f"{n}: nothing in the workspace left owned by root {step.notes['root_owned']}",
        failures,
    )


# --- figures ------------------------------------------------------------------------------------


def image_figures(runner: Runner, base: str | None) -> dict[str, Any]:
    def size(image: str) -> str:
        res = subprocess.run(
            ["buildah", "images", "--format", "{{.Size}}", image], capture_output=True, text=True
        )
        return res.stdout.strip().splitlines()[0] if res.returncode == 0 and res.stdout.strip() else "?"

    figures: dict[str, Any] = {"image": runner.image, "image_size": size(runner.image)}
    inspect = json.loads(
        subprocess.run(
            ["buildah", "inspect", "--type", "image", runner.image],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    figures["layers"] = len(inspect["OCIv1"]["rootfs"]["diff_ids"])
    labels = json.loads(inspect["Config"]).get("config", {}).get("Labels") or {}
    figures["revision"] = labels.get("org.opencontainers.image.revision", "?")
    if base:
        figures["base"] = base
        figures["base_size"] = size(base)
    ctr = runner.new_container()
    try:
        du = runner.run_in(ctr, ["/usr/bin/du", "-sh", "/opt/venv"]).stdout.split()
        figures["venv_size"] = du[0] if du else "?"
        figures["python"] = runner.run_in(ctr, ["/opt/venv/bin/python", "-V"]).stdout.strip()
    finally:
        runner.remove_container(ctr)
    return figures


def startup_figures(runner: Runner, runs: int) -> dict[str, Any]:
    """``buildah run`` to Python's first output, ``INPUT_COMMAND=version``, median of ``runs``."""
    ctr_times, first, total, true_times = [], [], [], []
    version = ""
    codes: list[int] = []
    for _ in range(runs):
        t0 = time.monotonic()
        ctr = runner.new_container()
        ctr_times.append(time.monotonic() - t0)
        runner.remove_container(ctr)
    ctr = runner.new_container()
    try:
        environ = {f"INPUT_{k.upper()}": v for k, v in runner.inputs.items()}
        environ |= {
            "INPUT_COMMAND": "version",
            "HOME": "/github/home",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
        }
        env = [a for k, v in environ.items() for a in ("-e", f"{k}={v}")]
        for _ in range(runs):
            t0 = time.monotonic()
            proc = subprocess.Popen(
                ["buildah", "run", "--isolation", "chroot", *runner.network, "--workingdir", "/", *env, ctr, "--", "/entrypoint.sh"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert proc.stdout is not None
            head = os.read(proc.stdout.fileno(), 65536)
            first.append(time.monotonic() - t0)
            rest = proc.stdout.read()
            proc.wait()
            total.append(time.monotonic() - t0)
            if not head:
                raise SmokeFailure(f"INPUT_COMMAND=version printed nothing (exit {proc.returncode})")
            codes.append(proc.returncode)
            out = (head + rest).decode(errors="replace")
            lines = [line for line in out.splitlines() if not BUILDAH_NOISE.match(line)]
            version = next((line for line in lines if "ecspresso-py v" in line), lines[0] if lines else "")
        for _ in range(runs):
            t0 = time.monotonic()
            runner.run_in(ctr, ["/bin/true"])
            true_times.append(time.monotonic() - t0)
    finally:
        runner.remove_container(ctr)
    med = statistics.median
    return {
        "version_output": version,
        "version_exit_codes": codes,
        "buildah_from_median_s": round(med(ctr_times), 3),
        "first_output_median_s": round(med(first), 3),
        "first_output_runs_s": [round(t, 3) for t in first],
        "version_exit_median_s": round(med(total), 3),
        "buildah_run_bin_true_median_s": round(med(true_times), 3),
    }


# --- the cases ----------------------------------------------------------------------------------


def case_a(runner: Runner, sandbox: Sandbox, failures: list[str]) -> Step:
    log("case A: deploy IMAGE_TAG=1.29 (rollout stable after 2 polls)")
    sandbox.scenario(kind="stable", polls=2)
    step = runner.step("A-deploy", env={"IMAGE_TAG": "1.29"})
    show(step)
    o = step.outputs
    check(step.code == 0, f"A: exit 0 (got {step.code})", failures)
    check(o.get("result") == "deployed", f"A: result=deployed ({o.get('result')!r})", failures)
    check(o.get("rolled-back") == "false", f"A: rolled-back=false ({o.get('rolled-back')!r})", failures)
    check(
        o.get("task-definition-revision") == "2",
        f"A: task-definition-revision=2 ({o.get('task-definition-revision')!r})",
        failures,
    )
    check(
        o.get("task-definition-family") == "demo-web",
        f"A: task-definition-family=demo-web ({o.get('task-definition-family')!r})",
        failures,
    )
    check(
        o.get("previous-task-definition-arn", "").endswith("task-definition/demo-web:1"),
        "A: previous-task-definition-arn is demo-web:1",
        failures,
    )
    check(
        o.get("deployment-id", "").startswith("ecs-svc/"),
        f"A: deployment-id ({o.get('deployment-id')!r})",
        failures,
    )
    check(not step.errors, f"A: no error annotation ({[a.message for a in step.errors]})", failures)
    check(b"demo-web:2" in step.summary, "A: the step summary names demo-web:2", failures)
    common_checks(step, failures)
    svc = sandbox.service()
    td = sandbox.ecs().describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    check(
        svc["taskDefinition"].endswith("demo-web:2"),
        f"A: service runs {svc['taskDefinition'].rsplit('/', 1)[-1]}",
        failures,
    )
    image = td["containerDefinitions"][0]["image"]
    check(image.endswith(":1.29"), f"A: registered image {image}", failures)
    return step


def case_b(runner: Runner, sandbox: Sandbox, failures: list[str]) -> Step:
    log("case B: deploy IMAGE_TAG=broken; the sandbox fails the rollout (CannotPullContainerError)")
    sandbox.scenario(kind="fail", polls=2, reason=PULL_ERROR)
    step = runner.step("B-rollback", env={"IMAGE_TAG": "broken"})
    show(step)
    o = step.outputs
    check(step.code == 1, f"B: exit 1 (got {step.code})", failures)
    check(o.get("result") == "rolled-back", f"B: result=rolled-back ({o.get('result')!r})", failures)
    check(o.get("rolled-back") == "true", f"B: rolled-back=true ({o.get('rolled-back')!r})", failures)
    check(
        o.get("task-definition-revision") == "3",
        f"B: task-definition-revision=3, the failed one ({o.get('task-definition-revision')!r})",
        failures,
    )
    check(
        o.get("previous-task-definition-arn", "").endswith("demo-web:2"),
        "B: previous-task-definition-arn is demo-web:2",
        failures,
    )
    errors = step.errors
    check(
        len(errors) == 1 and "CannotPullContainerError" in errors[0].message,
        f"B: exactly one error annotation, about CannotPullContainerError ({[a.message for a in errors]})",
        failures,
    )
    check(b"CannotPullContainerError" in step.summary, "B: the step summary explains the failure", failures)
    common_checks(step, failures)
    svc = sandbox.service()
    primary = [d for d in svc["deployments"] if d["status"] == "PRIMARY"]
    check(
        svc["taskDefinition"].endswith("demo-web:2"),
        f"B: service back on {svc['taskDefinition'].rsplit('/', 1)[-1]}",
        failures,
    )
    check(
        bool(primary) and primary[0]["taskDefinition"].endswith("demo-web:2"),
        "B: PRIMARY deployment runs demo-web:2",
        failures,
    )
    return step


def case_cancel(
    runner: Runner, sandbox: Sandbox, failures: list[str], sig: signal.Signals, label: str, tag: str
) -> Step:
    log(
        f"case {label}: deploy IMAGE_TAG={tag}, a rollout that never ends, then {sig.name} after ~2 s of waiting"
    )
    sandbox.scenario(kind="never")
    before = sandbox.operations().count("UpdateService")

    def during(proc: subprocess.Popen[bytes], step: Step) -> None:
        deadline = time.monotonic() + 60
        while sandbox.operations().count("UpdateService") == before:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SmokeFailure(
                    f"case {label}: the deploy never called UpdateService (exit {proc.poll()})"
                )
            time.sleep(0.1)
        time.sleep(2.0)  # waiting for the rollout now
        pid = main_process(proc.pid)
        if pid is None:
            raise SmokeFailure(f"case {label}: no ecspresso.action process under buildah run {proc.pid}")
        chain, p = [], ppid_of(pid)
        while p and p != proc.pid:
            chain.append(_proc(p, "comm").strip())
            p = ppid_of(p)
        nspid = next(
            (
                line.split(":", 1)[1].split()
                for line in _proc(pid, "status").splitlines()
                if line.startswith("NSpid:")
            ),
            [],
        )
        step.notes.update(
            buildah_pid=proc.pid,
            target_pid=pid,
            target_cmdline=" ".join(cmdline(pid)),
            between=chain,
            nspid=nspid,
        )
        t = time.monotonic()
        os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        step.notes["exit_after_signal_s"] = round(time.monotonic() - t, 2)

    step = runner.step(f"{label}-{sig.name}", env={"IMAGE_TAG": tag}, during=during)
    show(step)
    n, o = step.notes, step.outputs
    print(
        f"    signal: buildah run pid {n.get('buildah_pid')} -> [{' -> '.join(reversed(n.get('between', [])))}] -> "
        f"pid {n.get('target_pid')} ({n.get('target_cmdline')}), NSpid {n.get('nspid')}",
        file=sys.stderr,
    )
    check(
        n.get("target_cmdline", "").startswith("/opt/venv/bin/python -I -u -m ecspresso.action")
        and not any(c in ("bash", "sh", "dash") for c in n.get("between", [])),
        f"{label}: /entrypoint.sh exec'd Python (no shell between buildah and it: {n.get('between')})",
        failures,
    )
    check(
        step.code == 130,
        f"{label}: exit 130 after {sig.name} (got {step.code}; buildah: {n['buildah']})",
        failures,
    )
    check(
        n.get("exit_after_signal_s", 99) < 5,
        f"{label}: exited {n.get('exit_after_signal_s')} s after the signal",
        failures,
    )
    check(
        "still in progress" in step.output,
        f"{label}: the log says the deployment is still in progress",
        failures,
    )
    check(f"interrupted by {sig.name}" in step.output, f"{label}: the handler saw {sig.name}", failures)
    after = sandbox.operations().count("UpdateService")
    check(
        after - before == 1,
        f"{label}: no rollback (UpdateService calls this step: {after - before})",
        failures,
    )
    check(
        o.get("rolled-back") == "false",
        f"{label}: rolled-back=false ({o.get('rolled-back')!r}), result={o.get('result')!r}",
        failures,
    )
    common_checks(step, failures)
    return step


_READ_ONLY = ("Describe", "List", "Get", "BatchGet")


def case_other_ci(runner: Runner, sandbox: Sandbox, failures: list[str]) -> Step:
    """E: ``docker run -v "$PWD:/src" -w /src IMAGE status --events 1`` in a CI other than GitHub."""
    log("case E: another CI runs the image with arguments (status --events 1), then without any")
    ws = runner.tmp / "E-other-ci"
    shutil.copytree(runner.examples, ws)
    environ = {k: v for k, v in runner.env.items() if not k.startswith("INPUT_")}
    environ |= {"ECSPRESSO_EXT_STR": "type=web", "HOME": "/root", "CI": "true"}
    env_args = [a for k, v in environ.items() for a in ("-e", f"{k}={v}")]
    ctr = runner.new_container()
    step = Step("E-other-ci", -1, 0.0, None, "", {}, b"", RunnerLog(), ws)
    try:
        for args, name in ((["status", "--events", "1"], "status"), ([], "no-arguments")):
            seen = len(sandbox.operations())
            t0 = time.monotonic()
            res = runner.run_in(
                ctr, ["/entrypoint.sh", *args], ["--workingdir", "/src", "-v", f"{ws}:/src", *env_args]
            )
            step.wall = time.monotonic() - t0
            ops = sandbox.operations()[seen:]
            out = "\n".join(
                ln for ln in (res.stdout + res.stderr).splitlines() if not BUILDAH_NOISE.match(ln)
            )
            print(
                f"    --- E {name}: exit {res.returncode}\n" + textwrap.indent(out, "    | "), file=sys.stderr
            )
            written = [op for op in ops if not op.startswith(_READ_ONLY)]
            if args:
                step.code, step.output = res.returncode, res.stdout
                check(res.returncode == 0, f"E: status exits 0 (got {res.returncode})", failures)
                check(f"Service: {SERVICE}\n" in res.stdout, "E: status printed the service", failures)
                check(
                    res.stdout.count("\n") > 3 and "Events:" in res.stdout,
                    "E: status printed its events",
                    failures,
                )
                check(not written, f"E: status made no mutating call ({written})", failures)
            else:
                check(
                    res.returncode == 2,
                    f"E: no arguments outside GitHub exits 2 (got {res.returncode})",
                    failures,
                )
                check(
                    "status --events 5" in res.stderr, "E: no arguments: says how to give a command", failures
                )
                check(not ops, f"E: no arguments: no AWS call at all ({ops})", failures)
    finally:
        runner.remove_container(ctr)
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=os.environ.get("IMAGE", "localhost/ecspresso-py:dev"))
    parser.add_argument(
        "--base",
        default=os.environ.get("BASE", "localhost/debian-py:bookworm-slim"),
        help="base image, for its size",
    )
    parser.add_argument("--runs", type=int, default=5, help="start-up runs (median)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch directory (workspaces, file commands, sandbox log)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("smoke-image.py: run as root (buildah --isolation chroot)", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="smoke-image-"))
    failures: list[str] = []
    figures: dict[str, Any] = {}
    sandbox: Sandbox | None = None
    runner: Runner | None = None
    try:
        seed = tmp / "seed"
        shutil.copytree(ROOT / "examples", seed)
        log("sandbox on the host: python -m ecspresso.sandbox --port 0 --seed <copy of examples/>")
        sandbox = Sandbox(seed, tmp / "sandbox.log")
        svc = sandbox.service()
        log(f"sandbox at {sandbox.url}: {CLUSTER}/{SERVICE} on {svc['taskDefinition'].rsplit('/', 1)[-1]}")
        runner = Runner(
            args.image,
            tmp,
            ROOT / "examples",
            {
                "INPUT_EXT-STR": "type=web",
                "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": sandbox.url,
                "ECSPRESSO_POLL_INTERVAL": "0.2",
            },
        )
        figures["network"] = runner.choose_network(sandbox.url)
        log(figures["network"])
        log(f"image {args.image}")
        figures |= image_figures(runner, args.base)
        log(f"start-up: buildah run ... /entrypoint.sh with INPUT_COMMAND=version, {args.runs} runs")
        figures["startup"] = startup_figures(runner, args.runs)
        log(json.dumps(figures["startup"]))
        s = figures["startup"]
        check(
            set(s["version_exit_codes"]) == {0} and s["version_output"].startswith("ecspresso-py v"),
            f"command: version exits 0 and prints the version (exit {s['version_exit_codes']}: {s['version_output']!r})",
            failures,
        )

        a = case_a(runner, sandbox, failures)
        figures["case_a_wall_s"] = round(a.wall, 2)
        figures["case_a_first_output_s"] = round(a.first_output or 0, 2)
        b = case_b(runner, sandbox, failures)
        figures["case_b_wall_s"] = round(b.wall, 2)
        c = case_cancel(runner, sandbox, failures, signal.SIGTERM, "C", "1.30")
        d = case_cancel(runner, sandbox, failures, signal.SIGINT, "D", "1.31")
        e = case_other_ci(runner, sandbox, failures)
        figures["cases"] = {
            s.name: {
                "exit": s.code,
                "wall_s": round(s.wall, 2),
                "outputs": s.outputs,
                "error_annotations": [x.message for x in s.errors],
                **(
                    {"exit_after_signal_s": s.notes.get("exit_after_signal_s")}
                    if "exit_after_signal_s" in s.notes
                    else {}
                ),
            }
            for s in (a, b, c, d, e)
        }
    except SmokeFailure as exc:
        failures.append(str(exc))
        print(f"smoke-image.py: {exc}", file=sys.stderr)
    finally:
        if runner is not None:
            runner.cleanup()
        if sandbox is not None:
            sandbox.stop()
            log(f"sandbox stopped (exit {sandbox.proc.returncode})")
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if "startup" in figures:
        s = figures["startup"]
        log(
            f"image {figures['image_size']} (base {figures.get('base_size')}, /opt/venv {figures.get('venv_size')}); "
            f"start-up to first output {s['first_output_median_s']} s median of {args.runs} "
            f"(buildah run /bin/true {s['buildah_run_bin_true_median_s']} s); "
            f"case A {figures.get('case_a_wall_s', '?')} s"
        )
    if failures:
        print(f"\nsmoke-image.py: {len(failures)} check(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    log("deploy smoke: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
