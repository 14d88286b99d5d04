"""ecspresso.yml / .json / .jsonnet -> :class:`Config`.

Follows ecspresso v2: YAML is rendered as a Go template first, JSON and Jsonnet are evaluated by
Jsonnet and then rendered as a template; paths are relative to the config file; ``timeout`` is a Go
duration (a bare number is nanoseconds, as in v2); unknown keys warn; plugin functions are for
definition files only (they are not available inside the config itself, as in ecspresso v2).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecspresso import ECSPRESSO_COMPAT_VERSION
from ecspresso.errors import InputError, UsageError
from ecspresso.log import get_logger
from ecspresso.render import limits

DEFAULT_CONFIG = "ecspresso.yml"
AUTO_DETECT = ("ecspresso.yml", "ecspresso.yaml", "ecspresso.json", "ecspresso.jsonnet")
DEFAULT_TIMEOUT = 600.0
# ``required_version`` constraints are checked against ECSPRESSO_COMPAT_VERSION, the ecspresso
# release whose behaviour this port follows, so existing configs (``">= 2.0.0"``) keep working.

KNOWN_KEYS = frozenset(
    {
        "required_version", "region", "cluster", "service", "service_definition",
        "task_definition", "timeout", "plugins", "appspec", "codedeploy", "ignore",
        "filter_command", "express_definition",
    }
)  # fmt: skip


@dataclass
class Config:
    """A loaded, validated ecspresso configuration."""

    path: Path
    cluster: str = "default"
    service: str = ""
    region: str | None = None
    service_definition: Path | None = None
    task_definition: Path | None = None
    timeout: float = DEFAULT_TIMEOUT  # seconds; 0 = no time-out
    plugins: list[dict[str, Any]] = field(default_factory=list)
    appspec: dict[str, Any] | None = None
    codedeploy: dict[str, str] = field(default_factory=dict)
    ignore_tags: list[str] = field(default_factory=list)
    required_version: str | None = None
    filter_command: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.path.parent

    def as_dict(self) -> dict[str, Any]:
        """The config as ``render config`` prints it: ecspresso's field names, in its struct's order
        (the same whatever the file's format), paths as resolved against the config's directory."""
        out: dict[str, Any] = {
            "required_version": self.required_version,
            "region": self.region or "",
            "cluster": self.cluster,
            "service": self.service,
            "service_definition": _display(self.service_definition) if self.service_definition else "",
            "task_definition": _display(self.task_definition) if self.task_definition else "",
            "plugins": [_plugin_dict(p) for p in self.plugins] or None,
            "appspec": self.appspec,
            "filter_command": self.filter_command,
            "timeout": format_duration(self.timeout),
            "codedeploy": {k: self.codedeploy[k] for k in sorted(self.codedeploy, key=_codedeploy_key)}
            or None,
            "ignore": {"tags": self.ignore_tags} if self.ignore_tags else None,
        }
        return {k: v for k, v in out.items() if v is not None}


def _codedeploy_key(key: str) -> tuple[int, str]:
    order = ("application_name", "deployment_group_name", "deployment_config_name")
    return (order.index(key) if key in order else len(order), key)


def _plugin_dict(plugin: Mapping[str, Any]) -> dict[str, Any]:
    """A ``plugins`` entry as ecspresso's ConfigPlugin struct prints: name, config, func_prefix."""
    out: dict[str, Any] = {"name": plugin.get("name"), "config": _sorted(plugin.get("config"))}
    if plugin.get("func_prefix"):
        out["func_prefix"] = plugin["func_prefix"]
    return out


def _sorted(value: Any) -> Any:
    """Maps with sorted keys, recursively (Go's encoders print maps that way)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def resolve_config_path(value: str | None, cwd: Path | None = None) -> Path:
    """ecspresso's ``resolveConfigFilePath``: the default name auto-detects .yml/.yaml/.json/.jsonnet."""
    cwd = cwd or Path.cwd()
    if not value or value == DEFAULT_CONFIG:
        for name in AUTO_DETECT:
            if (cwd / name).is_file():
                return cwd / name
        return cwd / DEFAULT_CONFIG
    path = Path(value)
    return path if path.is_absolute() else cwd / path


def load_config(
    path: Path | str,
    *,
    ext_str: Mapping[str, str] | None = None,
    ext_code: Mapping[str, str] | None = None,
    timeout_override: str | None = None,
) -> Config:
    """Read, render and validate a config file. Raises :class:`InputError` naming the file and line."""
    path = Path(path)
    shown = _display(path)
    if not path.is_file():
        raise InputError("config file not found", source=shown, title="config not found")
    doc = _read_document(path, shown, ext_str or {}, ext_code or {})
    if not isinstance(doc, dict):
        raise InputError("config must be a mapping of keys to values", source=shown)
    log = get_logger()
    for key in doc:
        if key not in KNOWN_KEYS:
            log.warning(f"unknown field {key!r} in config {shown}; ignored")
    return _build_config(path, shown, doc, timeout_override)


def _read_document(path: Path, shown: str, ext_str: Mapping[str, str], ext_code: Mapping[str, str]) -> Any:
    from ecspresso.render import template

    suffix = path.suffix.lower()
    if suffix in (".yml", ".yaml"):
        text = limits.read_text(path, shown)
        if template.has_actions(text):
            text = template.render(text, template.default_funcs(), source=shown)
        return parse_yaml(text, shown)
    if suffix in (".json", ".jsonnet"):
        from ecspresso.render import jsonnet

        # the name as shown, so go-jsonnet's errors name the file as the user wrote it
        text = jsonnet.evaluate_file(
            shown, ext_str=ext_str, ext_code=ext_code, natives=jsonnet.default_natives()
        )
        if template.has_actions(text):
            text = template.render(text, template.default_funcs(), source=shown)
        return parse_json(text, shown)
    raise InputError(
        f"unsupported config file extension {path.suffix or '(none)'!r}: use .yml, .yaml, .json or .jsonnet",
        source=shown,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, source: str) -> Any:
    """JSON text -> value, as Go's encoding/json reads it (no NaN/Infinity), nesting bounded."""
    limits.check_text_nesting(text, source)
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON: {exc.msg} (column {exc.colno})"
        raise InputError(msg, source=source, line=exc.lineno) from exc
    except RecursionError as exc:
        raise InputError(f"nesting deeper than {limits.MAX_NESTING} levels", source=source) from exc
    except ValueError as exc:  # a number of more than 4300 digits, NaN
        raise InputError(f"invalid JSON: {limits.one_line(str(exc))}", source=source) from exc
    limits.check_document(doc, source)
    return doc


@functools.cache
def _yaml_loader() -> Any:
    """SafeLoader without timestamps: ``2024-01-02`` stays a string, as the JSON it stands for."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def parse_yaml(text: str, source: str) -> Any:
    """YAML text -> JSON-like value (mappings, lists, strings, numbers, booleans, null)."""
    import yaml

    try:
        doc = yaml.load(text, Loader=_yaml_loader()) or {}  # a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = limits.one_line(exc.problem or exc.context or "invalid YAML")
        raise InputError(f"YAML syntax error: {problem}", source=source,
                         line=mark.line + 1 if mark else None) from exc  # fmt: skip
    except yaml.YAMLError as exc:
        raise InputError(f"YAML syntax error: {limits.one_line(str(exc))}", source=source) from exc
    except RecursionError as exc:
        raise InputError(f"nesting deeper than {limits.MAX_NESTING} levels", source=source) from exc
    except Exception as exc:  # PyYAML's constructors: ValueError, AttributeError, IndexError…
        detail = limits.one_line(str(exc)) or type(exc).__name__
        raise InputError(f"invalid YAML value: {detail}", source=source) from exc
    limits.check_document(doc, source, json_types=True)
    return doc


def _build_config(path: Path, shown: str, doc: dict[str, Any], timeout_override: str | None) -> Config:
    def text(key: str, default: str = "") -> str:
        value = doc.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InputError(f"{key} must be a string, got {type(value).__name__}", source=shown)
        return value

    def rel(key: str) -> Path | None:
        value = text(key)
        if not value:
            return None
        p = Path(value)
        return p if p.is_absolute() else path.parent / p

    if "express_definition" in doc:
        raise InputError("express_definition (ECS Express Gateway services) is not supported", source=shown)
    required = doc.get("required_version")
    if required:
        check_required_version(str(required), shown)
    if timeout_override:
        timeout = parse_duration(timeout_override, source="--timeout")
    elif doc.get("timeout") is not None:
        timeout = parse_duration(doc["timeout"], source=shown)
    else:
        timeout = DEFAULT_TIMEOUT
    plugins = _plugins(doc.get("plugins"), shown)
    ignore = doc.get("ignore") or {}
    ignore_tags = ignore.get("tags") or [] if isinstance(ignore, dict) else None
    if not isinstance(ignore_tags, list) or not all(isinstance(t, str | int | float) for t in ignore_tags):
        raise InputError("ignore.tags must be a list of tag keys", source=shown)
    codedeploy = doc.get("codedeploy") or {}
    if not isinstance(codedeploy, dict) or not all(isinstance(v, str) for v in codedeploy.values()):
        raise InputError("codedeploy must be a mapping of names to strings", source=shown)
    appspec = doc.get("appspec")
    if appspec is not None and not isinstance(appspec, dict):
        raise InputError(f"appspec must be a mapping, got {_kind(appspec)}", source=shown)
    if doc.get("filter_command"):
        get_logger().warning("filter_command in the config is deprecated; use --filter-command")
    return Config(
        path=path,
        cluster=text("cluster", "default") or "default",
        service=text("service"),
        region=text("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
        service_definition=rel("service_definition"),
        task_definition=rel("task_definition"),
        timeout=timeout,
        plugins=plugins,
        appspec=appspec,
        codedeploy={str(k): str(v) for k, v in codedeploy.items()},
        ignore_tags=[str(t) for t in ignore_tags],
        required_version=str(required) if required else None,
        filter_command=text("filter_command") or None,
        raw=doc,
    )


def _kind(value: Any) -> str:
    """A YAML/JSON type name for messages."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _plugins(value: Any, shown: str) -> list[dict[str, Any]]:
    """``plugins``: a list of ``{name, config, func_prefix}``; a wrong shape names the entry and key."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(
            f"plugins must be a list of {{name, config, func_prefix}}, got {_kind(value)}", source=shown
        )
    for i, plugin in enumerate(value):
        if not isinstance(plugin, dict):
            raise InputError(f"plugins[{i}] must be a mapping with name, config, func_prefix", source=shown)
        if not isinstance(plugin.get("name"), str) or not plugin["name"]:
            raise InputError(f"plugins[{i}].name must be a non-empty string", source=shown)
        for key, want, kind in (("config", dict, "a mapping"), ("func_prefix", str, "a string")):
            if plugin.get(key) is not None and not isinstance(plugin[key], want):
                got = _kind(plugin[key])
                raise InputError(
                    f"plugins[{i}].{key} ({plugin['name']}) must be {kind}, got {got}", source=shown
                )
    return value


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_MAX_DURATION = (2**63 - 1) / 1e9  # seconds
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, *, source: str) -> float:
    """A Go duration (``10m``, ``1h30m``, ``300s``, ``1.5h``) or a number of nanoseconds -> seconds."""
    if isinstance(value, bool):
        raise InputError(f"invalid timeout {value!r}", source=source)
    if isinstance(value, int | float):
        if not -_MAX_DURATION <= value * 1e-9 <= _MAX_DURATION:  # NaN fails both
            raise InputError(f"invalid timeout {value!r}: out of range", source=source)
        return float(value) / 1e9
    s = str(value).strip()
    if s == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise InputError(
            f"invalid timeout {limits.one_line(repr(s))}: use a Go duration such as 10m, 1h30m or 300s",
            source=source,
        )
    if total > _MAX_DURATION:  # Go's time.Duration is an int64 of nanoseconds
        raise InputError(f"invalid timeout {limits.one_line(repr(s))}: out of range", source=source)
    return total


def format_duration(seconds: float) -> str:
    """Seconds -> Go's ``Duration.String()``: ``10m0s``, ``1h30m0s``, ``1.5s``, ``300ms``."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        for unit, scale in (("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
            value = round(seconds * scale, 9)
            if value >= 1 or unit == "ns":
                return f"{value:g}{unit}"
    whole = int(seconds)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    sec = f"{round(s + seconds - whole, 9):g}s"
    if h:
        return f"{h}h{m}m{sec}"
    if m:
        return f"{m}m{sec}"
    return sec


_CONSTRAINT = re.compile(
    r"^\s*(>=|<=|!=|~>|=|>|<)?\s*v?(\d{1,18}(?:\.\d{1,18}){0,2})(?:[-+][0-9A-Za-z.-]+)?\s*$"
)


def _version_tuple(v: str) -> tuple[int, int, int]:
    major, minor, patch = ([int(p) for p in v.split(".")] + [0, 0])[:3]
    return major, minor, patch


def check_required_version(constraints: str, source: str, version: str = ECSPRESSO_COMPAT_VERSION) -> None:
    """hashicorp/go-version constraints (``">= 2.0.0, < 3"``, ``"~> 2.5"``) against ``version``."""
    have = _version_tuple(version)
    for piece in constraints.split(","):
        m = _CONSTRAINT.match(piece)
        if not m:
            shown = limits.one_line(repr(piece.strip()), limit=100)
            raise InputError(f"invalid required_version constraint {shown}", source=source)
        op, want_s = m.group(1) or "=", m.group(2)
        want = _version_tuple(want_s)
        if op == "~>":
            depth = len(want_s.split("."))
            upper = list(want)
            if depth <= 1:
                ok = have >= want
            else:
                upper[depth - 2] += 1
                for i in range(depth - 1, 3):
                    upper[i] = 0
                ok = want <= have < tuple(upper)
        else:
            ok = {
                "=": have == want, "!=": have != want, ">": have > want,
                ">=": have >= want, "<": have < want, "<=": have <= want,
            }[op]  # fmt: skip
        if not ok:
            raise InputError(
                f"required_version {limits.one_line(repr(constraints), limit=200)} is not satisfied: this tool implements "
                f"ecspresso {version} behaviour",
                source=source,
                title="required_version not met",
            )


def load_envfiles(paths: list[str]) -> None:
    """Export ``KEY=VALUE`` lines (dotenv, ``export`` prefix, quotes, comments) in order."""
    for p in paths:
        if not os.path.exists(p):
            raise UsageError(f"--envfile {p}: No such file or directory")
        lines = limits.read_text(p, p).split("\n")  # go-envparse splits on \n only
        for lineno, raw in enumerate(lines, 1):
            key, value = parse_env_line(raw, source=p, line=lineno)
            if key:
                os.environ[key] = value


_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./]*$")
_ENV_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t"}


