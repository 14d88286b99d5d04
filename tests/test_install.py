"""Installing the CLI without PyPI, as README.md's "Install" section says, from a local clone.

The three commands are read from README.md (so the README cannot drift from what is tested) with
``git+https://github.com/org/ecspresso-py`` replaced by ``git+file://localhost<this repository>`` (the
host keeps older pip's ``name @ url`` parser happy: it refuses ``git+file:///``); pip, pipx and
uv then clone its committed HEAD, build the wheel with hatchling and install the dependencies from
PyPI, as they would for a user. Opt-in, because it needs PyPI and takes about a minute:

    ECSPRESSO_INSTALL_TEST=1 .venv/bin/pytest tests/test_install.py

pipx and uvx run when they are on PATH (``pip install pipx uv``); each is skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecspresso import __version__

ROOT = Path(__file__).resolve().parent.parent
README_URL = "git+https://github.com/org/ecspresso-py"

needs_pypi = pytest.mark.skipif(
    os.environ.get("ECSPRESSO_INSTALL_TEST") != "1",
    reason="installs from PyPI (about a minute): set ECSPRESSO_INSTALL_TEST=1",
)


def readme_install_commands(readme: str) -> dict[str, str]:
    """The install commands of README.md's "Install" section, by their first word."""
    section = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    commands = {}
    for line in block.splitlines():
        line = line.strip()
        if README_URL in line:
            commands[line.split()[0]] = line
    return commands


def locked(path: Path) -> dict[str, list[str]]:
    """name -> pinned versions of a lock file (a universal lock may pin two, under markers)."""
    from packaging.utils import canonicalize_name

    text = path.read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1]):
        if "==" in block:
            assert "--hash=sha256:" in block, f"unhashed pin in {path.name}: {block.splitlines()[0]}"
    pins: dict[str, list[str]] = {}
    for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.MULTILINE):
        pins.setdefault(canonicalize_name(m.group(1)), []).append(m.group(2))
    return pins


def test_the_demo_lock_holds_runtime_and_sandbox_at_the_versions_the_tests_run() -> None:
    """make demo installs requirements-demo.lock with --no-deps: everything the runtime and the
    sandbox extra name must be there, hashed, and at the dev lock's versions (scripts/lock.sh)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    demo = locked(ROOT / "requirements-demo.lock")
    dev = locked(ROOT / "requirements-dev.lock")
    for line in project["dependencies"] + project["optional-dependencies"]["sandbox"]:
        req = Requirement(line)
        versions = demo.get(canonicalize_name(req.name))
        assert versions, f"{req.name} is not in requirements-demo.lock: run scripts/lock.sh"
        assert all(req.specifier.contains(v, prereleases=True) for v in versions), (req, versions)
    different = {name: (v, dev.get(name)) for name, v in demo.items() if dev.get(name) != v}
    assert not different, f"requirements-demo.lock vs requirements-dev.lock: {different}"
    assert not {"pytest", "ruff", "mypy"} & set(demo), "the dev toolchain is not the demo's"
    assert list(locked(ROOT / "requirements-uv.lock")) == ["uv"]


def test_make_test_ends_with_pytest_s_count_line(tmp_path: Path) -> None:
    """CI reads the closing line of `make test`: pytest's "N passed in Xs", which -qq would drop."""
    # run by `make test` itself (CI), a nested make would add "make[1]: Leaving directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    make = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=ROOT, capture_output=True,
                          text=True, check=True, env=env)  # fmt: skip
    argv = make.stdout.strip().splitlines()[-1].split()
    assert argv[0] == "/".join((".venv", "bin", "pytest")), argv
    shutil.copy(ROOT / "pyproject.toml", tmp_path)  # its addopts
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_one.py").write_text("def test_one():\n    pass\n")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", *argv[1:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout
    assert re.fullmatch(r"1 passed in [0-9.]+s", res.stdout.splitlines()[-1]), res.stdout


def test_readme_names_pipx_uvx_and_pip_from_git() -> None:
    commands = readme_install_commands((ROOT / "README.md").read_text())
    assert sorted(commands) == ["pip", "pipx", "uvx"], commands
    assert "[sandbox]" in commands["pip"]


@pytest.fixture(scope="module")
def commands() -> dict[str, str]:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip(f"{ROOT} is not a git checkout")
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "pyproject.toml",
        ],
        capture_output=True,
        text=True,
    ).stdout
    if dirty:
        print(f"note: uncommitted changes are not installed (git+file:// clones HEAD):\n{dirty}")
    readme = readme_install_commands((ROOT / "README.md").read_text())
    return {k: v.replace(README_URL, f"git+file://localhost{ROOT}") for k, v in readme.items()}


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The user's environment: no PYTHONPATH into this checkout, no venv, no sandbox settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "ECSPRESSO_", "AWS_", "PIPX_", "UV_TOOL"))
    }
    env |= {"HOME": str(tmp / "home"), "UV_PYTHON_DOWNLOADS": "never"}
    # uv's download cache stays the user's, so a second run does not fetch everything again
    env.setdefault("UV_CACHE_DIR", str(Path(os.environ.get("HOME", "/root")) / ".cache" / "uv"))
    (tmp / "home").mkdir(exist_ok=True)
    return env | extra


