"""A port of how the GitHub Actions runner reads what a step writes, for tests.

Ported from actions/runner (src/Runner.Common/ActionCommand.cs ``TryParseV2``/``TryParse``,
src/Runner.Worker/ActionCommandManager.cs ``TryProcessCommand`` and the add-mask and issue
extensions, src/Runner.Worker/FileCommandManager.cs ``EnvFileKeyValuePairs`` and
``CreateStepSummaryCommand``), Linux behaviour. Where C# semantics matter (``String.Split``
with ``RemoveEmptyEntries`` and a count, ``TrimStart``, ``StreamReader.ReadLine``) they are
emulated, not approximated by Python's.

Use:
    outputs = parse_env_file(Path(os.environ["GITHUB_OUTPUT"]).read_text())   # dict
    log = RunnerLog(); log.feed(stdout_text)       # then log.commands / log.annotations / log.lines
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "REGISTERED_COMMANDS",
    "SUMMARY_LIMIT",
    "Command",
    "EnvFileError",
    "RunnerLog",
    "check_summary",
    "env_file_pairs",
    "parse_command",
    "parse_env_file",
    "read_lines",
]

# ActionCommandManager registers "stop-commands" plus every IActionCommandExtension except
# internal-set-repo-path; the set is case-insensitive (StringComparer.OrdinalIgnoreCase).
REGISTERED_COMMANDS = frozenset(
    {
        "stop-commands",
        "set-env",
        "set-output",
        "save-state",
        "add-mask",
        "add-path",
        "add-matcher",
        "remove-matcher",
        "debug",
        "warning",
        "error",
        "notice",
        "group",
        "endgroup",
        "echo",
    }
)
ISSUE_COMMANDS = ("error", "warning", "notice")
SUMMARY_LIMIT = 1024 * 1024  # CreateStepSummaryCommand.AttachmentSizeLimit


# --- C# string helpers ---------------------------------------------------------------------


def _is_dotnet_space(ch: str) -> bool:
    # char.IsWhiteSpace: Unicode Zs/Zl/Zp, U+0009..U+000D, U+0085 (U+00A0 is Zs)
    return ch in "\t\n\x0b\x0c\r\x85" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _trim_start(s: str) -> str:
    i = 0
    while i < len(s) and _is_dotnet_space(s[i]):
        i += 1
    return s[i:]


def _trim(s: str) -> str:
    s = _trim_start(s)
    j = len(s)
    while j > 0 and _is_dotnet_space(s[j - 1]):
        j -= 1
    return s[:j]


def _split_remove_empty(s: str, sep: str, count: int | None = None) -> list[str]:
    """``s.Split(new[] { sep }, count, StringSplitOptions.RemoveEmptyEntries)`` (.NET Core):
    empty pieces are dropped, and once ``count - 1`` pieces are taken the rest of the string,
    after skipping separators that would only make empty pieces, is the last one."""
    if count is None:
        return [p for p in s.split(sep) if p]
    if count <= 0:
        return []
    seps = [m.start() for m in re.finditer(re.escape(sep), s)]
    out: list[str] = []
    cur = 0
    if count == 1:
        return [s] if s else []
    i = 0
    while i < len(seps):
        piece = s[cur : seps[i]]
        if piece:
            out.append(piece)
        cur = seps[i] + len(sep)
        if len(out) == count - 1:
            while i + 1 < len(seps) and seps[i + 1] == cur:
                i += 1
                cur = seps[i] + len(sep)
            break
        i += 1
    last = s[cur:]
    if last and len(out) < count:
        out.append(last)
    return out


def read_lines(text: str) -> list[str]:
    """``StreamReader.ReadLine`` over a process's output: lines end at CR, LF or CRLF."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --- workflow commands ---------------------------------------------------------------------

_DATA_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY_UNESCAPE = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _unescape(s: str, table: tuple[tuple[str, str], ...]) -> str:
    for escaped, plain in table:
        s = s.replace(escaped, plain)
    return s


@dataclass
class Command:
    name: str  # as written (matching is case-insensitive)
    properties: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    data: str = ""
    line: str = ""

    def prop(self, key: str) -> str | None:
        return self.properties.get(key.lower())


def parse_command(line: str, registered: frozenset[str] | set[str] = REGISTERED_COMMANDS) -> Command | None:
    """``TryParseV2`` then, failing that, the legacy ``TryParse`` (``##[name k=v;k=v]data``).
    ``registered`` holds lower-cased names."""
    return _parse_v2(line, registered) or _parse_legacy(line, registered)


