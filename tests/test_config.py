"""config.py: Go durations, go-version constraints, go-envparse lines, config paths, regions,
unknown keys, ``ignore.tags``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ecspresso import log
from ecspresso.app import App, GlobalOptions
from ecspresso.config import (
    DEFAULT_TIMEOUT,
    check_required_version,
    format_duration,
    load_config,
    load_envfiles,
    parse_duration,
    parse_env_line,
    resolve_config_path,
)
from ecspresso.errors import InputError, UsageError

# --- durations (Go's time.ParseDuration; a bare number is nanoseconds, as in ecspresso v2) --------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("300s", 300.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("10m0s", 600.0),
        ("20m0s", 1200.0),
        ("0", 0.0),
        ("0s", 0.0),
        (".5s", 0.5),
        ("1h0m0.25s", 3600.25),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("2000000ns", 0.002),
        ("1m1m", 120.0),  # Go adds repeated units
        (600, 6e-7),  # nanoseconds
        (600_000_000_000, 600.0),
        (1.5e9, 1.5),
        (0, 0.0),
    ],
)
def test_parse_duration(value: Any, seconds: float) -> None:
    assert parse_duration(value, source="t") == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", ["10", "10 minutes", "", "1h 30m", "m", "1d", "ten", "5mm", "1.2.3s", True, None]
)
def test_parse_duration_rejects(value: Any) -> None:
    with pytest.raises(InputError, match="invalid timeout") as exc:
        parse_duration(value, source="cfg.yml")
    assert exc.value.source == "cfg.yml"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (600.0, "10m0s"),
        (0.0, "0s"),
        (45.0, "45s"),
        (1.5, "1.5s"),
        (60.0, "1m0s"),
        (3600.0, "1h0m0s"),
        (5400.0, "1h30m0s"),
        (90.5, "1m30.5s"),
        (86400.0, "24h0m0s"),
        (1200.0, "20m0s"),
        (0.3, "300ms"),
        (0.0015, "1.5ms"),
        (6e-07, "600ns"),
    ],
)
def test_format_duration_is_go_duration_string(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, source="t") == pytest.approx(seconds)


# --- required_version (hashicorp/go-version) ------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "version"),
    [
        (">= 2.0.0, < 3", "2.8.7"),
        ("~> 2.5", "2.8.7"),
        ("~> 2.8.1", "2.8.7"),
        ("!= 2.8.6", "2.8.7"),
        ("= 2.8.7", "2.8.7"),
        ("2.8.7", "2.8.7"),
        (">= v2", "2.8.7"),
        ("~> 2", "2.8.7"),  # one segment: >= 2 only
        ("<= 2.8.7", "2.8.7"),
        # ecspresso's config_test.go TestRestrictConfigWithRequiredVersion
        (">= v1.0.0", "1.2.1"),
        ("= v1.0.0", "1.0.0"),
        ("~> v1.1.0", "1.1.5"),
        ("~> v1.0", "1.2.1"),
        (">= v1, < v2", "1.2.1"),
    ],
)
def test_required_version_satisfied(constraint: str, version: str) -> None:
    check_required_version(constraint, "ecspresso.yml", version)


@pytest.mark.parametrize(
    ("constraint", "version"),
    [
        ("> 3", "2.8.7"),
        (">= 3.0.0", "2.8.7"),
        ("~> 2.5.1", "2.8.7"),  # >= 2.5.1, < 2.6.0
        ("~> 2.9", "2.8.7"),
        ("!= 2.8.7", "2.8.7"),
        ("= 2.8.6", "2.8.7"),
        ("< 2", "2.8.7"),
        ("= v1.0.0", "1.2.1"),
        ("~> v1.1.0", "1.2.0"),
        (">= v0, <v1", "1.2.1"),
    ],
)
def test_required_version_not_satisfied(constraint: str, version: str) -> None:
    with pytest.raises(InputError, match="is not satisfied") as exc:
        check_required_version(constraint, "ecspresso.yml", version)
    assert str(exc.value).startswith("ecspresso.yml: ")


def test_required_version_defaults_to_the_ecspresso_release_followed() -> None:
    check_required_version(">= 2.0.0, < 3", "x")
    check_required_version("~> 2.5", "x")
    with pytest.raises(InputError):
        check_required_version(">= 3", "x")


@pytest.mark.parametrize("constraint", ["hoge", ">= 2.0.0 < 3", ">= 2,", "=> 2", "~ 2", "2.x"])
def test_required_version_invalid(constraint: str) -> None:
    with pytest.raises(InputError, match="invalid required_version constraint"):
        check_required_version(constraint, "ecspresso.yml")


# --- envfile lines (hashicorp/go-envparse, whose own cases these mostly are) -----------------------


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("FoO=", "FoO", ""),
        ("F_O= ", "F_O", ""),
        ("FOO=bar", "FOO", "bar"),
        ("export FOO=bar", "FOO", "bar"),
        (" FOO = bar baz ", "FOO", "bar baz"),
        ("\tFOO\t= \tbar \t", "FOO", "bar"),
        ("export FOO = bar", "FOO", "bar"),
        ("export=1", "export", "1"),
        ("A1B2C3=a1b2c3", "A1B2C3", "a1b2c3"),
        ("a.b/c=1", "a.b/c", "1"),
        ("FOO=bar # ok", "FOO", "bar"),
        ("FOO=#bar#", "FOO", ""),
        ("FOO= # bar ", "FOO", ""),
        ("FOO=a#b", "FOO", "a"),
        ('FOO="bar#"', "FOO", "bar#"),
        ('FOO="bar\\n"', "FOO", "bar\n"),
        ('FOO="bar\\n" # comment', "FOO", "bar\n"),
        ('FOO = " bar\\t" ', "FOO", " bar\t"),
        ('FOO="a\\"b\\\\c\\/d"', "FOO", 'a"b\\c/d'),
        ('FOO="caf\\u00e9 \\ud83d\\udd25"', "FOO", "caf\u00e9 \U0001f525"),
        ("FOO='bar#'", "FOO", "bar#"),
        ("FOO='\\n' # empty", "FOO", "\\n"),
        ("FOO='' # empty", "FOO", ""),
        ("FOO=normal'single ' ", "FOO", "normalsingle "),
        ('FOO= "double\\\\" normal # "EOL"', "FOO", "double\\ normal"),
        ("U1=\U0001f525", "U1", "\U0001f525"),
        ("U2= ' \U0001f525 ' ", "U2", " \U0001f525 "),
        ('N="caf\u00e9"', "N", "caf\u00e9"),
        ("_=x' ' ", "_", "x "),
        ("", "", ""),
        ("   ", "", ""),
        ("# comment", "", ""),
        ("  # FOO=bar", "", ""),
    ],
)
def test_parse_env_line(line: str, key: str, value: str) -> None:
    assert parse_env_line(line, source="f.env", line=1) == (key, value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("FOO", "missing ="),
        ("=bar", "empty key"),
        ("1FOO=bar", "invalid key"),
        ("FO-O=bar", "invalid key"),
        ("export  FOO=bar", "invalid key"),
        ('FOO="bar', 'unmatched "'),
        ("FOO='bar", "unmatched '"),
        ('FOO="bar\\q"', "invalid escape sequence"),
        ('FOO="\\u12"', "invalid \\u escape"),
        ("FOO=a\x01b", "invalid value character"),
    ],
)
def test_parse_env_line_errors_name_the_file_and_line(line: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_env_line(line, source="f.env", line=7)
    assert str(exc.value).startswith("f.env:7: ") and message in str(exc.value)


def test_load_envfiles_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFG_T1", "")
    monkeypatch.setenv("CFG_T2", "")
    (tmp_path / "a").write_text("CFG_T1=a\nCFG_T2=a\n")
    (tmp_path / "b").write_text("# b\nexport CFG_T2=b\n")
    load_envfiles([str(tmp_path / "a"), str(tmp_path / "b")])
    assert (os.environ["CFG_T1"], os.environ["CFG_T2"]) == ("a", "b")
    with pytest.raises(UsageError, match="--envfile"):
        load_envfiles([str(tmp_path / "missing")])


# --- config file location and paths ---------------------------------------------------------------


def test_resolve_config_path(tmp_path: Path) -> None:
    assert resolve_config_path("ecspresso.yml", tmp_path) == tmp_path / "ecspresso.yml"  # none exists
    (tmp_path / "ecspresso.jsonnet").write_text("{}")
    assert resolve_config_path("ecspresso.yml", tmp_path) == tmp_path / "ecspresso.jsonnet"
    assert resolve_config_path(None, tmp_path) == tmp_path / "ecspresso.jsonnet"
    assert resolve_config_path("", tmp_path) == tmp_path / "ecspresso.jsonnet"
    (tmp_path / "ecspresso.json").write_text("{}")
    assert resolve_config_path("ecspresso.yml", tmp_path) == tmp_path / "ecspresso.json"
    (tmp_path / "ecspresso.yaml").write_text("")
    assert resolve_config_path("ecspresso.yml", tmp_path) == tmp_path / "ecspresso.yaml"
    (tmp_path / "ecspresso.yml").write_text("")
    assert resolve_config_path("ecspresso.yml", tmp_path) == tmp_path / "ecspresso.yml"
    # any other name is taken as given, relative to the working directory
    assert resolve_config_path("ecspresso.yaml", tmp_path) == tmp_path / "ecspresso.yaml"
    assert resolve_config_path("conf/x.yml", tmp_path) == tmp_path / "conf" / "x.yml"
    assert resolve_config_path("/etc/x.yml", tmp_path) == Path("/etc/x.yml")


def test_definition_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "deploy" / "ecspresso.yml"
    conf.parent.mkdir()
    conf.write_text(
        f"service_definition: ../defs/sv.json\ntask_definition: {tmp_path}/abs/td.json\nregion: x\n"
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config(conf)
    assert cfg.service_definition is not None and cfg.task_definition is not None
    assert cfg.service_definition.resolve() == tmp_path / "defs" / "sv.json"
    assert cfg.task_definition == tmp_path / "abs" / "td.json"
    assert cfg.as_dict()["service_definition"] == "deploy/../defs/sv.json"
    assert cfg.dir == conf.parent


def test_defaults_and_render_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    conf = tmp_path / "ecspresso.yml"
    conf.write_text(
        "codedeploy:\n  deployment_group_name: g\n  application_name: a\n"
        "plugins:\n  - config: {path: x.tfstate}\n    func_prefix: p_\n    name: tfstate\n"
        "required_version: '>= 2'\n"
    )
    cfg = load_config(conf)
    assert (cfg.cluster, cfg.service, cfg.timeout) == ("default", "", DEFAULT_TIMEOUT)
    doc = cfg.as_dict()
    # ecspresso's Config struct order, whatever the order in the file
    assert list(doc) == [
        "required_version", "region", "cluster", "service", "service_definition",
        "task_definition", "plugins", "timeout", "codedeploy",
    ]  # fmt: skip
    assert list(doc["plugins"][0]) == ["name", "config", "func_prefix"]
    assert list(doc["codedeploy"]) == ["application_name", "deployment_group_name"]
    assert (doc["timeout"], doc["service"], doc["task_definition"]) == ("10m0s", "", "")


@pytest.mark.parametrize(
    ("timeout", "override", "seconds"),
    [
        ("5m", None, 300.0),
        ("0", None, 0.0),  # 0 disables the time-out
        ("600000000000", None, 600.0),  # a YAML number: nanoseconds
        ("5m", "1h", 3600.0),
        (None, "90s", 90.0),
        (None, None, DEFAULT_TIMEOUT),
    ],
)
def test_timeout_and_its_override(
    tmp_path: Path, timeout: str | None, override: str | None, seconds: float
) -> None:
    conf = tmp_path / "ecspresso.yml"
    conf.write_text("region: x\n" + (f"timeout: {timeout}\n" if timeout is not None else ""))
    assert load_config(conf, timeout_override=override).timeout == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("in_config", "aws_region", "aws_default_region", "expected"),
    [
        ("ap-northeast-1", "eu-west-1", "us-east-2", "ap-northeast-1"),
        (None, "eu-west-1", "us-east-2", "eu-west-1"),
        (None, None, "us-east-2", "us-east-2"),
        ("", "eu-west-1", None, "eu-west-1"),
        (None, None, None, None),
    ],
)
def test_region_fallbacks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_config: str | None,
    aws_region: str | None,
    aws_default_region: str | None,
    expected: str | None,
) -> None:
    for name, value in (("AWS_REGION", aws_region), ("AWS_DEFAULT_REGION", aws_default_region)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    conf = tmp_path / "ecspresso.json"
    conf.write_text(json.dumps({"cluster": "c"} | ({"region": in_config} if in_config is not None else {})))
    assert load_config(conf).region == expected


def test_unknown_keys_warn_and_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log.configure()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ecspresso.yml").write_text("region: x\ncluster: c\nclustr: typo\n")
    cfg = load_config(tmp_path / "ecspresso.yml")
    assert cfg.cluster == "c" and "clustr" not in cfg.as_dict()
    err = capsys.readouterr().err
    assert "[WARNING]" in err and "unknown field 'clustr' in config ecspresso.yml" in err


def test_filter_command_in_config_is_deprecated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log.configure()
    (tmp_path / "ecspresso.yml").write_text("region: x\nfilter_command: peco\n")
    assert load_config(tmp_path / "ecspresso.yml").filter_command == "peco"
    assert "filter_command in the config is deprecated" in capsys.readouterr().err


# --- ignore.tags ----------------------------------------------------------------------------------

TAGGED_TD = {
    "family": "app",
    "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}],
    "tags": [
        {"key": "keep", "value": "1"},
        {"key": "ecspresso:ignore", "value": "x"},
        {"key": "cost-category", "value": "y"},
    ],
}


def test_ignore_tags_are_stripped_from_definitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "td.json").write_text(json.dumps(TAGGED_TD, indent=2))
    sv = {"desiredCount": 1, "tags": TAGGED_TD["tags"]}
    (tmp_path / "sv.json").write_text(json.dumps(sv, indent=2))
    (tmp_path / "ecspresso.yml").write_text(
        "region: ap-northeast-1\nservice: s\ntask_definition: td.json\nservice_definition: sv.json\n"
        "ignore:\n  tags:\n    - ecspresso:ignore\n    - cost-category\n"
    )
    app = App(GlobalOptions())
    assert app.config.ignore_tags == ["ecspresso:ignore", "cost-category"]
    assert app.load_task_definition()["tags"] == [{"key": "keep", "value": "1"}]
    loaded_sv = app.load_service_definition()
    assert loaded_sv is not None and loaded_sv["tags"] == [{"key": "keep", "value": "1"}]

    (tmp_path / "ecspresso.yml").write_text("region: ap-northeast-1\ntask_definition: td.json\n")
    assert App(GlobalOptions()).load_task_definition()["tags"] == TAGGED_TD["tags"]


def test_config_must_be_a_mapping_and_types_are_checked(tmp_path: Path) -> None:
    conf = tmp_path / "ecspresso.yml"
    for text, message in [
        ("- a\n", "config must be a mapping"),
        ("cluster: [a]\n", "cluster must be a string"),
        ("ignore:\n  tags: x\n", "ignore.tags must be a list"),
        ("codedeploy: x\n", "codedeploy must be a mapping"),
        ("plugins:\n  - config: {}\n", r"plugins\[0\]\.name must be a non-empty string"),
    ]:
        conf.write_text(text)
        with pytest.raises(InputError, match=message):
            load_config(conf)


def test_yaml_values_are_json_values(tmp_path: Path) -> None:
    # a date-like scalar stays the string it is in JSON (and in ecspresso's Go structs)
    conf = tmp_path / "ecspresso.yml"
    conf.write_text("region: ap-northeast-1\ncluster: 2024-01-02\nappspec: {version: 2001-02-30}\n")
    cfg = load_config(conf)
    assert cfg.cluster == "2024-01-02"
    assert cfg.appspec == {"version": "2001-02-30"}
    json.dumps(cfg.as_dict())


def test_envfile_lines_end_at_newlines_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # go-envparse splits on \n: a value may hold U+2028 or U+0085, which str.splitlines breaks at
    env = tmp_path / "x.env"
    env.write_text("SEP_X=a\u2028b\nSEP_Y=c\x85d\r\n")
    monkeypatch.delenv("SEP_X", raising=False)
    monkeypatch.delenv("SEP_Y", raising=False)
    load_envfiles([str(env)])
    assert (os.environ["SEP_X"], os.environ["SEP_Y"]) == ("a\u2028b", "c\x85d")
