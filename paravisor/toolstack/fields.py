"""Typed reading of parsed xl settings: each getter checks type and range and, when the
value is wrong, raises a ConfigError that points at it and names the key.

A value given on the command line (`origin` COMMAND_LINE) is reported as such, and a
relative path in it is taken from the current directory, as a shell user expects; a
file's own relative paths are taken from the file's directory.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

from paravisor.toolstack.devices import DeviceSpecError
from paravisor.toolstack.xlcfg import ConfigError, Setting, Value


@dataclass(frozen=True)
class ConfigWarning:
    """Something in a config that paravisor ignores; str() is `file:line: warning: ...`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.path}: warning: {self.message}"
        return f"{self.path}:{self.line}: warning: {self.message}"


class SettingsReader:
    """Typed access to the settings of one file (see the module doc)."""

    def __init__(self, settings: dict[str, Setting], path: str) -> None:
        """Warns at once about every key the file sets more than once (xl keeps the
        last value, and so do we)."""
        self.settings = settings
        self.path = path
        self.base_dir = os.path.dirname(os.path.abspath(path))
        self.warnings: list[ConfigWarning] = []
        for key, setting in settings.items():
            for first, again in zip(setting.set_at, setting.set_at[1:], strict=False):
                self.warn(again, f"'{key}' is set again (first at line {first}): the "
                                 f"value at line {again} is used, as xl does")

    # --- errors and warnings --------------------------------------------------------

    def error_at(self, value: Value, message: str, offset: int | None = None) -> ConfigError:
        """An error at `value`; with `offset`, that many characters into the text of a
        string value (when the string has no escapes, else at its opening quote)."""
        col = value.col
        if offset is not None and value.kind == "string" and value.verbatim:
            col += 1 + offset
        return ConfigError(value.origin or self.path, value.line, col, message,
                           value.source_line)

    def file_error(self, message: str) -> ConfigError:
        return ConfigError(self.path, 0, 0, message)

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(ConfigWarning(self.path, line, message))

    def warn_at(self, value: Value, message: str) -> None:
        """A warning about `value`: at its line, or naming the command-line argument."""
        if value.origin:
            self.warnings.append(ConfigWarning(value.origin, 0,
                                               f"{value.source_line}: {message}"))
        else:
            self.warn(value.line, message)

    def base_dir_of(self, value: Value) -> str:
        """The directory a relative path in `value` is taken from."""
        return os.getcwd() if value.origin else self.base_dir

    # --- typed getters --------------------------------------------------------------

    def value(self, key: str, kinds: Collection[str], expected: str) -> Value | None:
        """The value of `key` if set (None if not), checked to be one of `kinds`."""
        setting = self.settings.get(key)
        if setting is None:
            return None
        if setting.value.kind not in kinds:
            raise self.error_at(setting.value, f"'{key}' must be {expected}, not a "
                                               f"{setting.value.kind}")
        return setting.value

    def integer(self, key: str, default: int, low: int, high: int | None = None,
                unit: str = "") -> int:
        """The number `key`, or `default` when unset; must lie in [low, high]."""
        value = self.value(key, ("number",), "a number")
        if value is None:
            return default
        number = value.data
        assert isinstance(number, int)
        self.check_range(key, value, number, low, high, unit)
        return number

    def check_range(self, key: str, value: Value, number: int, low: int,
                    high: int | None, unit: str = "") -> None:
        """Raise at `value` unless low <= number <= high (high None: no upper bound)."""
        if number >= low and (high is None or number <= high):
            return
        suffix = f" {unit}" if unit else ""
        bounds = f"at least {low}{suffix}" if high is None \
            else f"between {low} and {high}{suffix}"
        raise self.error_at(value, f"'{key}' must be {bounds}, not {number}")

    def string(self, key: str, default: str | None = None) -> str | None:
        """The string `key`, or `default` when unset."""
        value = self.value(key, ("string",), "a quoted string")
        return default if value is None else str(value.data)

    def choice(self, key: str, default: str, supported: Collection[str],
               known: Collection[str] = ()) -> str:
        """The string `key`, which must be one of `supported`; a value that xl knows
        (in `known`) but paravisor does not support gets its own message."""
        value = self.value(key, ("string",), "a quoted string")
        if value is None:
            return default
        text = str(value.data)
        if text in supported:
            return text
        listed = ", ".join(supported)
        if text in known:
            raise self.error_at(value, f"{key} = \"{text}\" is not supported by paravisor "
                                       f"(supported: {listed})")
        raise self.error_at(value, f"'{text}' is not a valid {key} (supported: {listed})")

    def path_setting(self, key: str) -> str | None:
        """The string `key` as a path; a relative path is taken relative to the file."""
        value = self.value(key, ("string",), "a quoted path")
        if value is None:
            return None
        if not value.data:
            raise self.error_at(value, f"'{key}' is an empty path")
        return self.resolve(value)

    def resolve(self, value: Value) -> str:
        """The path string `value` made absolute, a relative path taken from
        base_dir_of(value)."""
        return os.path.normpath(os.path.join(self.base_dir_of(value), str(value.data)))

    def string_items(self, key: str) -> list[Value]:
        """The list `key` (empty when unset), each item checked to be a string."""
        value = self.value(key, ("list",), "a list of quoted strings, [ '...', ... ]")
        if value is None:
            return []
        assert isinstance(value.data, tuple)
        for item in value.data:
            if item.kind != "string":
                raise self.error_at(item, f"items of '{key}' must be quoted strings, not "
                                          f"a {item.kind}")
        return list(value.data)

    def device_error(self, item: Value, err: DeviceSpecError) -> ConfigError:
        """A device-spec error inside a `disk`/`vif` item, pointed at its offset."""
        return self.error_at(item, err.message, err.offset)
