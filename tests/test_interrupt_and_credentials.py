"""Cancellation while waiting (the runner sends SIGINT, then SIGTERM) and --assume-role-arn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ecs_fixtures import make_project, seed_service, set_image
from ecspresso.cli import run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_waiting_reports_the_state_and_exits_non_zero(
    sandbox: Any, tmp_path: Path, sig: signal.Signals
) -> None:
    config = make_project(tmp_path, service="web", desired=2)
    seed_service(sandbox, config)
    sandbox.scenario("web", "never")
    set_image(config, "nginx:2")
    env = {**os.environ, "AWS_ENDPOINT_URL": sandbox.url, "ECSPRESSO_POLL_INTERVAL": "0.05"}
    proc = subprocess.Popen([sys.executable, "-m", "ecspresso", "--config", str(config), "deploy", "--rollback-on-failure"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while "UpdateService" not in sandbox.operations and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # waiting now
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert f"interrupted by {sig.name} while waiting; the deployment is still in progress" in err
    assert "tasks running" in err  # what state the service is in
    assert "Not rolling back an interrupted deploy" in err
    assert sandbox.operations.count("UpdateService") == 1  # a cancel is not a failure: no rollback


def test_assume_role_arn_is_used_for_every_call(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_POLL_INTERVAL", "0")
    config = make_project(tmp_path, service=None, family="batch")
    role = "arn:aws:iam::123456789012:role/deployer"
    code, result = run(["--config", str(config), "--assume-role-arn", role, "register"])
    assert code == 0 and result.result == "registered"
    assert sandbox.operations[0] == "AssumeRole"
    assert "RegisterTaskDefinition" in sandbox.operations