def _parse_v2(message: str, registered: frozenset[str] | set[str]) -> Command | None:
    if not message:
        return None
    message = _trim_start(message)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    cmd = Command(name=name, line=message)
    if space > 0:
        for prop in _split_remove_empty(_trim(info[space + 1 :]), ","):
            pair = _split_remove_empty(prop, "=", 2)
            if len(pair) == 2:
                cmd.properties[pair[0].lower()] = _unescape(pair[1], _PROPERTY_UNESCAPE)
    cmd.data = _unescape(message[end + 2 :], _DATA_UNESCAPE)
    return cmd


def _parse_legacy(message: str, registered: frozenset[str] | set[str]) -> Command | None:
    if not message:
        return None
    start = message.find("##[")
    if start < 0:
        return None
    rb = message.find("]", start)
    if rb < 0:
        return None
    info = message[start + 3 : rb]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    cmd = Command(name=name, line=message)
    if space > 0:
        for prop in _split_remove_empty(info[space + 1 :], ";"):
            pair = _split_remove_empty(prop, "=", 2)
            if len(pair) == 2:
                cmd.properties[pair[0].lower()] = _unescape(pair[1], _LEGACY_UNESCAPE)
    cmd.data = _unescape(message[rb + 1 :], _LEGACY_UNESCAPE)
    return cmd


@dataclass
class Annotation:
    level: str
    message: str
    properties: dict[str, str]

    @property
    def title(self) -> str | None:
        return self.properties.get("title")

    @property
    def file(self) -> str | None:
        return self.properties.get("file")

    @property
    def line(self) -> str | None:
        return self.properties.get("line")


STOP_TOKEN_ERROR = "You cannot use a endToken that is an empty string, the string 'pause-logging', or another workflow command."


