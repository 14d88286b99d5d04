"""Issue 8 item 12: after an SSM value is rotated, neither the new value nor the old one (read
back from the registered task definition) is printed: not by `diff` (any format), not in a
deploy's log or job summary, not in a --debug traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from action_harness import run_step
from ecs_fixtures import make_project, seed_service, task_definition, write_json
from ecspresso import log
from ecspresso.cli import run
from ecspresso.diffing import secret_counterparts

OLD_TOKEN, NEW_TOKEN = "old-t0ken-7f3a91", "new-t0ken-9c1e55"
OLD_PASSWORD, NEW_PASSWORD = "0ld-pw-Qx81zz", "n3w-pw-Lm27yy"
SECRETS = (OLD_TOKEN, NEW_TOKEN, OLD_PASSWORD, NEW_PASSWORD)


# --- the pure part --------------------------------------------------------------------------


def env(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        # environment matched by name, whatever the order
        ({"environment": env(A="x", T="NEW")}, {"environment": env(T="OLD", A="x")}, ["OLD"]),
        # containers matched by name
        (
            {"containerDefinitions": [{"name": "app", "environment": env(T="NEW")}, {"name": "log"}]},
            {"containerDefinitions": [{"name": "log"}, {"name": "app", "environment": env(T="OLD")}]},
            ["OLD"],
        ),
        # the secret inside a longer value: the part that stands where it stands
        ({"environment": env(U="pg://u:NEW@db/x")}, {"environment": env(U="pg://u:OLD@db/x")}, ["OLD"]),
        # framing changed too: the whole remote value
        ({"environment": env(U="pg://u:NEW@db/x")}, {"environment": env(U="mysql://OLD")}, ["mysql://OLD"]),
        # tags by key, other lists by position, mappings by key
        ({"tags": [{"key": "k", "value": "NEW"}]}, {"tags": [{"key": "k", "value": "OLD"}]}, ["OLD"]),
        ({"command": ["run", "--token=NEW"]}, {"command": ["run", "--token=OLD"]}, ["OLD"]),
        ({"dockerLabels": {"t": "NEW"}}, {"dockerLabels": {"t": "OLD"}}, ["OLD"]),
        # unchanged, not a secret, nothing on the other side
        ({"environment": env(T="NEW")}, {"environment": env(T="NEW")}, []),
        ({"environment": env(A="x")}, {"environment": env(A="y")}, []),
        ({"environment": env(T="NEW")}, {"environment": env(OTHER="OLD")}, []),
        ({"environment": env(T="NEW")}, {}, []),
    ],
)
def test_secret_counterparts(local: Any, remote: Any, expected: list[str]) -> None:
    assert secret_counterparts(local, remote, ["NEW"]) == expected


@pytest.fixture
def fresh_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process has registered no secret yet (as in a new run)."""
    monkeypatch.setitem(log._state, "masks", [])
    monkeypatch.setitem(log._state, "mask_listeners", [])


@pytest.mark.usefixtures("fresh_masks")
def test_every_caller_of_the_diff_functions_gets_both_sides_masked() -> None:
    """deploy and dry-run call diffing directly: the functions register and redact themselves."""
    from ecspresso.diffing import diff_services, diff_task_definitions

    log.add_mask(NEW_TOKEN)
    remote, local = task_definition(), task_definition()
    remote["containerDefinitions"][0]["environment"] = env(TOKEN=OLD_TOKEN)
    local["containerDefinitions"][0]["environment"] = env(TOKEN=NEW_TOKEN)
    td_diff = diff_task_definitions(remote, local)
    sv_diff = diff_services({"serviceName": "web", "tags": [{"key": "t", "value": OLD_PASSWORD}]},
                            {"tags": [{"key": "t", "value": f"{NEW_TOKEN}"}]})  # fmt: skip
    assert td_diff.count("***") == 2 and sv_diff.count("***") == 2
    assert leaked(td_diff + sv_diff) == []
    assert {OLD_TOKEN, OLD_PASSWORD} <= set(log.secrets())


# --- against the sandbox --------------------------------------------------------------------


