"""Text diffs of definitions, as ``ecspresso diff`` prints them (``diff.go``).

Both sides are normalised by :mod:`ecspresso.normalize`, serialised with
:func:`~ecspresso.normalize.to_api_json` and compared line by line. Pure: strings in, string out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from ecspresso import normalize

RED = "\x1b[31m"
GREEN = "\x1b[32m"
RESET = "\x1b[0m"
_NO_EOL = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _emit(prefix: str, line: str) -> str:
    if line.endswith("\n"):
        return prefix + line
    return prefix + line + "\n" + _NO_EOL


def _range(start: int, count: int) -> str:
    # GNU diff / gotextdiff convention: "-l" for one line, "-l,n" otherwise, "-(l-1),0" if empty.
    if count == 1:
        return str(start + 1)
    if count == 0:
        return f"{start},0"
    return f"{start + 1},{count}"


def _hunks(a: list[str], b: list[str], context: int) -> Iterator[str]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        yield f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n"
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                for line in a[a1:a2]:
                    yield _emit(" ", line)
                continue
            for line in a[a1:a2]:
                yield _emit("-", line)
            for line in b[b1:b2]:
                yield _emit("+", line)


def colorize(diff: str) -> str:
    """ANSI colours as ecspresso's ``coloredDiff``: ``-`` lines red, ``+`` lines green."""
    out: list[str] = []
    for line in diff.splitlines(keepends=True):
        body = line.rstrip("\n")
        eol = line[len(body) :]
        if body.startswith("-"):
            out.append(f"{RED}{body}{RESET}{eol}")
        elif body.startswith("+"):
            out.append(f"{GREEN}{body}{RESET}{eol}")
        else:
            out.append(line)
    return "".join(out)


def unified_diff(remote: str, local: str, *, remote_name: str, local_name: str, color: bool = False) -> str:
    """Unified diff (3 lines of context) from ``remote`` to ``local``; ``""`` when equal.

    Header ``--- <remote_name>`` / ``+++ <local_name>``; ``color`` adds ANSI red/green.
    """
    if remote == local:
        return ""
    body = "".join(_hunks(_lines(remote), _lines(local), 3))
    text = f"--- {remote_name}\n+++ {local_name}\n{body}"
    return colorize(text) if color else text


def line_diff(remote: str, local: str) -> str:
    """The ``--no-unified`` body: every line prefixed with ``-``, ``+`` or a space; ``""`` when equal."""
    if remote == local:
        return ""
    a, b = remote.splitlines(), local.splitlines()
    out: list[str] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(" " + line for line in a[a1:a2])
            continue
        out.extend("-" + line for line in a[a1:a2])
        out.extend("+" + line for line in b[b1:b2])
    return "\n".join(out) + "\n"


def _render(remote: str, local: str, *, remote_name: str, local_name: str, unified: bool, color: bool) -> str:
    if remote == local:
        return ""
    if unified:
        return unified_diff(remote, local, remote_name=remote_name, local_name=local_name, color=color)
    text = f"--- {remote_name}\n+++ {local_name}\n{line_diff(remote, local)}"
    return colorize(text) if color else text


def diff_task_definitions(
    remote: dict[str, Any] | None,
    local: dict[str, Any],
    *,
    remote_name: str = "",
    local_name: str = "",
    unified: bool = True,
    color: bool = False,
) -> str:
    """Diff of a remote task definition (DescribeTaskDefinition output, bare or wrapped, or
    ``None`` when there is none) against a local one; ``""`` when they are equivalent."""
    remote_text = "" if remote is None else normalize.to_api_json(normalize.task_definition_for_diff(remote))
    local_text = normalize.to_api_json(normalize.task_definition_for_diff(local))
    return _render(
        remote_text, local_text, remote_name=remote_name, local_name=local_name, unified=unified, color=color
    )


def diff_services(
    remote: dict[str, Any] | None,
    local: dict[str, Any],
    *,
    remote_name: str = "",
    local_name: str = "",
    unified: bool = True,
    color: bool = False,
) -> str:
    """Diff of a remote service (DescribeServices element, or ``None`` when not found) against a
    local service definition; ``""`` when equivalent. The remote ``desiredCount`` is ignored when
    the local definition has none."""
    code_deploy = normalize.is_code_deploy(local) or (remote is not None and normalize.is_code_deploy(remote))
    local_text = normalize.to_api_json(normalize.service_definition_for_diff(local, code_deploy=code_deploy))
    remote_text = ""
    if remote is not None:
        remote_sv = normalize.service_definition_for_diff(remote, remote=True, code_deploy=code_deploy)
        remote_text = normalize.to_api_json(
            normalize.strip_unmanaged(remote_sv, normalize.normalize_keys(local))
        )
    return _render(
        remote_text, local_text, remote_name=remote_name, local_name=local_name, unified=unified, color=color
    )
