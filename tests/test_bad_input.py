"""Bad input through the real CLI: one ``[ERROR] FAILED. …`` line naming the file and line, nothing
on stdout, exit code 1 (2 for usage errors), no traceback (unless ``--debug``), and no AWS call.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ecspresso.cli import run
from ecspresso.errors import InputError

UNROUTABLE = "http://127.0.0.1:9"  # any AWS call would fail loudly (and is also trapped in-process)
ERROR_LINE = re.compile(r"^\S+ \[ERROR\] FAILED\. \S.*$")
SERVICE_CONFIG = (
    "region: ap-northeast-1\ncluster: c\nservice: s\nservice_definition: sv.json\ntask_definition: td.json\n"
)
TD = """{
  "family": "app",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "nginx:latest",
      "memory": 128
    }
  ]
}
"""
SV = """{
  "desiredCount": 1,
  "launchType": "FARGATE"
}
"""


@dataclass
class Case:
    id: str
    argv: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    expect: tuple[str, ...] = ()  # substrings of the error line (file:LINE: where known)
    code: int = 1
    env: dict[str, str] = field(default_factory=dict)


def project(**files: str) -> dict[str, str]:
    """The files of a small valid project, some of them replaced."""
    return {"ecspresso.yml": SERVICE_CONFIG, "td.json": TD, "sv.json": SV, **files}


CASES = [
    # --- config files -----------------------------------------------------------------------------
    Case(
        "yaml-syntax-error",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\ncluster: c\n  service: s\n"},
        ("ecspresso.yml:3: ", "YAML syntax error", "mapping values are not allowed"),
    ),
    Case(
        "yaml-tab-indent",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n\tcluster: c\n"},
        ("ecspresso.yml:2: ", "YAML syntax error"),
    ),
    Case(
        "yaml-not-a-mapping",
        ["render", "config"],
        {"ecspresso.yml": "- region: ap-northeast-1\n"},
        ("ecspresso.yml: config must be a mapping",),
    ),
    Case(
        "jsonnet-config-syntax-error",
        ["--config", "ecspresso.jsonnet", "render", "config"],
        {"ecspresso.jsonnet": "{\n  region: 'ap-northeast-1',\n  cluster: ,\n}\n"},
        ("ecspresso.jsonnet:3: ", "Unexpected"),
    ),
    Case(
        "json-config-syntax-error",
        ["--config", "ecspresso.json", "render", "config"],
        {"ecspresso.json": '{\n  "region": "ap-northeast-1"\n  "cluster": "c"\n}\n'},
        ("ecspresso.json:3: ",),
    ),
    Case(
        "must-env-missing-in-config",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n\ncluster: '{{ must_env `NO_SUCH_VAR_X` }}'\n"},
        ("ecspresso.yml:3: ", "environment variable NO_SUCH_VAR_X is not defined"),
    ),
    Case(
        "must-env-missing-in-jsonnet-config",
        ["--config", "ecspresso.jsonnet", "render", "config"],
        {
            "ecspresso.jsonnet": "local must_env = std.native('must_env');\n{\n  cluster: must_env('NO_SUCH_VAR_X'),\n}\n"
        },
        ("ecspresso.jsonnet:3: ", "environment variable NO_SUCH_VAR_X is not defined"),
    ),
    Case(
        "unknown-template-function",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\ncluster: c\nservice: '{{ no_such_func `x` }}'\n"},
        ("ecspresso.yml:3: ", 'function "no_such_func" not defined'),
    ),
    Case(
        "unclosed-template-action",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\ncluster: c\nservice: {{ env `S` \n"},
        ("ecspresso.yml:3: ", "unclosed action"),
    ),
    Case(
        "unterminated-if",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n{{ if env `S` }}\ncluster: c\n"},
        ("ecspresso.yml:2: ", "{{end}}"),
    ),
    Case(
        "missing-config-file",
        ["--config", "nope.yml", "render", "config"],
        {},
        ("nope.yml: config file not found",),
    ),
    Case(
        "unsupported-config-extension",
        ["--config", "ecspresso.toml", "render", "config"],
        {"ecspresso.toml": 'region = "ap-northeast-1"\n'},
        ("ecspresso.toml: unsupported config file extension '.toml'",),
    ),
    Case(
        "required-version-not-met",
        ["render", "config"],
        {"ecspresso.yml": 'required_version: ">= 3.0.0"\nregion: ap-northeast-1\n'},
        ("ecspresso.yml: required_version '>= 3.0.0' is not satisfied",),
    ),
    Case(
        "required-version-invalid",
        ["render", "config"],
        {"ecspresso.yml": "required_version: hoge\nregion: ap-northeast-1\n"},
        ("ecspresso.yml: invalid required_version constraint 'hoge'",),
    ),
    Case(
        "timeout-invalid-in-config",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\ntimeout: 10 minutes\n"},
        ("ecspresso.yml: invalid timeout '10 minutes'",),
    ),
    Case(
        "timeout-empty-in-config",
        ["render", "config"],
        {"ecspresso.yml": 'region: ap-northeast-1\ntimeout: "{{ env `NO_SUCH_VAR_X` `` }}"\n'},
        ("ecspresso.yml: invalid timeout ''",),
    ),
    Case(
        "plugins-not-a-list",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nplugins: tfstate\n"},
        ("ecspresso.yml: plugins must be a list",),
    ),
    Case(
        "unknown-plugin",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nplugins:\n  - name: vault\n"},
        ("ecspresso.yml: plugin vault is not available",),
    ),
    Case(
        "duplicate-plugin-functions",
        ["render", "config"],
        {
            "ecspresso.yml": "region: ap-northeast-1\nplugins:\n"
            "  - name: tfstate\n    config: {path: a.tfstate}\n"
            "  - name: tfstate\n    config: {path: b.tfstate}\n",
            "a.tfstate": '{"version": 4, "resources": []}',
            "b.tfstate": '{"version": 4, "resources": []}',
        },
        ("ecspresso.yml: ", "tfstate is defined by more than one plugin; set func_prefix"),
    ),
    Case(
        "tfstate-plugin-file-missing",
        ["render", "config"],
        {
            "ecspresso.yml": "region: ap-northeast-1\nplugins:\n  - name: tfstate\n    config: {path: none.tfstate}\n"
        },
        ("failed to read tfstate from ", "none.tfstate"),
    ),
    Case(
        "express-definition",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nexpress_definition: x.json\n"},
        ("ecspresso.yml: express_definition",),
    ),
    # --- definition files -------------------------------------------------------------------------
    Case(
        "json-syntax-error-in-task-definition",
        ["render", "taskdef"],
        project(
            **{
                "td.json": '{\n  "family": "app",\n  "containerDefinitions": [\n    {"name": "a" "image": "x"}\n  ]\n}\n'
            }
        ),
        ("td.json:4: ", "invalid JSON"),
    ),
    Case(
        "json-invalid-after-template",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"nginx:latest"', '"{{ must_env `QUOTE_X` }}"')}),
        ("td.json:6: ", "invalid JSON"),
        env={"QUOTE_X": 'a"b'},
    ),
    Case(
        "must-env-missing-in-definition",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"nginx:latest"', '"nginx:{{ must_env `NO_SUCH_VAR_X` }}"')}),
        ("td.json:6: ", "environment variable NO_SUCH_VAR_X is not defined"),
    ),
    Case(
        "missing-task-definition-file",
        ["render", "taskdef"],
        project(**{"ecspresso.yml": SERVICE_CONFIG.replace("td.json", "none.json")}),
        ("none.json: definition file not found",),
    ),
    Case(
        "missing-service-definition-file",
        ["render", "servicedef"],
        project(**{"ecspresso.yml": SERVICE_CONFIG.replace("sv.json", "none.json")}),
        ("none.json: definition file not found",),
    ),
    Case(
        "task-definition-not-set",
        ["render", "taskdef"],
        {"ecspresso.yml": "region: ap-northeast-1\n"},
        ("ecspresso.yml: task_definition is not set",),
    ),
    Case(
        "service-definition-not-set",
        ["render", "servicedef"],
        {"ecspresso.yml": "region: ap-northeast-1\ntask_definition: td.json\n", "td.json": TD},
        ("ecspresso.yml: service_definition is not set",),
    ),
    Case(
        "desired-count-wrong-type",
        ["render", "servicedef"],
        project(**{"sv.json": '{\n  "launchType": "FARGATE",\n  "desiredCount": "two"\n}\n'}),
        ("sv.json:3: ", "desiredCount", "expected a number", "'two'"),
    ),
    Case(
        "container-memory-wrong-type",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"memory": 128', '"memory": "lots"')}),
        ("td.json:7: ", "containerDefinitions[0].memory", "expected a number", "'lots'"),
    ),
    Case(
        "port-mapping-wrong-type",
        ["render", "taskdef"],
        project(
            **{
                "td.json": TD.replace(
                    '"memory": 128', '"memory": 128,\n      "portMappings": [{"containerPort": "80"}]'
                )
            }
        ),
        ("td.json:8: ", "portMappings[0].containerPort"),
    ),
    Case(
        "task-definition-without-family",
        ["render", "taskdef"],
        project(**{"td.json": '{\n  "containerDefinitions": [{"name": "a", "image": "x"}]\n}\n'}),
        ("td.json: ", '"family"'),
    ),
    Case(
        "task-definition-without-containers",
        ["render", "taskdef"],
        project(**{"td.json": '{\n  "family": "app"\n}\n'}),
        ("td.json: ", '"containerDefinitions"'),
    ),
    Case(
        "task-definition-is-an-array",
        ["render", "taskdef"],
        project(**{"td.json": '[\n  {"family": "app"}\n]\n'}),
        ("td.json: a task definition must be a JSON object",),
    ),
    Case(
        "service-definition-is-an-array",
        ["render", "servicedef"],
        project(**{"sv.json": "[]\n"}),
        ("sv.json: a service definition must be a JSON object",),
    ),
    Case(
        "jsonnet-syntax-error-in-definition",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: 'app'\n  containerDefinitions: [],\n}\n",
            }
        ),
        ("td.jsonnet:3: ",),
    ),
    Case(
        "jsonnet-runtime-error",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: 'app',\n  containerDefinitions: error 'boom',\n}\n",
            }
        ),
        ("td.jsonnet:3: boom",),
    ),
    Case(
        "jsonnet-undefined-ext-var",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: std.extVar('Nope'),\n}\n",
            }
        ),
        ("td.jsonnet:2: ", "Undefined external variable: Nope"),
    ),
    Case(
        "jsonnet-must-env-missing-in-definition",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "local must_env = std.native('must_env');\n{\n  family: must_env('NO_SUCH_VAR_X'),\n}\n",
            }
        ),
        ("td.jsonnet:3: ", "environment variable NO_SUCH_VAR_X is not defined"),
    ),
    Case(
        "jsonnet-bad-ext-code",
        ["--ext-code", "X=1 +", "render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: std.extVar('X'),\n}\n",
            }
        ),
        ("<extvar:X>:1: ", "Unexpected end of file"),  # go-jsonnet names an ext var that way
    ),
    # --- envfiles ---------------------------------------------------------------------------------
    Case(
        "malformed-envfile-line",
        ["--envfile", "bad.env", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n", "bad.env": "GOOD_X=1\n\nthis line is bad\n"},
        ("bad.env:3: missing =",),
    ),
    Case(
        "envfile-unmatched-quote",
        ["--envfile", "bad.env", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n", "bad.env": 'export GOOD_X="1\n'},
        ('bad.env:1: unmatched "',),
    ),
    Case(
        "missing-envfile",
        ["--envfile", "none.env", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n"},
        ("--envfile none.env",),
        code=2,
    ),
    # --- command line -----------------------------------------------------------------------------
    Case(
        "malformed-ext-str",
        ["--ext-str", "novalue", "render", "taskdef"],
        project(),
        ('--ext-str: expected "<key>=<value>" but got "novalue"',),
        code=2,
    ),
    Case(
        "timeout-flag-invalid",
        ["--timeout", "bogus", "render", "config"],
        project(),
        ("--timeout", "bogus"),
        code=2,
    ),
    Case(
        "unknown-command",
        ["deploi"],
        project(),
        ("unknown command 'deploi'; did you mean 'deploy'?",),
        code=2,
    ),
    Case(
        "unknown-flag",
        ["render", "config", "--no-such-flag"],
        project(),
        ("unrecognized arguments: --no-such-flag",),
        code=2,
    ),
    Case("tasks-not-a-number", ["scale", "--tasks", "two"], project(), ("--tasks", "'two'"), code=2),
    Case(
        "log-format-xml",
        ["--log-format", "xml", "render", "config"],
        project(),
        ("--log-format", "'xml'"),
        code=2,
    ),
    Case(
        "render-unknown-target",
        ["render", "everything"],
        project(),
        ("invalid choice: 'everything'",),
        code=2,
    ),
    Case("render-without-target", ["render"], project(), ("TARGET",), code=2),
    # --- robustness: bytes, nesting, shapes and sizes that once escaped as tracebacks ---------------
    Case(
        "config-not-utf8",
        ["render", "config"],
        {"ecspresso.yml": b"region: ap-northeast-1\ncluster: caf\xe9\n"},
        ("ecspresso.yml:2: not valid UTF-8: byte 0xe9 at offset 35",),
    ),
    Case(
        "task-definition-not-utf8",
        ["render", "taskdef"],
        project(**{"td.json": TD.encode().replace(b"nginx", b"ngin\xff")}),
        ("td.json:6: not valid UTF-8: byte 0xff",),
    ),
    Case(
        "jsonnet-definition-not-utf8",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": b"{\n  family: 'caf\xc3',\n}\n",
            }
        ),
        ("td.jsonnet:2: not valid UTF-8: byte 0xc3",),
    ),
    Case(
        "envfile-not-utf8",
        ["--envfile", "bad.env", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n", "bad.env": b"GOOD_X=1\nNAME=\xfe\n"},
        ("bad.env:2: not valid UTF-8: byte 0xfe at offset 14",),
    ),
    Case(
        "envfile-is-a-directory",
        ["--envfile", ".", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n"},
        (".: is a directory",),
    ),
    Case(
        "envfile-dev-zero",  # read until memory ran out
        ["--envfile", "/dev/zero", "render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\n"},
        ("/dev/zero: is not a regular file",),
    ),
    Case(
        "task-definition-larger-than-10-mib",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"app"', '"' + "a" * (10 * 1024 * 1024) + '"')}),
        ("td.json: file is larger than 10 MiB",),
    ),
    Case(
        "yaml-config-nested-too-deeply",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: " + "[" * 5000 + "]" * 5000 + "\n"},
        ("ecspresso.yml: nesting deeper than 100 levels",),
    ),
    Case(
        "yaml-config-nested-past-the-limit",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: {a: " + "[" * 150 + "]" * 150 + "}\n"},
        ("ecspresso.yml: document nests deeper than 100 levels",),
    ),
    Case(
        "yaml-alias-bomb",
        ["render", "config"],
        {
            "ecspresso.yml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcde", "bcdef", strict=True)
            )
        },
        ("ecspresso.yml: document has more than 1,000,000 values",),
    ),
    Case(
        "yaml-value-python-cannot-build",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: {a: !!int x}\n"},
        ("ecspresso.yml: invalid YAML value",),
    ),
    Case(
        "yaml-empty-int",  # PyYAML raises IndexError for this one
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: {a: !!int ''}\n"},
        ("ecspresso.yml: invalid YAML value: string index out of range",),
    ),
    Case(
        "yaml-binary-value",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: {a: !!binary aGk=}\n"},
        ("ecspresso.yml: unsupported value bytes",),
    ),
    Case(
        "json-definition-nested-too-deeply",
        ["render", "taskdef"],
        project(
            **{"td.json": TD.replace('"memory": 128', '"memory": 128,\n"x": ' + "[" * 100000 + "]" * 100000)}
        ),
        ("td.json:8: nesting deeper than 100 levels",),
    ),
    Case(
        "json-number-too-long",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace("128", "1" * 5000)}),
        ("td.json: invalid JSON: Exceeds the limit",),
    ),
    Case(
        "json-nan",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace("128", "NaN")}),
        ("td.json: invalid JSON: NaN is not valid JSON",),
    ),
    Case(
        "jsonnet-nested-too-deeply",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: 'app',\n  x: " + "[" * 100000 + "]" * 100000 + ",\n}\n",
            }
        ),
        ("td.jsonnet:3: nesting deeper than 100 levels",),
    ),
    Case(
        "jsonnet-importstr-dev-zero",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG.replace("td.json", "td.jsonnet"),
                "td.jsonnet": "{\n  family: 'app',\n  x: importstr '/dev/zero',\n}\n",
            }
        ),
        ("td.jsonnet:3: read /dev/zero: not a regular file (refused)",),
    ),
    Case(
        "tfstate-plugin-path-is-a-device",
        ["render", "taskdef"],
        project(
            **{
                "ecspresso.yml": SERVICE_CONFIG
                + "plugins:\n  - name: tfstate\n    config: {path: /dev/zero}\n"
            }
        ),
        ("failed to read tfstate from /dev/zero: is not a regular file",),
    ),
    Case(
        "plugin-config-not-a-mapping",
        ["render", "taskdef"],
        project(
            **{"ecspresso.yml": SERVICE_CONFIG + "plugins:\n  - name: tfstate\n    config: [a.tfstate]\n"}
        ),
        ("ecspresso.yml: plugins[0].config (tfstate) must be a mapping, got a list",),
    ),
    Case(
        "plugin-name-not-a-string",
        ["render", "taskdef"],
        project(**{"ecspresso.yml": SERVICE_CONFIG + "plugins:\n  - name: [tfstate]\n"}),
        ("ecspresso.yml: plugins[0].name must be a non-empty string",),
    ),
    Case(
        "plugin-func-prefix-not-a-string",
        ["render", "taskdef"],
        project(**{"ecspresso.yml": SERVICE_CONFIG + "plugins:\n  - name: ssm\n    func_prefix: {a: 1}\n"}),
        ("ecspresso.yml: plugins[0].func_prefix (ssm) must be a string, got a mapping",),
    ),
    Case(
        "appspec-not-a-mapping",
        ["render", "config"],
        {"ecspresso.yml": "region: ap-northeast-1\nappspec: 3\n"},
        ("ecspresso.yml: appspec must be a mapping, got a number",),
    ),
    Case(
        "required-version-huge-number",
        ["render", "config"],
        {"ecspresso.yml": "required_version: '>= 1." + "9" * 5000 + "'\n"},
        ("ecspresso.yml: invalid required_version constraint",),
    ),
    Case(
        "timeout-out-of-range",
        ["render", "config"],
        {"ecspresso.yml": "timeout: 9999999999999h\n"},
        ("ecspresso.yml: invalid timeout '9999999999999h': out of range",),
    ),
    Case(
        "template-range-over-huge-integer",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"nginx:latest"', '"{{ range 1000000000000 }}{{ end }}"')}),
        ("td.json:6: template execution takes more than 1,000,000 steps",),
    ),
    Case(
        "multi-line-message-from-input",
        ["render", "taskdef"],
        project(**{"td.json": TD.replace('"nginx:latest"', '"{{ must_env `A\nB` }}"')}),
        ("td.json:6: environment variable A B is not defined",),
    ),
]

# run as real processes: exit codes and stderr end to end (the rest run in-process, faster)
SUBPROCESS = {
    "yaml-syntax-error",
    "desired-count-wrong-type",
    "missing-config-file",
    "unknown-command",
    "timeout-flag-invalid",
    "jsonnet-importstr-dev-zero",
    "template-range-over-huge-integer",
}


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.id for c in CASES} >= SUBPROCESS


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail (and record) any AWS client creation in this process."""
    from ecspresso.aws import AwsContext

    calls: list[str] = []

    def client(self: Any, service: str) -> Any:
        calls.append(service)
        raise AssertionError(f"unexpected AWS client {service}")

    monkeypatch.setattr(AwsContext, "client", client)
    return calls