@pytest.fixture
def rotated(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Service web runs app:1, registered while the parameters held the old values; the
    parameters have since been rotated, and the task definition file reads them from SSM."""
    ws = tmp_path / "workspace"
    old = task_definition()
    old["containerDefinitions"][0]["environment"] = env(
        TOKEN=OLD_TOKEN, DATABASE_URL=f"postgres://app:{OLD_PASSWORD}@db:5432/app", PLAIN="x"
    )
    config = make_project(ws, service="web", desired=2, task_def=old)
    seed_service(sandbox, config)
    for _ in range(2):  # settle: stable after 2 polls
        sandbox.client("ecs").describe_services(cluster="default", services=["web"])
    ssm = sandbox.client("ssm")
    ssm.put_parameter(Name="/app/token", Value=NEW_TOKEN, Type="SecureString")
    ssm.put_parameter(Name="/app/db-password", Value=NEW_PASSWORD, Type="SecureString")
    new = task_definition()
    new["containerDefinitions"][0]["environment"] = env(
        TOKEN="{{ ssm `/app/token` }}",
        DATABASE_URL="postgres://app:{{ ssm `/app/db-password` }}@db:5432/app",
        PLAIN="y",
    )
    write_json(ws / "ecs-task-def.json", new)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.chdir(ws)
    sandbox.operations.clear()
    return config


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.usefixtures("fresh_masks")
@pytest.mark.parametrize("flags", [[], ["--no-unified"], ["--jsonnet"], ["--external", "cat"]])
def test_diff_shows_neither_the_new_nor_the_old_value(
    rotated: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    code, result = run(["--config", str(rotated), "diff", *flags])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert leaked(out + err) == [] and result is not None and leaked(result.diff) == []
    assert "***" in out and "postgres://app:***@db:5432/app" in out  # the change is still visible
    assert re.search(r"""^-.*["']x["']""", out, re.MULTILINE) or flags == ["--external", "cat"]


def test_deploy_log_and_summary_show_neither_value(sandbox: Any, rotated: Path, tmp_path: Path) -> None:
    """The Action in its own process: only the new values are known when it starts."""
    step = run_step(rotated.parent, sandbox, tmp_path)

    assert step.code == 0, step.raw
    assert step.outputs["result"] == "deployed"
    assert "<summary>Diff</summary>" in step.summary and "***" in step.summary
    assert leaked(step.summary) == []
    assert {OLD_TOKEN, OLD_PASSWORD, NEW_TOKEN, NEW_PASSWORD} <= set(step.log.masks)  # told the runner
    assert leaked("\n".join(step.log.lines)) == []
    # and nothing but the ::add-mask:: commands carries them, whatever the runner masks
    assert leaked("\n".join(ln for ln in step.raw.splitlines() if not ln.startswith("::add-mask::"))) == []


@pytest.mark.usefixtures("fresh_masks")
def test_deploy_dry_run_plan_shows_neither_value(rotated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plan a pull request's job prints: the diff with the secrets masked, and no write."""
    code, result = run(["--config", str(rotated), "deploy", "--dry-run"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert result is not None and result.changed is True
    assert leaked(out + err) == [] and leaked(result.diff) == []
    assert "postgres://app:***@db:5432/app" in out and "=> changes would be made" in out


@pytest.mark.usefixtures("fresh_masks")
def test_debug_traceback_is_redacted(rotated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An error message carrying a secret (here a Jsonnet error quoting it): the one-line error
    and the --debug traceback, with its chained causes, are both redacted."""
    (rotated.parent / "td.jsonnet").write_text("error 'bad token ' + std.native('ssm')('/app/token')\n")
    config = rotated.read_text().replace("ecs-task-def.json", "td.jsonnet")
    rotated.write_text(config)

    code, _ = run(["--config", str(rotated), "--debug", "render", "taskdef"])

    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback (most recent call last)" in err and "bad token ***" in err
    assert leaked(out + err) == []


@pytest.mark.usefixtures("fresh_masks")
def test_debug_traceback_of_an_internal_error_is_redacted(
    rotated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def app_factory(*_: Any, **__: Any) -> Any:
        log.add_mask(NEW_TOKEN)
        raise RuntimeError(f"unexpected {NEW_TOKEN}")

    code, _ = run(["--config", str(rotated), "--debug", "status"], app_factory=app_factory)

    err = capsys.readouterr().err
    assert code == 1
    assert "RuntimeError: unexpected ***" in err and leaked(err) == []


@pytest.mark.usefixtures("fresh_masks")
def test_summary_redacts_every_part() -> None:
    from ecspresso.action import summary_markdown
    from ecspresso.report import Result, StoppedTask

    log.add_mask(NEW_TOKEN)
    result = Result(
        command="deploy",
        service="web",
        task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/app:2",
        diff=f'-  "value": "{NEW_TOKEN}"\n+  "value": "x"\n',
        events=[f"event {NEW_TOKEN}"],
        stopped_tasks=[StoppedTask("t1", stopped_reason=f"reason {NEW_TOKEN}")],
    )
    text = summary_markdown("deploy", result, 1, f"error {NEW_TOKEN}", 1.0)
    assert NEW_TOKEN not in text and text.count("***") == 4
