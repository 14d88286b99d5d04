"""ecspresso.gha, checked through tests/runner_oracle.py (the runner's own parsing rules)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ecspresso import gha
from ecspresso.errors import UsageError
from runner_oracle import (
    SUMMARY_LIMIT,
    EnvFileError,
    RunnerLog,
    check_summary,
    env_file_pairs,
    parse_command,
    parse_env_file,
    read_lines,
)

ROOT = Path(__file__).resolve().parents[1]

TRICKY = [
    "plain",
    "",
    " padded ",
    "two\nlines",
    "trailing newline\n",
    "\nleading newline",
    "crlf\r\nline\r\n",
    "lone\rcr",
    "100% %25 %0A %0D %3A %2C literal escapes",
    "::error::not a command",
    "a::b,c=d:e",
    "EOF",
    "ghadelimiter_00000000-0000-0000-0000-000000000000",
    "name<<EOF\nx\nEOF",
    "a=b<<c",
    "ünïcødé ✓ 🚀 日本語",
    "\t\ttabs\t",
    "=leading equals",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("INPUT_") or key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"):
            monkeypatch.delenv(key)


@pytest.fixture
def output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "set_output_1234"
    path.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    return path


@pytest.fixture
def summary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "step_summary_1234"
    path.touch()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


def runner_log(capsys: pytest.CaptureFixture[str]) -> RunnerLog:
    return RunnerLog().feed(capsys.readouterr().out)


def random_text(rng: random.Random, n: int) -> str:
    alphabet = "ab:,=%;]\r\n 0ADC25<>#[é✓"
    return "".join(rng.choice(alphabet) for _ in range(n))


# --- escaping -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY)
def test_command_round_trips_data_and_properties(value: str) -> None:
    line = gha.command("warning", value, title=value, file="src/a.py", line=3)
    assert "\n" not in line and "\r" not in line
    cmd = parse_command(line)
    assert cmd is not None and cmd.name == "warning"
    assert cmd.data == value
    if value:  # an empty property is dropped
        # the runner's String.Split drops a property value's leading "=": nothing escapes it
        assert cmd.prop("title") == value.lstrip("=")
    assert cmd.prop("file") == "src/a.py" and cmd.prop("line") == "3"


def test_escaping_round_trips_random_strings() -> None:
    rng = random.Random(5)
    for _ in range(500):
        value = random_text(rng, rng.randint(1, 30))
        cmd = parse_command(gha.command("notice", value, title="x" + value + "x"))
        assert cmd is not None
        assert cmd.data == value
        assert cmd.prop("title") == "x" + value + "x"


def test_command_leaves_out_none_properties() -> None:
    assert gha.command("error", "m", title=None, line=None) == "::error::m"
    assert gha.command("endgroup") == "::endgroup::"
    assert gha.command("error", "50%", title="a:b,c") == "::error title=a%3Ab%2Cc::50%25"


def test_oracle_parses_like_the_runner() -> None:
    cmd = parse_command("   ::ERROR file=a.py,line=,=x,col=2::data::with colons")
    assert cmd is not None
    assert cmd.name.lower() == "error"
    assert cmd.properties == {"file": "a.py", "col": "2"}  # empty line= and =x are dropped
    assert cmd.data == "data::with colons"
    cmd = parse_command("::error title==x::m")
    assert cmd is not None and cmd.prop("title") == "x"  # .NET Split drops the empty piece
    assert parse_command("::unknown::x") is None
    assert parse_command(":: error::x") is None
    assert parse_command("no command ::error::x") is None
    legacy = parse_command("prefix ##[warning file=a%3Bb;line=2]msg%5D")
    assert legacy is not None and legacy.prop("file") == "a;b" and legacy.data == "msg]"
    assert read_lines("a\r\nb\rc\n\nd") == ["a", "b", "c", "", "d"]


# --- GITHUB_OUTPUT ------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY)
def test_set_output_round_trips(output_file: Path, value: str) -> None:
    assert gha.set_output("result", value) is True
    assert parse_env_file(output_file.read_bytes().decode()) == {"result": value}


def test_set_output_many_records_and_types(output_file: Path) -> None:
    gha.set_output("task-definition-arn", "arn:aws:ecs:us-east-1:123:task-definition/app:7")
    gha.set_output("rolled-back", False)
    gha.set_output("task-definition-revision", 7)
    gha.set_output("deployment-id", None)
    gha.set_output("result", "failed")
    gha.set_output("result", "rolled-back")  # the later record wins, as in the runner
    pairs = env_file_pairs(output_file.read_bytes().decode())
    assert [k for k, _ in pairs][:2] == ["task-definition-arn", "rolled-back"]
    assert parse_env_file(output_file.read_bytes().decode()) == {
        "task-definition-arn": "arn:aws:ecs:us-east-1:123:task-definition/app:7",
        "rolled-back": "false",
        "task-definition-revision": "7",
        "deployment-id": "",
        "result": "rolled-back",
    }


def test_set_output_regenerates_a_colliding_delimiter(
    output_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = uuid.UUID(int=1)
    second = uuid.UUID(int=2)
    ids = iter([first, second])
    monkeypatch.setattr(gha.uuid, "uuid4", lambda: next(ids))
    value = f"line\nghadelimiter_{first}\nmore"
    gha.set_output("out", value)
    text = output_file.read_bytes().decode()
    assert text.startswith(f"out<<ghadelimiter_{second}\n")
    assert parse_env_file(text) == {"out": value}


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb", "1abc", "a b", "x:y"])
def test_set_output_rejects_bad_names(output_file: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid output name"):
        gha.set_output(name, "v")
    assert output_file.read_text() == ""


def test_set_output_without_github_output_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert gha.set_output("result", "ok") is False
    assert capsys.readouterr().out == ""  # never the deprecated ::set-output


def test_oracle_env_file_errors() -> None:
    with pytest.raises(EnvFileError, match="Matching delimiter not found 'EOF'"):
        env_file_pairs("a<<EOF\nvalue\n")
    with pytest.raises(EnvFileError, match="EOF marker missing new line"):
        env_file_pairs("a<<EOF\nvalue")
    with pytest.raises(EnvFileError, match="Invalid format 'novalue'"):
        env_file_pairs("novalue\n")
    with pytest.raises(EnvFileError, match="Name must not be empty"):
        env_file_pairs("<<EOF\nx\nEOF\n")
    assert parse_env_file("\ufeffa=1\n\nb<<E\nx\r\ny\nE\nc=d=e") == {"a": "1", "b": "x\r\ny", "c": "d=e"}
    assert parse_env_file("a<<E\nE\n") == {"a": ""}


# --- stop-commands, masks, groups, annotations ----------------------------------------------


def test_stop_commands_suppresses_commands_inside(capsys: pytest.CaptureFixture[str]) -> None:
    print("::warning::before")
    with gha.stop_commands():
        print("::error::boom")
        print("::add-mask::oops")
        print("::set-output name=x::y")
    print("::notice::after")
    log = runner_log(capsys)
    assert [a.level for a in log.annotations] == ["warning", "notice"]
    assert "::error::boom" in log.lines and "::add-mask::oops" in log.lines
    assert log.masks and all(m != "oops" for m in log.masks)  # only the stop token
    assert not log.stopped and not log.errors


def test_stop_commands_token_is_random_long_and_masked(capsys: pytest.CaptureFixture[str]) -> None:
    with gha.stop_commands():
        pass
    with gha.stop_commands():
        pass
    out = capsys.readouterr().out.splitlines()
    tokens = [line.split("::")[2] for line in out if line.startswith("::stop-commands::")]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert all(len(t) > 6 for t in tokens)
    log = RunnerLog().feed("\n".join(out))
    assert set(tokens) <= set(log.masks)
    assert not any(t in line for line in log.lines for t in tokens)


def test_commands_issued_inside_stop_commands_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    with gha.stop_commands():
        print("::error::user text")
        gha.annotation("error", "real error", title="t")
        gha.add_mask("s3cret-value")
        with gha.stop_commands():  # nested: no-op
            print("::warning::also user text")
        print("leaks s3cret-value")
    log = runner_log(capsys)
    assert [(a.level, a.message) for a in log.annotations] == [("error", "real error")]
    assert "s3cret-value" in log.masks
    assert "leaks ***" in log.lines
    assert "::warning::also user text" in log.lines
    assert not log.stopped


def test_stop_commands_resumes_after_an_exception(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), gha.stop_commands():
        raise RuntimeError("x")
    gha.annotation("warning", "after")
    log = runner_log(capsys)
    assert not log.stopped and [a.message for a in log.annotations] == ["after"]


def test_add_mask_masks_value_and_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "-----BEGIN KEY-----\r\nAbCdEf0123\n  GhIjKl4567  \n-----END KEY-----"
    gha.add_mask(secret)
    gha.add_mask("")
    gha.add_mask("   ")
    print("line AbCdEf0123 and GhIjKl4567 and 100%")
    log = runner_log(capsys)
    assert secret in log.masks
    assert {"AbCdEf0123", "GhIjKl4567", "-----BEGIN KEY-----"} <= set(log.masks)
    assert log.lines == ["line *** and *** and 100%"]
    assert not log.warnings  # empty values are never sent


def test_add_mask_with_percent_and_colons(capsys: pytest.CaptureFixture[str]) -> None:
    gha.add_mask("p%40ss::w0rd")
    print("x p%40ss::w0rd y")
    log = runner_log(capsys)
    assert log.masks == ["p%40ss::w0rd"] and log.lines == ["x *** y"]


def test_group(capsys: pytest.CaptureFixture[str]) -> None:
    with gha.group("Render task definition: app%1"):
        print("inside")
        with gha.group("inner"):
            print("deeper")
    with gha.group("second"):
        pass
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "::group::Render task definition: app%251",
        "inside",
        "> inner",
        "deeper",
        "::endgroup::",
        "::group::second",
        "::endgroup::",
    ]
    assert RunnerLog().feed(out).groups == ["Render task definition: app%1", "second"]


def test_annotation_properties(capsys: pytest.CaptureFixture[str]) -> None:
    gha.annotation(
        "error", "bad value\nsecond line", title="config: ecspresso.yml", file="ecspresso.yml", line=3
    )
    gha.annotation("notice", "done")
    log = runner_log(capsys)
    first, second = log.annotations
    assert (first.level, first.message, first.title, first.file, first.line) == (
        "error",
        "bad value\nsecond line",
        "config: ecspresso.yml",
        "ecspresso.yml",
        "3",
    )
    assert second.properties == {}
    with pytest.raises(ValueError):
        gha.annotation("fatal", "x")


def test_debug_and_flush_order_in_a_real_process(tmp_path: Path) -> None:
    """stdout and stderr share one pipe, as on the runner: command lines come out in order
    with log lines written to stderr, without PYTHONUNBUFFERED."""
    script = (
        "import sys\n"
        "from ecspresso import gha\n"
        "with gha.group('g'):\n"
        "    print('log 1', file=sys.stderr)\n"
        "    with gha.stop_commands():\n"
        "        print('::error::from stderr', file=sys.stderr)\n"
        "        sys.stdout.write('::error::from stdout\\n')\n"
        "    gha.debug('dbg')\n"
        "    print('log 2', file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "::group::g" and lines[1] == "log 1" and lines[-1] == "::endgroup::"
    assert lines[-2] == "log 2" and lines[-3] == "::debug::dbg"
    log = RunnerLog().feed(proc.stdout)
    assert log.annotations == [] and log.debug == ["dbg"]
    assert "::error::from stderr" in log.lines and "::error::from stdout" in log.lines


# --- step summary -------------------------------------------------------------------------


def test_append_summary(summary_file: Path) -> None:
    assert gha.append_summary("## Deploy\n") is True
    assert gha.append_summary("| a | b |") is True
    assert summary_file.read_text(encoding="utf-8") == "## Deploy\n| a | b |\n"


def test_append_summary_without_env() -> None:
    assert gha.append_summary("x") is False


def test_append_summary_caps_the_file(summary_file: Path) -> None:
    summary_file.write_bytes(b"x" * (SUMMARY_LIMIT - 5000) + b"\n")
    body = "".join(f"| row {i} | ✓ |\n" for i in range(2000))
    assert gha.append_summary(body) is True
    data = summary_file.read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    assert check_summary(data) is None
    text = data.decode("utf-8")  # cut on a character (and line) boundary
    assert "was cut" in text and "1024 KiB" in text
    kept = text.split("\n", 1)[1].split("\n\n> **Note:**")[0]
    assert body.startswith(kept) and kept.endswith("|\n")
    assert gha.append_summary("more") is False  # nothing after the note
    assert summary_file.read_bytes() == data


def test_append_summary_single_huge_write_without_newlines(summary_file: Path) -> None:
    assert gha.append_summary("é" * SUMMARY_LIMIT) is True
    data = summary_file.read_bytes()
    assert check_summary(data) is None
    data.decode("utf-8")


def test_append_summary_on_a_full_file(summary_file: Path) -> None:
    summary_file.write_bytes(b"x" * SUMMARY_LIMIT)
    assert gha.append_summary("more") is False
    assert summary_file.stat().st_size == SUMMARY_LIMIT


def test_oracle_summary_limit() -> None:
    assert check_summary(b"x" * SUMMARY_LIMIT) is None
    assert "upload aborted" in (check_summary(b"x" * (SUMMARY_LIMIT + 1)) or "")


# --- inputs -------------------------------------------------------------------------------


def test_get_input_names_keep_hyphens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_EXT-STR", "  env=prod  ")
    monkeypatch.setenv("INPUT_WAIT_UNTIL", "stable")  # a space in the name becomes "_"
    assert gha.get_input("ext-str") == "env=prod"
    assert gha.get_input("ext-str", trim=False) == "  env=prod  "
    assert gha.get_input("wait until") == "stable"
    assert gha.get_input("ext_str") == ""
    assert gha.get_input("missing") == ""
    with pytest.raises(UsageError, match="input 'missing' is required"):
        gha.get_input("missing", required=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False)],
)
def test_get_bool_input(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("INPUT_DRY-RUN", f" {raw} ")
    assert gha.get_bool_input("dry-run") is expected


@pytest.mark.parametrize("raw", ["yes", "1", "on", "tRue", "y", "no"])
def test_get_bool_input_rejects_other_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("INPUT_ROLLBACK-ON-FAILURE", raw)
    with pytest.raises(
        UsageError, match=rf"input 'rollback-on-failure' must be a boolean .*got '{raw}'"
    ) as e:
        gha.get_bool_input("rollback-on-failure", default=True)
    assert e.value.exit_code == 2


def test_get_bool_input_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_NO-WAIT", "")
    assert gha.get_bool_input("no-wait", default=False) is False
    assert gha.get_bool_input("no-wait", default=True) is True
    with pytest.raises(UsageError, match=r"input 'no-wait' must be a boolean .*got an empty value"):
        gha.get_bool_input("no-wait")


def test_get_multiline_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_EXT-CODE", 'A={"x": 1}\n\n   B=[1, 2]  \r\n \n')
    assert gha.get_multiline_input("ext-code") == ['A={"x": 1}', "B=[1, 2]"]
    assert gha.get_multiline_input("tasks") == []


# --- workspace ownership ------------------------------------------------------------------

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")


@needs_root
def test_chown_to_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    os.chown(ws, 1234, 2345)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ws))
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    existing = ws / "kept"
    existing.mkdir()
    os.chown(existing, 4000, 4000)
    (existing / "out" / "sub").mkdir(parents=True)
    (existing / "out" / "sub" / "td.json").write_text("{}")
    (existing / "out" / "link").symlink_to(outside)

    gha.chown_to_workspace(existing / "out")
    for p in [existing / "out", existing / "out" / "sub", existing / "out" / "sub" / "td.json"]:
        assert (p.stat().st_uid, p.stat().st_gid) == (1234, 2345), p
    assert os.lstat(existing / "out" / "link").st_uid == 1234
    assert outside.stat().st_uid == 0  # the link was not followed
    assert existing.stat().st_uid == 4000  # not root-owned: left alone

    gha.chown_to_workspace(outside)
    assert outside.stat().st_uid == 0
    gha.chown_to_workspace(ws)
    assert ws.stat().st_uid == 1234
    gha.chown_to_workspace(ws / "missing")


@needs_root
def test_chown_to_workspace_creates_parents_owned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 1001, 127)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ws))
    target = ws / "a" / "b" / "c.json"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    monkeypatch.chdir(ws)
    gha.chown_to_workspace("a/b/c.json")
    for p in (ws / "a", ws / "a" / "b", target):
        assert p.stat().st_uid == 1001


def test_chown_to_workspace_noop_when_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    f = tmp_path / "f"
    f.write_text("x")
    before = f.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    called: list[object] = []
    monkeypatch.setattr(os, "lchown", lambda *a: called.append(a))
    gha.chown_to_workspace(f)
    assert called == [] and f.stat().st_uid == before


def test_chown_to_workspace_noop_without_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[object] = []
    monkeypatch.setattr(os, "lchown", lambda *a: called.append(a))
    gha.chown_to_workspace(tmp_path)
    assert called == []