def _prepare(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in case.files.items():
        if isinstance(text, bytes):
            (tmp_path / name).write_bytes(text)
        else:
            (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNROUTABLE)
    monkeypatch.setenv("ECSPRESSO_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("GOOD_X", "before")  # set by the envfile cases; restored afterwards
    for name in ("ECSPRESSO_CONFIG", "ECSPRESSO_EXT_STR", "ECSPRESSO_EXT_CODE", "ECSPRESSO_LOG_FORMAT",
                 "ECSPRESSO_DEBUG", "ECSPRESSO_ENVFILE", "ECSPRESSO_TIMEOUT", "NO_SUCH_VAR_X"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)


def _check(case: Case, code: int, out: str, err: str) -> None:
    assert code == case.code, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), err
    assert "Traceback" not in err
    for fragment in case.expect:
        assert fragment in lines[0]
    # it failed on the input, not by trying to reach AWS
    assert "127.0.0.1:9" not in err and "Could not connect" not in err


@pytest.mark.parametrize("case", [c for c in CASES if c.id not in SUBPROCESS], ids=lambda c: c.id)
def test_bad_input_in_process(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_aws: list[str],
) -> None:
    _prepare(case, tmp_path, monkeypatch)
    code, result = run(case.argv)
    out, err = capsys.readouterr()
    _check(case, code, out, err)
    assert result is None
    assert no_aws == []


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS], ids=lambda c: c.id)
def test_bad_input_as_a_process(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prepare(case, tmp_path, monkeypatch)
    proc = subprocess.run(
        [sys.executable, "-m", "ecspresso", *case.argv],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=60,
    )
    _check(case, proc.returncode, proc.stdout, proc.stderr)


def test_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_aws: list[str]
) -> None:
    case = next(c for c in CASES if c.id == "task-definition-is-an-array")
    _prepare(case, tmp_path, monkeypatch)
    code, _ = run(["--debug", *case.argv])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "[ERROR] FAILED. td.json: a task definition must be a JSON object" in err
    assert "Traceback (most recent call last)" in err
    assert "ecspresso.errors.InputError" in err


def test_json_log_format_error_is_one_json_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_aws: list[str]
) -> None:
    case = next(c for c in CASES if c.id == "desired-count-wrong-type")
    _prepare(case, tmp_path, monkeypatch)
    code, _ = run(["--log-format", "json", *case.argv])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert record["msg"].startswith("FAILED. sv.json:3: desiredCount")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            InputError("first\nsecond\r\n\tthird", source="x.json", line=3),
            "FAILED. x.json:3: first second third",
        ),
        (ValueError("bug\nin two lines"), "FAILED. internal error: ValueError: bug in two lines (run with"),
    ],
)
def test_the_failed_line_is_one_line_whatever_the_error_says(
    error: Exception, expected: str, capsys: pytest.CaptureFixture[str], no_aws: list[str]
) -> None:
    # the last safety net: a message built elsewhere with a line break still prints as one line
    def app_factory(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    code, _ = run(["render", "config"], app_factory=app_factory)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert ERROR_LINE.match(line) and expected in line
