"""Console output: every domain's lines, prefixed by its name, on one terminal.

`ConsoleHub` receives bytes per domain (from console_io and from the console daemon),
cuts them into lines, and prints each as `name | line` (the name coloured when the
output is a terminal), like `xl console` across many domains at once.  It can also copy
each domain's output into `<log_dir>/<name>.log`.  In `raw` mode (`paravisor run`) a
single guest's bytes go to the output untouched.

What the hub keeps in memory is bounded, whatever a guest prints (docs/hypervisor.md,
"What the console keeps"):
- per source (a domain's name, or "(XEN)"), the recent history only: at most
  CONSOLE_HISTORY_LINES lines and CONSOLE_HISTORY_BYTES bytes, oldest dropped first;
  `lines` and `output_of` read it (tests, summaries);
- per domain, a partial line of at most CONSOLE_LINE_MAX_BYTES: a longer line is cut
  there (at a character boundary) and emitted in pieces, as a terminal wraps it.
Log files and the output stream are written line by line and grow only on disk.

Ownership: the hypervisor loop (single-threaded; realtime mode holds its one lock).
"""

from __future__ import annotations

import errno
import heapq
import os
import stat
import sys
from collections import deque
from typing import TextIO

from paravisor.errors import UserError
from paravisor.inputfiles import file_kind

_COLOURS = (36, 33, 35, 32, 34, 31)   # cyan yellow magenta green blue red
HYPERVISOR = "(XEN)"

CONSOLE_LINE_MAX_BYTES = 1024          # a partial line is emitted when it reaches this
CONSOLE_HISTORY_LINES = 1000           # lines kept per source
CONSOLE_HISTORY_BYTES = 64 * 1024      # bytes of line text kept per source


class _History:
    """The recent lines of one source, oldest first, within the CONSOLE_HISTORY_* limits."""

    def __init__(self) -> None:
        self.entries: deque[tuple[int, str, int]] = deque()   # (sequence number, line, bytes)
        self.nbytes = 0

    def add(self, seq: int, line: str) -> None:
        size = len(line.encode(errors="replace"))
        self.entries.append((seq, line, size))
        self.nbytes += size
        while (len(self.entries) > CONSOLE_HISTORY_LINES
               or self.nbytes > CONSOLE_HISTORY_BYTES):
            self.nbytes -= self.entries.popleft()[2]


def _cut(buf: bytearray) -> int:
    """Where to cut a partial line longer than CONSOLE_LINE_MAX_BYTES: at the limit,
    moved back to the start of a UTF-8 sequence so that no character is split."""
    cut = CONSOLE_LINE_MAX_BYTES
    for back in range(4):
        if buf[cut - back] & 0xC0 != 0x80:     # not a continuation byte
            return cut - back
    return cut


