"""Fuzzing the loaders: whatever the bytes, one clean error line (or success) in bounded time.

Properties, for any bytes given as a config (``.yml``, ``.json``, ``.jsonnet``), a task definition
(``.json``, ``.jsonnet``, with Go template actions), a service definition or an envfile:

* the loader either succeeds or raises :class:`~ecspresso.errors.EcspressoError`;
* never any other exception (RecursionError, UnicodeDecodeError, ValueError, MemoryError…) and
  never the end of the process (go-jsonnet's aborts happen in its worker process);
* the error's text is one line;
* each input takes at most the hypothesis deadline.

Inputs are random bytes and "token soups": random sequences of fragments of each format (brackets,
keywords, template actions, YAML tags and aliases, huge numbers, invalid UTF-8), which reach far
deeper into the parsers than random bytes do.

In CI the run is short and deterministic (``derandomize``): ``FUZZ_EXAMPLES`` examples per
property, an eighth of that for the Jsonnet-backed ones (a worker process each). For a longer,
random run, set ``ECSPRESSO_FUZZ_EXAMPLES``::

    ECSPRESSO_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py -p no:cacheprovider

The known resource bombs also run end to end as processes (``test_known_bombs_*``): exit 1, one
error line, within seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecspresso.config import load_config, load_envfiles
from ecspresso.definitions import DefinitionLoader
from ecspresso.errors import EcspressoError
from ecspresso.render import limits

_ON_DEMAND = os.environ.get("ECSPRESSO_FUZZ_EXAMPLES")
FUZZ_EXAMPLES = int(_ON_DEMAND or 200)

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=10),
    derandomize=not _ON_DEMAND,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
FUZZ_JSONNET = settings(FUZZ, max_examples=max(FUZZ_EXAMPLES // 8, 10))

# --- strategies -------------------------------------------------------------------------------------

_BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xe2\x80\xa8", b"\r", b"\x85"]


def soup(tokens: list[str], *, max_size: int = 60) -> st.SearchStrategy[bytes]:
    """Random sequences of the format's fragments, now and then with invalid UTF-8 among them."""
    pieces = st.sampled_from([t.encode() for t in tokens] + _BAD_BYTES)
    return st.lists(pieces, max_size=max_size).map(b"".join)


