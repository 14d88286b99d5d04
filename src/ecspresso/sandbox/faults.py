"""WSGI middleware in front of moto: records every AWS operation and injects faults.

A fault answers a request in its protocol's own error format (JSON ``__type``, query/EC2 XML,
rpc-v2-cbor), so botocore's real retry logic (throttling, 5xx) runs against it; a ``delay`` adds
latency before the request is answered (by the fault, or by moto for ``code="delay"``).
"""

from __future__ import annotations

import functools
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error"}
_STATUS_TEXT.update({502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"})
_CREDENTIAL_RE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_CBOR_PATH_RE = re.compile(r"/service/[^/]+/operation/([^/?]+)")
_MAX_QUERY_BODY = 1 << 20


@dataclass(frozen=True)
class Request:
    """What the middleware could tell about one AWS request."""

    service: str  # signing name from the Authorization header ("ecs", "sts"…), "" if unknown
    operation: str  # "DescribeServices"…, "" for REST protocols and non-AWS requests
    protocol: str  # "json", "query", "ec2", "cbor", "rest-json" or "rest-xml"
    json_version: str = "1.1"


@dataclass
class Fault:
    operation: str  # operation name, "*" for any, or "service:Operation" / "service:*"
    code: str | None = "ThrottlingException"  # None or "delay": latency only
    status: int = 400
    times: int = 1  # negative: forever
    delay: float = 0.0
    message: str | None = None
    #: the request reaches moto and takes effect first; only the answer is the error (an ambiguous
    #: write: "5xx after the call took effect")
    after: bool = False
    #: answer 200 with this JSON body instead of moto's (JSON protocols only), e.g. a transient
    #: ``{"services": [], "failures": [{"reason": "MISSING"}]}`` from DescribeServices
    body: dict[str, Any] | None = None
    #: let this many matching requests through before the fault applies
    skip: int = 0

    def matches(self, req: Request) -> bool:
        if self.times == 0:
            return False
        service, _, op = self.operation.rpartition(":")
        if service and service != req.service:
            return False
        return op == "*" or (bool(req.operation) and op == req.operation)

    @property
    def is_error(self) -> bool:
        return self.body is None and bool(self.code) and self.code != "delay"


def identify(environ: dict[str, Any]) -> Request:
    """Service, operation and protocol of a request; re-wraps ``wsgi.input`` if it read the body."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CREDENTIAL_RE.search(auth)
    service = m.group(1) if m else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    content_type = environ.get("CONTENT_TYPE", "")
    if target:
        version = "1.0" if content_type.endswith("1.0") else "1.1"
        return Request(service, target.rpartition(".")[2], "json", version)
    path = environ.get("PATH_INFO", "")
    cbor = _CBOR_PATH_RE.match(path)
    if cbor and environ.get("HTTP_SMITHY_PROTOCOL", "").startswith("rpc-v2"):
        return Request(service, cbor.group(1), "cbor")
    action = ""
    if environ.get("QUERY_STRING"):
        action = parse_qs(environ["QUERY_STRING"]).get("Action", [""])[0]
    if not action and content_type.startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if 0 < length <= _MAX_QUERY_BODY:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    if action:
        return Request(service, action, "ec2" if service == "ec2" else "query")
    method = environ.get("REQUEST_METHOD", "GET")
    headers = (k[5:].replace("_", "-").lower() for k in environ if k.startswith("HTTP_"))
    operation = rest_operation(service, method, path, environ.get("QUERY_STRING", ""), headers)
    return Request(service, operation, _rest_routes(service)[0])


def rest_operation(service: str, method: str, path: str, query: str, headers: Iterable[str] = ()) -> str:
    """The operation of a REST-protocol request (S3…) by botocore's routes; "" when none matches.

    ``headers`` are the request's header names, lower case: some operations differ only by a
    required header (S3 ``CopyObject`` is a ``PutObject`` with ``x-amz-copy-source``).
    """
    params = parse_qs(query, keep_blank_values=True)
    present = set(headers)
    best, best_score = "", (-1, -1)
    for route in _rest_routes(service)[1]:
        if route.method != method or not route.pattern.fullmatch(path) or route.score <= best_score:
            continue
        if route.headers <= present and all(
            k in params and (not v or v in params[k]) for k, v in route.query.items()
        ):
            best, best_score = route.name, route.score
    return best


@dataclass(frozen=True)
class _Route:
    name: str
    method: str
    pattern: re.Pattern[str]
    query: dict[str, str]  # required query parameters ("" = any value)
    headers: frozenset[str]  # required headers, lower case
    score: tuple[int, int]  # (requirements, literal characters): the most specific route wins


@functools.cache
def _rest_routes(service: str) -> tuple[str, list[_Route]]:
    """(protocol, routes) of a REST-protocol service: "rest-json" (also the unknown default) or "rest-xml"."""
    if not service:
        return "rest-json", []
    try:
        import botocore.session

        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # not a botocore service name (signing names mostly are)
        return "rest-json", []
    protocol = model.metadata.get("protocol")
    if protocol not in ("rest-json", "rest-xml"):
        return "rest-json", []
    routes: list[_Route] = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri_path, _, uri_query = op.http.get("requestUri", "/").partition("?")
        parts = re.split(r"(\{[^}]+\})", uri_path)
        regex = "".join(
            (".+" if p.endswith("+}") else "[^/]+") if p.startswith("{") else re.escape(p) for p in parts
        )
        query = {k: v[0] for k, v in parse_qs(uri_query, keep_blank_values=True).items()}
        members = op.input_shape.members if op.input_shape is not None else {}
        required = op.input_shape.required_members if op.input_shape is not None else []
        headers = frozenset(
            str(members[m].serialization.get("name", m)).lower()
            for m in required
            if members[m].serialization.get("location") == "header"
        )
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        score = (len(query) + len(headers), literal)
        routes.append(
            _Route(name, op.http.get("method", "GET"), re.compile(regex + "/?"), query, headers, score)
        )
    return protocol, routes


def error_response(req: Request, code: str, status: int, message: str) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of an AWS error in the request's protocol."""
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    if req.protocol == "query":
        body = (
            f'<ErrorResponse xmlns="https://{req.service or "aws"}.amazonaws.com/doc/">'
            f"<Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{_xml(code)}</Code>"
            f"<Message>{_xml(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif req.protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif req.protocol == "rest-xml":
        body = (
            f"<Error><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    elif req.protocol == "cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = (
            "application/json"
            if req.protocol == "rest-json"
            else f"application/x-amz-json-{req.json_version}"
        )
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body))))
    return headers, body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (all an rpc-v2-cbor error body needs)."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        if n < 65536:
            return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
        return bytes([major << 5 | 26]) + n.to_bytes(4, "big")

    def text(s: str) -> bytes:
        raw = s.encode()
        return head(3, len(raw)) + raw

    return head(5, len(items)) + b"".join(text(k) + text(v) for k, v in items.items())


