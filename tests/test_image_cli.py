"""Issue 8 item 16: the image outside GitHub. With arguments entrypoint.sh is the CLI
(`docker run IMAGE status --events 1`); without arguments it is the Action, which outside GitHub
Actions runs only when INPUT_COMMAND says what to run: never a deploy by default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from action_harness import ENTRYPOINT, entrypoint_python, step_env
from ecs_fixtures import make_project, seed_service, set_image


@pytest.fixture
def workspace(sandbox: Any, tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    config = make_project(ws, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    set_image(config, "nginx:2")  # a deploy would register app:2 and roll the service
    sandbox.operations.clear()
    return ws


def other_ci_env(sandbox: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a CI other than GitHub Actions gives the container: no GITHUB_*, no INPUT_*."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CI": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "ECSPRESSO_POLL_INTERVAL": "0",
        "ECSPRESSO_PYTHON": entrypoint_python(),
        **extra,
    }


def run_image(workspace: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRYPOINT), *args], cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def assert_untouched(sandbox: Any) -> None:
    assert sandbox.mutating_operations() == []
    svc = sandbox.client("ecs").describe_services(cluster="default", services=["web"])["services"][0]
    assert svc["taskDefinition"].endswith(":task-definition/app:1")
    families = sandbox.client("ecs").list_task_definitions(familyPrefix="app")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in families] == ["1"]


def test_with_arguments_the_image_is_the_cli(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    proc = run_image(workspace, other_ci_env(sandbox, tmp_path), "status", "--events", "1")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["Service: web", "Cluster: default", "TaskDefinition: app:1"]
    assert lines[-2] == "Events:" and "(service web)" in lines[-1]  # exactly one event
    assert_untouched(sandbox)


def test_arguments_win_over_a_runner_environment(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    """`uses: docker://IMAGE` with `with: args: status …`: GITHUB_ACTIONS=true and the INPUT_*
    of the step are set, INPUT_COMMAND may even say deploy; the arguments are the command."""
    env = step_env(workspace, sandbox, tmp_path, command="deploy")
    proc = run_image(workspace, env, "status", "--events", "1")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Service: web\n")
    assert_untouched(sandbox)


def test_without_arguments_outside_github_it_refuses(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    proc = run_image(workspace, other_ci_env(sandbox, tmp_path))

    assert proc.returncode == 2
    assert "IMAGE status --events 5" in proc.stderr  # says how to give the command
    assert sandbox.operations == []  # not even a read


def test_inputs_without_a_command_outside_github_refuse(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    """INPUT_* set by hand but no INPUT_COMMAND: the Action's default (deploy) is GitHub's only."""
    env = other_ci_env(sandbox, tmp_path, INPUT_CONFIG="ecspresso.yml", **{"INPUT_DRY-RUN": "false"})
    proc = run_image(workspace, env)

    assert proc.returncode == 2
    assert "input 'command' is required" in proc.stderr
    assert sandbox.operations == []


def test_inputs_with_a_command_outside_github_run_the_action(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    env = other_ci_env(sandbox, tmp_path, INPUT_COMMAND="status", INPUT_ARGS="--events 1")
    proc = run_image(workspace, env)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Service: web" in proc.stdout
    assert_untouched(sandbox)


def test_the_action_module_refuses_arguments(tmp_path: Path) -> None:
    """`python -m ecspresso.action status` is not the CLI: it says so instead of deploying."""
    env = {"PATH": os.environ["PATH"], "GITHUB_ACTIONS": "true", "INPUT_COMMAND": "deploy"}
    proc = subprocess.run([entrypoint_python(), "-I", "-m", "ecspresso.action", "status"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 2 and "takes no arguments" in proc.stderr
