"""Files a user names for the host to read (kernels, kernel sources, config files):
each must be a regular file no larger than a limit its caller sets.

`check_input_file` looks before anything is opened (stat: a FIFO is not opened, a
device not read).  `read_input_file` opens without blocking, checks the opened file the
same way (the name may have been pointed elsewhere since) and reads at most the limit
plus one byte, so a file that grows while it is read is refused rather than read
forever.  Both raise InputFileError for a file of the wrong kind or size, and let
OSError (no such file, no permission) through for the caller's own message.
"""

from __future__ import annotations

import os
import stat

from paravisor.errors import UserError

_READ_CHUNK = 1 << 20
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


class InputFileError(UserError):
    """A named file refused before it was read: of the wrong kind, or `too_large`.
    `problem` completes "it is ..."; str() is "<what> <path> is <problem>"."""

    def __init__(self, what: str, path: str, problem: str, *, too_large: bool) -> None:
        self.what, self.path, self.problem, self.too_large = what, path, problem, too_large
        super().__init__(f"{what} {path} is {problem}")


def file_kind(mode: int) -> str:
    """"a directory", "a character device", ... for a stat mode that is not a regular
    file's."""
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def format_size(nbytes: int) -> str:
    """A size for messages: "512 bytes", "4 MiB", "1.5 GiB"."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.3g} {unit}"
    return f"{nbytes} bytes"


def check_input_file(path: str, what: str, limit: int, limit_text: str) -> None:
    """Refuse `path` unless it is a regular file of at most `limit` bytes (described as
    `limit_text`, e.g. "the domain's memory (16 MiB)")."""
    _check(path, os.stat(path), what, limit, limit_text)


def read_input_file(path: str, what: str, limit: int, limit_text: str) -> bytes:
    """The contents of `path`, refused as check_input_file does; never blocks on a FIFO
    and never reads more than `limit` + 1 bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _check(path, os.fstat(fd), what, limit, limit_text)
        os.set_blocking(fd, True)
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputFileError(what, path, f"larger than {limit_text} (it grew while "
                                         f"being read)", too_large=True)
    return data


def _check(path: str, st: os.stat_result, what: str, limit: int, limit_text: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(what, path, f"{file_kind(st.st_mode)}, not a regular file",
                             too_large=False)
    if st.st_size > limit:
        raise InputFileError(what, path, f"{format_size(st.st_size)}, larger than "
                                         f"{limit_text}", too_large=True)
