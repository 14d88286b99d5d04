"""A job summary per command, as the runner writes it (entrypoint.sh, GITHUB_STEP_SUMMARY): what
was registered (and its images), deregistered and kept (and why), rolled back, deployed (the image
and a console link) - issue "first contact", item 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from action_harness import run_step
from ecs_fixtures import make_project, seed_service, set_image


def test_register_summary_names_the_revision_and_its_images(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "batch"
    make_project(ws, service=None, family="nightly", image="batch:7")
    step = run_step(ws, sandbox, tmp_path, command="register")
    assert step.code == 0, step.raw
    assert "**Registered** `nightly:1`" in step.summary
    assert "| app | `batch:7` |" in step.summary


def test_deregister_summary_says_what_was_removed_and_what_was_kept_and_why(
    sandbox: Any, tmp_path: Path
) -> None:
    ws = tmp_path / "batch"
    make_project(ws, service=None, family="nightly", image="batch:1")
    for tag in range(1, 5):
        set_image(ws / "ecspresso.yml", f"batch:{tag}")
        assert run_step(ws, sandbox, tmp_path, command="register").code == 0
    step = run_step(ws, sandbox, tmp_path, command="deregister", args="--keeps 2 --force")
    assert step.code == 0, step.raw
    assert "**Deregistered:** `nightly:1`, `nightly:2`" in step.summary
    kept = step.summary.split("**Kept:**", 1)[1]
    assert "- nightly:3: one of the 2 kept (--keeps)" in kept and "- nightly:4: the newest revision" in kept
    dry = run_step(ws, sandbox, tmp_path, command="deregister", args="--keeps 1 --dry-run")
    assert "**Would deregister:** `nightly:3`" in dry.summary


def test_deregister_summary_names_a_revision_kept_because_in_use(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    config = make_project(ws, service="web", image="nginx:1", desired=1)
    seed_service(sandbox, config, revisions=3)  # the service runs app:3
    step = run_step(ws, sandbox, tmp_path, command="deregister", args="--keeps 1 --force")
    assert step.code == 0, step.raw
    assert "**Deregistered:** `app:1`" in step.summary
    assert "- app:2: one of the 1 kept (--keeps)" in step.summary
    assert "- app:3: in use by" in step.summary and "deployment" in step.summary.split("- app:3:", 1)[1]


def test_deploy_summary_shows_the_image_and_a_console_link(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    config = make_project(ws, service="web", image="nginx:1", desired=2)
    seed_service(sandbox, config)
    set_image(config, "nginx:2")
    step = run_step(ws, sandbox, tmp_path)
    assert step.code == 0, step.raw
    assert "| app | `nginx:2` |" in step.summary
    url = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/default/services/web/deployments?region=us-east-1"
    assert f"[Service `web` in the AWS console]({url})" in step.summary
    assert step.outputs["console-url"] == url


def test_rollback_summary_says_from_and_to_and_what_it_deregistered(sandbox: Any, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    config = make_project(ws, service="web", image="nginx:1", desired=1)
    seed_service(sandbox, config)
    set_image(config, "nginx:2")
    assert run_step(ws, sandbox, tmp_path).code == 0
    step = run_step(ws, sandbox, tmp_path, command="rollback")
    assert step.code == 0, step.raw
    assert "**Rolled back** from `app:2` to `app:1`." in step.summary
    assert "**Deregistered:** `app:2`" in step.summary
    assert "--rollback-on-failure" not in step.summary  # that is the deploy's automatic rollback
