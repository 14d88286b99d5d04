"""Running entrypoint.sh the way the runner (or another CI) does, for the Action tests.

:func:`entrypoint_python` is the interpreter given to entrypoint.sh (``ECSPRESSO_PYTHON``); it
imports the ``ecspresso`` of THIS checkout although the script runs Python with ``-I`` (which
ignores PYTHONPATH). :func:`run_step` runs the Action with every input of action.yml set and
parses what it wrote with tests/runner_oracle.py.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import site
import subprocess
import sys
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runner_oracle import RunnerLog, check_summary, parse_env_file

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.sh"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


@functools.cache
def entrypoint_python() -> str:
    """An interpreter that imports this checkout's ``ecspresso`` under ``-I``.

    Normally ``sys.executable`` (a clone with its own editable install, as in CI). In a git
    worktree sharing another checkout's venv, that venv's editable install points at the other
    checkout and ``-I`` ignores PYTHONPATH, so entrypoint.sh would silently run the other code:
    then a throwaway venv is made whose ``.pth`` puts this checkout's src/ first and the current
    venv's site-packages (the dependencies) after it."""
    src = ROOT / "src"
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import ecspresso; print(ecspresso.__file__)"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if probe.returncode == 0 and Path(probe.stdout.strip()).resolve().is_relative_to(src.resolve()):
        return sys.executable
    where = Path(tempfile.mkdtemp(prefix="ecspresso-entrypoint-python-"))
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    venv.create(where, with_pip=False, symlinks=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "ecspresso-checkout.pth").write_text("\n".join([str(src), *site.getsitepackages()]) + "\n")
    return str(python)


@dataclass
class StepRun:
    code: int
    outputs: dict[str, str]
    summary: str
    log: RunnerLog
    raw: str
    stdout: str = ""
    stderr: str = ""


def step_env(workspace: Path, sandbox: Any, tmp_path: Path, **inputs: str) -> dict[str, str]:
    """The environment the runner gives the container: every declared input (default or "")."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(tmp_path / "set_output_x"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary_x"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "ECSPRESSO_POLL_INTERVAL": "0",
        "ECSPRESSO_PYTHON": entrypoint_python(),
    }
    for name, spec in ACTION["inputs"].items():
        value = inputs.get(name.replace("-", "_"), str((spec or {}).get("default", "")))
        env["INPUT_" + name.replace(" ", "_").upper()] = value
    return env


def run_step(
    workspace: Path, sandbox: Any, tmp_path: Path, *, separate_streams: bool = False, **inputs: str
) -> StepRun:
    """entrypoint.sh the way the runner starts it. stdout and stderr share one pipe, unless
    ``separate_streams`` (then ``log`` is what the runner sees if it handles all of stderr
    before stdout, the worst order its batching allows; ``stdout``/``stderr`` hold each)."""
    env = step_env(workspace, sandbox, tmp_path, **inputs)
    out_file, summary_file = Path(env["GITHUB_OUTPUT"]), Path(env["GITHUB_STEP_SUMMARY"])
    out_file.write_text("")
    summary_file.write_text("")
    proc = subprocess.run([str(ENTRYPOINT)], cwd=workspace, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE if separate_streams else subprocess.STDOUT, text=True,
                          timeout=60)  # fmt: skip
    summary_bytes = summary_file.read_bytes()
    assert check_summary(summary_bytes) is None
    stderr = proc.stderr or ""
    raw = stderr + proc.stdout
    return StepRun(proc.returncode, parse_env_file(out_file.read_text()), summary_bytes.decode(),
                   RunnerLog().feed(raw), raw, proc.stdout, stderr)  # fmt: skip