def parse_env_line(raw: str, *, source: str, line: int) -> tuple[str, str]:
    """One line of a dotenv file, as hashicorp/go-envparse (ecspresso's parser) reads it.

    Blank and ``#`` lines give ``("", "")``. ``export KEY=value``; surrounding whitespace trimmed;
    in unquoted text ``#`` starts a comment; quotes may cover parts of the value (``a'b c'``);
    double quotes take JSON escapes (``\\n``, ``\\"``, ``\\u00e9``); single quotes none.
    """

    def fail(message: str) -> InputError:
        return InputError(message, source=source, line=line)

    s = raw.strip()
    if not s or s.startswith("#"):
        return "", ""
    key, sep, value = s.partition("=")
    if not sep:
        raise fail("missing =")
    key, value = key.strip(), value.strip()
    if len(key) > len("export ") and key.startswith("export "):
        key = key[len("export ") :]
    if not key:
        raise fail("empty key")
    if not _ENV_KEY.match(key):
        raise fail(f"invalid key {key!r}: keys must match [A-Za-z_][A-Za-z0-9/_.]*")
    out: list[str] = []
    last_significant = 0
    mode = ""  # "", '"', "'" or "\\" (escape inside double quotes)
    i = 0
    while i < len(value):
        c = value[i]
        i += 1
        if ord(c) < 32:
            raise fail(f"0x{ord(c):02x} is an invalid value character")
        if mode == "\\":
            if c == "u":
                code, i = _hex4(value, i, fail), i + 4
                if 0xD800 <= code < 0xDC00 and value[i : i + 2] == "\\u":
                    low, i = _hex4(value, i + 2, fail), i + 6
                    ok = 0xDC00 <= low < 0xE000
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) if ok else 0xFFFD
                elif 0xD800 <= code < 0xE000:
                    raise fail("incomplete Unicode surrogate pair")
                out.append(chr(code))
            elif c in _ENV_ESCAPES:
                out.append(_ENV_ESCAPES[c])
            else:
                raise fail(f"invalid escape sequence: {c!r}")
            last_significant, mode = len(out), '"'
        elif mode == '"':
            if c == '"':
                mode = ""
            elif c == "\\":
                mode = "\\"
            else:
                out.append(c)
                last_significant = len(out)
        elif mode == "'":
            if c == "'":
                mode = ""
            else:
                out.append(c)
                last_significant = len(out)
        elif c in "\"'":
            mode = c
        elif c == "#":
            return key, "".join(out[:last_significant])
        else:
            out.append(c)
            if c not in " \t":
                last_significant = len(out)
    if mode:
        raise fail({'"': 'unmatched "', "'": "unmatched '"}.get(mode, "incomplete escape sequence"))
    return key, "".join(out)


def _hex4(text: str, at: int, fail: Any) -> int:
    digits = text[at : at + 4]
    if len(digits) < 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
        raise fail(f"invalid \\u escape {text[at - 2 : at + 4]!r}")
    return int(digits, 16)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
