"""ecspresso.gha_guard: no line a guarded process prints runs as a workflow command unless
ecspresso.gha wrote it. Checked with tests/runner_oracle.py (the runner's parser)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ecspresso.gha_guard import inert
from runner_oracle import RunnerLog

ROOT = Path(__file__).resolve().parents[1]
JOINER = "\u2060"


def ours_only(log: RunnerLog) -> list[str]:
    """Commands the oracle executed that ecspresso.gha would not write: a name gha never issues,
    or data starting with the "pwned" marker every hostile command in these tests carries (our
    own annotations may quote hostile text, escaped, but never start with it)."""
    names = {"group", "endgroup", "add-mask", "error", "warning", "notice", "debug", "stop-commands"}
    tokens = {c.data.lower() for c in log.commands if c.name.lower() == "stop-commands"}
    return [
        c.line
        for c in log.commands
        if c.data.startswith("pwned") or (c.name.lower() not in names and c.name.lower() not in tokens)
    ]


HOSTILE = [
    "::error::pwned",
    "  \t::add-mask::pwned",
    "\u00a0\u2003::stop-commands::pwned-token",
    "\x0c::set-output name=result::pwned",
    "text ##[error]pwned",
    "##[add-mask]pwned",
    "::ERROR title=x::pwned",
    ":: not a command",
    "::",
    "ok::error::not at the start",
]


@pytest.mark.parametrize("line", HOSTILE)
@pytest.mark.parametrize("joined", ["\n", "\r\n", "\r", "\n\n"])
def test_inert_leaves_no_command_and_the_same_text(line: str, joined: str) -> None:
    text = f"before{joined}{line}{joined}after"
    log = RunnerLog().feed(inert(text))
    assert log.commands == [] and log.annotations == [] and log.masks == [] and not log.errors
    assert inert(text).replace(JOINER, "") == text  # only invisible joiners were added
    assert inert(inert(text)) == inert(text)


def test_inert_random_text_never_parses_as_a_command() -> None:
    rng = random.Random(20261122)
    pieces = ["::", ":", "##[", "#", "[", "]", "error", "add-mask", "stop-commands", "set-output name=x",
              "\n", "\r", "\r\n", " ", "\t", "\u00a0", "\x0b", "\x0c", "\x85", "\u2028", "x", "%0A"]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        log = RunnerLog().feed(inert(text))
        assert log.commands == [] and not log.errors, repr(text)
        assert inert(text).replace(JOINER, "") == text


def test_plain_text_is_unchanged() -> None:
    text = '2026-11-22T10:00:00.000+00:00 [INFO] [web/default] {"a": "b::c"} 100% done\n'
    assert inert(text) == text


SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys
    from ecspresso import gha

    with gha.guard_output():
        with gha.group("Deploy"):
            print("event: ok\\n::error::pwned-stderr", file=sys.stderr)
            print("stdout: ok\\n::set-output name=result::pwned-stdout")
            os.write(2, b"native\\n::stop-commands::pwnedtoken\\n##[error]pwned-legacy\\n")
            os.write(1, b"native out\\n::add-mask::pwned-fd1\\n")
            import _gojsonnet
            _gojsonnet.evaluate_snippet("td.jsonnet", "std.trace('tracing\\\\n::add-mask::pwned-trace', 1)")
            subprocess.run(["sh", "-c", "echo '::error::pwned-child-err' >&2; echo '::error::pwned-child-out'"])
            with gha.stop_commands():
                print('{"value": "::error::kept verbatim inside our block"}')
                print("::error::pwned-stderr-during-block", file=sys.stderr)  # a block covers stdout only
            sys.stdout.write("unfinished ::")
            gha.annotation("error", "the real failure", title="deployment failed")
            sys.stdout.write("error::pwned-after\\n")
    """
)


@pytest.mark.parametrize("order", ["merged", "stderr-first", "stdout-first"])
def test_guarded_process_prints_no_command_but_ours(tmp_path: Path, order: str) -> None:
    """Python's streams, file descriptors 1 and 2 (go-jsonnet's trace, a child process): the
    runner executes only gha's commands, whatever order it reads the two streams in."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=order != "merged",
                          stdout=subprocess.PIPE if order == "merged" else None,
                          stderr=subprocess.STDOUT if order == "merged" else None, text=True,
                          timeout=60, check=True)  # fmt: skip
    streams = {"merged": [proc.stdout], "stderr-first": [proc.stderr, proc.stdout],
               "stdout-first": [proc.stdout, proc.stderr]}[order]  # fmt: skip
    log = RunnerLog()
    for text in streams:
        log.feed(text)
    assert ours_only(log) == []
    assert [(a.level, a.message, a.title) for a in log.annotations] == [
        ("error", "the real failure", "deployment failed")
    ]
    assert log.groups == ["Deploy"] and not log.stopped and not log.errors
    assert not [m for m in log.masks if "pwned" in m]
    shown = "\n".join(log.lines).replace(JOINER, "")
    for text in ("::error::pwned-stderr", "::stop-commands::pwnedtoken", "::add-mask::pwned-trace",
                 "::error::pwned-child-out", "unfinished ::", "error::pwned-after"):  # fmt: skip
        assert text in shown  # printed, readable, not executed
    assert '{"value": "::error::kept verbatim inside our block"}' in log.lines  # no joiner inside
    # an unfinished line is ended before our command, not glued to it nor printed after it
    assert log.lines.index("unfinished ::") < log.lines.index("##[error]the real failure")


def test_guard_restores_the_streams(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from ecspresso import gha
        before = (sys.stdout, sys.stderr)
        with gha.guard_output():
            with gha.guard_output():  # nested: no-op
                print("::error::pwned-inside")
        assert (sys.stdout, sys.stderr) == before
        os.write(1, b"::notice::raw again\\n")
        """
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout  # fmt: skip
    log = RunnerLog().feed(out)
    assert [a.message for a in log.annotations] == ["raw again"]
