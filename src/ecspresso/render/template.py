"""Go ``text/template`` rendering of config and definition files, compatible with ecspresso.

ecspresso renders every config and definition file through Go's text/template with kayac/go-config's
``DefaultFuncMap`` (``env``, ``must_env``, ``json_escape``) plus plugin functions. This is a
from-scratch implementation of the part of the template language such files use: text, actions,
trim markers, comments, literals, function calls and pipelines, parenthesised expressions,
variables, ``if``/``else if``/``with``/``range`` (with ``break``/``continue``) and Go's builtin
functions. ``define``/``template``/``block`` and complex numbers are not supported.

The data (``.``) is nil, as in ecspresso: ``{{ . }}`` prints ``<no value>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from ecspresso.errors import TemplateError
from ecspresso.render import limits
from ecspresso.render._gotemplate_exec import BUILTINS, ArgError, Executor
from ecspresso.render._gotemplate_fmt import type_name
from ecspresso.render._gotemplate_parse import GoTemplateError, parse

__all__ = ["default_funcs", "has_actions", "render"]


def has_actions(text: str) -> bool:
    """Whether ``text`` contains a template action at all (else it renders to itself)."""
    return "{{" in text


def render(text: str, funcs: Mapping[str, Callable[..., Any]], *, source: str) -> str:
    """Render ``text`` with Go template semantics; ``funcs`` extend (and override) the Go builtins.

    Raises :class:`TemplateError` as ``source:line: message`` for parse and execution errors,
    including errors raised by the functions.
    """
    if "{{" not in text:
        return text
    all_funcs = {**BUILTINS, **funcs}
    try:
        return Executor(all_funcs).execute(parse(text, all_funcs))
    except GoTemplateError as exc:
        line = text.count("\n", 0, exc.pos) + 1
        raise TemplateError(limits.one_line(exc.message), source=source, line=line) from exc.__cause__
    except RecursionError as exc:  # a backstop: parsing bounds the nesting (limits.MAX_NESTING)
        raise TemplateError("template nested too deeply", source=source) from exc


def _check_string(name: str, value: Any) -> str:
    if value is None:
        raise ArgError(f"invalid value for {name}; expected string")
    if not isinstance(value, str):
        raise ArgError(f"wrong type for value in call to {name}; expected string; got {type_name(value)}")
    return value


def _env(*keys: Any) -> str:
    """First non-empty ``$KEY``; the last key doubles as the default value when its variable is empty."""
    value = ""
    for key in keys:
        value = os.environ.get(_check_string("env", key), "")
        if value:
            return value
        value = key
    return value


def _must_env(key: Any) -> str:
    """``$KEY`` (may be empty); an error when the variable is not set."""
    value = os.environ.get(_check_string("must_env", key))
    if value is None:
        raise TemplateError(f"environment variable {key} is not defined")
    return value


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_JSON_SPECIAL = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')


def _json_escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c in _JSON_ESCAPES:
        return _JSON_ESCAPES[c]
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"  # invalid UTF-8 becomes U+FFFD, like Go's encoding/json
    return f"\\u{ord(c):04x}"


def _json_escape(s: Any) -> str:
    """A JSON string body (Go json.Marshal escaping, HTML-safe) without the surrounding quotes."""
    return _JSON_SPECIAL.sub(_json_escape_char, _check_string("json_escape", s))


def default_funcs() -> dict[str, Callable[..., Any]]:
    """kayac/go-config's DefaultFuncMap (env, must_env, json_escape) plus Go's builtin functions."""
    return {**BUILTINS, "env": _env, "must_env": _must_env, "json_escape": _json_escape}
