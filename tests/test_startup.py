"""Start like a small tool: what ``version``, ``--help``, a usage error and ``render`` import, the
command table, the exit without interpreter tear-down, and one parse of the ECS model.

Deterministic: each case runs the real entry point (``ecspresso.cli.console``, what the console
script and ``python -m ecspresso`` call) in a fresh interpreter and lists ``sys.modules`` from an
atexit handler, which runs after the command. No timing: the measured ratios are in the issue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ecspresso import commands
from ecspresso.options import GlobalOptions

COMMAND_MODULES = {f"ecspresso.commands.{name}" for name in commands.MODULES}
SDK = {"boto3", "botocore", "urllib3", "s3transfer"}
#: what no path that makes no AWS call and logs nothing may import
HEAVY = SDK | {"structlog", "asyncio", "yaml", "ecspresso.app", "ecspresso.config", "ecspresso.gha"}

PROBE = textwrap.dedent(
    """
    import atexit, sys
    atexit.register(lambda: print("\\nMODULES", *sorted(sys.modules), file=sys.stderr))
    sys.argv = ["ecspresso", *sys.argv[1:]]
    from ecspresso.cli import console
    console()
    """
)


def probe(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str, set[str]]:
    """Run the CLI with ``argv`` in a fresh interpreter: (exit code, stdout, stderr, modules)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ECSPRESSO_", "GITHUB_"))}
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    err, sep, modules = proc.stderr.rpartition("\nMODULES ")
    assert sep, proc.stderr  # the atexit handler ran
    return proc.returncode, proc.stdout, err, set(modules.split())


def loaded(modules: set[str], names: set[str]) -> set[str]:
    """Which of ``names`` (packages count with their submodules) are in ``modules``."""
    return {n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)}


