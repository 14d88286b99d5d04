"""Executor and builtin functions for the Go text/template subset (mirrors text/template exec.go/funcs.go)."""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from ecspresso.errors import EcspressoError
from ecspresso.render import limits
from ecspresso.render._gotemplate_fmt import (
    format_value,
    go_quote,
    sort_keys,
    sprint,
    sprintf,
    sprintln,
    type_name,
)
from ecspresso.render._gotemplate_parse import (
    BREAK,
    DOT,
    FIELD,
    NIL,
    RANGE,
    WITH,
    ActionNode,
    BranchNode,
    ChainNode,
    CommandNode,
    FieldNode,
    GoTemplateError,
    IdentNode,
    KeywordNode,
    ListNode,
    Node,
    PipeNode,
    TextNode,
    ValueNode,
)

MISSING: Any = object()  # "no value piped in" (Go's missingVal)


class FuncError(Exception):
    """An error returned by a builtin; reported as ``error calling NAME: message`` (like Go)."""


class ArgError(Exception):
    """A bad argument (wrong type, nil); reported as the message alone."""


def truth(v: Any) -> bool:
    """Go template truthiness: false, 0, nil and empty strings/slices/maps are false."""
    if v is None or v is False:
        return False
    if isinstance(v, int | float | str | list | tuple | Mapping):
        return bool(v)
    return True


# ---------------------------------------------------------------------------------------- builtins


def _and(arg0: Any, *args: Any) -> Any:
    for v in (arg0, *args):
        if not truth(v):
            return v
    return v


def _or(arg0: Any, *args: Any) -> Any:
    for v in (arg0, *args):
        if truth(v):
            return v
    return v


def _not(arg: Any) -> bool:
    return not truth(arg)


def _kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "string" if isinstance(v, str) else None


def _eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in args:
        k2 = _kind(arg)
        if k1 != k2:
            if arg1 is not None and arg is not None:
                raise FuncError(f"incompatible types for comparison: {type_name(arg1)} and {type_name(arg)}")
            equal = False
        elif k1 is not None or arg1 is None or arg is None:
            equal = arg1 == arg
        elif type_name(arg1) != type_name(arg) or isinstance(arg, list | tuple | Mapping):
            raise FuncError(f"non-comparable type {format_value(arg)}: {type_name(arg)}")
        else:
            equal = arg1 == arg
        if equal:
            return True
    return False


def _ne(arg1: Any, arg2: Any) -> bool:
    return not _eq(arg1, arg2)


def _lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 is None or k2 is None or k1 == "bool" or k2 == "bool":
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError(f"incompatible types for comparison: {type_name(arg1)} and {type_name(arg2)}")
    return bool(arg1 < arg2)


def _le(arg1: Any, arg2: Any) -> bool:
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _gt(arg1: Any, arg2: Any) -> bool:
    return not _le(arg1, arg2)


def _ge(arg1: Any, arg2: Any) -> bool:
    return not _lt(arg1, arg2)


def _length(item: Any) -> int:
    if isinstance(item, str):
        return len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, list | tuple | Mapping):
        return len(item)
    if item is None:
        raise FuncError("len of nil pointer")
    raise FuncError(f"len of type {type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, str | list | tuple):
            seq: Any = item.encode() if isinstance(item, str) else item
            x = _index_arg(index, len(seq))
            if x >= len(seq):
                raise FuncError(f"index out of range: {x}")
            item = seq[x]
        elif isinstance(item, Mapping):
            try:
                item = item.get(index)
            except TypeError as exc:
                raise FuncError(f"value has type {type_name(index)}; should be string") from exc
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        seq: Any = item if item.isascii() else item.encode()
    elif isinstance(item, list | tuple):
        seq = item
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    idx = [0, len(seq)]
    for i, index in enumerate(indexes):
        x = _index_arg(index, len(seq))
        idx[i : i + 1] = [x]
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(idx) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    result = seq[idx[0] : idx[1]]
    return result.decode("utf-8", "replace") if isinstance(result, bytes) else result


def _call(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise FuncError("call of nil")
    if not callable(fn):
        raise FuncError(f"non-function of type {type_name(fn)}")
    return fn(*args)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*("<no value>" if a is None else a for a in args))


_HTML = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def _html(*args: Any) -> str:
    s = _eval_args(args)
    return "".join(_HTML.get(c, c) for c in s) if any(c in s for c in _HTML) else s


def _js_rune(c: str) -> str:
    if c in _JS:
        return _JS[c]
    o = ord(c)
    if o < 0x20:
        return f"\\u00{o:02X}"
    return c if o < 0x80 or c.isprintable() else f"\\u{o:04X}"


def _js(*args: Any) -> str:
    return "".join(_js_rune(c) for c in _eval_args(args))


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="")


