"""Lexer and parser for the Go text/template subset (mirrors text/template/parse).

Errors are raised as :class:`GoTemplateError` carrying the byte offset (in the Python string) of
the offending token; the public module turns the offset into a line number.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from ecspresso.render._gotemplate_fmt import go_quote
from ecspresso.render.limits import MAX_NESTING


class GoTemplateError(Exception):
    """A parse or execution error at offset ``pos`` of the template text."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


# token kinds; keywords sort after _KEYWORD, like Go's itemKeyword
(ERROR, BOOL, CHAR, CHARCONST, COMPLEX, ASSIGN, DECLARE, EOF, FIELD, IDENT, LDELIM, LPAREN, NUMBER,
 PIPE, RAWSTRING, RDELIM, RPAREN, SPACE, STRING, TEXT, VARIABLE, _KEYWORD, DOT, BLOCK, BREAK,
 CONTINUE, DEFINE, ELSE, END, IF, NIL, RANGE, TEMPLATE, WITH) = range(34)  # fmt: skip
_KEYWORDS = {"block": BLOCK, "break": BREAK, "continue": CONTINUE, "define": DEFINE, "else": ELSE,
             "end": END, "if": IF, "nil": NIL, "range": RANGE, "template": TEMPLATE, "with": WITH}  # fmt: skip

Token = tuple[int, int, str]  # kind, offset, text

_SPACE = " \t\r\n"
_WORD = re.compile(r"\w*")
_SPACES = re.compile(r"[ \t\r\n]*")
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"')
_CHARCONST = re.compile(r"'(?:[^'\\\n]|\\[^\n])*'")


def _space_at(text: str, i: int) -> bool:
    return i < len(text) and text[i] in _SPACE


def _charname(c: str) -> str:
    """Go's %#U of a rune: U+0041 'A'."""
    return f"U+{ord(c):04X}" + (f" '{c}'" if c.isprintable() else "")


def lex(text: str) -> list[Token]:
    """All tokens of ``text``; a lexical error ends the list with an ERROR token (raised when read)."""
    toks: list[Token] = []
    n, pos = len(text), 0
    while True:
        x = text.find("{{", pos)
        if x < 0:
            if pos < n:
                toks.append((TEXT, pos, text[pos:]))
            toks.append((EOF, n, ""))
            return toks
        trim = text.startswith("-", x + 2) and _space_at(text, x + 3)
        end = pos + len(text[pos:x].rstrip(_SPACE)) if trim else x
        if end > pos:
            toks.append((TEXT, pos, text[pos:end]))
        p = x + (4 if trim else 2)
        if text.startswith("/*", p):
            close = text.find("*/", p + 2)
            if close < 0:
                toks.append((ERROR, x, "unclosed comment"))
                return toks
            q = close + 2
            if _space_at(text, q) and text.startswith("-}}", q + 1):
                pos = _SPACES.match(text, q + 4).end()  # type: ignore[union-attr]
            elif text.startswith("}}", q):
                pos = q + 2
            else:
                toks.append((ERROR, x, "comment ends before closing delimiter"))
                return toks
            continue
        toks.append((LDELIM, x, "{{"))
        pos = _lex_action(text, p, x, toks)
        if pos < 0:
            return toks


