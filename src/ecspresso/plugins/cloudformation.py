"""``cloudformation`` plugin (fujiwara/cfn-lookup): stack outputs and exports.

Template: ``{{ cfn_output "Stack" "OutputKey" }}``, ``{{ cfn_export "Name" }}``; Jsonnet natives of the
same names. One DescribeStacks per stack and one (paginated) ListExports per run.
"""

from __future__ import annotations

from typing import Any

from ecspresso.errors import InputError
from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, as_str, aws_call


class CfnLookup:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self._stacks: dict[str, dict[str, Any]] = {}
        self._exports: dict[str, str] | None = None

    def output(self, stack_name: Any, output_key: Any) -> str:
        stack_name = as_str(stack_name, "cfn_output: stack name")
        output_key = as_str(output_key, "cfn_output: output key")
        if stack_name not in self._stacks:
            res = aws_call(
                self.ctx,
                "cloudformation",
                "describe_stacks",
                f"failed to describe stack {stack_name}",
                StackName=stack_name,
            )
            if not res.get("Stacks"):
                raise InputError(f"stack {stack_name} is not found")
            self._stacks[stack_name] = res["Stacks"][0]
        for output in self._stacks[stack_name].get("Outputs") or []:
            if output.get("OutputKey") == output_key:
                return str(output.get("OutputValue", ""))
        raise InputError(f"outputKey {output_key} is not found in stack {stack_name}")

    def export(self, name: Any) -> str:
        name = as_str(name, "cfn_export: name")
        if self._exports is None:
            exports: dict[str, str] = {}
            token: str | None = None
            while True:
                params = {"NextToken": token} if token else {}
                res = aws_call(self.ctx, "cloudformation", "list_exports", "failed to list exports", **params)
                for item in res.get("Exports") or []:
                    exports.setdefault(str(item.get("Name")), str(item.get("Value", "")))
                token = res.get("NextToken")
                if not token:
                    break
            self._exports = exports
        if name not in self._exports:
            raise InputError(f"{name} is not found in exports")
        return self._exports[name]


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    app = CfnLookup(ctx)
    return {"cfn_output": app.output, "cfn_export": app.export}, {
        "cfn_output": (app.output, ("stackName", "outputKey")),
        "cfn_export": (app.export, ("name",)),
    }
