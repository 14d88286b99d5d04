"""The process that runs go-jsonnet for :mod:`ecspresso.render.jsonnet`.

go-jsonnet cannot be interrupted, and it ends the whole process (exit 134, hundreds of lines of Go
trace) when it runs out of memory or overflows its stack. So each evaluation runs here, in a child
process with an address-space and a CPU-time limit; the parent bounds the wall-clock time and
turns any way this process can end into one error line.

Protocol, one JSON document per line. The parent sends the request; this process answers with
``{"call": name, "args": [...]}`` for each native function call (the parent runs the function and
replies ``{"value": v}`` or ``{"error": message}``) and ends with ``{"ok": json_text}`` or
``{"error": go_jsonnet_error_text}``. Imports are read here, through a callback that refuses
anything but regular files of bounded size (``importstr '/dev/zero'`` would never end).

Standard library and ``_gojsonnet`` only: this module starts once per evaluation.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from typing import Any, BinaryIO


def _set_limits(memory: int, cpu_seconds: int) -> None:
    import resource

    try:
        with open("/proc/self/status") as f:
            size = re.search(r"VmSize:\s+(\d+) kB", f.read())
        if size:  # Go reserves much address space at start; bound the growth beyond it
            limit = int(size.group(1)) * 1024 + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass  # no /proc (macOS): only the time limits apply
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def _go_quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class _Importer:
    """go-jsonnet's FileImporter (importing file's directory, then the library paths, last first),
    refusing what is not a regular file or is larger than ``limit`` bytes.

    The binding cannot report an import error: an exception raised here reaches Go as a message
    without its terminating NUL, and Go reads past its end (garbage, or a UnicodeDecodeError out
    of the binding). So a failed import is recorded in ``failures`` and answered with Jsonnet that
    raises the same message: ``import`` then fails where it is used, with its location, and the
    parent reports a recorded failure also when ``importstr``/``importbin`` took the text as data.
    """

    def __init__(self, jpath: list[str], limit: int) -> None:
        self.jpath, self.limit = jpath, limit
        self.failures: list[tuple[str, str]] = []  # (imported path as written, message)

    def read(self, path: str) -> bytes | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ImportError(f"read {path}: {exc.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise ImportError(f"read {path}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise ImportError(f"read {path}: not a regular file (refused)")
        if st.st_size > self.limit:
            raise ImportError(f"read {path}: larger than {self.limit} bytes (refused)")
        try:
            with open(path, "rb") as f:
                data = f.read(self.limit + 1)
        except OSError as exc:
            raise ImportError(f"read {path}: {exc.strerror}") from None
        if len(data) > self.limit:
            raise ImportError(f"read {path}: larger than {self.limit} bytes (refused)")
        return data

    def __call__(self, base: str, rel: str) -> tuple[str, bytes]:
        if os.path.isabs(rel):
            candidates = [rel]
        else:
            candidates = [os.path.join(base, rel), *(os.path.join(d, rel) for d in reversed(self.jpath))]
        try:
            for candidate in candidates:
                path = os.path.normpath(candidate)
                data = self.read(path)
                if data is not None:
                    return path, data
            raise ImportError(
                f"couldn't open import {_go_quote(rel)}: no match locally or in the Jsonnet library paths"
            )
        except Exception as exc:  # ImportError from here, or anything unexpected: never raise
            self.failures.append((rel, str(exc)))
            # a name in <>: the error's location is the import expression, not this stand-in
            return f"<import failed: {rel}>", f"error {_go_quote(str(exc))}".encode()


class _Channel:
    def __init__(self, out: BinaryIO, inp: BinaryIO) -> None:
        self.out, self.inp = out, inp

    def send(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message).encode("ascii") + b"\n")
        self.out.flush()

    def receive(self) -> dict[str, Any]:
        line = self.inp.readline()
        if not line:
            raise SystemExit(3)  # the parent went away
        message: dict[str, Any] = json.loads(line)
        return message


def _native(channel: _Channel, name: str) -> Any:
    def call(*args: Any) -> Any:
        channel.send({"call": name, "args": list(args)})
        reply = channel.receive()
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply.get("value")

    return call


def main() -> None:
    # the protocol gets its own descriptor; anything else writing to fd 1 lands on stderr
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    channel = _Channel(out, sys.stdin.buffer)
    request = channel.receive()
    import _gojsonnet

    # the Go runtime starts (and reserves much address space) in the background when loaded: wait
    # for it with a first evaluation, so the memory limit counts from what it has reserved
    _gojsonnet.evaluate_snippet("<start>", "null")
    _set_limits(int(request["memory_limit"]), int(request["cpu_limit"]))

    importer = _Importer(request["jpath"], int(request["import_limit"]))
    callbacks = {name: (tuple(params), _native(channel, name)) for name, params in request["natives"].items()}
    try:
        text = _gojsonnet.evaluate_snippet(
            request["name"],
            request["text"],
            ext_vars=request["ext_vars"],
            ext_codes=request["ext_codes"],
            native_callbacks=callbacks,
            import_callback=importer,
            max_stack=int(request["max_stack"]),
        )
    except RuntimeError as exc:
        channel.send({"error": str(exc), "import_failures": importer.failures})
        return
    if importer.failures:
        channel.send({"error": "", "import_failures": importer.failures})
        return
    if len(text) > int(request["output_limit"]):
        channel.send({"too_large": len(text)})
        return
    channel.send({"ok": text})


if __name__ == "__main__":
    main()