def _lex_action(text: str, p: int, start: int, toks: list[Token]) -> int:
    """Tokens inside one action from ``p``; returns the offset after ``}}`` or -1 after an error."""
    n = len(text)
    depth = 0
    emit = toks.append

    def error(msg: str, at: int) -> int:
        emit((ERROR, at, msg))
        return -1

    def at_terminator(q: int) -> bool:
        return q >= n or text[q] in " \t\r\n.,|:)(" or text.startswith("}}", q)

    while True:
        trim = _space_at(text, p) and text.startswith("-}}", p + 1)
        if trim or text.startswith("}}", p):
            if depth:
                return error("unclosed left paren", start)
            p += 2 if trim else 0
            emit((RDELIM, p, "}}"))
            return _SPACES.match(text, p + 2).end() if trim else p + 2  # type: ignore[union-attr]
        if p >= n:
            return error("unclosed action", start)
        c = text[p]
        if c in _SPACE:
            q = p + 1
            while q < n and text[q] in _SPACE:
                q += 1
            if text.startswith("-}}", q):
                q -= 1  # the last space belongs to the " -}}" delimiter
            if q > p:
                emit((SPACE, p, text[p:q]))
            p = q
        elif c == "=":
            emit((ASSIGN, p, c))
            p += 1
        elif c == ":":
            if not text.startswith(":=", p):
                return error("expected :=", p)
            emit((DECLARE, p, ":="))
            p += 2
        elif c == "|":
            emit((PIPE, p, c))
            p += 1
        elif c == '"' or c == "'":
            m = (_QUOTED if c == '"' else _CHARCONST).match(text, p)
            if not m:
                what = "quoted string" if c == '"' else "character constant"
                return error(f"unterminated {what}", p)
            emit((STRING if c == '"' else CHARCONST, p, m.group()))
            p = m.end()
        elif c == "`":
            q = text.find("`", p + 1)
            if q < 0:
                return error("unterminated raw quoted string", p)
            emit((RAWSTRING, p, text[p : q + 1]))
            p = q + 1
        elif c in "$." and not (c == "." and text[p + 1 : p + 2].isdigit() and text[p + 1].isascii()):
            if at_terminator(p + 1):
                emit((VARIABLE if c == "$" else DOT, p, c))
                p += 1
                continue
            q = _WORD.match(text, p + 1).end()  # type: ignore[union-attr]
            if not at_terminator(q):
                return error(f"bad character {_charname(text[q])}", p)
            emit((VARIABLE if c == "$" else FIELD, p, text[p:q]))
            p = q
        elif c in "+-." or "0" <= c <= "9":
            q, ok = _scan_number(text, p)
            if ok and text[q : q + 1] in ("+", "-"):
                q, ok = _scan_number(text, q)
                ok = ok and text[q - 1] == "i"
                kind = COMPLEX
            else:
                kind = NUMBER
            if not ok:
                return error(f"bad number syntax: {go_quote(text[p:q])}", p)
            emit((kind, p, text[p:q]))
            p = q
        elif c == "_" or c.isalnum():
            q = _WORD.match(text, p).end()  # type: ignore[union-attr]
            if not at_terminator(q):
                return error(f"bad character {_charname(text[q])}", p)
            word = text[p:q]
            kind = _KEYWORDS.get(word, BOOL if word in ("true", "false") else IDENT)
            emit((kind, p, word))
            p = q
        elif c == "(":
            depth += 1
            emit((LPAREN, p, c))
            p += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return error("unexpected right paren", p)
            emit((RPAREN, p, c))
            p += 1
        elif c.isascii() and c.isprintable():
            emit((CHAR, p, c))
            p += 1
        else:
            return error(f"unrecognized character in action: {_charname(c)}", p)


def _scan_number(text: str, p: int) -> tuple[int, bool]:
    n = len(text)

    def run(q: int, chars: str) -> int:
        while q < n and text[q] in chars:
            q += 1
        return q

    q = p + 1 if text[p : p + 1] in ("+", "-") else p
    digits = "0123456789_"
    if text.startswith("0", q):
        q += 1
        prefix = text[q : q + 1].lower()
        if prefix in ("x", "o", "b"):
            q += 1
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[prefix]
    q = run(q, digits)
    if text.startswith(".", q):
        q = run(q + 1, digits)
    if len(digits) == 11 and text[q : q + 1] in ("e", "E"):
        q = run(q + 1, "+-") if text[q + 1 : q + 2] in ("+", "-") else q + 1
        q = run(q, "0123456789_")
    if len(digits) == 23 and text[q : q + 1] in ("p", "P"):
        q = q + 2 if text[q + 1 : q + 2] in ("+", "-") else q + 1
        q = run(q, "0123456789_")
    if text.startswith("i", q):
        q += 1
    if q < n and (text[q] == "_" or text[q].isalnum()):
        return q + 1, False
    return q, True


# ---------------------------------------------------------------------------------------------- nodes


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text


class ValueNode(Node):
    """A literal (bool, number, string), ``.`` or ``nil``; ``src`` is how it was written."""

    __slots__ = ("kind", "src", "value")

    def __init__(self, pos: int, kind: int, value: Any, src: str) -> None:
        super().__init__(pos)
        self.kind, self.value, self.src = kind, value, src

    def __str__(self) -> str:
        return self.src


