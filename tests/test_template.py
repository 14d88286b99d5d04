"""Go text/template compatibility of ecspresso.render.template (expected values follow Go's semantics)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ecspresso.errors import AwsError, InputError, TemplateError
from ecspresso.render.template import default_funcs, has_actions, render


def _funcs(**extra: Any) -> dict[str, Any]:
    """The default funcs plus helpers that produce lists/maps (Go templates have no literals for them)."""
    return {
        **default_funcs(),
        "list": lambda *a: list(a),
        "dict": lambda *a: dict(zip(a[::2], a[1::2], strict=True)),
        "nothing": lambda: None,
        "adder": lambda: lambda a, b: a + b,
        **extra,
    }


def _render(text: str, **extra: Any) -> str:
    return render(text, _funcs(**extra), source="t.tmpl")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAG", "v1.2.3")
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.setenv("HOST", "db.example.com")
    for name in ("UNSET", "UNSET2", "DB_HOST"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------------------- rendering

RENDER_CASES = [
    # text only, and plain actions
    ("plain text", "plain text"),
    ("", ""),
    ('{"a": 1}\n', '{"a": 1}\n'),
    ("{{ `raw` }}", "raw"),
    ("a{{ 1 }}b", "a1b"),
    ("{{ . }}", "<no value>"),
    ("{{ $ }}", "<no value>"),
    ("{{ .Foo }}|{{ .Foo.Bar }}", "<no value>|<no value>"),
    # trim markers (all adjacent whitespace, newlines included) and comments
    ("a  {{- 1 -}}  b", "a1b"),
    ("x \r\n\t{{- 3 }}", "x3"),
    ("{{ 3 -}}\n\n\ty", "3y"),
    ("x\n{{-  3   -}}\ny", "x3y"),
    ("{{-3}}", "-3"),
    ("a {{3}} b", "a 3 b"),
    ("a\n{{- if true }}\n  x\n{{- end }}\nb", "a\n  x\nb"),
    ("a{{/* comment */}}b", "ab"),
    ("x \r\n\t{{- /* hi */}}", "x"),
    ("{{/* hi */ -}}\n\n\ty", "y"),
    ("x \r\n\t{{- /* */ -}}\n\n\ty", "xy"),
    ("{{/*\nmulti\nline\n*/}}z", "z"),
    # literals
    (r'{{ "a\"b\\c\tz" }}', 'a"b\\c\tz'),
    (r'{{ "\u00e9\x41\101\U0001F600" }}', "éAA\U0001f600"),
    (r'{{ "\xc3\xa9" }}', "é"),
    ('{{ `a\\n"b` }}', 'a\\n"b'),
    ("{{ `line1\r\nline2` }}", "line1\nline2"),
    (
        "{{ 42 }} {{ -7 }} {{ +3 }} {{ 0x1F }} {{ 010 }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }}",
        "42 -7 3 31 8 15 5 1000",
    ),
    (
        "{{ 1.5 }} {{ 1.0 }} {{ 1e3 }} {{ 1e6 }} {{ 1.5e-7 }} {{ .25 }} {{ 123456.0 }}",
        "1.5 1 1000 1e+06 1.5e-07 0.25 123456",
    ),
    ("{{ 'a' }} {{ '\\n' }} {{ 'é' }}", "97 10 233"),
    ("{{ true }} {{ false }}", "true false"),
    ("{{ print nil }}", "<nil>"),
    # function calls, pipelines, parentheses
    ('{{ printf "%s-%s" (env "UNSET" "x") "y" }}', "x-y"),
    ('{{ "a\\"b" | json_escape }}', 'a\\"b'),
    ('{{ "b" | printf "%s-%s" "a" }}', "a-b"),
    ('{{ "x" | printf "%s" | printf "[%s]" }}', "[x]"),
    ('{{ (printf "%d" 1) }}{{ ((print "z")) }}', "1z"),
    ('{{ printf "%s" (printf "%s" (env "UNSET" "deep")) }}', "deep"),
    ('{{ "a" | }}', "a"),
    ("{{ env\n  `TAG`\n}}", "v1.2.3"),
    # variables
    ('{{ $x := env "UNSET" "d" }}{{ $x }}', "d"),
    ('{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', "b"),
    ('{{ $x := "out" }}{{ if true }}{{ $x := "in" }}{{ $x }}{{ end }}{{ $x }}', "inout"),
    ('{{ $x := "out" }}{{ if true }}{{ $x = "in" }}{{ end }}{{ $x }}', "in"),
    ('{{ with $v := "w" }}{{ $v }}{{ . }}{{ end }}', "ww"),
    ('{{ $m := dict "k" "v" }}{{ $m.k }}', "v"),
    # if / else if / else, Go truthiness
    ("{{ if true }}T{{ else }}F{{ end }}", "T"),
    ('{{ if "" }}T{{ else }}F{{ end }}', "F"),
    ("{{ if 0 }}T{{ else if 0.0 }}U{{ else }}F{{ end }}", "F"),
    ("{{ if list }}T{{ else }}F{{ end }}{{ if list 0 }}T{{ else }}F{{ end }}", "FT"),
    ("{{ if dict }}T{{ else }}F{{ end }}{{ if nothing }}T{{ else }}F{{ end }}", "FF"),
    ("{{ if eq 1 2 }}a{{ else if eq 2 2 }}b{{ else }}c{{ end }}", "b"),
    ("{{ if . }}a{{ end }}", ""),
    ('{{ if env "EMPTY" }}set{{ else }}empty{{ end }}', "set"),
    ('{{ if env "EMPTY" "" }}set{{ else }}empty{{ end }}', "empty"),
    # with
    ('{{ with "x" }}[{{ . }}]{{ end }}', "[x]"),
    ('{{ with "" }}[{{ . }}]{{ else }}none{{ end }}', "none"),
    ('{{ with "" }}a{{ else with "w" }}{{ . }}{{ end }}', "w"),
    # range
    ('{{ range list "a" "b" "c" }}{{ . }},{{ end }}', "a,b,c,"),
    ('{{ range $i, $v := list "a" "b" }}{{ $i }}={{ $v }} {{ end }}', "0=a 1=b "),
    ('{{ range $v := list "a" "b" }}{{ $v }}{{ end }}', "ab"),
    ('{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}:{{ $v }} {{ end }}', "a:1 b:2 "),
    ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
    ("{{ range nothing }}x{{ else }}nil{{ end }}", "nil"),
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    ("{{ range list 1 2 3 4 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", "12"),
    ("{{ range list 1 2 3 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "13"),
    ("{{ range $i, $x := list 5 6 }}{{ range list 7 }}{{ $i }}{{ $x }}{{ . }}{{ end }}{{ end }}", "057167"),
    ('{{ $i := "keep" }}{{ range $i = list 1 2 }}{{ end }}{{ $i }}', "2"),
    # builtins
    ('{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" }} {{ or 0 3 }} {{ not 0 }} {{ not 1 }}', "0 2  3 true false"),
    ("{{ and 0 (index nothing 1) }}", "0"),  # short-circuit: the failing index is never evaluated
    ("{{ or 1 (index nothing 1) }}", "1"),
    (
        '{{ eq 1 1 }} {{ eq "a" "b" }} {{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ eq .Foo "x" }}',
        "true false true true false",
    ),
    ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2.5 }} {{ ge "b" "a" }}', "true true false true"),
    ('{{ len "abc" }} {{ len "é" }} {{ len (list 1 2) }} {{ len (dict "a" 1) }}', "3 2 2 1"),
    (
        '{{ index "abc" 1 }} {{ index (list "x" "y") 1 }} {{ index (dict "k" "v") "k" }} {{ index (dict) "no" }}',
        "98 y v <no value>",
    ),
    ("{{ index (list (list 1 2) (list 3 4)) 1 0 }}", "3"),
    ('{{ slice "abcdef" 1 3 }} {{ slice "abc" 1 }} {{ slice (list 1 2 3) 1 }}', "bc bc [2 3]"),
    ('{{ print "a" "b" 1 2 "c" }}|{{ println "a" 1 }}|', "ab1 2c|a 1\n|"),
    ("{{ html `<a href='x'>&\"` }}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
    ("{{ js `a'b\"<>&=\\` }}", "a\\'b\\\"\\u003C\\u003E\\u0026\\u003D\\\\"),
    ('{{ urlquery "a b&c/d~e" }}', "a+b%26c%2Fd~e"),
    ("{{ call (adder) 1 2 }}", "3"),
    # printf verbs
    ('{{ printf "%s|%d|%v|%q|%t|%%" "s" 42 "v" "q" true }}', 's|42|v|"q"|true|%'),
    (
        '{{ printf "%5.2f|%f|%x|%X|%o|%c|%03d|%-4s|" 3.14159 1.5 255 255 8 65 7 "ab" }}',
        " 3.14|1.500000|ff|FF|10|A|007|ab  |",
    ),
    ('{{ printf "%v %v %v" (list "a" "b") (dict "b" 2 "a" true) 1e21 }}', "[a b] map[a:true b:2] 1e+21"),
    ('{{ printf "%d %s" "x" 5 }}', "%!d(string=x) %!s(int=5)"),
    ('{{ printf "%s %s" "only" }}', "only %!s(MISSING)"),
    ('{{ printf "%s" "a" "extra" }}', "a%!(EXTRA string=extra)"),
    ('{{ printf "%q" "tab\\there" }}', '"tab\\there"'),
    # widths and precisions: fmt refuses numbers past a million (so one verb cannot make gigabytes)
    ('{{ printf "%999999999d" 1 }}', "%!(NOVERB)%!(EXTRA int=1)"),
    ('{{ printf "%.999999999f|%s" 1.5 "x" }}', "%!(NOVERB)%!(EXTRA float64=1.5, string=x)"),
    ('{{ printf "%*d|" 1000001 7 }}', "%!(BADWIDTH)7|"),
    ('{{ printf "%*d|" "x" 7 }}', "%!(BADWIDTH)7|"),
    ('{{ printf "%-*d|" -3 7 }}', "7  |"),
    ('{{ printf "%.*d|%.*f" -1 7 2 3.14159 }}', "%!(BADPREC)7|3.14"),
    ('{{ printf "%5." 7 }}', "%!.(int=7)"),
    ('{{ len (printf "%1000000d" 7) }}', "1000000"),
    # value printing like fmt %v
    ('{{ list "a" 1 true 1.5 }}', "[a 1 true 1.5]"),
    ('{{ dict "z" 1 "a" (list 2) }}', "map[a:[2] z:1]"),
    ("{{ list nil }}", "[<nil>]"),
    ("{{ nothing }}", "<no value>"),
]


@pytest.mark.parametrize(("text", "expected"), RENDER_CASES)
def test_render(text: str, expected: str) -> None:
    assert _render(text) == expected


# ------------------------------------------------------------------------------ go-config functions

ENV_CASES = [
    ('{{ env "TAG" }}', "v1.2.3"),
    ('{{ env "UNSET" }}', "UNSET"),  # go-config: the last key doubles as the default
    ('{{ env "EMPTY" }}', "EMPTY"),
    ('{{ env "UNSET" "default" }}', "default"),
    ('{{ env "TAG" "default" }}', "v1.2.3"),
    ('{{ env "UNSET" "UNSET2" "TAG" }}', "v1.2.3"),  # the last argument is looked up too
    ('{{ env "UNSET" "HOST" "fallback" }}', "db.example.com"),
    ('{{ env "UNSET" "EMPTY" "fallback" }}', "fallback"),
    ('{{ env "UNSET" "" }}', ""),
    ("{{ env }}", ""),
    ('{{ must_env "TAG" }}', "v1.2.3"),
    ('[{{ must_env "EMPTY" }}]', "[]"),  # set but empty is fine
    ('{{ "plain" | json_escape }}', "plain"),
    (r'{{ "q\"b\\s/\n\r\t\b\f\x01\x1f" | json_escape }}', r"q\"b\\s/\n\r\t\b\f\u0001\u001f"),
    ('{{ "<a>&</a>" | json_escape }}', r"\u003ca\u003e\u0026\u003c/a\u003e"),
    (r'{{ "\u2028\u2029é\x7f" | json_escape }}', "\\u2028\\u2029é\x7f"),
]


@pytest.mark.parametrize(("text", "expected"), ENV_CASES)
def test_go_config_funcs(text: str, expected: str) -> None:
    assert render(text, default_funcs(), source="t") == expected


def test_env_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    funcs = default_funcs()
    monkeypatch.setenv("LATER", "one")
    assert render('{{ env "LATER" }}', funcs, source="t") == "one"
    monkeypatch.setenv("LATER", "two")
    assert render('{{ env "LATER" }}', funcs, source="t") == "two"


@pytest.mark.parametrize(
    "value", ['{"foo":"b\\nar"}', 'say "hi" <b>&amp;</b>', "tab\there\u2028", "é ✓ \x01\x1b"]
)
def test_json_escape_round_trips_through_json(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSON", value)
    text = render('{"json": "{{ env `JSON` | json_escape }}"}', default_funcs(), source="t")
    assert json.loads(text) == {"json": value}


TASK_DEF = """{
  "family": "katsubushi",
  "containerDefinitions": [
    {
      "name": "katsubushi",
      "image": "katsubushi/katsubushi:{{ env `TAG` `latest` }}",
      "environment": [{"name": "DB_HOST", "value": "{{ must_env `HOST` }}"}],
      "essential": true
    }
  ]
}
"""


@pytest.mark.parametrize(
    ("tag", "image"), [("v1.2.3", "katsubushi/katsubushi:v1.2.3"), (None, "katsubushi/katsubushi:latest")]
)
def test_task_definition_snippet(tag: str | None, image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if tag is None:
        monkeypatch.delenv("TAG")
    out = render(TASK_DEF, default_funcs(), source="ecs-task-def.json")
    doc = json.loads(out)
    assert doc["containerDefinitions"][0]["image"] == image
    assert doc["containerDefinitions"][0]["environment"][0]["value"] == "db.example.com"
    assert out.count("\n") == TASK_DEF.count("\n")


# ------------------------------------------------------------------------------ plugin functions


def test_plugin_functions_and_results() -> None:
    calls: list[tuple[Any, ...]] = []

    def tfstate(addr: str) -> str:
        calls.append((addr,))
        return "sg-123"

    def external(*args: str) -> dict[str, Any]:
        return {"port": 8080, "names": ["a", "b"]}

    out = _render(
        "{{ tfstate `aws_security_group.default.id` }} {{ (ext).port }} {{ index (ext).names 1 }}",
        tfstate=tfstate,
        ext=external,
    )
    assert out == "sg-123 8080 b"
    assert calls == [("aws_security_group.default.id",)]


def test_user_funcs_override_builtins_and_builtins_always_available() -> None:
    assert (
        render('{{ len "abc" }} {{ printf "%03d" 7 }}', {"len": lambda s: "custom"}, source="t")
        == "custom 007"
    )


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (KeyError("no such resource"), "'no such resource'"),
        (RuntimeError("ssm: parameter /x not found"), "ssm: parameter /x not found"),
        (ValueError(), "ValueError"),
        (InputError("bad address", source="other.json", line=3), "bad address"),
        (AwsError("AccessDenied: not allowed"), "AccessDenied: not allowed"),
    ],
)
def test_plugin_errors_keep_their_message(exc: Exception, message: str) -> None:
    def boom(*_: Any) -> str:
        raise exc

    with pytest.raises(TemplateError) as info:
        _render('line1\n{"x": "{{ boom `a` }}"}', boom=boom)
    assert str(info.value) == f"t.tmpl:2: {message}"
    assert info.value.source == "t.tmpl"
    assert info.value.line == 2
    assert info.value.detail == message
    assert info.value.__cause__ is exc


def test_has_actions() -> None:
    assert has_actions('{"a": "{{ env `X` }}"}')
    assert has_actions("{{/* c */}}")
    assert not has_actions('{"a": "{ b }", "c": "}}"}')


# ---------------------------------------------------------------------------------------- errors

ERROR_CASES = [
    ('{\n  "a": 1,\n  "b": "{{ must_envx "X" }}"\n}', 3, 'function "must_envx" not defined'),
    (
        "{{ if false }}\n{{ nope }}\n{{ end }}",
        2,
        'function "nope" not defined',
    ),  # parse time, branch not taken
    ('a\nb\n{{ must_env "DB_HOST" }}', 3, "environment variable DB_HOST is not defined"),
    ("a\nb\nc\nd\n{{ env `A`", 5, "unclosed action"),
    ('x\n{{ env "A" }\n', 2, 'unexpected "}" in operand'),
    ("{{ if true }}\nx\n{{ end }}\n{{ end }}", 4, "unexpected {{end}}"),
    ("{{ else }}", 1, "unexpected {{else}}"),
    ("a\n{{ range list }}\nx\n", 2, "unexpected EOF: missing {{end}} for {{range}}"),
    ("{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}", 1, "expected end; found {{else}}"),
    ("\n{{ $x }}", 2, 'undefined variable "$x"'),
    ("{{ with $x := 1 }}{{ end }}{{ $x }}", 1, 'undefined variable "$x"'),
    ("{{ $x = 1 }}", 1, "undefined variable: $x"),
    ("{{ }}", 1, "missing value for command"),
    ("{{ if }}x{{ end }}", 1, "missing value for if"),
    ('{{ "abc }}', 1, "unterminated quoted string"),
    ("{{ `abc }}", 1, "unterminated raw quoted string"),
    ('{{ printf "%d" 3, 4 }}', 1, 'unexpected "," in operand'),
    ("{{/* abc }}", 1, "unclosed comment"),
    ("{{/* abc */ }}", 1, "comment ends before closing delimiter"),
    ("{{ break }}", 1, "{{break}} outside {{range}}"),
    ("{{ range list }}{{ else }}{{ continue }}{{ end }}", 1, "{{continue}} outside {{range}}"),
    ('{{ printf "%s" (env "A" }}', 1, "unclosed left paren"),
    ("{{ 1) }}", 1, "unexpected right paren"),
    ("{{ . | 12 }}", 1, "non executable command in pipeline stage 2"),
    ('{{ "a" "b" }}', 1, 'can\'t give argument to non-function "a"'),
    ("{{ nil }}", 1, "nil is not a command"),
    ("{{ 3-}}", 1, 'bad number syntax: "3-"'),
    ("{{ 1x }}", 1, 'bad number syntax: "1x"'),
    ("{{ $x:=1 }}{{ $x+2 }}", 1, "bad character U+002B '+'"),
    ("{{ \x01 }}", 1, "unrecognized character in action: U+0001"),
    (r'{{ "\q" }}', 1, r'invalid syntax in string literal "\q"'),
    ('{{ "x".y }}', 1, 'unexpected . after term "\\"x\\""'),
    ("{{ template `x` }}", 1, "{{template}} is not supported (ecspresso templates are single files)"),
    ("\n\n{{ index (list 1) 5 }}", 3, "error calling index: index out of range: 5"),
    ('{{ eq 1 "a" }}', 1, "error calling eq: incompatible types for comparison: int and string"),
    ("{{ lt true false }}", 1, "error calling lt: invalid type for comparison"),
    ("{{ len 3 }}", 1, "error calling len: len of type int"),
    ("{{ must_env }}", 1, "wrong number of args for must_env: want 1 got 0"),
    ('{{ "a" | must_env "B" }}', 1, "wrong number of args for must_env: want 1 got 2"),
    ("{{ and }}", 1, "wrong number of args for and: want at least 1 got 0"),
    ("{{ env 1 }}", 1, "wrong type for value in call to env; expected string; got int"),
    ("{{ json_escape . }}", 1, "invalid value for json_escape; expected string"),
    ("{{ range 1.5 }}{{ end }}", 1, "range can't iterate over 1.5"),
    ('{{ range "abc" }}{{ end }}', 1, "range can't iterate over abc"),
    ("{{ $x := 1 }}\n{{ $x.Foo }}", 2, "can't evaluate field Foo in type int"),
    ("{{ 9223372036854775808 }}", 1, "9223372036854775808 overflows int"),
    ("{{ 99999999999999999999 }}", 1, 'integer overflow: "99999999999999999999"'),
]


@pytest.mark.parametrize(("text", "line", "message"), ERROR_CASES)
def test_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text, _funcs(), source="ecs-task-def.json")
    err = info.value
    assert (err.line, err.detail) == (line, message)
    assert str(err) == f"ecs-task-def.json:{line}: {message}"


def test_error_in_later_action_reports_its_line() -> None:
    text = '{\n  "a": "{{ env `TAG` }}",\n  "b": "{{ must_env `UNSET` }}"\n}\n'
    with pytest.raises(
        TemplateError, match=r"^ecs-task-def\.json:3: environment variable UNSET is not defined$"
    ):
        render(text, default_funcs(), source="ecs-task-def.json")


# ----------------------------------------------------------------------------------- performance


def test_large_file_without_actions_is_fast() -> None:
    text = ('{"name": "app", "image": "nginx:latest", "essential": true},\n' * 1000)[:50_000]
    start = time.perf_counter()
    assert render(text, default_funcs(), source="t") is text
    assert render(text + "{{ `x` }}", default_funcs(), source="t") == text + "x"
    assert time.perf_counter() - start < 0.05


def test_many_actions_render_quickly() -> None:
    text = '"image": "repo:{{ env `TAG` `latest` }}", "x": "{{ must_env `HOST` | json_escape }}",\n' * 200
    start = time.perf_counter()
    out = render(text, default_funcs(), source="t")
    assert out.count("repo:v1.2.3") == 200
    assert time.perf_counter() - start < 0.4  # 400 actions; a few ms each would still pass


# -------------------------------------------------------------------------------------- bounds


def test_range_over_a_huge_integer_stops_at_the_step_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecspresso.render import limits

    assert _render("{{ range 3 }}x{{ end }}") == "xxx"
    monkeypatch.setattr(limits, "MAX_TEMPLATE_STEPS", 10_000)
    text = '{\n  "a": "{{ range 1000000000000 }}{{ end }}"\n}'
    with pytest.raises(TemplateError) as info:
        render(text, _funcs(), source="t.json")
    assert str(info.value) == "t.json:2: template execution takes more than 10,000 steps"


def test_output_and_function_results_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecspresso.render import limits

    monkeypatch.setattr(limits, "MAX_OUTPUT_BYTES", 10_000)
    monkeypatch.setattr(limits, "MAX_TEMPLATE_BYTES", 50_000)
    assert len(_render('{{ printf "%9000d" 1 }}')) == 9000
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: template output is larger than "):
        _render("{{ range 2000 }}xxxxxxxxxx{{ end }}")
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: printf returned more than "):
        _render('{{ $x := printf "%20000d" 1 }}')
    # a doubling string that is never printed still stops
    doubling = '{{ $x := "xxxxxxxxxx" }}{{ range 100 }}{{ $x = printf "%s%s" $x $x }}{{ end }}'
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: printf returned more than "):
        _render(doubling)
    # many moderate strings add up
    many = '{{ range 100 }}{{ $x := printf "%9000d" 1 }}{{ end }}'
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: template functions returned more than .* in all"):
        _render(many)


def test_nesting_is_bounded_for_control_structures_and_parentheses() -> None:
    ok = "{{ if true }}" * 100 + "x" + "{{ end }}" * 100
    assert _render(ok) == "x"
    with pytest.raises(TemplateError) as info:
        _render("a\n" + "{{ if true }}" * 101 + "x" + "{{ end }}" * 101)
    assert str(info.value) == "t.tmpl:2: nesting deeper than 100 levels"
    # parentheses inside control structures count against the same depth (Go's message for them)
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: max expression depth exceeded$"):
        _render("{{ if true }}" * 60 + "{{" + "(" * 60 + "1" + ")" * 60 + "}}" + "{{ end }}" * 60)
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: nesting deeper than 100 levels$"):
        _render("{{ if false }}" + "{{ else if false }}" * 200 + "{{ end }}")
    with pytest.raises(TemplateError, match=r"^t\.tmpl:1: nesting deeper than 100 levels$"):
        _render("{{ if true }}" * 5000 + "{{ end }}" * 5000)


def test_error_messages_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TemplateError) as info:
        _render("{{ must_env `A\nB` }}")
    assert str(info.value) == "t.tmpl:1: environment variable A B is not defined"
    with pytest.raises(TemplateError) as info:
        _render("{{ " + "9" * 5000 + " }}")
    assert len(str(info.value).splitlines()) == 1 and len(str(info.value)) < 600
