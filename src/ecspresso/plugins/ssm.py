"""``ssm`` plugin (fujiwara/ssm-lookup): SSM Parameter Store values.

Template: ``{{ ssm "/name" }}``, ``{{ ssm "/list" 1 }}`` (index required for StringList, rejected for
the other types). Jsonnet: ``ssm(name)``, ``ssm_list(name, index)``. SecureString values are decrypted
and registered with :func:`ecspresso.log.add_mask`. One GetParameter per name and run.
"""

from __future__ import annotations

from typing import Any

from ecspresso.errors import InputError
from ecspresso.log import add_mask
from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, as_str, aws_call


class SsmLookup:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self._cache: dict[str, dict[str, Any]] = {}

    def parameter(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            res = aws_call(
                self.ctx,
                "ssm",
                "get_parameter",
                f"failed to get SSM parameter {name}",
                Name=name,
                WithDecryption=True,
            )
            param = dict(res["Parameter"])
            if param.get("Type") == "SecureString":
                add_mask(str(param.get("Value", "")))
            self._cache[name] = param
        return self._cache[name]

    def lookup(self, name: Any, *index: Any) -> str:
        name = as_str(name, "ssm: parameter name")
        if len(index) > 1:
            raise InputError(f"ssm accepts at most 2 parameters, but got {len(index) + 1}")
        param = self.parameter(name)
        kind, value = param.get("Type", ""), str(param.get("Value", ""))
        if kind == "StringList":
            if not index:
                raise InputError(
                    f"ssm parameter {name} is a StringList: the second argument is required to specify the index"
                )
            values = value.split(",")
            i = _index(index[0])
            if not 0 <= i < len(values):
                raise InputError(
                    f"ssm parameter {name}: StringList has {len(values)} values, but the index {i} is out of range"
                )
            return values[i]
        if kind in ("String", "SecureString"):
            if index:
                raise InputError(
                    f"the second argument is supported only for StringList type, "
                    f"but the parameter {name} is of type {kind}"
                )
            return value
        raise InputError(f"ssm parameter {name}: unexpected parameter type {kind}")


def _index(value: Any) -> int:
    if isinstance(value, bool):
        raise InputError("ssm: index must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise InputError(f"ssm: index must be an integer, got {value!r}")


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    app = SsmLookup(ctx)

    def ssm(name: Any, *index: Any) -> str:
        return app.lookup(name, *index)

    def ssm_native(name: Any) -> str:
        return app.lookup(name)

    def ssm_list(name: Any, index: Any) -> str:
        if not isinstance(index, int | float) or isinstance(index, bool):
            raise InputError("ssm_list: index must be a number")
        return app.lookup(name, index)

    return {"ssm": ssm}, {"ssm": (ssm_native, ("name",)), "ssm_list": (ssm_list, ("name", "index"))}