class IdentNode(Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name

    def __str__(self) -> str:
        return self.name


class FieldNode(Node):
    """``.A.B`` (kind FIELD) or ``$x.A.B`` (kind VARIABLE): ``idents`` without dots."""

    __slots__ = ("idents", "kind")

    def __init__(self, pos: int, kind: int, idents: list[str]) -> None:
        super().__init__(pos)
        self.kind, self.idents = kind, idents

    def __str__(self) -> str:
        return ("." if self.kind == FIELD else "") + ".".join(self.idents)


class ChainNode(Node):
    """``(pipeline).A.B`` or ``ident.A``."""

    __slots__ = ("fields", "node")

    def __init__(self, pos: int, node: Node, fields: list[str]) -> None:
        super().__init__(pos)
        self.node, self.fields = node, fields

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.decl: list[str] = []
        self.is_assign = False
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        decl = f"{', '.join(self.decl)} {'=' if self.is_assign else ':='} " if self.decl else ""
        return decl + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: PipeNode) -> None:
        super().__init__(pos)
        self.pipe = pipe


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []


class BranchNode(Node):
    """``if``, ``with`` or ``range`` (``kind``) with its pipeline, body and optional else body."""

    __slots__ = ("body", "else_body", "kind", "pipe")

    def __init__(
        self, pos: int, kind: int, pipe: PipeNode, body: ListNode, else_body: ListNode | None
    ) -> None:
        super().__init__(pos)
        self.kind, self.pipe, self.body, self.else_body = kind, pipe, body, else_body


class KeywordNode(Node):
    """``{{break}}``, ``{{continue}}``, and (parse-time only) ``{{end}}``, ``{{else}}``."""

    __slots__ = ("kind",)

    def __init__(self, pos: int, kind: int) -> None:
        super().__init__(pos)
        self.kind = kind

    def __str__(self) -> str:
        return "{{" + {BREAK: "break", CONTINUE: "continue", END: "end", ELSE: "else"}[self.kind] + "}}"


# --------------------------------------------------------------------------------------------- parser

_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_OPERAND_START = (BOOL, CHARCONST, COMPLEX, DOT, FIELD, IDENT, NUMBER, NIL, RAWSTRING, STRING,
                  VARIABLE, LPAREN)  # fmt: skip
_MAX_DEPTH = MAX_NESTING


def _unescape(body: str, quote: str) -> tuple[bytes, str]:
    """Decode the first (possibly escaped) character of ``body``; returns its bytes and the rest."""
    if body[0] != "\\":
        return body[0].encode("utf-8", "surrogatepass"), body[1:]
    c = body[1:2]
    if c in _ESCAPES:
        return bytes([_ESCAPES[c]]), body[2:]
    if c == quote:
        return c.encode(), body[2:]
    size = {"x": 2, "u": 4, "U": 8}.get(c)
    if size:
        digits = body[2 : 2 + size]
        if len(digits) == size and all(d in "0123456789abcdefABCDEF" for d in digits):
            v = int(digits, 16)
            if c == "x":
                return bytes([v]), body[2 + size :]
            if v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF:
                return chr(v).encode(), body[2 + size :]
    elif c and c in "01234567":
        digits = body[1:4]
        if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) <= 255:
            return bytes([int(digits, 8)]), body[4:]
    raise ValueError("invalid syntax")


def unquote(tok: str) -> str:
    """strconv.Unquote of a Go string literal (double-quoted or back-quoted)."""
    if tok[0] == "`":
        return tok[1:-1].replace("\r", "")
    body = tok[1:-1]
    if "\\" not in body:
        return body
    out = bytearray()
    while body:
        chunk, body = _unescape(body, '"')
        out += chunk
    return out.decode("utf-8", "replace")


def parse_number(kind: int, text: str) -> int | float:
    """The value of a number or character constant the way Go's idealConstant types it."""
    if kind == CHARCONST:
        try:
            chunk, rest = _unescape(text[1:-1], "'") if len(text) > 2 else (b"", "x")
        except ValueError:
            raise ValueError(f"malformed character constant: {text}") from None
        if rest or not chunk:
            raise ValueError(f"malformed character constant: {text}")
        return chunk[0] if len(chunk) == 1 else ord(chunk.decode("utf-8", "replace")[0])
    if kind == COMPLEX or text.endswith("i"):
        raise ValueError(f"complex numbers are not supported: {text}")
    is_hex = text.lstrip("+-")[:2].lower() == "0x"
    try:
        if re.fullmatch(r"[+-]?0[0-7_]+", text):
            value: int | float = int(
                text.replace("0", "0o", 1) if text[0] == "0" else text[0] + "0o" + text[2:], 0
            )
        elif not any(ch in text for ch in ".eEpP") or (is_hex and not any(ch in text for ch in ".pP")):
            value = int(text, 0)
        elif is_hex:
            value = float.fromhex(text.replace("_", ""))
        else:
            value = float(text)
    except ValueError:
        raise ValueError(f"illegal number syntax: {go_quote(text)}") from None
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise ValueError(f"integer overflow: {go_quote(text)}")
    if isinstance(value, int) and value >= 2**63:
        raise ValueError(f"{text} overflows int")
    return value


