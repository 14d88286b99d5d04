"""``tfstate`` plugin: values from a Terraform state (v4), addressed like fujiwara/tfstate-lookup.

Config: ``path`` (relative to the config file's directory) or ``url`` (``s3://bucket/key``,
``file:///abs``, ``http(s)://…`` or a plain path), ``optional: true`` (an unreadable state becomes an
empty one, so every lookup fails with "not found"). A state holding only a ``backend`` block (what
``terraform init`` leaves in ``.terraform/terraform.tfstate``) is followed to its S3 backend, with the
workspace from ``$TF_WORKSPACE`` or the ``environment`` file next to it.

Local files are read when the plugin is set up; S3/HTTP states on the first lookup (no AWS client
is made unless a function is called). Addresses: ``aws_vpc.main.id``,
``data.aws_caller_identity.current.account_id``, ``module.m.aws_subnet.s[0].id``,
``aws_instance.x["key"].attr``, ``output.name``, nested paths such as ``aws_lb.x.subnet_mapping[0].id``;
a bare resource address gives its attributes, and a ``count``/``for_each`` resource without an index
gives all instances (a list or an object by key).

Template: ``tfstate "addr"`` (``'`` in the address is read as ``"``), ``tfstatef "fmt" args…``
(Go ``fmt.Sprintf``); non-string values print as compact JSON. Jsonnet: ``tfstate(addr)`` returns the
value itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ecspresso.errors import EcspressoError, InputError
from ecspresso.log import add_mask, get_logger
from ecspresso.plugins import Natives, PluginContext, PluginSpec, TemplateFuncs, as_str, aws_call, type_name
from ecspresso.render import limits

STATE_VERSION = 4
_STEP = re.compile(r'\.(?P<name>[^.\[\]"]+)|\.?\[(?:(?P<idx>-?\d+)|(?P<str>"(?:[^"\\]|\\.)*"))\]')


class TFState:
    """A scanned state: resource/output addresses → values, plus the instance groups of indexed resources."""

    def __init__(self, doc: dict[str, Any] | None, location: str) -> None:
        self.location = location
        self.scanned: dict[str, Any] = {}
        self.groups: dict[str, Any] = {}
        if doc:
            self._scan(doc)

    def _scan(self, doc: dict[str, Any]) -> None:
        for key, value in (doc.get("outputs") or {}).items():
            if isinstance(value, dict) and value.get("sensitive") and isinstance(value.get("value"), str):
                add_mask(value["value"])
            self.scanned["output." + key] = _output_value(value)
        for res in doc.get("resources") or []:
            mode = res.get("mode")
            if mode not in ("managed", "data") or not res.get("instances"):
                continue
            module = f"{res['module']}." if res.get("module") else ""
            base = f"{module}{'data.' if mode == 'data' else ''}{res.get('type')}.{res.get('name')}"
            instances = res["instances"]
            if mode == "data" and res.get("type") == "terraform_remote_state":
                attrs = instances[0].get("attributes")
                if isinstance(attrs, dict):
                    self.scanned[base] = {k: _output_value(v) for k, v in attrs.items()}
                continue
            if len(instances) == 1 and "index_key" not in instances[0]:
                self.scanned[base] = _attributes(instances[0])
                continue
            by_key: dict[str, Any] = {}
            by_index: list[Any] = []
            for inst in instances:
                index = inst.get("index_key")
                data = _attributes(inst)
                raw = json.dumps(index, ensure_ascii=False) if "index_key" in inst else ""
                self.scanned[f"{base}[{raw}]"] = data
                if isinstance(index, str):
                    by_key[index] = data
                elif isinstance(index, int) and not isinstance(index, bool) and index >= 0:
                    by_index.extend([None] * (index + 1 - len(by_index)))
                    by_index[index] = data
            if by_index:
                self.groups[base] = by_index
            elif by_key:
                self.groups[base] = by_key

    def lookup(self, address: str) -> Any:
        """The value at ``address``; None when it is absent (or null)."""
        if address in self.scanned:
            return self.scanned[address]
        if address in self.groups:
            return self.groups[address]
        best = ""
        for name in self.scanned:
            if len(name) > len(best) and address.startswith(name) and address[len(name)] in ".[":
                best = name
        if not best:
            return None
        return _query(self.scanned[best], address[len(best) :], address)


def _output_value(value: Any) -> Any:
    if isinstance(value, dict) and "value" in value and "type" in value:
        return value["value"]
    return value


def _attributes(inst: dict[str, Any]) -> Any:
    attrs = inst.get("attributes")
    return attrs if attrs is not None else inst.get("attributes_flat")


def _query(value: Any, query: str, address: str) -> Any:
    if query == ".":
        return value
    pos = 0
    while pos < len(query):
        m = _STEP.match(query, pos)
        if not m:
            raise InputError(f"failed to lookup {address} in tfstate: invalid syntax at {query[pos:]!r}")
        pos = m.end()
        if value is None:
            continue
        if m.group("idx") is not None or (m.group("name") or "").isdigit():
            index = int(m.group("idx") if m.group("idx") is not None else m.group("name"))
            if isinstance(value, list):
                value = value[index] if -len(value) <= index < len(value) else None
                continue
            if m.group("idx") is not None or not isinstance(value, dict):
                raise InputError(
                    f"failed to lookup {address} in tfstate: expected an array but got {type_name(value)}"
                )
        key = m.group("name") if m.group("name") is not None else json.loads(m.group("str"))
        if not isinstance(value, dict):
            raise InputError(
                f"failed to lookup {address} in tfstate: expected an object but got {type_name(value)}"
            )
        value = value.get(key)
    return value


# --- reading -----------------------------------------------------------------------------------


class StateSource:
    """Where a state comes from; reads (once) on first use unless :meth:`read_local` did it already."""

    def __init__(self, location: str, ctx: PluginContext, *, optional: bool, local: Path | None) -> None:
        self.location, self.ctx, self.optional, self.local = location, ctx, optional, local
        self._state: TFState | None = None
        self._pending: dict[str, Any] | None = None  # a local state that points to a remote backend

    def read_local(self) -> None:
        if self.local is None:
            return
        try:
            doc = _parse(_read_file(self.local), self.location)
            if doc.get("backend") is None:
                self._state = _checked(doc, self.location)
            else:
                self._pending = doc
        except InputError as exc:
            self._fail(exc)

    def state(self) -> TFState:
        if self._state is None:
            try:
                if self._pending is not None:
                    doc = self._follow_backend(self._pending)
                else:
                    doc = self._follow_backend(_parse(self._read_remote(), self.location))
                self._state = _checked(doc, self.location)
            except EcspressoError as exc:  # InputError or AwsError
                self._fail(exc)
        assert self._state is not None
        return self._state

    def _fail(self, exc: EcspressoError) -> None:
        if not self.optional:
            raise exc
        get_logger().warning(
            "tfstate plugin: failed to read tfstate, continuing with empty state because optional=true",
            location=self.location,
            error=str(exc),
        )
        self._state = TFState(None, self.location)

    def _read_remote(self) -> bytes:
        url = urlparse(self.location)
        if url.scheme == "s3":
            return self._read_s3(url.netloc, url.path.lstrip("/"))
        if url.scheme in ("http", "https"):
            import urllib.request

            try:
                with urllib.request.urlopen(self.location, timeout=60) as resp:
                    return _bounded(bytes(resp.read(limits.MAX_TFSTATE_BYTES + 1)), self.location)
            except OSError as exc:
                raise InputError(f"failed to read tfstate from {self.location}: {exc}") from exc
        raise InputError(
            f"failed to read tfstate from {self.location}: URL scheme {url.scheme} is not supported"
        )

    def _read_s3(self, bucket: str, key: str) -> bytes:
        res = aws_call(
            self.ctx,
            "s3",
            "get_object",
            f"failed to read tfstate from s3://{bucket}/{key}",
            Bucket=bucket,
            Key=key,
        )
        return _bounded(bytes(res["Body"].read(limits.MAX_TFSTATE_BYTES + 1)), f"s3://{bucket}/{key}")

    def _follow_backend(self, doc: dict[str, Any]) -> dict[str, Any]:
        backend = doc.get("backend")
        if backend is None:
            return doc
        kind, cfg = backend.get("type"), backend.get("config") or {}
        if kind != "s3":
            raise InputError(
                f"failed to read tfstate from {self.location}: backend type {kind} is not supported"
            )
        bucket, key = str(cfg.get("bucket") or ""), str(cfg.get("key") or "")
        workspace = _workspace(self.local)
        if workspace != "default":
            prefix = cfg.get("workspace_key_prefix")
            key = "/".join(
                p.strip("/") for p in (prefix if prefix is not None else "env:", workspace, key) if p
            )
        remote = _parse(self._read_s3(bucket, key), f"s3://{bucket}/{key}")
        if remote.get("backend") is not None:
            raise InputError(f"tfstate at s3://{bucket}/{key} points to another backend")
        return remote


def _workspace(local: Path | None) -> str:
    if os.environ.get("TF_WORKSPACE"):
        return os.environ["TF_WORKSPACE"]
    if local is not None:
        environment = local.parent / "environment"
        if environment.exists():
            with contextlib.suppress(InputError):
                return limits.read_text(environment, str(environment), limit=4096).strip() or "default"
    return "default"


def _bounded(data: bytes, location: str) -> bytes:
    if len(data) > limits.MAX_TFSTATE_BYTES:
        raise InputError(
            f"failed to read tfstate from {location}: larger than {limits.mib(limits.MAX_TFSTATE_BYTES)}"
        )
    return data


def _read_file(path: Path) -> bytes:
    try:
        return limits.read_bytes(path, str(path), limit=limits.MAX_TFSTATE_BYTES)
    except InputError as exc:
        raise InputError(f"failed to read tfstate from {path}: {exc.detail}") from exc


def _parse(raw: bytes, location: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except RecursionError as exc:
        raise InputError(f"failed to read tfstate from {location}: nested too deeply") from exc
    except ValueError as exc:
        detail = limits.one_line(str(exc))
        raise InputError(f"failed to read tfstate from {location}: invalid json: {detail}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"failed to read tfstate from {location}: not a JSON object")
    return doc


def _checked(doc: dict[str, Any], location: str) -> TFState:
    if doc.get("version") != STATE_VERSION:
        raise InputError(
            f"failed to read tfstate from {location}: unsupported state version {doc.get('version')}"
        )
    return TFState(doc, location)


def _source(spec: PluginSpec, ctx: PluginContext) -> StateSource:
    cfg = spec.config
    optional = cfg.get("optional") in (True, "true")
    if cfg.get("path") is not None:
        if not isinstance(cfg["path"], str):
            raise InputError("tfstate plugin requires path for tfstate file as a string", source=ctx.source)
        path = Path(cfg["path"])
        if not path.is_absolute():
            path = ctx.base_dir / path
        return StateSource(str(path), ctx, optional=optional, local=path)
    if cfg.get("url") is not None:
        if not isinstance(cfg["url"], str):
            raise InputError("tfstate plugin requires url for tfstate URL as a string", source=ctx.source)
        url = urlparse(cfg["url"])
        if url.scheme in ("", "file"):
            local = Path(url.path if url.scheme == "file" else cfg["url"])
            if not local.is_absolute() and not local.exists() and (ctx.base_dir / local).exists():
                local = ctx.base_dir / local  # ecspresso reads it relative to the working directory
            return StateSource(cfg["url"], ctx, optional=optional, local=local)
        return StateSource(cfg["url"], ctx, optional=optional, local=None)
    raise InputError("tfstate plugin requires path or url for tfstate location", source=ctx.source)


# --- functions ---------------------------------------------------------------------------------


def to_template_string(value: Any) -> str:
    """Like tfstate-lookup's ``Object.String``: strings as is, anything else as Go's compact JSON."""
    if isinstance(value, str):
        return value
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def build(spec: PluginSpec, ctx: PluginContext) -> tuple[TemplateFuncs, Natives]:
    source = _source(spec, ctx)
    source.read_local()

    def lookup(address: Any) -> Any:
        address = as_str(address, "tfstate: address").replace("'", '"')
        state = source.state()
        value = state.lookup(address)
        if value is None:
            raise InputError(f"{address} is not found in tfstate ({state.location})")
        return value

    def tfstate(address: Any) -> str:
        return to_template_string(lookup(address))

    def tfstatef(fmt: Any, *args: Any) -> str:
        return tfstate(go_sprintf(as_str(fmt, "tfstatef: format"), *args))

    return {"tfstate": tfstate, "tfstatef": tfstatef}, {"tfstate": (lookup, ("address",))}


# --- a small fmt.Sprintf -----------------------------------------------------------------------

_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` for the verbs templates use (``%s %v %d %q %x %f %t %%``)."""
    out: list[str] = []
    pos, used = 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        text = _verb(verb, arg, prec)
        if width and len(text) < int(width):
            pad = "0" if "0" in flags and "-" not in flags and verb in "dfx" else " "
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), pad)
        out.append(text)
    out.append(fmt[pos:])
    if used < len(args):
        extra = ", ".join(f"{_go_type(a)}={_go_value(a)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _verb(verb: str, arg: Any, prec: str | None) -> str:
    is_int = isinstance(arg, int) and not isinstance(arg, bool)
    if verb in "sv":
        return _go_value(arg)
    if verb == "d" and is_int:
        return str(arg)
    if verb == "q" and isinstance(arg, str):
        return json.dumps(arg, ensure_ascii=False)
    if verb == "x" and (is_int or isinstance(arg, str)):
        return format(arg, "x") if is_int else arg.encode().hex()
    if verb == "f" and isinstance(arg, int | float) and not isinstance(arg, bool):
        return f"{arg:.{int(prec) if prec else 6}f}"
    if verb == "t" and isinstance(arg, bool):
        return _go_value(arg)
    return f"%!{verb}({_go_type(arg)}={_go_value(arg)})"


def _go_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(value), type(value).__name__)


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)