def _printf(format_: Any, *args: Any) -> str:
    if not isinstance(format_, str):
        raise ArgError(f"wrong type for value; expected string; got {type_name(format_)}")
    return sprintf(format_, *args)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and, "call": _call, "html": _html, "index": _index, "slice": _slice, "js": _js,
    "len": _length, "not": _not, "or": _or, "print": sprint, "printf": _printf, "println": sprintln,
    "urlquery": _urlquery, "eq": _eq, "ge": _ge, "gt": _gt, "le": _le, "lt": _lt, "ne": _ne,
}  # fmt: skip


def _arity(fn: Callable[..., Any]) -> tuple[int, int | None] | None:
    """(minimum, maximum or None) positional arguments of ``fn``; None when unknown."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    lo, hi, variadic = 0, 0, False
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            hi += 1
            lo += p.default is p.empty
        elif p.kind is p.VAR_POSITIONAL:
            variadic = True
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            return None
    return lo, None if variadic else hi


# ---------------------------------------------------------------------------------------- executor


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def print_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    return "<no value>" if v is None else format_value(v)


class Executor:
    """Runs a parsed template. Work is bounded (see :mod:`ecspresso.render.limits`): nodes executed,
    the size of the output, of any string a function returns and of all of them together."""

    def __init__(self, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self.funcs = funcs
        self.vars: list[list[Any]] = [["$", None]]
        self.out: list[str] = []
        self.arities: dict[str, tuple[int, int | None] | None] = {}
        self.steps = 0
        self.out_size = 0
        self.produced = 0

    def execute(self, root: ListNode) -> str:
        self.walk(None, root)
        return "".join(self.out)

    def emit(self, text: str, pos: int) -> None:
        self.out_size += len(text)
        if self.out_size > limits.MAX_OUTPUT_BYTES:
            raise GoTemplateError(
                f"template output is larger than {limits.mib(limits.MAX_OUTPUT_BYTES)}", pos
            )
        self.out.append(text)

    # walking
    def walk(self, dot: Any, node: Node) -> None:
        self.steps += 1
        if self.steps > limits.MAX_TEMPLATE_STEPS:
            raise GoTemplateError(
                f"template execution takes more than {limits.MAX_TEMPLATE_STEPS:,} steps", node.pos
            )
        t = type(node)
        if t is TextNode:
            self.emit(node.text, node.pos)  # type: ignore[attr-defined]
        elif t is ActionNode:
            pipe: PipeNode = node.pipe  # type: ignore[attr-defined]
            value = self.eval_pipeline(dot, pipe)
            if not pipe.decl:
                self.emit(print_value(value), node.pos)
        elif t is ListNode:
            for n in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, n)
        elif t is BranchNode:
            assert isinstance(node, BranchNode)
            if node.kind == RANGE:
                self.walk_range(dot, node)
            else:
                self.walk_if_with(dot, node)
        else:
            assert isinstance(node, KeywordNode)
            raise _Break() if node.kind == BREAK else _Continue()

    def walk_if_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == WITH else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        outer = len(self.vars)
        try:
            pipe = node.pipe
            value = self.eval_pipeline(dot, pipe)
            mark = len(self.vars)
            if isinstance(value, list | tuple):
                items: Any = enumerate(value)
            elif isinstance(value, Mapping):
                items = ((k, value[k]) for k in sort_keys(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                if len(pipe.decl) > 1:
                    raise GoTemplateError(
                        f"can't use {value} to iterate over more than one variable", node.pos
                    )
                items = ((i, i) for i in range(value))
            elif value is None:
                items = ()
            else:
                raise GoTemplateError(f"range can't iterate over {format_value(value)}", node.pos)
            ran = False
            try:
                for index, elem in items:
                    ran = True
                    self._iteration(pipe, mark, index, elem, node.body)
            except _Break:
                pass
            if not ran and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[outer:]

    def _iteration(self, pipe: PipeNode, mark: int, index: Any, elem: Any, body: ListNode) -> None:
        decl = pipe.decl
        if decl:
            if pipe.is_assign:
                self.set_var(decl[0], index if len(decl) > 1 else elem, pipe.pos)
            else:
                self.vars[-1][1] = elem
        if len(decl) > 1:
            if pipe.is_assign:
                self.set_var(decl[1], elem, pipe.pos)
            else:
                self.vars[-2][1] = index
        try:
            self.walk(elem, body)
        except _Continue:
            pass
        finally:
            del self.vars[mark:]

    # variables
    def set_var(self, name: str, value: Any, pos: int) -> None:
        for var in reversed(self.vars):
            if var[0] == name:
                var[1] = value
                return
        raise GoTemplateError(f"undefined variable: {name}", pos)

    def var_value(self, name: str, pos: int) -> Any:
        for var in reversed(self.vars):
            if var[0] == name:
                return var[1]
        raise GoTemplateError(f"undefined variable: {name}", pos)

    # evaluation
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        value = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value, pipe.pos)
            else:
                self.vars.append([name, value])
        return value

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode | ChainNode):
            return self.eval_fields(dot, first, cmd.args, final)
        if isinstance(first, IdentNode):
            return self.eval_function(dot, first, cmd.args, final)
        if len(cmd.args) > 1 or final is not MISSING:
            raise GoTemplateError(f"can't give argument to non-function {cmd.args[0]}", first.pos)
        if isinstance(first, PipeNode):
            return self.eval_pipeline(dot, first)
        assert isinstance(first, ValueNode)
        if first.kind == NIL:
            raise GoTemplateError("nil is not a command", first.pos)
        return dot if first.kind == DOT else first.value

    def eval_fields(self, dot: Any, node: FieldNode | ChainNode, args: list[Node] | None, final: Any) -> Any:
        """``.A.B``, ``$x.A.B`` or ``(pipe).A.B``, the last one called with ``args[1:]`` if a method."""
        if isinstance(node, ChainNode):
            receiver, idents = self.eval_arg(dot, node.node), node.fields
        elif node.kind == FIELD:
            receiver, idents = dot, node.idents
        else:
            receiver, idents = self.var_value(node.idents[0], node.pos), node.idents[1:]
            if not idents:
                if (args is not None and len(args) > 1) or final is not MISSING:
                    raise GoTemplateError(f"can't give argument to non-function {node}", node.pos)
                return receiver
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: Any, name: str, node: Node, args: list[Node] | None, final: Any, receiver: Any
    ) -> Any:
        if receiver is None:
            return None
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        if isinstance(receiver, Mapping):
            if has_args:
                raise GoTemplateError(f"{name} is not a method but has arguments", node.pos)
            return receiver.get(name)
        basic = isinstance(receiver, str | int | float | list | tuple)
        if not basic and not name.startswith("_") and hasattr(receiver, name):
            attr = getattr(receiver, name)
            if callable(attr):
                vals = [self.eval_arg(dot, a) for a in (args or [])[1:]]
                return self.call(attr, name, vals + ([] if final is MISSING else [final]), node, cache=False)
            if has_args:
                raise GoTemplateError(f"{name} has arguments but cannot be invoked as function", node.pos)
            return attr
        raise GoTemplateError(f"can't evaluate field {name} in type {type_name(receiver)}", node.pos)

    def eval_function(self, dot: Any, node: IdentNode, args: list[Node], final: Any) -> Any:
        name = node.name
        fn = self.funcs.get(name)
        if fn is None:
            raise GoTemplateError(f"{go_quote(name)} is not a defined function", node.pos)
        arg_nodes = args[1:]
        if fn is _and or fn is _or:  # short-circuit evaluation
            if not arg_nodes and final is MISSING:
                raise GoTemplateError(f"wrong number of args for {name}: want at least 1 got 0", node.pos)
            value = None
            for a in arg_nodes:
                value = self.eval_arg(dot, a)
                if truth(value) == (fn is _or):
                    return value
            return value if final is MISSING else final
        vals = [self.eval_arg(dot, a) for a in arg_nodes]
        if final is not MISSING:
            vals.append(final)
        return self.call(fn, name, vals, node)

    def eval_arg(self, dot: Any, node: Node) -> Any:
        if isinstance(node, ValueNode):
            return dot if node.kind == DOT else node.value
        if isinstance(node, FieldNode | ChainNode):
            return self.eval_fields(dot, node, None, MISSING)
        if isinstance(node, PipeNode):
            return self.eval_pipeline(dot, node)
        assert isinstance(node, IdentNode)
        return self.eval_function(dot, node, [node], MISSING)

    def call(self, fn: Callable[..., Any], name: str, vals: list[Any], node: Node, cache: bool = True) -> Any:
        if cache:
            if name not in self.arities:
                self.arities[name] = _arity(fn)
            arity = self.arities[name]
        else:
            arity = _arity(fn)
        if arity is not None:
            lo, hi = arity
            n = len(vals)
            if hi is None and n < lo:
                raise GoTemplateError(
                    f"wrong number of args for {name}: want at least {lo} got {n}", node.pos
                )
            if hi is not None and not lo <= n <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise GoTemplateError(f"wrong number of args for {name}: want {want} got {n}", node.pos)
        try:
            result = fn(*vals)
            if isinstance(result, str):
                self.produced += len(result)
                if len(result) > limits.MAX_OUTPUT_BYTES:
                    raise GoTemplateError(
                        f"{name} returned more than {limits.mib(limits.MAX_OUTPUT_BYTES)}", node.pos
                    )
                if self.produced > limits.MAX_TEMPLATE_BYTES:
                    raise GoTemplateError(
                        f"template functions returned more than {limits.mib(limits.MAX_TEMPLATE_BYTES)} "
                        f"in all (last: {name})",
                        node.pos,
                    )
            return result
        except GoTemplateError:
            raise
        except EcspressoError as exc:
            raise GoTemplateError(getattr(exc, "detail", None) or exc.message, node.pos) from exc
        except FuncError as exc:
            raise GoTemplateError(f"error calling {name}: {exc}", node.pos) from None
        except ArgError as exc:
            raise GoTemplateError(str(exc), node.pos) from None
        except Exception as exc:
            raise GoTemplateError(str(exc) or type(exc).__name__, node.pos) from exc
