"""Source files seen during one compilation, so that errors can quote the line."""

from __future__ import annotations

import os

from paravisor.errors import SourceError


class CompileError(SourceError):
    """A C program we reject: file:line:col, the message, the line and a caret."""


class Sources:
    """Texts of the files read (the main file and its includes), by absolute path."""

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = {}

    def remember(self, path: str, text: str | None = None) -> None:
        if path in self.texts:
            return
        if text is None:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                text = ""
        self.texts[path] = text.splitlines()

    def line(self, path: str, line: int) -> str | None:
        lines = self.texts.get(path) or self.texts.get(os.path.abspath(path))
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]

    def error(self, path: str, line: int, col: int, message: str) -> CompileError:
        """A CompileError at path:line:col (col 1-based; 0 or None means 1)."""
        return CompileError(_display(path), line or 1, col or 1, message,
                            self.line(path, line or 1))

    def at(self, coord, message: str) -> CompileError:
        """A CompileError at a pycparser Coord (or None: the start of the input)."""
        if coord is None:
            return CompileError("<input>", 1, 1, message)
        return self.error(coord.file, coord.line, coord.column, message)


def _display(path: str) -> str:
    """Paths under the working directory are shown relative, as compilers do."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path
