"""The command line as ecspresso's (kong) parses it: global flags anywhere, ECSPRESSO_* defaults,
envfiles, config auto-detection, log formats, help, version, and a ``render`` that stays light."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ecspresso import __version__
from ecspresso.cli import run
from ecspresso.render.jsonnet import evaluate_snippet

COMPAT = Path(__file__).parent / "compat"

CONFIG = """\
region: ap-northeast-1
cluster: "{{ env `ECSPRESSO_TEST` `none` }}"
service: "{{ env `ECSPRESSO_TEST2` `none` }}"
task_definition: td.jsonnet
service_definition: sv.json
"""
TD = """\
{
  family: std.extVar('Family'),
  containerDefinitions: [{ name: 'app', image: 'nginx:' + std.extVar('Tag'), memory: 128 }],
}
"""
SV = '{"desiredCount": 1, "launchType": "FARGATE"}\n'


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (the working directory) with a config, a TD and a service definition."""
    (tmp_path / "ecspresso.yml").write_text(CONFIG)
    (tmp_path / "td.jsonnet").write_text(TD)
    (tmp_path / "sv.json").write_text(SV)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ECSPRESSO_"):
            monkeypatch.delenv(name)
    # the envfile tests export these: set them so that monkeypatch restores them afterwards
    monkeypatch.setenv("ECSPRESSO_TEST", "")
    monkeypatch.setenv("ECSPRESSO_TEST2", "")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    got, _ = run(list(argv))
    out, err = capsys.readouterr()
    assert got == code, err
    return out, err


