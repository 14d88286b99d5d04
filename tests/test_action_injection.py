"""Issue 8 item 11: hostile text from ECS, from the Action's inputs and from Jsonnet runs no
workflow command, and never hides the real failure annotation. entrypoint.sh runs as the runner
runs it; what it printed is read by tests/runner_oracle.py, once with stdout and stderr in one
pipe and once with all of stderr before stdout (the worst order the runner's batching allows)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from action_harness import ENTRYPOINT, StepRun, run_step, step_env
from ecs_fixtures import make_project, seed_service, set_image
from runner_oracle import RunnerLog
from test_gha_guard import JOINER, ours_only

ORDERS = [pytest.param(False, id="one-pipe"), pytest.param(True, id="stderr-first")]


@pytest.fixture
def workspace(sandbox: Any, tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    config = make_project(ws, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    for _ in range(2):  # settle: stable after 2 polls
        sandbox.client("ecs").describe_services(cluster="default", services=["web"])
    sandbox.operations.clear()
    return ws


def assert_only_ours(step: StepRun) -> None:
    assert ours_only(step.log) == [], step.raw
    assert not [m for m in step.log.masks if "pwned" in m]
    assert not step.log.stopped and not step.log.errors


def failure_annotation(step: StepRun) -> Any:
    errors = [a for a in step.log.annotations if a.level == "error"]
    assert len(errors) == 1, step.raw
    return errors[0]


@pytest.mark.parametrize("separate", ORDERS)
def test_event_and_stopped_reason_from_ecs(
    sandbox: Any, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, separate: bool
) -> None:
    """A service event and a stopped task's reason carrying newlines and commands (the task's
    own output quoted by ECS): logged while waiting, in the failure, in the summary."""
    from ecspresso.sandbox import simulator

    real_add_event = simulator.add_event

    def hostile_event(svc: Any, message: str) -> None:
        if "has started" in message:
            message += (
                "</details>\n::error::pwned-event\n::set-output name=result::deployed\n::add-mask::pwned-mask"
            )
        real_add_event(svc, message)

    monkeypatch.setattr(simulator, "add_event", hostile_event)
    reason = "CannotPullContainerError: nope\n::stop-commands::pwnedtoken1\n::error::pwned-reason"
    sandbox.scenario("web", "fail", polls=2, reason=reason)
    set_image(workspace / "ecspresso.yml", "nginx:broken")

    step = run_step(workspace, sandbox, tmp_path, separate_streams=separate)

    assert step.code == 1
    assert_only_ours(step)
    failure = failure_annotation(step)  # the real one survives the injected ::stop-commands::
    assert failure.title == "deployment failed" and "CannotPullContainerError" in failure.message
    assert step.outputs["result"] == "rolled-back"
    shown = "\n".join(step.log.lines).replace(JOINER, "")
    assert "::error::pwned-event" in shown and "::stop-commands::pwnedtoken1" in shown  # shown, not run
    events = step.summary.split("<summary>Last service events</summary>")[1].split("</details>")[0]
    assert "has started" in events and "&lt;/details&gt;" in events  # our block holds all the events


@pytest.mark.parametrize("separate", ORDERS)
@pytest.mark.parametrize(
    "inputs",
    [
        {"config": "a.yml\n::set-output name=result::deployed\n::error::pwned-config"},
        {"config": "a.yml\r::add-mask::pwned-config-cr"},
        {"timeout": "5m\n::stop-commands::pwnedtoken2\n::error::pwned-timeout"},
        {"wait_until": "stable\n::error::pwned-wait-until"},
        {"args": "--tasks '2\n::error::pwned-args'"},
    ],
    ids=["config", "config-cr", "timeout", "wait-until", "args"],
)
def test_action_inputs_quoted_in_errors(
    sandbox: Any, workspace: Path, tmp_path: Path, inputs: dict[str, str], separate: bool
) -> None:
    step = run_step(workspace, sandbox, tmp_path, separate_streams=separate, **inputs)

    assert step.code in (1, 2)
    assert_only_ours(step)
    failure_annotation(step)
    assert step.outputs["result"] == "failed"
    assert sandbox.mutating_operations() == []


@pytest.mark.parametrize("separate", ORDERS)
def test_jsonnet_trace(sandbox: Any, workspace: Path, tmp_path: Path, separate: bool) -> None:
    """go-jsonnet writes std.trace output straight to file descriptor 2, past Python."""
    td = json.loads((workspace / "ecs-task-def.json").read_text())
    (workspace / "td.jsonnet").write_text(
        "local td = " + json.dumps(td) + ";\n"
        "local traced = std.trace('rendering\\n::add-mask::pwned-trace\\n::stop-commands::pwnedtoken3', 1);\n"
        "if traced > 0 then error 'the real failure' else td\n"
    )
    config = (workspace / "ecspresso.yml").read_text().replace("ecs-task-def.json", "td.jsonnet")
    (workspace / "ecspresso.yml").write_text(config)

    step = run_step(workspace, sandbox, tmp_path, separate_streams=separate)

    assert step.code == 1
    assert_only_ours(step)
    assert "the real failure" in failure_annotation(step).message
    assert "::add-mask::pwned-trace" in "\n".join(step.log.lines).replace(JOINER, "")
    assert sandbox.mutating_operations() == []


def test_rendered_definition_is_echoed_verbatim_inside_stop_commands(
    sandbox: Any, workspace: Path, tmp_path: Path
) -> None:
    """What we print on purpose (render) keeps its bytes: it is inside our block, not altered."""
    td_path = workspace / "ecs-task-def.json"
    td = json.loads(td_path.read_text())
    td["containerDefinitions"][0]["environment"] = [{"name": "X", "value": "a\n::error::pwned-render ##[x]"}]
    td_path.write_text(json.dumps(td))

    step = run_step(workspace, sandbox, tmp_path, command="render", args="taskdef")

    assert step.code == 0, step.raw
    assert_only_ours(step)
    assert '"value": "a\\n::error::pwned-render ##[x]"' in [line.strip() for line in step.log.lines]


def test_summary_diff_fence_cannot_be_closed_by_the_diff() -> None:
    """A diff quoting backticks and HTML stays inside its code block in the job summary."""
    from ecspresso.action import summary_markdown
    from ecspresso.report import Result

    diff = '+  "value": "````\\n</details>\\n# fake heading"\n'
    text = summary_markdown("diff", Result(command="diff", diff=diff), 0, "", 1.0)
    fence = re.search(r"^(`+)diff$", text, re.MULTILINE)
    assert fence and len(fence.group(1)) == 5
    assert text.count(fence.group(1)) == 2  # opened and closed once, by us


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cancel_still_works_under_the_guard(
    sandbox: Any, workspace: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    """The runner's cancel (SIGINT, then SIGTERM) reaches Python through the guard's pipes and
    threads: exit 130 within seconds, the state said, the outputs and the summary written."""
    sandbox.scenario("web", "never")
    set_image(workspace / "ecspresso.yml", "nginx:2")
    env = step_env(workspace, sandbox, tmp_path)
    env["ECSPRESSO_POLL_INTERVAL"] = "0.05"
    Path(env["GITHUB_OUTPUT"]).write_text("")
    Path(env["GITHUB_STEP_SUMMARY"]).write_text("")
    proc = subprocess.Popen([str(ENTRYPOINT)], cwd=workspace, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while "UpdateService" not in sandbox.operations and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # waiting now
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 130, out
    assert time.monotonic() - sent < 5
    assert f"interrupted by {sig.name}" in out
    assert "result<<" in Path(env["GITHUB_OUTPUT"]).read_text()
    assert "ecspresso deploy" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_the_cli_under_github_actions_is_guarded_too(sandbox: Any, workspace: Path, tmp_path: Path) -> None:
    """`uses: docker://IMAGE` with `args: status`: the image is the CLI, and the runner still
    reads what it prints (here service events, printed by status as they are)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    from ecspresso.sandbox.model import add_event

    service = ecs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].services["default:web"]
    add_event(service, "ok\n::error::pwned-status\n::stop-commands::pwnedtoken4\n##[warning]pwned-legacy")
    env = step_env(workspace, sandbox, tmp_path)
    proc = subprocess.run([str(ENTRYPOINT), "status", "--events", "3"], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for streams in ((proc.stdout, proc.stderr), (proc.stderr, proc.stdout)):
        log = RunnerLog().feed(streams[0]).feed(streams[1])
        assert ours_only(log) == [] and log.annotations == [] and not log.stopped
    assert "::error::pwned-status" in proc.stdout.replace(JOINER, "")
