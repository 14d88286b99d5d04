"""``render``: print the config, service definition or task definition after all templating."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ecspresso.app import App
from ecspresso.errors import InputError
from ecspresso.options import Command, option
from ecspresso.report import Result

TARGETS = ("config", "service-definition", "servicedef", "task-definition", "taskdef")


@dataclass
class RenderOption:
    targets: list[str] = option(
        [],
        "what to render: config, service-definition (servicedef), task-definition (taskdef)",
        positional=True,
        nargs="+",
        choices=TARGETS,
        metavar="TARGET",
    )
    jsonnet: bool = option(False, "render as Jsonnet instead of JSON")


def render(app: App, opts: RenderOption) -> Result:
    from ecspresso.normalize import to_api_json

    for target in opts.targets:
        if target == "config":
            doc: Any = app.config.as_dict()
            if opts.jsonnet:
                app.reporter.output(to_jsonnet(doc))
            else:
                import yaml

                app.reporter.output(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
            continue
        if target in ("service-definition", "servicedef"):
            sv = app.load_service_definition()
            if sv is None:
                raise InputError("service_definition is not set", source=app.config.path.name)
            doc = sv
        else:
            doc = app.load_task_definition()
        text = to_api_json(doc)
        # --jsonnet formats the very JSON that would be printed (as ecspresso runs its formatter on it)
        app.reporter.output(to_jsonnet(json.loads(text)) if opts.jsonnet else text)
    return Result(command="render", result="ok")


_IDENT = __import__("re").compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = frozenset(
    [
        "assert",
        "else",
        "error",
        "false",
        "for",
        "function",
        "if",
        "import",
        "importstr",
        "importbin",
        "in",
        "local",
        "null",
        "tailstrict",
        "then",
        "self",
        "super",
        "true",
    ]
)


def to_jsonnet(obj: Any, indent: int = 0) -> str:
    """JSON value -> Jsonnet in go-jsonnet's formatter style (bare keys, single quotes, trailing commas)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{_jsonnet_key(k)}: {to_jsonnet(v, indent + 1)}," for k, v in obj.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        return "[\n" + "\n".join(f"{inner}{to_jsonnet(v, indent + 1)}," for v in obj) + f"\n{pad}]"
    if isinstance(obj, str):
        return _jsonnet_string(obj)
    return json.dumps(obj)


def _jsonnet_key(key: str) -> str:
    return key if _IDENT.match(key) and key not in _KEYWORDS else _jsonnet_string(key)


def _jsonnet_string(s: str) -> str:
    body = json.dumps(s, ensure_ascii=False)[1:-1]
    if "'" in s:
        return json.dumps(s, ensure_ascii=False)
    return "'" + body.replace('\\"', '"') + "'"


COMMANDS = [
    Command(
        "render",
        "render config, service definition or task definition",
        RenderOption,
        render,
        examples=("render taskdef", "render config servicedef taskdef", "render --jsonnet taskdef"),
    )
]
