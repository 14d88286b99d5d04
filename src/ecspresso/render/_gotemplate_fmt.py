"""Go ``fmt`` value formatting for the template engine: ``%v`` printing, Sprint/Sprintln/Sprintf.

Python values stand in for Go ones: ``str`` is string, ``bool`` bool, ``int`` int, ``float`` float64,
``None`` nil, lists/tuples ``[]interface {}`` and mappings ``map[string]interface {}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def type_name(v: Any) -> str:
    """The Go type name fmt shows for ``v`` (``%T``, bad-verb messages)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    return type(v).__name__


def sort_keys(m: Mapping[Any, Any]) -> list[Any]:
    """Map keys in Go's fmtsort order (numbers numerically, strings lexically)."""
    try:
        return sorted(m)
    except TypeError:
        return sorted(m, key=lambda k: (type_name(k), str(k)))


def _escape_rune(ch: str, quote: str) -> str:
    if ch == quote or ch == "\\":
        return "\\" + ch
    if ch.isprintable():
        return ch
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    o = ord(ch)
    if o < 0x20 or o == 0x7F:
        return f"\\x{o:02x}"
    if 0xD800 <= o <= 0xDFFF:
        return "\\ufffd"
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    return '"' + "".join(_escape_rune(ch, '"') for ch in s) + '"'


def go_quote_rune(r: int) -> str:
    """strconv.QuoteRune: a single-quoted Go character literal."""
    ch = chr(r) if 0 <= r <= 0x10FFFF and not 0xD800 <= r <= 0xDFFF else "\ufffd"
    return "'" + _escape_rune(ch, "'") + "'"


def format_float_shortest(x: float, exp_char: str = "e") -> str:
    """strconv.FormatFloat(x, 'g', -1, 64): the shortest repr, %e form when exp < -4 or exp >= 6."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    dp = len(digit_tuple) + int(exponent)  # decimal point position relative to the digits
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}{exp_char}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def format_value(v: Any) -> str:
    """fmt's ``%v`` of a value."""
    if isinstance(v, str):
        return v
    return _fmt(v, "v", _Spec())


