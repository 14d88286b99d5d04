"""ecspresso.render.jsonnet: go-jsonnet evaluation, natives, error messages, --ext-str parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecspresso.errors import AwsError, InputError, UsageError
from ecspresso.render.jsonnet import default_natives, evaluate_file, evaluate_snippet, parse_ext_vars


def test_evaluates_with_go_jsonnet_formatting(tmp_path: Path) -> None:
    src = tmp_path / "td.jsonnet"
    src.write_text("{ b: [1, 'x'], a: { c: null } }")
    # go-jsonnet's output: 3-space indent, sorted keys, trailing newline (as ecspresso renders it)
    assert (
        evaluate_file(src)
        == '{\n   "a": {\n      "c": null\n   },\n   "b": [\n      1,\n      "x"\n   ]\n}\n'
    )


def test_ext_str_and_ext_code() -> None:
    out = evaluate_snippet(
        "x.jsonnet", "{s: std.extVar('S'), c: std.extVar('C')}", ext_str={"S": "str"}, ext_code={"C": "1+1"}
    )
    assert json.loads(out) == {"s": "str", "c": 2}


def test_default_natives_env_and_must_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EJ_SET", "v")
    monkeypatch.setenv("EJ_EMPTY", "")
    monkeypatch.delenv("EJ_UNSET", raising=False)
    text = """
    local env = std.native('env');
    local must_env = std.native('must_env');
    { a: env('EJ_SET', 'd'), b: env('EJ_EMPTY', 42), c: env('EJ_UNSET', true), d: must_env('EJ_EMPTY'),
      e: env('EJ_UNSET', null) }
    """
    out = json.loads(evaluate_snippet("x.jsonnet", text, natives=default_natives()))
    assert out == {"a": "v", "b": 42, "c": True, "d": "", "e": None}


def test_must_env_error_keeps_message_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EJ_MISSING", raising=False)
    src = tmp_path / "td.jsonnet"
    src.write_text("local must_env = std.native('must_env');\n{\n  a: 1,\n  b: must_env('EJ_MISSING'),\n}\n")
    with pytest.raises(InputError) as info:
        evaluate_file(src, natives=default_natives())
    err = info.value
    assert str(err) == f"{src}:4: environment variable EJ_MISSING is not defined"
    assert (err.source, err.line) == (str(src), 4)
    assert isinstance(err.__cause__, InputError)  # the native's own exception


def test_native_exception_of_any_type_keeps_message() -> None:
    def boom(name: str) -> str:
        raise KeyError(f"no {name}")

    def aws(name: str) -> str:
        raise AwsError("AccessDenied: nope")

    natives = {"boom": (boom, ("name",)), "aws": (aws, ("name",))}
    with pytest.raises(InputError, match=r"^x\.jsonnet:1: no thing$"):
        evaluate_snippet("x.jsonnet", "std.native('boom')('thing')", natives=natives)
    with pytest.raises(InputError, match="AccessDenied: nope") as info:
        evaluate_snippet("x.jsonnet", "{a: std.native('aws')('x')}", natives=natives)
    assert info.value.title == AwsError.default_title


def test_native_with_object_argument_explains_binding_limit() -> None:
    with pytest.raises(InputError, match="array or object argument"):
        evaluate_snippet("x.jsonnet", "std.native('env')('X', {a: 1})", natives=default_natives())


def test_syntax_error_is_one_line_with_location(tmp_path: Path) -> None:
    src = tmp_path / "td.jsonnet"
    src.write_text("{\n  a: 1\n  b: 2,\n}\n")
    with pytest.raises(InputError) as info:
        evaluate_file(src)
    err = info.value
    assert err.line == 3 and err.source == str(src)
    assert "\n" not in str(err)
    assert "Expected a comma before next field" in str(err)
    assert "RUNTIME" not in str(err)
    assert isinstance(err.__cause__, RuntimeError)


def test_runtime_error_collapses_stack(tmp_path: Path) -> None:
    src = tmp_path / "td.jsonnet"
    src.write_text("{\n  a: [1, 2][5],\n}\n")
    with pytest.raises(InputError) as info:
        evaluate_file(src)
    assert str(info.value) == f"{src}:2: Index 5 out of bounds, not within [0, 2)"
    assert "During manifestation" in str(info.value.__cause__)


def test_multiline_error_message_and_range_location() -> None:
    with pytest.raises(InputError) as info:
        evaluate_snippet("x.jsonnet", '{a:\n  error "multi\nline"\n  + "x"}')
    assert str(info.value) == "x.jsonnet:2: multi linex"


def test_error_in_imported_file_points_at_it(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "bad.libsonnet").write_text("{\n  a: error 'inlib',\n}\n")
    main = tmp_path / "main.jsonnet"
    main.write_text("{ x: (import 'lib/bad.libsonnet').a }\n")
    with pytest.raises(InputError) as info:
        evaluate_file(main)
    assert info.value.source == str(tmp_path / "lib" / "bad.libsonnet")
    assert info.value.line == 2


def test_imports_relative_to_file_and_jpath(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "sub" / "near.libsonnet").write_text("{ near: true }")
    (tmp_path / "shared" / "far.libsonnet").write_text("{ far: true }")
    main = tmp_path / "sub" / "main.jsonnet"
    main.write_text("(import 'near.libsonnet') + (import 'far.libsonnet')")
    with pytest.raises(InputError, match="couldn't open import"):
        evaluate_file(main)
    assert json.loads(evaluate_file(main, jpath=[tmp_path / "shared"])) == {"near": True, "far": True}


def test_compat_libsonnet_import(compat_dir: Path) -> None:
    out = json.loads(
        evaluate_file(
            compat_dir / "td.jsonnet",
            ext_str={"WorkerID": "3"},
            ext_code={"EphemeralStorage": "20 + 5"},
            natives=default_natives(),
        )
    )
    assert out["ephemeralStorage"] == {"sizeInGiB": 25}
    assert out["containerDefinitions"][0]["environment"] == [{"name": "worker_id", "value": "3"}]


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"nope\.jsonnet: no such Jsonnet file"):
        evaluate_file(Path("nope.jsonnet"))


def test_ext_code_syntax_error() -> None:
    with pytest.raises(InputError, match="Unexpected end of file") as info:
        evaluate_snippet("x.jsonnet", "std.extVar('C')", ext_code={"C": "1 +"})
    assert info.value.source == "<extvar:C>"


def test_parse_ext_vars() -> None:
    assert parse_ext_vars(["a=1;b=x=y", "c=p\\;q;", "a=2"], flag="--ext-str") == {
        "a": "2",
        "b": "x=y",
        "c": "p;q",
    }
    assert parse_ext_vars([""], flag="--ext-str") == {}
    assert parse_ext_vars(["k="], flag="--ext-str") == {"k": ""}


@pytest.mark.parametrize("bad", ["a=1;oops", "=v"])
def test_parse_ext_vars_rejects_malformed(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ext_vars([bad], flag="--ext-code")
    assert "--ext-code" in str(info.value)
    assert bad.split(";")[-1] in str(info.value)


# --- bounds: go-jsonnet runs in a worker process with limits; nothing it does ends this process ----


def test_nesting_deeper_than_the_limit_is_refused_before_go_jsonnet_parses_it() -> None:
    from ecspresso.render import limits

    ok = "[" * limits.MAX_NESTING + "]" * limits.MAX_NESTING
    assert json.loads(evaluate_snippet("x.jsonnet", ok)) is not None
    deep = "{\n  a: 1,\n  b: " + "[" * 100_000 + "]" * 100_000 + ",\n}\n"
    with pytest.raises(InputError) as info:
        evaluate_snippet("x.jsonnet", deep)
    assert str(info.value) == "x.jsonnet:3: nesting deeper than 100 levels"
    # brackets inside strings, text blocks and comments do not count
    quoted = "// " + "[" * 300 + "\n{ a: '" + "[" * 300 + "', b: |||\n  " + "{" * 300 + "\n|||, c: 1 }"
    assert json.loads(evaluate_snippet("x.jsonnet", quoted))["c"] == 1


def test_go_stack_overflow_in_an_imported_file_is_one_error_not_an_abort(tmp_path: Path) -> None:
    # the import is not pre-scanned: go-jsonnet's parser overflows its goroutine stack in the worker
    (tmp_path / "deep.libsonnet").write_text("[" * 100_000 + "]" * 100_000)
    main = tmp_path / "main.jsonnet"
    main.write_text("{ a: import 'deep.libsonnet' }\n")
    with pytest.raises(InputError) as info:
        evaluate_file(main)
    assert (
        str(info.value) == f"{main}: Jsonnet evaluation overflowed its stack (nesting or recursion too deep)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{\n  a: importstr '/dev/zero',\n}", "x.jsonnet:2: read /dev/zero: not a regular file (refused)"),
        (
            "{\n  a: importbin '/dev/urandom',\n}",
            "x.jsonnet:2: read /dev/urandom: not a regular file (refused)",
        ),
        ("{\n  a: import '/dev/zero',\n}", "x.jsonnet:2: read /dev/zero: not a regular file (refused)"),
        ("{\n\n  a: import '/',\n}", "x.jsonnet:3: read /: is a directory"),
        (
            "{\n  a: importstr 'no-such-file-" + "x" * 40 + "',\n}",  # messages of any length come out intact
            "x.jsonnet:2: couldn't open import \"no-such-file-"
            + "x" * 40
            + '": no match locally or in the Jsonnet library paths',
        ),
    ],
)
def test_imports_of_devices_directories_and_missing_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        evaluate_snippet("x.jsonnet", text)
    assert str(info.value) == message


def test_imports_from_a_fifo_and_oversized_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from ecspresso.render import limits

    os.mkfifo(tmp_path / "fifo")  # opening it would block forever
    (tmp_path / "big.txt").write_text("x" * 2000)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^x\.jsonnet:1: read fifo: not a regular file \(refused\)$"):
        evaluate_snippet("x.jsonnet", "importstr 'fifo'")
    monkeypatch.setattr(limits, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(
        InputError, match=r"^x\.jsonnet:1: read big\.txt: larger than 1000 bytes \(refused\)$"
    ):
        evaluate_snippet("x.jsonnet", "importstr 'big.txt'")
    with pytest.raises(InputError, match=r"^x\.jsonnet: file is larger than "):
        (tmp_path / "x.jsonnet").write_text("'" + "x" * 2000 + "'")
        evaluate_file("x.jsonnet")


def test_memory_bomb_is_one_error_not_an_abort() -> None:
    with pytest.raises(InputError) as info:
        evaluate_snippet("x.jsonnet", "std.length(std.range(1, 1e9))")
    assert str(info.value) == "x.jsonnet: Jsonnet evaluation needs more than 1024 MiB of memory"


def test_evaluation_time_is_bounded_and_plugin_time_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from ecspresso.render import limits

    monkeypatch.setattr(limits, "JSONNET_TIME_LIMIT", 0.5)
    bomb = "local s(n) = if n == 0 then 'x' else s(n - 1) + s(n - 1); std.length(s(60))"
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^x\.jsonnet: Jsonnet evaluation took longer than 0\.5s$"):
        evaluate_snippet("x.jsonnet", bomb)
    assert time.monotonic() - started < 10

    def slow_lookup(name: str) -> str:  # a plugin call (an AWS look-up) is not evaluation time
        time.sleep(0.3)
        return name

    natives = {"slow": (slow_lookup, ("name",))}
    text = "[std.native('slow')('a'), std.native('slow')('b'), std.native('slow')('c')]"
    assert json.loads(evaluate_snippet("x.jsonnet", text, natives=natives)) == ["a", "b", "c"]


def test_time_limit_adds_up_waits_between_plugin_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecspresso.render import jsonnet, limits

    # each wait for the worker "takes" 0.1 s on this clock: the third wait exhausts 0.25 s
    ticks = iter(range(1000))
    monkeypatch.setattr(jsonnet._Worker, "clock", staticmethod(lambda: next(ticks) / 10))
    monkeypatch.setattr(limits, "JSONNET_TIME_LIMIT", 0.25)
    natives = {"id": (lambda x: x, ("x",))}
    assert json.loads(evaluate_snippet("x.jsonnet", "std.native('id')(1)", natives=natives)) == 1
    with pytest.raises(InputError, match=r"^x\.jsonnet: Jsonnet evaluation took longer than 0\.25s$"):
        evaluate_snippet("x.jsonnet", "[std.native('id')(i) for i in [1, 2, 3, 4]]", natives=natives)


def test_output_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecspresso.render import limits

    monkeypatch.setattr(limits, "MAX_OUTPUT_BYTES", 1000)
    assert evaluate_snippet("x.jsonnet", "std.repeat('x', 900)")
    with pytest.raises(InputError, match=r"^x\.jsonnet: Jsonnet output is larger than "):
        evaluate_snippet("x.jsonnet", "std.repeat('x', 1100)")


def test_errors_are_one_line_and_bounded() -> None:
    with pytest.raises(InputError) as info:
        evaluate_snippet("x.jsonnet", "error std.repeat('line\\n', 10000)")
    message = str(info.value)
    assert message.startswith("x.jsonnet:1: line line line")
    assert len(message.splitlines()) == 1 and len(message) < 600


def test_native_returning_what_json_cannot_hold() -> None:
    natives = {"weird": (lambda: {1, 2}, ())}
    with pytest.raises(InputError, match=r"^x\.jsonnet:1: Object of type set is not JSON serializable$"):
        evaluate_snippet("x.jsonnet", "std.native('weird')()", natives=natives)


def test_text_that_is_not_utf8() -> None:
    with pytest.raises(InputError, match=r"^--ext-str X: not valid UTF-8"):
        evaluate_snippet("x.jsonnet", "std.extVar('X')", ext_str={"X": "caf\udce9"})
    with pytest.raises(InputError, match=r"^x\.jsonnet:2: not valid UTF-8"):
        evaluate_snippet("x.jsonnet", "{\n a: 'caf\udce9' }")


def test_std_trace_output_still_reaches_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(evaluate_snippet("x.jsonnet", "std.trace('hello', 1)")) == 1
    assert "TRACE: x.jsonnet:1 hello" in capsys.readouterr().err
    with pytest.raises(InputError, match="the real failure"):
        evaluate_snippet("x.jsonnet", "if std.trace('before', true) then error 'the real failure' else 1")
    assert "TRACE: x.jsonnet:1 before" in capsys.readouterr().err