class RunnerLog:
    """Feeds a step's output through the runner's command processing.

    After ``feed``: ``commands`` (every executed command, including stop/resume),
    ``annotations``, ``masks`` (secret values), ``groups`` (titles), ``lines`` (what the log
    shows, masked: plain lines, and commands the runner echoes), ``errors`` (what the runner
    would report, e.g. a bad stop token), ``warnings``, ``debug`` (``::debug::`` messages), and
    ``stopped`` (still inside a stop-commands block at the end)."""

    def __init__(self, *, allow_unsecure_stop_tokens: bool = False, echo: bool = False) -> None:
        self.registered: set[str] = set(REGISTERED_COMMANDS)
        self.allow_unsecure_stop_tokens = allow_unsecure_stop_tokens
        self.echo = echo  # ::echo::on (or ACTIONS_STEP_DEBUG) makes the runner echo commands
        self.stop_token: str | None = None
        self.commands: list[Command] = []
        self.annotations: list[Annotation] = []
        self.masks: list[str] = []
        self.groups: list[str] = []
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.debug: list[str] = []
        self._depth = 0

    @property
    def stopped(self) -> bool:
        return self.stop_token is not None

    def feed(self, text: str) -> RunnerLog:
        for line in read_lines(text):
            self.process(line)
        return self

    def mask(self, text: str) -> str:
        for secret in sorted(self.masks, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _add_secret(self, value: str) -> None:
        if value and value not in self.masks:
            self.masks.append(value)

    def _show(self, line: str) -> None:
        self.lines.append(self.mask(line))

    def process(self, line: str) -> None:
        if not line:
            self.lines.append(line)
            return
        cmd = parse_command(line, frozenset(self.registered))
        if cmd is None:
            self._show(line)
            return
        name = cmd.name.lower()
        if self.stop_token is not None:
            if name == self.stop_token.lower():
                self._show(line)
                self.registered.discard(self.stop_token.lower())
                self.stop_token = None
                self.commands.append(cmd)
            else:
                self._show(line)  # not processed: printed as is
            return
        if name == "stop-commands":
            token = cmd.data
            invalid = not token or token.lower() in self.registered or token.lower() == "pause-logging"
            if invalid and not self.allow_unsecure_stop_tokens:
                # the extension throws: the step fails, commands keep being processed
                self.errors.append(f"Unable to process command '{line}' successfully.")
                self.errors.append(STOP_TOKEN_ERROR)
                return
            self.stop_token = token
            self.registered.add(token.lower())
            if len(token) > 6:
                self._add_secret(token)
            self.commands.append(cmd)
            self._show(line)
            return
        self.commands.append(cmd)
        self._execute(cmd, line)

    def _execute(self, cmd: Command, line: str) -> None:
        name = cmd.name.lower()
        omit_echo = name in ("add-mask", "debug", *ISSUE_COMMANDS)
        if self.echo and not omit_echo:
            self._show(line)
        if name == "add-mask":
            if not cmd.data.strip():
                self.warnings.append("Can't add secret mask for empty string in ##[add-mask] command.")
                return
            if self.echo:
                self.lines.append("::add-mask::***")
            self._add_secret(cmd.data)
            for piece in re.split(r"[\r\n]", cmd.data):
                self._add_secret(_trim(piece))
        elif name in ISSUE_COMMANDS:
            props = dict(cmd.properties)
            _validate_lines_and_columns(props)
            self.annotations.append(Annotation(name, self.mask(cmd.data), props))
            self._show(f"##[{name}]{cmd.data}")
        elif name == "debug":
            self.debug.append(self.mask(cmd.data))
        elif name == "group":
            self.groups.append(cmd.data)
            self._show(f"##[group]{cmd.data}")
        elif name == "endgroup":
            self._show("##[endgroup]")
        elif name in ("set-env", "add-path"):
            self.errors.append(f"Unable to process command '{line}' successfully.")
        elif name in ("set-output", "save-state"):
            if not cmd.prop("name"):
                self.errors.append(f"Required field 'name' is missing in ##[{name}] command.")
            else:
                self.warnings.append(f"The `{name}` command is deprecated and will be disabled soon.")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _validate_lines_and_columns(p: dict[str, str]) -> None:
    """IssueCommandExtension.ValidateLinesAndColumns (keys are lower-cased here)."""
    line, end_line = p.get("line"), p.get("endline")
    has_line, has_end_line = _int(line) is not None, _int(end_line) is not None
    has_col, has_end_col = _int(p.get("col")) is not None, _int(p.get("endcolumn")) is not None
    has_column = has_col or has_end_col
    if has_end_line and not has_line and end_line is not None:
        p["line"] = end_line
        has_line, line = True, end_line
    if has_end_col and not has_col:
        p["col"] = p["endcolumn"]
        has_col = True
    if not has_line and has_column:
        p.pop("col", None)
        p.pop("endcolumn", None)
    if has_end_line and line != end_line and has_column:
        p.pop("col", None)
        p.pop("endcolumn", None)
    if has_line and has_end_line and (_int(end_line) or 0) < (_int(line) or 0):
        p.pop("line", None)
        p.pop("endline", None)
    col, end_col = _int(p.get("col")), _int(p.get("endcolumn"))
    if has_col and has_end_col and col is not None and end_col is not None and end_col < col:
        p.pop("col", None)
        p.pop("endcolumn", None)


# --- environment files (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE) --------------------------


class EnvFileError(Exception):
    """What EnvFileKeyValuePairs throws: the runner fails the step with this message."""


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    """FileCommandManager.ReadLine on Linux: split on LF only. Returns (line, index, newline)."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    return text[index:lf], lf + 1, "\n"


def env_file_pairs(text: str) -> list[tuple[str, str]]:
    """Every (name, value) record in the order written; the runner applies them in turn, so
    a later record for the same name wins. Raises EnvFileError like the runner."""
    # File.ReadAllText detects and drops a UTF-8 BOM
    if text.startswith("\ufeff"):
        text = text[1:]
    pairs: list[tuple[str, str]] = []
    index = 0
    line, index, _ = _read_line(text, index)
    while line is not None:
        if line:
            equals = line.find("=")
            heredoc = line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
                # the runner tests `line` (never empty here), not the key: "=x" gives key ""
            elif heredoc >= 0 and (equals < 0 or heredoc < equals):
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise EnvFileError(
                        f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    )
                start = end = index
                temp, index, newline = _read_line(text, index)
                while temp != delimiter:
                    if temp is None:
                        raise EnvFileError(f"Invalid value. Matching delimiter not found '{delimiter}'")
                    if newline is None:
                        raise EnvFileError("Invalid value. EOF marker missing new line.")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise EnvFileError(f"Invalid format '{line}'")
            pairs.append((key, value))
        line, index, _ = _read_line(text, index)
    return pairs


def parse_env_file(text: str) -> dict[str, str]:
    """The final name -> value mapping (later records override earlier ones)."""
    return dict(env_file_pairs(text))


def check_summary(data: bytes) -> str | None:
    """The runner's verdict on a step summary file: None if uploaded, else its error."""
    if len(data) > SUMMARY_LIMIT:
        return (
            f"$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of "
            f"{SUMMARY_LIMIT // 1024}k, got {len(data) // 1024}k."
        )
    return None