def sprint(*args: Any) -> str:
    """fmt.Sprint: operands joined, with a space between two operands when neither is a string."""
    out: list[str] = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(a))
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: operands joined by spaces, newline appended."""
    return " ".join(format_value(a) for a in args) + "\n"


class _Spec:
    __slots__ = ("minus", "plus", "prec", "sharp", "space", "width", "zero")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None

    def pad(self, s: str) -> str:
        if self.width is None or len(s) >= self.width:
            return s
        return s.ljust(self.width) if self.minus else s.rjust(self.width)

    def sign(self, negative: bool) -> str:
        return "-" if negative else "+" if self.plus else " " if self.space else ""

    def zero_fill(self, sign: str, body: str) -> str:
        if self.zero and not self.minus and self.width is not None:
            body = body.rjust(self.width - len(sign), "0")
        return sign + body


def _bad_verb(v: Any, verb: str) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(v)}={format_value(v)})"


def _fmt_int(n: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return spec.pad(chr(n) if 0 <= n <= 0x10FFFF else "\ufffd")
    if verb == "q":
        return spec.pad(go_quote_rune(n))
    if verb == "U":
        s = f"U+{n:04X}"
        if spec.sharp and 0 <= n <= 0x10FFFF and chr(n).isprintable():
            s += f" '{chr(n)}'"
        return spec.pad(s)
    base = {"v": "d", "d": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}.get(verb)
    if base is None:
        return _bad_verb(n, verb)
    digits = format(abs(n), base)
    if spec.prec is not None:
        digits = "" if spec.prec == 0 and n == 0 else digits.zfill(spec.prec)
    sign = spec.sign(n < 0)
    if spec.prec is None:
        digits = spec.zero_fill(sign, digits)[len(sign) :]
    prefix = "0o" if verb == "O" else ""
    if spec.sharp:
        prefix = {"x": "0x", "X": "0X", "b": "0b"}.get(verb, prefix)
        if verb == "o" and not digits.startswith("0"):
            prefix = "0"
    return spec.pad(sign + prefix + digits)


def _fmt_float(x: float, verb: str, spec: _Spec) -> str:
    if verb not in "vgGeEfF":
        return _bad_verb(x, verb)
    if math.isnan(x):
        return spec.pad(spec.sign(False) + "NaN")
    if math.isinf(x):  # Go always signs infinities: +Inf, -Inf (" Inf" with the space flag)
        return spec.pad(("-" if x < 0 else " " if spec.space and not spec.plus else "+") + "Inf")
    negative = math.copysign(1.0, x) < 0
    if verb in "vgG" and spec.prec is None:
        body = format_float_shortest(abs(x), "E" if verb == "G" else "e")
    else:
        prec = 6 if spec.prec is None else spec.prec
        pyverb = "g" if verb == "v" else verb
        body = format(abs(x), f"{'#' if spec.sharp else ''}.{prec}{pyverb}")
    return spec.pad(spec.zero_fill(spec.sign(negative), body))


def _fmt_str(s: str, verb: str, spec: _Spec) -> str:
    if verb in "vs":
        return spec.pad(s if spec.prec is None else s[: spec.prec])
    if verb == "q":
        s = s if spec.prec is None else s[: spec.prec]
        if spec.sharp and "`" not in s and all(c == "\t" or c.isprintable() for c in s):
            return spec.pad(f"`{s}`")
        return spec.pad(go_quote(s))
    if verb in "xX":
        data = s.encode("utf-8", "replace")
        if spec.prec is not None:
            data = data[: spec.prec]
        hexs = [f"{b:02x}" if verb == "x" else f"{b:02X}" for b in data]
        pre = ("0x" if verb == "x" else "0X") if spec.sharp else ""
        out = " ".join(pre + h for h in hexs) if spec.space else pre + "".join(hexs)
        return spec.pad(out)
    return _bad_verb(s, verb)


def _fmt(v: Any, verb: str, spec: _Spec) -> str:
    if verb == "T":
        return spec.pad(type_name(v))
    if v is None:
        return spec.pad("<nil>") if verb == "v" else _bad_verb(v, verb)
    if isinstance(v, bool):
        return spec.pad("true" if v else "false") if verb in "tv" else _bad_verb(v, verb)
    if isinstance(v, int):
        return _fmt_int(v, verb, spec)
    if isinstance(v, float):
        return _fmt_float(v, verb, spec)
    if isinstance(v, str):
        if verb == "v" and spec.sharp:
            return spec.pad(go_quote(v))
        return _fmt_str(v, verb, spec)
    if isinstance(v, list | tuple):
        return "[" + " ".join(_fmt(e, verb, spec) for e in v) + "]"
    if isinstance(v, Mapping):
        pairs = (f"{_fmt(k, verb, spec)}:{_fmt(v[k], verb, spec)}" for k in sort_keys(v))
        return "map[" + " ".join(pairs) + "]"
    if verb in "vs":
        return spec.pad(str(v))
    return _bad_verb(v, verb)


def sprintf(format_: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs, flags, width and precision (no ``%[n]`` argument indexes)."""
    out: list[str] = []
    argi = 0
    i, n = 0, len(format_)
    while i < n:
        j = format_.find("%", i)
        if j < 0:
            out.append(format_[i:])
            break
        out.append(format_[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and format_[i] in "+-# 0":
            c = format_[i]
            spec.plus |= c == "+"
            spec.minus |= c == "-"
            spec.sharp |= c == "#"
            spec.space |= c == " "
            spec.zero |= c == "0"
            i += 1
        if i < n and format_[i] == "*":
            spec.width, argi = _int_arg(args, argi)
            if spec.width is None:
                out.append("%!(BADWIDTH)")
            elif spec.width < 0:
                spec.minus, spec.zero, spec.width = True, False, -spec.width
            i += 1
        else:
            spec.width, i = _parse_num(format_, i)
        if i + 1 < n and format_[i] == ".":
            i += 1
            if format_[i] == "*":
                spec.prec, argi = _int_arg(args, argi)
                if spec.prec is None or spec.prec < 0:
                    spec.prec = None
                    out.append("%!(BADPREC)")
                i += 1
            else:
                spec.prec, i = _parse_num(format_, i)
                spec.prec = spec.prec or 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = format_[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt(args[argi], verb, spec))
            argi += 1
    if argi < len(args):
        extra = ", ".join("<nil>" if a is None else f"{type_name(a)}={format_value(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# Go's fmt refuses widths and precisions above a million (and so bounds what one verb can produce)
_TOO_LARGE = 1_000_000


def _parse_num(f: str, i: int) -> tuple[int | None, int]:
    """fmt's parsenum: digits at ``i``; a number past the limit swallows the rest of the format."""
    num, j = None, i
    while j < len(f) and "0" <= f[j] <= "9":
        if num is not None and num > _TOO_LARGE:
            return None, len(f)
        num = (num or 0) * 10 + ord(f[j]) - 48
        j += 1
    return num, j


def _int_arg(args: tuple[Any, ...], argi: int) -> tuple[int | None, int]:
    """fmt's intFromArg for ``*``: the argument if it is an int within the limit, else None."""
    if argi >= len(args):
        return None, argi
    value = args[argi]
    if not isinstance(value, int) or isinstance(value, bool) or not -_TOO_LARGE <= value <= _TOO_LARGE:
        return None, argi + 1
    return value, argi + 1