def _open_log(path: str) -> tuple[TextIO | None, str]:
    """(the log file at `path` opened for appending, "") or (None, what is wrong)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK
                     | os.O_CLOEXEC, 0o644)
    except OSError as err:
        # O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of waiting.
        return None, ("a FIFO, not a regular file" if err.errno == errno.ENXIO
                      else f"not writable ({err.strerror or err})")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        return None, f"{file_kind(mode)}, not a regular file"
    os.set_blocking(fd, True)
    return open(fd, "a", encoding="utf-8"), ""   # noqa: SIM115 -- closed by end()/close()


class ConsoleHub:
    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None,
                 log_dir: str | None = None, raw: bool = False) -> None:
        """`log_dir` must be a directory (made if missing); else a UserError."""
        self.stream = stream if stream is not None else sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.raw = raw
        self.log_dir = log_dir
        self._history: dict[str, _History] = {}
        self._seq = 0
        self._partial: dict[int, bytearray] = {}
        self._names: dict[int, str] = {}
        self._logs: dict[int, TextIO | None] = {}   # None: this domain is not logged
        self.width = 8
        self.closed = False   # the output's reader went away
        if log_dir:
            try:
                os.makedirs(log_dir, exist_ok=True)
            except OSError as err:
                raise UserError(f"console log directory {log_dir}: "
                                f"{err.strerror or err}") from None

    def write(self, dom, data: bytes) -> None:
        """Output from domain `dom` (anything with .domid and .name)."""
        self._names[dom.domid] = dom.name
        self.width = max(self.width, len(dom.name))
        if self.raw:
            self._out(data.decode(errors="replace"))
        buf = self._partial.setdefault(dom.domid, bytearray())
        buf += data
        while True:
            nl = buf.find(b"\n", 0, CONSOLE_LINE_MAX_BYTES + 1)
            if nl >= 0:
                line, skip = buf[:nl], nl + 1
            elif len(buf) > CONSOLE_LINE_MAX_BYTES:
                skip = _cut(buf)
                line = buf[:skip]
            else:
                break
            del buf[:skip]
            self._emit(dom.domid, line.decode(errors="replace").rstrip("\r"))

    def hypervisor_line(self, message: str, important: bool = False) -> None:
        """A hypervisor message; in raw mode only `important` ones, on stderr."""
        self._remember(HYPERVISOR, message)
        if not self.raw:
            self._print(HYPERVISOR, message, 90)
        elif important:
            print(f"{HYPERVISOR} {message}", file=sys.stderr)

    def flush(self) -> None:
        """Emit partial last lines (a guest that ended without a newline)."""
        for domid in list(self._partial):
            self._flush_domain(domid)
        for log in self._logs.values():
            if log is not None:
                log.flush()

    def end(self, dom) -> None:
        """`dom` is going away: its partial last line is emitted and its log closed."""
        self._flush_domain(dom.domid)
        self._partial.pop(dom.domid, None)
        log = self._logs.pop(dom.domid, None)
        if log is not None:
            log.close()

    def _flush_domain(self, domid: int) -> None:
        buf = self._partial.get(domid)
        if buf:
            self._emit(domid, buf.decode(errors="replace"))
            buf.clear()

    def close(self) -> None:
        self.flush()
        for log in self._logs.values():
            if log is not None:
                log.close()
        self._logs.clear()

    # --- what is kept -------------------------------------------------------------------

    @property
    def lines(self) -> list[tuple[str, str]]:
        """The retained lines of every source, (source name, line), oldest first."""
        merged = heapq.merge(*([(seq, name, line) for seq, line, _ in history.entries]
                               for name, history in self._history.items()))
        return [(name, line) for _, name, line in merged]

    def output_of(self, name: str) -> list[str]:
        """The retained lines a domain printed (for tests and summaries)."""
        history = self._history.get(name)
        return [line for _, line, _ in history.entries] if history is not None else []

    def retained_bytes(self) -> int:
        """Bytes of console text held in memory: histories plus partial lines."""
        return (sum(history.nbytes for history in self._history.values())
                + sum(len(buf) for buf in self._partial.values()))

    def _remember(self, name: str, line: str) -> None:
        self._seq += 1
        self._history.setdefault(name, _History()).add(self._seq, line)

    # --- output -------------------------------------------------------------------------

    def _emit(self, domid: int, line: str) -> None:
        name = self._names.get(domid, f"d{domid}")
        self._remember(name, line)
        if self.log_dir:
            log = self._log_of(domid, name)
            if log is not None:
                log.write(line + "\n")
        if not self.raw:
            self._print(name, line, _COLOURS[domid % len(_COLOURS)])

    def _log_of(self, domid: int, name: str) -> TextIO | None:
        """The log file of `domid`, opened on first use.  Only a regular file is
        written: the open never blocks (a FIFO without a reader), and anything else
        gets one hypervisor line and no log."""
        if domid in self._logs:
            return self._logs[domid]
        path = os.path.join(self.log_dir, f"{name}.log")
        log, problem = _open_log(path)
        self._logs[domid] = log
        if log is None:
            self.hypervisor_line(f"console log {path} is {problem}: {name} is not logged")
        return log

    def _print(self, name: str, line: str, colour: int) -> None:
        label = f"{name:<{self.width}}"
        if self.colour:
            label = f"\x1b[{colour}m{label}\x1b[0m"
        self._out(f"{label} | {line}\n")

    def _out(self, text: str) -> None:
        """Write to the output; a reader that went away (`| head`) just stops seeing it."""
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
