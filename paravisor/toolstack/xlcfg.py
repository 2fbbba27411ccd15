"""The xl.cfg syntax: text in, positioned settings out (no meaning attached yet).

A file is a series of `KEY = VALUE` settings separated by newlines or `;`; `#` starts a
comment that runs to the end of the line.  As in xl (libxlutil), a key set again takes
its last value (the reader warns, naming both lines), and `KEY += VALUE` appends to the
string or list set before (or sets it, if it was not).  A VALUE is

- a string in "double" or 'single' quotes, with the escapes \\n \\t \\r \\\\ \\" \\';
- a NUMBER: decimal, 0octal or 0xhex, optionally negative (xl reads it as a C long);
- a list `[ v, v, ... ]` of values (lists nest), which may span lines, hold comments and
  end with a trailing comma.

`parse_xl` keeps the line and column of every key and every value, so that the model
(config.py) can point its own errors at the exact place.  Every mistake raises
ConfigError, rendered `file:line:col: error: message` with the line and a caret.

`parse_override` reads one `KEY=VALUE` (or `KEY+=VALUE`) from the command line, as
`xl create cfg KEY=VALUE` takes them, and `apply_overrides` lays such settings over a
file's, as if they were its last lines.  Their values carry `origin` COMMAND_LINE, so
that an error in one names the command line instead of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from paravisor.errors import SourceError

# xl stores numbers in a C long; we hold it to the same 64-bit range so that a
# config that works here also means the same thing to xl.
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1

_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A number token runs over every character that could continue it, so that
# `12abc` is one bad number rather than 12 followed by garbage.
_NUMBER_TOKEN = re.compile(r"-?[0-9][0-9A-Za-z_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_OVERRIDE = re.compile(r"(?:([A-Za-z0-9_.-]+):)?([A-Za-z_][A-Za-z0-9_]*)\s*\+?=")

COMMAND_LINE = "command line"    # the origin of a setting given as KEY=VALUE argument

Data = str | int | tuple["Value", ...]


class ConfigError(SourceError):
    """A mistake in a configuration file (exit status 2).

    Positioned errors render as `file:line:col: error: message` plus the source line and
    a caret.  Errors about the file as a whole (missing, unreadable, a mandatory key
    absent) use line 0 and render as `file: error: message`.
    """

    def render(self) -> str:
        if self.line <= 0:
            return f"{self.path}: error: {self.message}"
        if self.path == COMMAND_LINE:   # no line number: the argument itself is shown
            caret = " " * max(self.col - 1, 0) + "^"
            return (f"{COMMAND_LINE}: error: {self.message}\n    {self.source_line}\n"
                    f"    {caret}")
        return super().render()


@dataclass(frozen=True)
class Value:
    """One parsed value and where it starts.

    `data` is a str, an int, or a tuple of Values (a list).  `line`/`col` (1-based) point
    at the first character (the opening quote of a string).  `verbatim` is true for a
    string written without escapes, so an offset into `data` is also an offset into the
    source text after the quote (device-spec errors use this to point inside a string).
    `origin` is None for a value read from the file, COMMAND_LINE for an override (its
    `source_line` is then the argument, and `line` is 1).
    """

    data: Data
    line: int
    col: int
    source_line: str
    verbatim: bool = True
    origin: str | None = None

    @property
    def kind(self) -> str:
        """'string', 'number' or 'list' -- the words error messages use."""
        if isinstance(self.data, str):
            return "string"
        if isinstance(self.data, int):
            return "number"
        return "list"

    def plain(self) -> str | int | list:
        """The data without positions (lists become Python lists, recursively)."""
        if isinstance(self.data, tuple):
            return [item.plain() for item in self.data]
        return self.data


@dataclass(frozen=True)
class Setting:
    """`key = value` as written: the key's position and the value.

    `append` is true for `key += value` as written (the parser has already joined it to
    what came before).  `set_at` lists, in order, the lines of a file at which `key =
    ...` was written: more than one means the earlier values were replaced (the reader
    warns).
    """

    key: str
    value: Value
    line: int
    col: int
    source_line: str
    append: bool = False
    set_at: tuple[int, ...] = ()


def parse_xl(text: str, path: str) -> dict[str, Setting]:
    """Parse xl.cfg text into its settings, keyed by name, in file order.

    `path` is only used in messages.  A key set again keeps its last value (`set_at`
    says where each was written); `+=` appends.  Raises ConfigError on any syntax error
    and on a `+=` that cannot append (a number, or a list to a string).
    """
    return _Parser(text, path).parse_file()


def parse_override(text: str) -> tuple[str | None, Setting]:
    """One command-line setting, `[DOMAIN:]KEY=VALUE` or `[DOMAIN:]KEY+=VALUE`: the
    domain it names (None if none) and the setting, with origin COMMAND_LINE.

    VALUE is xl syntax; as a convenience a VALUE that is not (a bare word such as `rr`
    or `0-3`, not starting with a quote or `[`) is taken as the string it spells, so
    `sched=rr` means `sched="rr"`.  A malformed argument is a ConfigError showing it.
    """
    match = _OVERRIDE.match(text)
    if match is None:
        raise ConfigError(COMMAND_LINE, 1, 1, f"'{text}' is not a KEY=VALUE setting "
                                              f"(for a guest, NAME:KEY=VALUE)", text)
    parser = _Parser(text, COMMAND_LINE, origin=COMMAND_LINE)
    parser.advance(match.start(2))
    try:
        return match.group(1), parser.parse_setting()
    except ConfigError:
        value_at = match.end()
        rest = text[value_at:].strip()
        if not rest or rest[0] in "\"'[":
            raise
    col = value_at + 1 + (len(text[value_at:]) - len(text[value_at:].lstrip()))
    value = Value(rest, 1, col, text, verbatim=True, origin=COMMAND_LINE)
    return match.group(1), Setting(match.group(2), value, 1, match.start(2) + 1, text,
                                   append=text[match.end() - 2] == "+")


def apply_overrides(settings: dict[str, Setting], overrides: list[Setting],
                    path: str) -> dict[str, Setting]:
    """The settings of the file at `path` with `overrides` laid over them in order, as
    if written after its last line: `=` replaces (without the warning a file's own
    repetition gets), `+=` appends."""
    merged = dict(settings)
    for setting in overrides:
        merged[setting.key] = join_setting(merged.get(setting.key), setting, path)
    return merged


def join_setting(earlier: Setting | None, later: Setting, path: str) -> Setting:
    """What a key holds once `later` is written after `earlier` (None: it was unset),
    in the file at `path`: `=` replaces it, `+=` joins a string to a string or a list
    to a list, as libxlutil does.  Anything else is a ConfigError at `later`'s value,
    `+=` with a number even on an unset key (xl: "can't use += with numbers")."""
    if later.append and later.value.kind == "number":
        raise ConfigError(later.value.origin or path, later.value.line, later.value.col,
                          f"'+=' cannot be used with a number: it joins a string to a "
                          f"string or a list to a list (write {later.key} = "
                          f"{later.value.data})", later.value.source_line)
    if earlier is None:
        return later
    if not later.append:
        return replace(later, set_at=earlier.set_at + later.set_at)
    old, new = earlier.value, later.value
    if "number" in (old.kind, new.kind) or old.kind != new.kind:
        where = (COMMAND_LINE if old.origin else f"{path}:{earlier.line}" if new.origin
                 else f"line {earlier.line}")
        raise ConfigError(new.origin or path, new.line, new.col,
                          f"'+=' joins a string to a string or a list to a list, not a "
                          f"{new.kind} to a {old.kind} ('{later.key}' is set at {where})",
                          new.source_line)
    value = replace(old, data=old.data + new.data, verbatim=old.verbatim and new.kind == "list")
    return replace(later, value=value, set_at=earlier.set_at)


def quote_string(text: str) -> str:
    """`text` as an xl double-quoted string literal that parse_xl reads back unchanged."""
    return '"' + "".join(_QUOTE_ESCAPES.get(ch, ch) for ch in text) + '"'


def render_value(data: str | int | list | tuple) -> str:
    """A plain value (str, int, or list/tuple of those, nested) in xl syntax."""
    if isinstance(data, bool):  # bool is an int subclass; xl has no boolean literal
        raise TypeError("xl has no boolean literal: use 0 or 1")
    if isinstance(data, int):
        return str(data)
    if isinstance(data, str):
        return quote_string(data)
    return "[ " + ", ".join(render_value(item) for item in data) + " ]"


class _Parser:
    """A recursive-descent parser over one text; positions are tracked as it goes."""

    def __init__(self, text: str, path: str, origin: str | None = None) -> None:
        self.text = text
        self.path = path
        self.origin = origin
        self.lines = text.split("\n")
        self.pos = 0
        self.line = 1
        self.col = 1

    # --- positions and errors --------------------------------------------------------

    def error(self, message: str, line: int | None = None,
              col: int | None = None) -> ConfigError:
        line = self.line if line is None else line
        col = self.col if col is None else col
        return ConfigError(self.path, line, col, message, self.lines[line - 1])

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.text[self.pos] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.pos += 1

    def describe(self, ch: str) -> str:
        """A character as error messages show it."""
        if ch == "":
            return "end of file"
        if ch == "\n":
            return "end of line"
        return repr(ch)

    # --- blanks ---------------------------------------------------------------------

    def skip_blanks(self, newlines: bool = False) -> None:
        """Skip spaces, tabs, carriage returns and comments; newlines too if asked."""
        while True:
            ch = self.peek()
            if ch in (" ", "\t", "\r", "\f", "\v") or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                while self.peek() not in ("", "\n"):
                    self.advance()
            else:
                return

    # --- statements -----------------------------------------------------------------

    def parse_file(self) -> dict[str, Setting]:
        settings: dict[str, Setting] = {}
        while True:
            self.skip_blanks()
            ch = self.peek()
            if ch == "":
                return settings
            if ch in ("\n", ";"):
                self.advance()
                continue
            setting = self.parse_setting()
            settings[setting.key] = join_setting(settings.get(setting.key), setting,
                                                 self.path)

    def parse_setting(self) -> Setting:
        line, col = self.line, self.col
        ch = self.peek()
        if ch == "=":
            raise self.error("missing key before '='")
        if not _IDENT_START.match(ch):
            raise self.error(f"expected a key (a name such as 'memory'), found "
                             f"{self.describe(ch)}")
        key = _IDENT.match(self.text, self.pos).group()
        self.advance(len(key))
        self.skip_blanks()
        append = self.peek() == "+" and self.peek(1) == "="
        if append:
            self.advance()
        elif self.peek() != "=":
            raise self.error(f"expected '=' or '+=' after key '{key}', found "
                             f"{self.describe(self.peek())}")
        self.advance()
        self.skip_blanks()
        if self.peek() in ("", "\n", ";"):
            raise self.error(f"key '{key}' has no value")
        value = self.parse_value(key)
        self.skip_blanks()
        if self.peek() not in ("", "\n", ";"):
            raise self.error(f"unexpected {self.describe(self.peek())} after the value of "
                             f"'{key}' (separate settings with a newline or ';')")
        set_at = () if append or self.origin else (line,)
        return Setting(key, value, line, col, self.lines[line - 1], append, set_at)

    # --- values ---------------------------------------------------------------------

    def parse_value(self, key: str) -> Value:
        ch = self.peek()
        if ch in ('"', "'"):
            return self.parse_string(key)
        if ch == "[":
            return self.parse_list(key)
        if ch.isdigit() or (ch == "-" and self.peek(1).isdigit()):
            return self.parse_number(key)
        if _IDENT_START.match(ch):
            word = _IDENT.match(self.text, self.pos).group()
            raise self.error(f"value of '{key}' must be a quoted string, a number or a "
                             f"list: write \"{word}\" in quotes")
        raise self.error(f"expected a value for '{key}' (a quoted string, a number or a "
                         f"list), found {self.describe(ch)}")

    def parse_string(self, key: str) -> Value:
        line, col, quote = self.line, self.col, self.peek()
        self.advance()
        chars: list[str] = []
        verbatim = True
        while True:
            ch = self.peek()
            if ch in ("", "\n"):
                raise self.error(f"unterminated string in the value of '{key}' "
                                 f"(missing closing {quote})", line, col)
            if ch == quote:
                self.advance()
                return Value("".join(chars), line, col, self.lines[line - 1], verbatim,
                             self.origin)
            if ch == "\\":
                chars.append(self.parse_escape())
                verbatim = False
            else:
                chars.append(ch)
                self.advance()

    def parse_escape(self) -> str:
        nxt = self.peek(1)
        if nxt not in _ESCAPES:
            shown = "end of line" if nxt in ("", "\n") else f"'\\{nxt}'"
            raise self.error(f"unknown escape {shown} in string (known: \\n \\t \\r "
                             f"\\\\ \\\" \\')")
        self.advance(2)
        return _ESCAPES[nxt]

    def parse_number(self, key: str) -> Value:
        line, col = self.line, self.col
        token = _NUMBER_TOKEN.match(self.text, self.pos).group()
        number = _number_value(token)
        if number is None:
            raise self.error(f"invalid number '{token}' in the value of '{key}' (numbers "
                             f"are decimal, 0octal or 0xhex)")
        if not _LONG_MIN <= number <= _LONG_MAX:
            raise self.error(f"number '{token}' is out of range for '{key}' (xl numbers "
                             f"are 64-bit)")
        self.advance(len(token))
        return Value(number, line, col, self.lines[line - 1], origin=self.origin)

    def parse_list(self, key: str) -> Value:
        line, col = self.line, self.col
        self.advance()  # '['
        items: list[Value] = []
        while True:
            self.skip_blanks(newlines=True)
            ch = self.peek()
            if ch == "":
                raise self.error(f"unterminated list in the value of '{key}' "
                                 f"(missing ']')", line, col)
            if ch == "]":
                self.advance()
                return Value(tuple(items), line, col, self.lines[line - 1],
                             origin=self.origin)
            if ch == ",":
                raise self.error(f"expected a list element or ']' in the value of "
                                 f"'{key}', found ','")
            items.append(self.parse_value(key))
            self.skip_blanks(newlines=True)
            ch = self.peek()
            if ch == ",":
                self.advance()
            elif ch not in ("]", ""):
                raise self.error(f"expected ',' or ']' in the list value of '{key}', "
                                 f"found {self.describe(ch)}")


def _number_value(token: str) -> int | None:
    """The value of a number token in C's strtol(..., 0) notation, or None if malformed."""
    digits = token[1:] if token.startswith("-") else token
    sign = -1 if token.startswith("-") else 1
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", digits):
        return sign * int(digits[2:], 16)
    if re.fullmatch(r"0[0-7]*", digits):
        return sign * int(digits, 8)
    if re.fullmatch(r"[1-9][0-9]*", digits):
        # int() refuses over ~4300 digits; such a number is out of range anyway.
        if len(digits) > 30:
            return sign * (_LONG_MAX + 1)
        return sign * int(digits)
    return None