def sh(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{line}\nexit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


def run(argv: list[str], env: dict[str, str], cwd: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert res.returncode == code, f"{argv}: exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(ROOT / "examples", dest)
    return dest


@needs_pypi
def test_pipx_install_from_git(commands: dict[str, str], tmp_path: Path, examples: Path) -> None:
    pipx = shutil.which("pipx")
    if pipx is None:
        pytest.skip("pipx is not on PATH")
    env = clean_env(tmp_path, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"))
    env["PATH"] = f"{Path(pipx).parent}:{env['PATH']}"
    sh(commands["pipx"], env, tmp_path)
    ecspresso = str(tmp_path / "bin" / "ecspresso")

    assert run([ecspresso, "version"], env, tmp_path).stdout.startswith(f"ecspresso-py v{__version__} ")
    assert run([ecspresso, "--help"], env, tmp_path).stdout.startswith("usage: ecspresso ")
    # config, Go template, Jsonnet with an ext var: every runtime dependency, no AWS call
    rendered = run([ecspresso, "--ext-str", "type=web", "render", "taskdef"], env, examples).stdout
    assert '"family": "demo-web"' in rendered
    # boto3 and the log (structlog) as a failed call uses them: nothing listens on port 9
    aws = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    argv = [ecspresso, "--ext-str", "type=web", "deploy", "--dry-run", "--max-attempts", "1"]
    res = run(argv, env | aws, examples, code=1)
    assert "[ERROR] FAILED. DescribeServices web: Could not connect to the endpoint URL" in res.stderr
    # the runtime alone has no moto: the sandbox says what to install, it does not crash
    res = run([str(tmp_path / "bin" / "ecspresso-sandbox"), "--port", "0"], env, tmp_path, code=2)
    assert "needs moto" in res.stderr


@needs_pypi
def test_uvx_from_git(commands: dict[str, str], tmp_path: Path) -> None:
    uvx = shutil.which("uvx")
    if uvx is None:
        pytest.skip("uvx is not on PATH")
    env = clean_env(tmp_path, UV_TOOL_DIR=str(tmp_path / "uv-tools"))
    env["PATH"] = f"{Path(uvx).parent}:{env['PATH']}"
    res = sh(commands["uvx"], env, tmp_path)
    assert res.stdout.startswith(f"ecspresso-py v{__version__} "), res.stdout


@needs_pypi
def test_pip_install_with_the_sandbox_from_git(
    commands: dict[str, str], tmp_path: Path, examples: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = clean_env(tmp_path)
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    sh(commands["pip"], env, tmp_path)

    # every file git has under src/ecspresso is in the installed package (package data included)
    listing = run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print('\\n'.join(str(f) for f in m.files('ecspresso-py')))",
        ],
        env,
        tmp_path,
    ).stdout.split()
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "src/ecspresso"], capture_output=True, text=True, check=True
    ).stdout.split()
    missing = sorted({t.removeprefix("src/") for t in tracked} - set(listing))
    assert not missing, f"not in the installed package: {missing}"

    # the sandbox extra is complete: the sandbox starts, seeded, and the CLI deploys nothing but reads
    sandbox = subprocess.Popen(
        [str(venv / "bin" / "ecspresso-sandbox"), "--port", "0", "--seed", str(examples)],
        env=env | {"ECSPRESSO_EXT_STR": "type=web"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        url = sandbox.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), (url, sandbox.poll())
        aws = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "dummy",
            "AWS_SECRET_ACCESS_KEY": "dummy",
            "AWS_REGION": "us-east-1",
            "ECSPRESSO_EXT_STR": "type=web",
        }
        res = run([str(venv / "bin" / "ecspresso"), "status", "--events", "1"], env | aws, examples)
        assert "Service: web" in res.stdout
    finally:
        sandbox.terminate()
        sandbox.communicate(timeout=30)


@pytest.fixture(autouse=True)
def _no_leftover(tmp_path: Path) -> Iterator[None]:
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)
