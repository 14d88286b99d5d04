"""Config plugins: functions for Go templates and Jsonnet natives that look values up elsewhere.

``load_plugins`` turns the config's ``plugins`` list into one :class:`FunctionSet`. As in ecspresso
(``plugin.go``, ``config.go setupPlugins``), ``ssm`` and ``secretsmanager`` are always loaded first
without a prefix; the listed plugins follow in order, each function renamed ``<func_prefix><name>``.
A listed ``ssm``/``secretsmanager`` whose (prefixed) name is already taken is skipped silently (so
listing them without a prefix is harmless, with a prefix adds ``<prefix>ssm``); any other clash is an
error asking for ``func_prefix``.

Nothing here talks to AWS while loading: clients are created on the first call of a function, and
every plugin caches its answers for the run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecspresso.errors import AwsError, InputError
from ecspresso.log import get_logger
from ecspresso.render.jsonnet import Native

if TYPE_CHECKING:
    from ecspresso.aws import AwsContext

__all__ = ["FunctionSet", "Native", "PluginContext", "PluginSpec", "load_plugins"]

DEFAULT_PLUGINS = ("ssm", "secretsmanager")
_MODULES = {
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "tfstate": "tfstate",
    "cloudformation": "cloudformation",
    "external": "external",
}

TemplateFuncs = dict[str, Callable[..., Any]]
Natives = dict[str, Native]


@dataclass
class PluginSpec:
    """One entry of the config's ``plugins`` list."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    func_prefix: str = ""


@dataclass
class FunctionSet:
    """The functions all plugins provide, already prefixed."""

    template_funcs: TemplateFuncs = field(default_factory=dict)
    jsonnet_natives: Natives = field(default_factory=dict)


@dataclass
class PluginContext:
    """What a plugin may use while it is set up."""

    base_dir: Path
    aws: AwsContext
    source: str = "config"


def load_plugins(
    specs: Sequence[PluginSpec], *, base_dir: Path, aws: AwsContext, source: str = "config"
) -> FunctionSet:
    """Set up the default plugins, then ``specs`` in order, and collect their functions.

    Raises :class:`InputError` (with ``source``) for an unknown plugin, a bad plugin config or a
    function name defined twice.
    """
    ctx = PluginContext(base_dir=Path(base_dir), aws=aws, source=source)
    result = FunctionSet()
    for spec in [PluginSpec(name) for name in DEFAULT_PLUGINS] + list(specs):
        kind = str(spec.name or "").lower()
        if kind not in _MODULES:
            raise InputError(f"plugin {spec.name} is not available", source=source)
        if not isinstance(spec.config, dict):
            raise InputError(f"plugin {spec.name}: config must be a mapping", source=source)
        module = importlib.import_module(f"ecspresso.plugins.{_MODULES[kind]}")
        funcs, natives = module.build(spec, ctx)
        _merge(result.template_funcs, funcs, spec, kind, "template function", source)
        _merge(result.jsonnet_natives, natives, spec, kind, "jsonnet native function", source)
    return result


def _merge(
    target: dict[str, Any], new: dict[str, Any], spec: PluginSpec, kind: str, what: str, source: str
) -> None:
    for base, func in new.items():
        name = f"{spec.func_prefix or ''}{base}"
        if name in target:
            if kind in DEFAULT_PLUGINS:
                get_logger().debug(f"{what} {name} already exists by default plugins. skip")
                continue
            raise InputError(
                f"{what} {name} is defined by more than one plugin; set func_prefix on the {spec.name} plugin",
                source=source,
            )
        target[name] = func


# --- helpers for the plugin modules ------------------------------------------------------------


def aws_call(ctx: PluginContext, service: str, operation: str, what: str, **params: Any) -> Any:
    """Call ``operation`` on the (lazily created) ``service`` client; errors become :class:`AwsError`
    through the one translator (ecspresso.aws.translate)."""
    from ecspresso.aws import translate

    client = ctx.aws.client(service)
    try:
        return getattr(client, operation)(**params)
    except AwsError:
        raise
    except Exception as exc:
        translated = translate(exc, what)
        if translated is None:
            raise
        raise translated from exc


def as_str(value: Any, what: str) -> str:
    """A template/Jsonnet argument that must be a string."""
    if isinstance(value, str):
        return value
    raise InputError(f"{what} must be a string, got {type_name(value)}")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