def inputs(tokens: list[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(soup(tokens), st.binary(max_size=200), soup(tokens, max_size=300))


TEMPLATE_TOKENS = [
    "{{", "}}", "{{-", "-}}", " ", "\n", "if", "else", "end", "range", "with", "break", "continue",
    "$x", ":=", "=", "|", "(", ")", ".", "$", "nil", "true", "1", "-1", "1e308", "0x1F", "'a'",
    "1000000000000", "99999999999999999999", '"s"', "`raw`", '"\\xff"', "printf", '"%d"',
    '"%999999999d"', '"%*d"', '"%.*f"', '"%1000000d"', "env", "must_env", "json_escape", "len",
    "index", "slice", "print", "println", "html", "js", "urlquery", "and", "or", "not", "eq", "lt",
    "call", "/*", "*/", ",", "\"family\"", "\"a\"", ":", "{", "}", "[", "]", "define", "template",
]  # fmt: skip
JSON_TOKENS = [
    "{", "}", "[", "]", ":", ",", " ", "\n", '"family"', '"containerDefinitions"', '"name"',
    '"image"', '"memory"', '"desiredCount"', '"tags"', '"x"', "1", "-0", "1e999", "1" * 40,
    "NaN", "Infinity", "true", "false", "null", '"\\u0000"', '"\\ud800"', '"', "\\",
    '{"family": "a", "containerDefinitions": [{"name": "a", "image": "x"}]}',
    "{{ range 1000000000000 }}{{ end }}", '{{ printf "%s" "x" }}', "{{ must_env `NOPE_X` }}", "{{",
]  # fmt: skip
YAML_TOKENS = [
    "region: ", "cluster: ", "service: ", "timeout: ", "plugins:", "required_version: ",
    "appspec: ", "ignore: ", "tags: ", "codedeploy: ", "task_definition: ", "name: ", "config: ",
    "func_prefix: ", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "&a ", "*a", "!!binary ", "!!int ",
    "!!set ", "!!python/object ", "2001-02-30", "1e400", ".inf", ".nan", "'", '"', "\t", "? ", ": ",
    "%YAML 1.1\n---\n", "---\n", "...", "#", "tfstate", "ssm", "10m", "9999999999999h", "~> 2",
    ">= 1.9999999999999999999", "{{ env `X` `d` }}", "{{ range 1000000000000 }}{{ end }}", "x",
]  # fmt: skip
JSONNET_TOKENS = [
    "{", "}", "[", "]", "(", ")", " ", "\n", "local ", "x", "f", "=", ";", ",", ":", "::", "+",
    "function(a) ", "a", "if ", "then ", "else ", "self", "super", "$", "'s'", '"s"', "@'v'",
    "|||\n  t\n|||", "//", "#", "/*", "*/", "1", "1e308", "null", "true", "error 'e\\nf'",
    "std.length", "std.range(1, 1e9)", "std.repeat('x', 1e8)", "importstr '/dev/zero'",
    "import 'nope.libsonnet'", "importbin '/'", "std.native('env')('HOME', 1)",
    "std.native('must_env')('NOPE_X')", "std.extVar('X')", "[x for x in [1]]", "assert false; ",
]  # fmt: skip
ENV_TOKENS = [
    "KEY", "A_B", "=", "export ", "'", '"', "\\", "\\n", "\\u00e9", "\\ud800", "\\uDC00", "\\x",
    "#", " ", "\t", "\n", "\r\n", "value", "é", "\x00", "\x1b", "a.b/c",
]  # fmt: skip

# --- the property -----------------------------------------------------------------------------------


def assert_loads_or_fails_on_one_line(load: Callable[[], Any]) -> None:
    try:
        load()
    except EcspressoError as exc:
        text = str(exc)
        assert text, f"{type(exc).__name__} without a message"
        assert len(text.splitlines()) == 1, f"multi-line error: {text!r}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz")
    old = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(old)


@pytest.fixture(autouse=True)
def _smaller_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same checks with smaller numbers: bombs fail in milliseconds rather than a second, and a
    # slow input fails as an error line before the hypothesis deadline
    monkeypatch.setattr(limits, "JSONNET_TIME_LIMIT", 3.0)
    monkeypatch.setattr(limits, "JSONNET_MEMORY_LIMIT", 256 * 1024 * 1024)
    monkeypatch.setattr(limits, "MAX_TEMPLATE_STEPS", 20_000)
    monkeypatch.delenv("NOPE_X", raising=False)


@contextmanager
def environment_kept() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _write(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


@FUZZ
@given(data=inputs(YAML_TOKENS))
def test_yaml_config(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "ecspresso.yml", data)
    assert_loads_or_fails_on_one_line(lambda: load_config(path))


@FUZZ_JSONNET  # a .json config is evaluated by Jsonnet, as in ecspresso
@given(data=inputs(JSON_TOKENS + YAML_TOKENS[:12]))
def test_json_config(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "ecspresso.json", data)
    assert_loads_or_fails_on_one_line(lambda: load_config(path))


@FUZZ
@given(data=inputs(JSON_TOKENS + TEMPLATE_TOKENS))
def test_json_task_definition_with_templates(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "td.json", data)
    assert_loads_or_fails_on_one_line(lambda: DefinitionLoader().task_definition(path))


@FUZZ
@given(data=inputs(TEMPLATE_TOKENS))
def test_template_actions(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "sv.json", b'{"desiredCount": 1, "x": "' + data + b'"}')
    assert_loads_or_fails_on_one_line(lambda: DefinitionLoader().service_definition(path, service="s"))


@FUZZ
@given(data=inputs(JSON_TOKENS))
def test_json_service_definition(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "sv.json", data)
    assert_loads_or_fails_on_one_line(lambda: DefinitionLoader().service_definition(path, service="s"))


@FUZZ
@given(data=inputs(ENV_TOKENS))
def test_envfile(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "x.env", data)
    with environment_kept():
        assert_loads_or_fails_on_one_line(lambda: load_envfiles([str(path)]))


@FUZZ_JSONNET
@given(data=inputs(JSONNET_TOKENS))
def test_jsonnet_task_definition(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "td.jsonnet", data)
    loader = DefinitionLoader(ext_str={"X": "x"})
    assert_loads_or_fails_on_one_line(lambda: loader.task_definition(path))


@FUZZ_JSONNET
@given(data=inputs(JSONNET_TOKENS + JSON_TOKENS[:20]))
def test_jsonnet_config(workdir: Path, data: bytes) -> None:
    path = _write(workdir, "ecspresso.jsonnet", data)
    assert_loads_or_fails_on_one_line(lambda: load_config(path, ext_str={"X": "x"}))


# --- the known bombs, end to end as processes ---------------------------------------------------------

ERROR_LINE = re.compile(r"^\S+ \[ERROR\] FAILED\. \S.*$")
CONFIG = "region: ap-northeast-1\ncluster: c\nservice: s\ntask_definition: {td}\n"
TD_TEMPLATE = '{{"family": "app", "containerDefinitions": [{{"name": "a", "image": "{image}"}}]}}\n'

BOMBS = {
    "jsonnet-nesting-100000": (
        {"td.jsonnet": "{ family: " + "[" * 100_000 + "]" * 100_000 + " }"},
        "td.jsonnet:1: nesting deeper than 100 levels",
    ),
    "jsonnet-go-stack-overflow-in-import": (
        {
            "td.jsonnet": "{ family: import 'deep.libsonnet' }",
            "deep.libsonnet": "[" * 100_000 + "]" * 100_000,
        },
        "td.jsonnet: Jsonnet evaluation overflowed its stack",
    ),
    "jsonnet-importstr-dev-zero": (
        {"td.jsonnet": "{ family: importstr '/dev/zero' }"},
        "td.jsonnet:1: read /dev/zero: not a regular file (refused)",
    ),
    "jsonnet-memory-bomb": (
        {"td.jsonnet": "{ family: std.range(1, 1e9) }"},
        "td.jsonnet: Jsonnet evaluation needs more than 1024 MiB of memory",
    ),
    "template-printf-width-in-a-loop": (
        {"td.json": TD_TEMPLATE.format(image='{{ range 1000000 }}{{ printf "%999999d" 1 }}{{ end }}')},
        "td.json:1: template output is larger than 10 MiB",
    ),
    "template-range-10-to-the-12": (
        {"td.json": TD_TEMPLATE.format(image="{{ range 1000000000000 }}{{ end }}")},
        "td.json:1: template execution takes more than 1,000,000 steps",
    ),
}


@pytest.mark.parametrize("case", BOMBS, ids=str)
def test_known_bombs_exit_1_with_one_line(case: str, tmp_path: Path) -> None:
    files, expected = BOMBS[case]
    td = next(name for name in files if name.startswith("td."))
    (tmp_path / "ecspresso.yml").write_text(CONFIG.format(td=td))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECSPRESSO_")}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", ECSPRESSO_MAX_ATTEMPTS="1")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ecspresso", "render", "taskdef"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert ERROR_LINE.match(lines[0]) and expected in lines[0], lines[0]
    assert elapsed < 30, f"took {elapsed:.1f}s"