def _token_str(tok: Token) -> str:
    """How Go's item.String() shows a token in 'unexpected ...' errors."""
    kind, _, val = tok
    if kind == EOF:
        return "EOF"
    if kind > _KEYWORD:
        return f"<{val}>"
    return go_quote(val[:10]) + "..." if len(val) > 10 else go_quote(val)


class Parser:
    def __init__(self, text: str, funcs: Collection[str]) -> None:
        self.toks = lex(text)
        self.toks.extend([self.toks[-1]] * 3)
        self.i = 0
        self.funcs = funcs
        self.vars = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.last = self.toks[0]

    # token stream
    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        self.last = tok
        if tok[0] == ERROR:
            raise GoTemplateError(tok[2], tok[1])
        return tok

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Token:
        tok = self.next()
        self.i -= 1
        return tok

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok[0] == SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.i -= 1
        return tok

    def error(self, msg: str, pos: int | None = None) -> GoTemplateError:
        return GoTemplateError(msg, self.last[1] if pos is None else pos)

    def unexpected(self, tok: Token, context: str) -> GoTemplateError:
        return self.error(f"unexpected {_token_str(tok)} in {context}", tok[1])

    # grammar
    def parse(self) -> ListNode:
        root = ListNode(0)
        while self.peek()[0] != EOF:
            node = self.text_or_action()
            if isinstance(node, KeywordNode) and node.kind in (END, ELSE):
                raise self.error(f"unexpected {node}", node.pos)
            root.nodes.append(node)
        return root

    def item_list(self, opener: Token) -> tuple[ListNode, KeywordNode]:
        lst = ListNode(self.peek_non_space()[1])
        while self.peek_non_space()[0] != EOF:
            node = self.text_or_action()
            if isinstance(node, KeywordNode) and node.kind in (END, ELSE):
                return lst, node
            lst.nodes.append(node)
        raise self.error(f"unexpected EOF: missing {{{{end}}}} for {{{{{opener[2]}}}}}", opener[1])

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok[0] == TEXT:
            return TextNode(tok[1], tok[2])
        if tok[0] == LDELIM:
            return self.action()
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        kind = tok[0]
        if kind in (BREAK, CONTINUE):
            close = self.next_non_space()
            if close[0] != RDELIM:
                raise self.unexpected(close, "{{" + tok[2] + "}}")
            if not self.range_depth:
                raise self.error("{{" + tok[2] + "}} outside {{range}}", tok[1])
            return KeywordNode(tok[1], kind)
        if kind == ELSE:
            nxt = self.peek_non_space()
            if nxt[0] not in (IF, WITH):
                self.expect(RDELIM, "else")
            return KeywordNode(tok[1], ELSE)
        if kind == END:
            self.expect(RDELIM, "end")
            return KeywordNode(tok[1], END)
        if kind in (IF, RANGE, WITH):
            return self.control(tok)
        if kind in (BLOCK, DEFINE, TEMPLATE):
            raise self.error(
                f"{{{{{tok[2]}}}}} is not supported (ecspresso templates are single files)", tok[1]
            )
        self.backup()
        return ActionNode(tok[1], self.pipeline("command", RDELIM))

    def expect(self, kind: int, context: str) -> Token:
        tok = self.next_non_space()
        if tok[0] != kind:
            raise self.unexpected(tok, context)
        return tok

    def control(self, tok: Token) -> BranchNode:
        # one depth for control structures and parentheses: together they bound the executor's recursion
        if self.depth >= _MAX_DEPTH:
            raise self.error(f"nesting deeper than {_MAX_DEPTH} levels", tok[1])
        self.depth += 1
        try:
            return self._control(tok)
        finally:
            self.depth -= 1

    def _control(self, tok: Token) -> BranchNode:
        context = tok[2]
        mark = len(self.vars)
        pipe = self.pipeline(context, RDELIM)
        self.range_depth += context == "range"
        body, nxt = self.item_list(tok)
        self.range_depth -= context == "range"
        else_body = None
        if nxt.kind == ELSE:
            follow = self.peek_non_space()
            if context in ("if", "with") and follow[2] == context and follow[0] in (IF, WITH):
                self.next_non_space()
                else_body = ListNode(nxt.pos)
                else_body.nodes.append(self.control(follow))
            else:
                else_body, nxt = self.item_list(tok)
                if nxt.kind != END:
                    raise self.error(f"expected end; found {nxt}", nxt.pos)
        del self.vars[mark:]
        return BranchNode(tok[1], tok[0], pipe, body, else_body)

    def pipeline(self, context: str, end: int) -> PipeNode:
        pipe = PipeNode(self.peek_non_space()[1])
        while self.peek_non_space()[0] == VARIABLE:  # declarations?
            var = self.next_non_space()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt[0] in (ASSIGN, DECLARE):
                pipe.is_assign = nxt[0] == ASSIGN
                self.next_non_space()
                pipe.decl.append(var[2])
                self.vars.append(var[2])
                break
            if nxt[0] == CHAR and nxt[2] == ",":
                self.next_non_space()
                pipe.decl.append(var[2])
                self.vars.append(var[2])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in (VARIABLE, RDELIM, RPAREN):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.backup(2 if after[0] == SPACE else 1)
            break
        while True:
            tok = self.next_non_space()
            if tok[0] == end:
                if not pipe.cmds:
                    raise self.error(f"missing value for {context}")
                for i, cmd in enumerate(pipe.cmds[1:]):
                    if isinstance(cmd.args[0], ValueNode):
                        raise self.error(f"non executable command in pipeline stage {i + 2}", cmd.pos)
                return pipe
            if tok[0] not in _OPERAND_START:
                raise self.unexpected(tok, context)
            self.backup()
            pipe.cmds.append(self.command())

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space()[1])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok[0] == SPACE:
                continue
            if tok[0] in (RDELIM, RPAREN):
                self.backup()
            elif tok[0] != PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek()[0] != FIELD:
            return node
        fields = []
        while self.peek()[0] == FIELD:
            fields.append(self.next()[2][1:])
        if isinstance(node, FieldNode):
            return FieldNode(node.pos, node.kind, node.idents + fields)
        if isinstance(node, ValueNode):
            raise self.error(f"unexpected . after term {go_quote(str(node))}")
        return ChainNode(node.pos, node, fields)

    def term(self) -> Node | None:
        tok = self.next_non_space()
        kind, pos, val = tok
        if kind == IDENT:
            if val not in self.funcs:
                raise self.error(f"function {go_quote(val)} not defined", pos)
            return IdentNode(pos, val)
        if kind == DOT:
            return ValueNode(pos, DOT, None, ".")
        if kind == NIL:
            return ValueNode(pos, NIL, None, "nil")
        if kind == VARIABLE:
            if val not in self.vars:
                raise self.error(f"undefined variable {go_quote(val)}", pos)
            return FieldNode(pos, VARIABLE, [val])
        if kind == FIELD:
            return FieldNode(pos, FIELD, [val[1:]])
        if kind == BOOL:
            return ValueNode(pos, BOOL, val == "true", val)
        if kind in (CHARCONST, COMPLEX, NUMBER):
            try:
                return ValueNode(pos, NUMBER, parse_number(kind, val), val)
            except ValueError as exc:
                raise self.error(str(exc), pos) from None
        if kind == LPAREN:
            if self.depth >= _MAX_DEPTH:
                raise self.error("max expression depth exceeded", pos)
            self.depth += 1
            try:
                return self.pipeline("parenthesized pipeline", RPAREN)
            finally:
                self.depth -= 1
        if kind in (STRING, RAWSTRING):
            try:
                return ValueNode(pos, STRING, unquote(val), val)
            except ValueError:
                raise self.error(f"invalid syntax in string literal {val}", pos) from None
        self.backup()
        return None


def parse(text: str, funcs: Collection[str]) -> ListNode:
    """Parse ``text``; ``funcs`` are the function names that may be called."""
    return Parser(text, funcs).parse()