# --- the light paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["version"], 0),
        (["--log-format", "json", "--config", "x.yml", "version"], 0),
        (["--help"], 0),
        ([], 0),
        (["help"], 0),
        (["bogus"], 2),  # an unknown command
        (["--config"], 2),  # a global flag without its value
        (["--log-format", "yaml", "version"], 2),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_version_help_and_usage_errors_import_no_command_sdk_or_structlog(argv: list[str], code: int) -> None:
    got, out, err, modules = probe(*argv)
    assert got == code, err
    assert loaded(modules, HEAVY | COMMAND_MODULES) == set()
    if code != 0:
        assert "[ERROR] FAILED. " in err and out == ""
    elif argv and argv[-1] == "version":
        assert out.startswith("ecspresso-py v") and err == ""
    else:
        assert out.startswith("usage: ecspresso") and "deploy" in out and "appspec" in out


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["deploy", "--help"], "deploy"),
        (["continue", "--help"], "resume"),
        (["scale", "--tasks", "x"], "scale"),  # a usage error of one command
        (["--config", "x.yml", "wait", "--until", "bad"], "wait"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_a_command_imports_its_own_module_only(argv: list[str], module: str) -> None:
    code, _, err, modules = probe(*argv)
    assert code == (0 if "--help" in argv else 2), err
    assert loaded(modules, COMMAND_MODULES) == own_imports(f"ecspresso.commands.{module}")
    assert loaded(modules, SDK | {"structlog", "asyncio"}) == set()


def own_imports(module: str) -> set[str]:
    """The command modules that importing ``module`` imports (scale uses deploy's code)."""
    script = f"import sys, {module}; print(*sorted(sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return loaded(set(proc.stdout.split()), COMMAND_MODULES)


def _shown(field: Any) -> str:
    meta = field.metadata
    return (meta["metavar"] or field.name) if meta["positional"] else "--" + field.name.replace("_", "-")


def _flags(cls: type) -> list[Any]:
    return [  # hidden flags (deprecated spellings) are accepted but not listed
        f
        for f in cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
        if "help" in f.metadata and not f.metadata.get("hidden")
    ]


def test_a_command_help_lists_its_flags_and_examples_and_points_to_the_global_ones() -> None:
    for name, entry in commands.TABLE.items():
        code, out, err, _ = probe(name, "--help")
        assert code == 0, err
        assert out.startswith(f"usage: ecspresso {name}") and entry.help.split()[0] in out
        cmd = commands.load(name)
        for field in _flags(cmd.options):
            assert _shown(field) in out, f"{name} --help does not list {_shown(field)}"
        assert cmd.examples, f"{name} has no example"
        for example in cmd.examples:
            assert f"ecspresso {example}" in out
        # the global flags are listed once, in 'ecspresso --help', not under every command
        assert "see 'ecspresso --help'" in out and "--assume-role-arn" not in out


def test_the_top_level_help_lists_every_global_flag_in_its_own_section() -> None:
    code, out, err, _ = probe("--help")
    assert code == 0, err
    section = out.split("global options", 1)[1].split("commands:", 1)[0]
    for field in _flags(GlobalOptions):
        assert _shown(field) in section


def test_render_without_plugins_imports_no_aws_sdk_nor_structlog(tmp_path: Path) -> None:
    (tmp_path / "ecspresso.yml").write_text(
        "region: ap-northeast-1\ncluster: c\nservice: s\ntask_definition: td.json\nservice_definition: sv.json\n"
    )
    (tmp_path / "td.json").write_text(
        '{"family": "f", "containerDefinitions": [{"name": "a", "image": "x"}]}'
    )
    (tmp_path / "sv.json").write_text('{"desiredCount": 1}')
    code, out, err, modules = probe("render", "config", cwd=tmp_path)
    assert code == 0 and "cluster: c" in out, err
    assert loaded(modules, SDK | {"structlog", "asyncio"} | COMMAND_MODULES) == {"ecspresso.commands.render"}
    # the definitions are checked against botocore's ECS model (not boto3): no client, no call
    code, out, err, modules = probe("render", "servicedef", "taskdef", cwd=tmp_path)
    assert code == 0 and '"family": "f"' in out, err
    assert loaded(modules, {"boto3", "structlog", "asyncio"}) == set()


def test_a_log_line_loads_structlog_and_goes_through_the_same_processors(tmp_path: Path) -> None:
    (tmp_path / "ecspresso.yml").write_text("region: ap-northeast-1\ncluster: c\nunknown_key: 1\n")
    code, _, err, modules = probe("--log-format", "json", "render", "config", cwd=tmp_path)
    assert code == 0, err
    assert '"level": "WARNING"' in err and "unknown_key" in err
    assert "structlog" in modules


def test_the_failed_line_without_structlog_is_the_line_structlog_writes() -> None:
    script = textwrap.dedent(
        """
        import io, sys
        from ecspresso import log
        out = io.StringIO()
        log.add_mask("s3cret")
        for fmt in ("text", "json"):
            log.configure(log_format=fmt, stream=out)
            log.emit("error", "FAILED. bad s3cret")
        print("structlog" in sys.modules)
        for fmt in ("text", "json"):  # structlog from here on
            log.configure(log_format=fmt, stream=out)
            log.get_logger().error("FAILED. bad s3cret")
        log.emit("error", "FAILED. bad s3cret")
        print(out.getvalue())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    first, *lines = proc.stdout.splitlines()
    assert first == "False"

    def strip_time(line: str) -> str:
        return line.split(" ", 1)[1] if line[:1].isdigit() else line.split('"level"', 1)[1]

    text, json, structlog_text, structlog_json, structlog_emit = [strip_time(line) for line in lines if line]
    assert text == structlog_text == "[ERROR] FAILED. bad ***"
    assert json == structlog_json == structlog_emit == ': "ERROR", "msg": "FAILED. bad ***"}'


# --- one source of truth for the command names -------------------------------------------------


def test_the_command_table_says_what_the_command_modules_say() -> None:
    seen: list[str] = []
    for module in commands.MODULES:
        for cmd in __import__(f"ecspresso.commands.{module}", fromlist=["COMMANDS"]).COMMANDS:
            assert cmd.name in commands.TABLE, f"{cmd.name} ({module}.py) is missing from commands.TABLE"
            assert commands.TABLE[cmd.name] == commands.Entry(module, cmd.help, tuple(cmd.aliases))
            assert commands.load(cmd.name) is cmd
            seen.append(cmd.name)
    assert seen == list(commands.TABLE)  # same commands, same order (``--help`` lists them so)
    assert set(commands.registry()) == set(commands.TABLE)


# --- exit without tear-down --------------------------------------------------------------------


def test_python_m_ecspresso_flushes_its_output_and_keeps_the_exit_code(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECSPRESSO_", "GITHUB_", "PYTHONUNBUF"))}
    run = [sys.executable, "-m", "ecspresso"]
    help_ = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert help_.returncode == 0 and help_.stdout.rstrip().endswith("options, defaults and examples.")
    bad = subprocess.run([*run, "bogus"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert bad.returncode == 2 and "unknown command 'bogus'" in bad.stderr
    # under GitHub Actions the output goes through the guard's pipes: drained before the exit
    gha = subprocess.run([*run, "version"], capture_output=True, text=True, timeout=60, check=False,
                         env={**env, "GITHUB_ACTIONS": "true"}, cwd=tmp_path)  # fmt: skip
    assert gha.returncode == 0 and gha.stdout.startswith("ecspresso-py v"), gha.stderr


def test_python_m_ecspresso_skips_the_interpreter_tear_down() -> None:
    """Objects still alive at the end are not destroyed one by one: the process just ends."""
    script = textwrap.dedent(
        """
        import runpy, sys
        class Torn:
            def __del__(self):
                sys.stderr.write("torn down\\n")
        kept = Torn()
        sys.argv = ["ecspresso", "version"]
        runpy.run_module("ecspresso", run_name="__main__", alter_sys=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("ecspresso-py v")
    assert "torn down" not in proc.stderr


def test_exit_now_runs_atexit_and_waits_for_a_thread_it_would_cut() -> None:
    script = textwrap.dedent(
        """
        import atexit, sys, threading, time
        from ecspresso.cli import exit_now
        atexit.register(lambda: print("atexit ran", file=sys.stderr))
        if sys.argv[1] == "thread":
            threading.Thread(target=lambda: (time.sleep(0.2), print("thread done", flush=True))).start()
        sys.stdout.write("unflushed ")
        exit_now(3)
        """
    )
    for mode, expected in (("plain", "unflushed "), ("thread", "unflushed thread done\n")):
        proc = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True,
                              timeout=60, check=False, env={**os.environ, "PYTHONUNBUFFERED": ""})  # fmt: skip
        assert (proc.returncode, proc.stdout, proc.stderr) == (3, expected, "atexit ran\n")


def test_the_console_script_is_the_entry_that_exits_without_tear_down() -> None:
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 'ecspresso = "ecspresso.cli:console"' in pyproject


# --- the ECS model -----------------------------------------------------------------------------


def test_the_ecs_model_is_parsed_once_for_the_checks_and_every_client() -> None:
    script = textwrap.dedent(
        """
        import botocore.loaders
        parsed = []
        load_file = botocore.loaders.JSONFileLoader.load_file
        def counting(self, path, *args, **kwargs):
            parsed.append(path)
            return load_file(self, path, *args, **kwargs)
        botocore.loaders.JSONFileLoader.load_file = counting
        from ecspresso import definitions, normalize
        from ecspresso.aws import AwsContext
        normalize.input_members("UpdateServiceRequest")
        definitions.check_against_model({"cluster": "c", "serviceName": "s"}, "CreateService", "sv", "")
        AwsContext(region="us-east-1").client("ecs")
        AwsContext(region="eu-west-1").client("ecs")  # another session, the same loader
        print(sum(p.replace("\\\\", "/").endswith("/ecs/2014-11-13/service-2") for p in parsed))
        """
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"
