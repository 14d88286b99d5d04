"""Text diffs of definitions, as ``ecspresso diff`` prints them (``diff.go``).

Both sides are normalised by :mod:`ecspresso.normalize`, serialised with
:func:`~ecspresso.normalize.to_api_json` and compared line by line. Pure: strings in, string out,
but for secrets: :func:`diff_task_definitions` and :func:`diff_services` register the remote
side's counterparts of the local side's secrets as masks (:func:`mask_counterparts`) and return
the diff redacted, so a rotated secret's old value is hidden as well as the new one.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator
from typing import Any

from ecspresso import log, normalize

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


# --- secrets on the remote side ----------------------------------------------------------------

_ITEM_KEYS = ("name", "key")  # what names an item of a list: containers, environment, secrets, tags


def secret_counterparts(local: Any, remote: Any, secrets: Collection[str]) -> list[str]:
    """The values on the ``remote`` side that stand where the ``local`` side holds a secret.

    Walks both documents (lowerCamel keys) in step: mappings by key; lists of mappings that
    all have a ``name`` (containers, environment, secrets, ulimits) or a ``key`` (tags) by that,
    other lists by position. Where a local string contains one secret and the remote string
    has the same text around it, the remote's middle part is returned (the old value of a
    rotated secret); where it contains secrets otherwise, the whole remote string. Pure."""
    found: list[str] = []

    def walk(here: Any, there: Any) -> None:
        if isinstance(here, str):
            if isinstance(there, str) and there != here:
                value = _counterpart(here, there, secrets)
                if value:
                    found.append(value)
        elif isinstance(here, dict) and isinstance(there, dict):
            for key, value in here.items():
                if key in there:
                    walk(value, there[key])
        elif isinstance(here, list) and isinstance(there, list):
            for a, b in _pairs(here, there):
                walk(a, b)

    walk(local, remote)
    return list(dict.fromkeys(found))


def _pairs(here: list[Any], there: list[Any]) -> list[tuple[Any, Any]]:
    for key in _ITEM_KEYS:
        if here and all(isinstance(x, dict) and key in x for x in (*here, *there)):
            by_key = {str(x[key]): x for x in there}
            return [(x, by_key[str(x[key])]) for x in here if str(x[key]) in by_key]
    return list(zip(here, there, strict=False))


def _counterpart(here: str, there: str, secrets: Collection[str]) -> str:
    hits = [s for s in secrets if s and s in here]
    if not hits:
        return ""
    if len(hits) == 1:
        start = here.index(hits[0])
        before, after = here[:start], here[start + len(hits[0]) :]
        if there.startswith(before) and there.endswith(after) and len(there) > len(before) + len(after):
            return there[len(before) : len(there) - len(after)]
    return there


def mask_counterparts(local: Any, remote: Any) -> None:
    """Register as secrets (:func:`ecspresso.log.add_mask`: never printed, ``::add-mask::`` in
    the Action) the remote side's values that stand where the local side holds a secret."""
    if remote is None or not log.secrets():
        return
    pair = normalize.normalize_keys(local), normalize.normalize_keys(remote)
    for value in secret_counterparts(*pair, log.secrets()):
        log.add_mask(value)


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
    remote_td = None if remote is None else normalize.task_definition_for_diff(remote)
    local_td = normalize.task_definition_for_diff(local)
    mask_counterparts(local_td, remote_td)
    remote_text = "" if remote_td is None else normalize.to_api_json(remote_td)
    local_text = normalize.to_api_json(local_td)
    text = _render(remote_text, local_text, remote_name=remote_name, local_name=local_name, unified=unified,
                   color=color)  # fmt: skip
    return log.redact(text)


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
    local_sv = normalize.service_definition_for_diff(local, code_deploy=code_deploy)
    local_text = normalize.to_api_json(local_sv)
    remote_text = ""
    if remote is not None:
        remote_sv = normalize.service_definition_for_diff(remote, remote=True, code_deploy=code_deploy)
        remote_sv = normalize.strip_unmanaged(remote_sv, normalize.normalize_keys(local))
        mask_counterparts(local_sv, remote_sv)
        remote_text = normalize.to_api_json(remote_sv)
    text = _render(remote_text, local_text, remote_name=remote_name, local_name=local_name, unified=unified,
                   color=color)  # fmt: skip
    return log.redact(text)