class FaultInjector:
    """The middleware. ``operations`` is the shared list every received operation is appended to."""

    def __init__(self, app: WSGIApp, operations: list[str]) -> None:
        self.app = app
        self.operations = operations
        self.faults: list[Fault] = []
        self.paused = False  # seeding: neither record nor inject
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take(self, req: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(req):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.paused or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        req = identify(environ)
        _receive_body(environ)  # recorded only once the whole request has arrived
        if req.operation:
            self.operations.append(req.operation)
        fault = self._take(req)
        if fault is None:
            return self.app(environ, start_response)
        if fault.delay > 0:
            time.sleep(fault.delay)
        if fault.body is not None:
            if fault.after:
                _drain(self.app, environ)
            payload = json.dumps(fault.body).encode()
            content_type = f"application/x-amz-json-{req.json_version}"
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
            return [payload]
        if not fault.is_error:
            return self.app(environ, start_response)
        if fault.after:
            _drain(self.app, environ)
        code = str(fault.code)
        message = fault.message or f"Injected by ecspresso.sandbox: {code}"
        headers, body = error_response(req, code, fault.status, message)
        start_response(f"{fault.status} {_STATUS_TEXT.get(fault.status, 'Error')}", headers)
        return [body]


def _receive_body(environ: dict[str, Any]) -> None:
    """Read the request's body now (``wsgi.input`` re-wrapped): a request counts as received, and
    a delay fault delays its handling, only once the client has sent all of it. A client
    interrupted while sending (tests send signals) otherwise left moto a truncated body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > 0 and not isinstance(environ.get("wsgi.input"), io.BytesIO):
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))


def _drain(app: WSGIApp, environ: dict[str, Any]) -> None:
    """Let ``app`` handle the request (so it takes effect) and throw its answer away."""

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[..., Any]:
        return lambda _data: None

    answer = app(environ, start_response)
    try:
        for _ in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