def config_of(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    out, _ = cli(capsys, *argv, "render", "config")
    doc = yaml.safe_load(out)
    assert isinstance(doc, dict)
    return doc


# --- global flags ---------------------------------------------------------------------------------


def test_global_flags_before_or_after_the_command(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "other.yml").write_text("region: us-west-2\ncluster: other\n")
    before, _ = cli(capsys, "--config", "other.yml", "render", "config")
    after, _ = cli(capsys, "render", "config", "--config", "other.yml")
    assert before == after
    assert yaml.safe_load(before)["cluster"] == "other"
    ext = ("--ext-str", "Family=f", "--ext-str", "Tag=1")
    one, _ = cli(capsys, *ext, "render", "taskdef")
    two, _ = cli(capsys, "render", "taskdef", *ext)
    # kong merges a repeatable flag given on both sides of the command
    three, _ = cli(capsys, ext[0], ext[1], "render", "taskdef", ext[2], ext[3])
    assert one == two == three
    assert json.loads(one)["containerDefinitions"][0]["image"] == "nginx:1"


def test_ext_str_pairs_in_one_flag_and_ext_code(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "td.jsonnet").write_text(
        "{ family: std.extVar('Family'), containerDefinitions: [{ name: 'a', image: 'x', memory: std.extVar('Mem') }] }"
    )
    out, _ = cli(capsys, "--ext-str", "Family=f;Unused=x", "--ext-code", "Mem=64 * 2", "render", "taskdef")
    td = json.loads(out)
    assert td["family"] == "f" and td["containerDefinitions"][0]["memory"] == 128


def test_env_defaults(
    proj: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (proj / "sub").mkdir()
    (proj / "sub" / "conf.yml").write_text("region: eu-west-1\ncluster: from-env\n")
    monkeypatch.setenv("ECSPRESSO_CONFIG", "sub/conf.yml")
    assert config_of(capsys)["cluster"] == "from-env"
    assert config_of(capsys, "--config", "ecspresso.yml")["cluster"] == "none"  # the flag wins
    monkeypatch.delenv("ECSPRESSO_CONFIG")

    monkeypatch.setenv("ECSPRESSO_EXT_STR", "Family=envfam;Tag=2")
    out, _ = cli(capsys, "render", "taskdef")
    assert json.loads(out)["family"] == "envfam"
    assert json.loads(out)["containerDefinitions"][0]["image"] == "nginx:2"

    monkeypatch.setenv("ECSPRESSO_LOG_FORMAT", "json")
    (proj / "ecspresso.yml").write_text(CONFIG + "unknown_key: 1\n")
    _, err = cli(capsys, "render", "config")
    records = [json.loads(line) for line in err.splitlines()]
    assert records and records[0]["level"] == "WARNING" and "unknown_key" in records[0]["msg"]


def test_log_format_json_makes_stderr_json_lines(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "ecspresso.yml").write_text(CONFIG + "unknown_key: 1\nfilter_command: fzf\n")
    out, err = cli(capsys, "--log-format", "json", "render", "config")
    assert yaml.safe_load(out)["filter_command"] == "fzf"  # results stay plain on stdout
    *records, last = [json.loads(line) for line in err.splitlines()]
    assert len(records) == 2
    assert all(r["level"] == "WARNING" and r["time"] and r["msg"] for r in records)
    assert last["msg"] == "result" and last["command"] == "render" and last["exit_code"] == 0
    _, err = cli(capsys, "--log-format", "json", "render", "nothing", code=2)
    (record,) = [json.loads(line) for line in err.splitlines()]
    assert record["level"] == "ERROR" and record["msg"].startswith("FAILED. ")
    # text is the default
    _, err = cli(capsys, "render", "config")
    assert all(" [WARNING] " in line for line in err.splitlines())


# --- envfiles -------------------------------------------------------------------------------------


def test_envfile_exports_before_the_config_loads(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ecspresso's cli_test: tests/envfile then tests/envfile2 (later files win; export prefix)."""
    doc = config_of(capsys, "--envfile", str(COMPAT / "envfile"))
    assert (doc["cluster"], doc["service"]) == ("ok", "none")
    assert os.environ["ECSPRESSO_TEST"] == "ok"
    doc = config_of(capsys, "--envfile", str(COMPAT / "envfile"), "--envfile", str(COMPAT / "envfile2"))
    assert (doc["cluster"], doc["service"]) == ("ok2", "ok2")


def test_envfile_flags_on_both_sides_and_comma_separated(
    proj: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = str(COMPAT / "envfile"), str(COMPAT / "envfile2")
    out, _ = cli(capsys, "--envfile", first, "render", "config", "--envfile", second)
    assert yaml.safe_load(out)["cluster"] == "ok2"
    doc = config_of(capsys, "--envfile", f"{second},{first}")  # envfile last: ok, ECSPRESSO_TEST2 stays
    assert (doc["cluster"], doc["service"]) == ("ok", "ok2")
    monkeypatch.setenv("ECSPRESSO_ENVFILE", second)
    assert config_of(capsys)["cluster"] == "ok2"


def test_envfile_quotes_comments_and_escapes(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / ".env").write_text(
        "# a comment\n\nexport ECSPRESSO_TEST = \"caf\\u00e9 #1\" # trailing\nECSPRESSO_TEST2='x y'#z\n"
    )
    doc = config_of(capsys, "--envfile", ".env")
    assert (doc["cluster"], doc["service"]) == ("caf\u00e9 #1", "x y")


# --- config auto-detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        (["ecspresso.yml", "ecspresso.yaml", "ecspresso.json", "ecspresso.jsonnet"], "ecspresso.yml"),
        (["ecspresso.yaml", "ecspresso.json", "ecspresso.jsonnet"], "ecspresso.yaml"),
        (["ecspresso.json", "ecspresso.jsonnet"], "ecspresso.json"),
        (["ecspresso.jsonnet"], "ecspresso.jsonnet"),
    ],
)
def test_config_auto_detection(
    present: list[str],
    chosen: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECSPRESSO_CONFIG", raising=False)
    for name in present:
        cluster = name.replace(".", "-")
        text = f"cluster: {cluster}\n" if name.endswith(("yml", "yaml")) else json.dumps({"cluster": cluster})
        (tmp_path / name).write_text(text)
    expected = chosen.replace(".", "-")
    assert config_of(capsys)["cluster"] == expected
    # --config with the default name auto-detects too (ecspresso compares with the default value)
    assert config_of(capsys, "--config", "ecspresso.yml")["cluster"] == expected


def test_no_config_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECSPRESSO_CONFIG", raising=False)
    _, err = cli(capsys, "render", "config", code=1)
    assert "ecspresso.yml: config file not found" in err


# --- help and version -----------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    out, err = cli(capsys, "version")
    assert out.startswith("ecspresso") and __version__ in out and out.count("\n") == 1
    assert err == ""


@pytest.mark.parametrize("argv", [[], ["help"], ["--help"], ["help", "render"]])
def test_no_args_and_help_print_usage_and_exit_zero(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """As kong does for ecspresso: no arguments or ``help`` means ``--help``."""
    out, err = cli(capsys, *argv)
    assert out.startswith("usage: ecspresso") and "render" in out and "deploy" in out
    assert err == ""


def test_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = cli(capsys, "render", "--help")
    assert out.startswith("usage: ecspresso render") and "--jsonnet" in out
    assert "config,service-definition(servicedef),task-definition(taskdef)" in "".join(out.split())


def test_version_flag_says_what_version_says(capsys: pytest.CaptureFixture[str]) -> None:
    as_command, _ = cli(capsys, "version")
    as_flag, _ = cli(capsys, "--version")
    assert as_flag == as_command


def test_help_shows_each_commands_own_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """--wait-until differs per command (deploy: deployed, rollback and wait: stable)."""
    flat = {name: " ".join(cli(capsys, name, "--help")[0].split()) for name in ("deploy", "rollback", "wait")}
    assert "(default: deployed)" in flat["deploy"].split("--wait-until", 2)[2].split("--", 1)[0]
    assert "(default: stable)" in flat["rollback"] and "(default: stable)" in flat["wait"]
    assert "(default: --wait)" in flat["deploy"] and "(default: -1)" in flat["deploy"]
    assert "(default: --deregister-task-definition)" in flat["rollback"]


def test_every_example_in_the_help_parses() -> None:
    from ecspresso.cli import parse_args
    from ecspresso.commands import registry

    for cmd in set(registry().values()):
        for example in cmd.examples:
            _, parsed, _ = parse_args(shlex.split(example))
            assert parsed is not None and parsed.name == cmd.name, example


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["deploi"], "unknown command 'deploi'; did you mean 'deploy'?"),
        (["deploy", "--dry-rn"], "unrecognized arguments: --dry-rn; did you mean '--dry-run'?"),
        (["status", "--evnts", "3"], "did you mean '--events'?"),
        (["status", "--confg", "x.yml"], "did you mean '--config'?"),
        (["render", "tskdef"], "did you mean 'taskdef'?"),
    ],
)
def test_a_mistyped_command_or_flag_gets_a_suggestion(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = cli(capsys, *argv, code=2)
    assert hint in err and err.count("\n") == 1


def test_diff_takes_ecspressos_without_service() -> None:
    from ecspresso.cli import parse_args

    assert parse_args(["diff", "--without-service"])[2].with_service is False
    assert parse_args(["diff", "--no-with-service"])[2].with_service is False
    assert parse_args(["diff"])[2].with_service is True


def test_nothing_close_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    _, err = cli(capsys, "frobnicate", code=2)
    assert "unknown command 'frobnicate'" in err and "did you mean" not in err


# --- render ---------------------------------------------------------------------------------------


def test_render_jsonnet_output_is_jsonnet_for_the_same_document(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ext = ("--ext-str", "Family=f;Tag=1")
    for target in ("config", "servicedef", "taskdef"):
        as_jsonnet, _ = cli(capsys, *ext, "render", target, "--jsonnet")
        plain, _ = cli(capsys, *ext, "render", target)
        parsed = yaml.safe_load(plain) if target == "config" else json.loads(plain)
        assert json.loads(evaluate_snippet(f"{target}.jsonnet", as_jsonnet)) == parsed
        assert '"' not in as_jsonnet.splitlines()[1]  # field names unquoted, Jsonnet style


def test_render_several_targets_in_order(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = cli(capsys, "--ext-str", "Family=f;Tag=1", "render", "servicedef", "taskdef")
    decoder = json.JSONDecoder()
    sv, end = decoder.raw_decode(out)
    td, _ = decoder.raw_decode(out[end:].lstrip())
    assert sv["serviceName"] == "none" and td["family"] == "f"


def test_render_does_not_import_boto3(proj: Path) -> None:
    """Without an AWS-backed plugin call, ``render`` stays local: boto3 is never imported."""
    script = textwrap.dedent(
        """
        import sys
        from ecspresso.cli import main
        code = main(["--ext-str", "Family=f;Tag=1", "render", "config", "servicedef", "taskdef"])
        print("EXIT", code, "boto3" in sys.modules)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("EXIT 0 False"), proc.stdout + proc.stderr
