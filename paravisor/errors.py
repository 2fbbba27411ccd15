"""Errors that reach a user: each names what is wrong and, for input files, where; and
the few exit statuses of the `paravisor` command (README, docs/hypervisor.md)."""

from __future__ import annotations

STATUS_OK = 0
STATUS_GUEST_FAILED = 1         # a guest crashed, exited non-zero or deadlocked
STATUS_BAD_INPUT = 2            # a UserError: a config, kernel, source or option
STATUS_TIME_LIMIT = 124         # --max-seconds ended the run, as timeout(1) says it
STATUS_INTERRUPTED = 130        # Ctrl-C: 128 + SIGINT, as a shell reports it


class UserError(Exception):
    """A mistake in what the user gave us (a file, a flag, a config).

    The CLI prints the message without a traceback and exits with `status`.
    """

    status = STATUS_BAD_INPUT

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class SourceError(UserError):
    """A mistake at a place in a text file: rendered as `file:line:col: error: message`,
    followed by the offending line and a caret, the way compilers do."""

    def __init__(self, path: str, line: int, col: int, message: str,
                 source_line: str | None = None) -> None:
        self.path, self.line, self.col, self.message = path, line, col, message
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: error: {self.message}"
        if self.source_line is not None:
            caret = " " * max(self.col - 1, 0) + "^"
            text += f"\n    {self.source_line.rstrip()}\n    {caret}"
        return text
