"""``diff``: service then task definition, against what runs (or the latest revision, or nothing)."""

from __future__ import annotations

import io
import json
import shlex
import sys

import pytest

from ecs_fixtures import (
    ACCOUNT,
    REGION,
    make_app,
    make_project,
    mutating_calls,
    seed_service,
    set_image,
    start_recording,
    stdout_of,
    write_json,
)
from ecspresso.commands.diff import DiffOption, diff
from ecspresso.errors import EcspressoError

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/web"


@pytest.fixture(autouse=True)
def _in_project_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # local paths are shown relative to the working directory


@pytest.fixture
def web(sandbox, tmp_path):
    config = make_project(tmp_path)
    seed_service(sandbox, config)
    return config


def _changed_lines(text):
    return [ln for ln in text.splitlines() if ln[:1] in "+-" and not ln.startswith(("---", "+++"))]


def test_identical_definitions_print_nothing(sandbox, web):
    app = make_app(sandbox, web)
    start_recording(sandbox)

    result = diff(app, DiffOption())

    assert stdout_of(app) == "" and result.diff == ""
    assert (result.exit_code, result.task_definition_arn) == (0, f"{TD}/app:1")
    assert mutating_calls(app, sandbox) == []


def test_changed_image_prints_exactly_that_change(sandbox, web):
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)

    result = diff(app, DiffOption())

    out = stdout_of(app)
    assert out.startswith(f"--- {TD}/app:1\n+++ ecs-task-def.json\n@@ ")
    assert _changed_lines(out) == ['-      "image": "nginx:1",', '+      "image": "nginx:2",']
    assert result.diff == out and result.exit_code == 0


def test_service_diff_comes_first(sandbox, web, tmp_path):
    sv = json.loads((tmp_path / "ecs-service-def.json").read_text())
    write_json(tmp_path / "ecs-service-def.json", {**sv, "desiredCount": 3})
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)

    diff(app, DiffOption())

    out = stdout_of(app)
    assert out.index(f"--- {SERVICE}\n+++ ecs-service-def.json\n") < out.index(f"--- {TD}/app:1\n")
    assert _changed_lines(out) == [
        '-  "desiredCount": 1,',
        '+  "desiredCount": 3,',
        '-      "image": "nginx:1",',
        '+      "image": "nginx:2",',
    ]


def test_without_service_the_service_is_not_compared(sandbox, web, tmp_path):
    sv = json.loads((tmp_path / "ecs-service-def.json").read_text())
    write_json(tmp_path / "ecs-service-def.json", {**sv, "desiredCount": 3})
    app = make_app(sandbox, web)

    diff(app, DiffOption(with_service=False))

    assert stdout_of(app) == ""


def test_no_service_compares_with_the_latest_revision(sandbox, tmp_path):
    config = make_project(tmp_path, service=None)
    seed_service(sandbox, config, revisions=2)
    set_image(config, "nginx:2")
    app = make_app(sandbox, config)

    result = diff(app, DiffOption())

    assert stdout_of(app).startswith(f"--- {TD}/app:2\n+++ ecs-task-def.json\n")
    assert len(_changed_lines(result.diff)) == 2


def test_nothing_remote_diffs_against_empty(sandbox, tmp_path):
    config = make_project(tmp_path)  # neither the service nor the task definition exists
    seed_service(sandbox, config, create_service=False, revisions=0)
    app = make_app(sandbox, config)

    diff(app, DiffOption())

    out = stdout_of(app)
    assert out.startswith("--- \n+++ ecs-service-def.json\n@@ -0,0 +1,")
    assert "--- \n+++ ecs-task-def.json\n@@ -0,0 +1," in out
    assert not [ln for ln in _changed_lines(out) if ln.startswith("-")]


def test_no_unified(sandbox, web):
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)

    diff(app, DiffOption(unified=False))

    out = stdout_of(app)
    assert out.startswith(f"--- {TD}/app:1\n+++ ecs-task-def.json\n {{\n")
    assert "@@" not in out and _changed_lines(out) == [
        '-      "image": "nginx:1",',
        '+      "image": "nginx:2",',
    ]


def test_jsonnet(sandbox, web):
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)

    diff(app, DiffOption(jsonnet=True))

    out = stdout_of(app)
    assert out.startswith(f"--- {TD}/app:1\n+++ ecs-task-def.json\n@@ ")
    assert _changed_lines(out) == ["-      image: 'nginx:1',", "+      image: 'nginx:2',"]


class _TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("tty", "color", "ansi"), [(True, True, True), (False, True, False), (True, False, False)]
)
def test_colour_only_on_a_terminal(sandbox, web, tty, color, ansi):
    set_image(web, "nginx:2")
    app = make_app(sandbox, web, color=color)
    if tty:
        app.reporter.stdout = _TTY()

    result = diff(app, DiffOption())

    assert ("\x1b[31m" in stdout_of(app)) is ansi
    assert "\x1b[" not in result.diff


SCRIPT = """
import sys, pathlib
remote, local = sys.argv[-2:]
print("ext", remote, local, pathlib.Path(local).read_text().count("nginx:2"))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 3 else 0)
"""


def test_external_command_gets_remote_and_local_files(sandbox, web, tmp_path):
    (tmp_path / "ext.py").write_text(SCRIPT)
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)

    result = diff(app, DiffOption(external=shlex.join([sys.executable, str(tmp_path / "ext.py")])))

    assert stdout_of(app) == "ext remote/taskdef.json local/taskdef.json 1\n" == result.diff


def test_external_diff_u_exiting_1_for_differences_is_passed_through(sandbox, web):
    """``diff -u`` exits 1 when the files differ: that is its answer, not a failure."""
    set_image(web, "nginx:2")
    app = make_app(sandbox, web)
    result = diff(app, DiffOption(external="diff -u", with_service=False))
    out = stdout_of(app)
    assert out.startswith("--- remote/taskdef.json") and '+      "image": "nginx:2",' in out
    assert result.diff == out and result.changed is True


def test_external_command_failure_is_an_error(sandbox, web, tmp_path):
    (tmp_path / "ext.py").write_text(SCRIPT)
    set_image(web, "nginx:2")
    command = shlex.join([sys.executable, str(tmp_path / "ext.py"), "2"])

    with pytest.raises(EcspressoError, match="exited with 2"):
        diff(make_app(sandbox, web), DiffOption(external=command))


def test_external_command_from_the_environment_through_the_cli(sandbox, web, tmp_path, monkeypatch, capsys):
    from ecspresso.cli import run

    (tmp_path / "ext.py").write_text(SCRIPT)
    set_image(web, "nginx:2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("ECSPRESSO_DIFF_COMMAND", shlex.join([sys.executable, str(tmp_path / "ext.py")]))

    code, result = run(["--config", str(web), "diff"])

    assert code == 0 and result is not None
    assert capsys.readouterr().out == "ext remote/taskdef.json local/taskdef.json 1\n"
