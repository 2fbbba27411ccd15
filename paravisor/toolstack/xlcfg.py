"""The xl.cfg syntax: text in, positioned settings out (no meaning attached yet).

A file is a series of `KEY = VALUE` settings separated by newlines or `;`; `#` starts a
comment that runs to the end of the line.  A VALUE is

- a string in "double" or 'single' quotes, with the escapes \\n \\t \\r \\\\ \\" \\';
- a NUMBER: decimal, 0octal or 0xhex, optionally negative (xl reads it as a C long);
- a list `[ v, v, ... ]` of values (lists nest), which may span lines, hold comments and
  end with a trailing comma.

`parse_xl` keeps the line and column of every key and every value, so that the model
(config.py) can point its own errors at the exact place.  Every mistake raises
ConfigError, rendered `file:line:col: error: message` with the line and a caret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
        return super().render()


@dataclass(frozen=True)
class Value:
    """One parsed value and where it starts.

    `data` is a str, an int, or a tuple of Values (a list).  `line`/`col` (1-based) point
    at the first character (the opening quote of a string).  `verbatim` is true for a
    string written without escapes, so an offset into `data` is also an offset into the
    source text after the quote (device-spec errors use this to point inside a string).
    """

    data: Data
    line: int
    col: int
    source_line: str
    verbatim: bool = True

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
    """`key = value` as written: the key's position and the value."""

    key: str
    value: Value
    line: int
    col: int
    source_line: str


def parse_xl(text: str, path: str) -> dict[str, Setting]:
    """Parse xl.cfg text into its settings, keyed by name, in file order.

    `path` is only used in messages.  Raises ConfigError on any syntax error, and when
    a key is set twice (naming both lines).
    """
    return _Parser(text, path).parse_file()


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

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
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
            first = settings.get(setting.key)
            if first is not None:
                raise self.error(
                    f"key '{setting.key}' is set twice: first at line {first.line}, "
                    f"again at line {setting.line}", setting.line, setting.col)
            settings[setting.key] = setting

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
        if self.peek() != "=":
            raise self.error(f"expected '=' after key '{key}', found "
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
        return Setting(key, value, line, col, self.lines[line - 1])

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
                return Value("".join(chars), line, col, self.lines[line - 1], verbatim)
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
        return Value(number, line, col, self.lines[line - 1])

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
                return Value(tuple(items), line, col, self.lines[line - 1])
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
