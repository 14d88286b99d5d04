"""Loading task and service definition files the way ecspresso v2 does.

``.jsonnet`` is evaluated by Jsonnet (ext vars, ``env``/``must_env`` and plugin natives) and then
rendered as a Go template; any other extension is rendered as a Go template and parsed as JSON.
Keys may be lowerCamel or PascalCase; describe-only fields are stripped with a warning; types are
checked against botocore's ECS model so ``"desiredCount": "two"`` fails here, naming the file and
line, before any AWS call. Fields newer than ecspresso pass through as long as botocore knows them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecspresso.config import parse_json
from ecspresso.errors import InputError
from ecspresso.log import get_logger
from ecspresso.render import limits


@dataclass
class DefinitionLoader:
    """Renders definition files with the run's ext vars and plugin functions."""

    template_funcs: Mapping[str, Any] = field(default_factory=dict)
    jsonnet_natives: Mapping[str, Any] = field(default_factory=dict)
    ext_str: Mapping[str, str] = field(default_factory=dict)
    ext_code: Mapping[str, str] = field(default_factory=dict)
    jpath: Sequence[Path] = ()

    def render_text(self, path: Path) -> str:
        """The file's JSON text after Jsonnet and template rendering (not yet parsed)."""
        from ecspresso.render import jsonnet, template

        shown = display_path(path)
        if not path.is_file():
            raise InputError("definition file not found", source=shown, title="file not found")
        if path.suffix.lower() == ".jsonnet":
            natives = {**jsonnet.default_natives(), **self.jsonnet_natives}
            text = jsonnet.evaluate_file(  # by its shown name, so errors name it that way
                shown, ext_str=self.ext_str, ext_code=self.ext_code, natives=natives, jpath=self.jpath
            )
        else:
            text = limits.read_text(path, shown)
        if template.has_actions(text):
            funcs = {**template.default_funcs(), **self.template_funcs}
            text = template.render(text, funcs, source=shown)
        return text

    def read(self, path: Path) -> Any:
        return parse_json(self.render_text(path), display_path(path))

    def task_definition(self, path: Path) -> dict[str, Any]:
        """A RegisterTaskDefinition input from a bare or ``{"taskDefinition": …}``-wrapped file."""
        from ecspresso import normalize

        shown = display_path(path)
        text = self.render_text(path)
        doc = parse_json(text, shown)
        if not isinstance(doc, dict):
            raise InputError("a task definition must be a JSON object", source=shown)
        doc = normalize.normalize_keys(doc)
        td, ignored = normalize.unwrap_task_definition(doc)
        td, stripped = normalize.strip_describe_only(td)
        log = get_logger()
        for key in ignored:
            log.warning(f"{shown}: field {key!r} is not part of a task definition; ignored")
        if stripped:
            log.warning(f"{shown}: describe-only fields removed: {', '.join(sorted(stripped))}")
        td = check_against_model(
            normalize.drop_nulls(td), "RegisterTaskDefinition", shown, _source_text(path, text)
        )
        if not td.get("family"):
            raise InputError("task definition has no family", source=shown)
        if not td.get("containerDefinitions"):
            raise InputError("task definition has no containerDefinitions", source=shown)
        return td

    def service_definition(self, path: Path, *, service: str) -> dict[str, Any]:
        """A service definition (DescribeServices shape); ``serviceName`` forced to the config's."""
        from ecspresso import normalize

        shown = display_path(path)
        text = self.render_text(path)
        doc = parse_json(text, shown)
        if not isinstance(doc, dict):
            raise InputError("a service definition must be a JSON object", source=shown)
        sv = normalize.normalize_keys(doc)
        if service:
            sv["serviceName"] = service
        if not sv.get("tags"):
            sv.pop("tags", None)
        params = normalize.create_service_input(sv)
        # without a service in the config (task-definition-only mode, e.g. for run) ecspresso
        # still loads the file: only the name is missing, so check the rest against the model
        params.setdefault("serviceName", "-")
        checked = check_against_model(params, "CreateService", shown, text)
        # keep describe-shaped extras (e.g. deployments) out; keep everything CreateService accepts
        return {k: v for k, v in sv.items() if k in checked or k in ("serviceArn", "status")}


@functools.cache
def _ecs_model() -> Any:
    from ecspresso.api_model import ecs_service_model  # parsed once for the process

    return ecs_service_model()


_UNKNOWN = re.compile(r'Unknown parameter in (?:input|(\S+)): "([^"]+)"')
_INVALID = re.compile(
    r"Invalid type for parameter (\S+), value: (.*), type: <class '(\w+)'>, valid types: (.*)"
)
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def check_against_model(params: dict[str, Any], operation: str, source: str, text: str) -> dict[str, Any]:
    """Validate ``params`` against botocore's input shape for ``operation``.

    Type errors and missing required members raise :class:`InputError` with the line of the
    offending key in ``text``. Unknown fields (typos, or fields newer than this botocore) are
    dropped with a warning, as ecspresso's lax decoding does, so they never reach the API.
    """
    from botocore.validate import ParamValidator

    shape = _ecs_model().operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return params
    cleaned = params
    problems: list[str] = []
    for line in report.generate_report().splitlines():
        m = _UNKNOWN.match(line)
        if m:
            where, key = m.group(1), m.group(2)
            if cleaned is params:
                import copy

                cleaned = copy.deepcopy(params)
            _drop(cleaned, where, key)
            get_logger().warning(
                f"{source}: unknown field {(where + '.' if where else '') + key!r} ignored "
                "(not in the ECS API of this botocore; update ecspresso-py if it is new)"
            )
            continue
        problems.append(line)
    if problems:
        first = problems[0]
        m = _INVALID.match(first)
        if m:
            param, value, got, valid = m.groups()
            key = param.rsplit(".", 1)[-1].split("[")[0]
            msg = f"{param}: expected {_type_names(valid)}, got {got} {value!r}"
        else:
            key = _first_key(first)
            msg = first.replace("Missing required parameter in input: ", "missing required field ")
        raise InputError(msg, source=source, line=line_of_key(text, key), title="invalid definition")
    return cleaned


def _type_names(valid: str) -> str:
    names = re.findall(r"<class '(\w+)'>", valid)
    mapping = {"int": "a number", "str": "a string", "bool": "true or false", "list": "a list",
               "dict": "an object", "tuple": "a list", "float": "a number", "Decimal": "a number"}  # fmt: skip
    return " or ".join(dict.fromkeys(mapping.get(n, n) for n in names)) or valid


def _first_key(line: str) -> str:
    m = re.search(r'"([^"]+)"', line)
    return m.group(1) if m else ""


def _drop(obj: Any, where: str | None, key: str) -> None:
    target = obj
    for name, index in _PATH_PART.findall(where or ""):
        target = target[int(index)] if index else target[name]
    if isinstance(target, dict):
        target.pop(key, None)


def line_of_key(text: str, key: str) -> int | None:
    """The 1-based line where ``key`` first appears as an object key in ``text`` (JSON or Jsonnet)."""
    if not key:
        return None
    k = re.escape(key)
    m = re.search(rf'(?:"{k}"|\'{k}\'|(?<![\w$]){k})\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _source_text(path: Path, rendered: str) -> str:
    """Where to look for a key's line: the file itself for Jsonnet, else the rendered JSON."""
    if path.suffix.lower() == ".jsonnet":
        try:
            return limits.read_text(path, str(path))
        except InputError:
            return ""
    return rendered


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
