"""Console output: every domain's lines, prefixed by its name, on one terminal.

`ConsoleHub` receives bytes per domain (from console_io and from the console daemon),
cuts them into lines, and prints each as `name | line` (the name coloured when the
output is a terminal), like `xl console` across many domains at once.  The name column
has one width for the whole run, so the `|` never moves: wide enough for every name the
hub is told of when it is made (at least NAME_COLUMN_MIN, at most NAME_COLUMN_MAX); a
longer name is cut to the column, its last character shown as `~`.  It can also copy
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

`ConsoleBudget` is the rate limit both paths into the hub apply per domain: so many bytes
per period of virtual time (xenconsoled's limit, counted in bytes).  The console daemon
leaves what is over budget in the guest's ring until the next period (back-pressure);
console_io drops it and says so with a "(N bytes suppressed)" line.

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

from paravisor.abi import Console
from paravisor.errors import UserError
from paravisor.inputfiles import file_kind

_COLOURS = (36, 33, 35, 32, 34, 31)   # cyan yellow magenta green blue red
HYPERVISOR = "(XEN)"
NAME_COLUMN_MIN = 8                    # len("Domain-0")
NAME_COLUMN_MAX = 20                   # names are up to 64 characters; lines come first

CONSOLE_LINE_MAX_BYTES = 1024          # a partial line is emitted when it reaches this
CONSOLE_HISTORY_LINES = 1000           # lines kept per source
CONSOLE_HISTORY_BYTES = 64 * 1024      # bytes of line text kept per source
# xenconsoled (tools/console/daemon/io.c) serves at most RATE_LIMIT_ALLOWANCE = 30 ring
# events per RATE_LIMIT_PERIOD = 200 ms per console, and each event drains at most one
# ring (XENCONS_OUT_SIZE bytes): that worst case, counted in bytes, is our budget.
CONSOLE_RATE_PERIOD_NS = 200_000_000
CONSOLE_RATE_BYTES = 30 * int(Console.XENCONS_OUT_SIZE)   # 61440 bytes per period


class ConsoleBudget:
    """The bytes one domain may still print in the current period of virtual time.

    Periods are the aligned intervals [k * period_ns, (k + 1) * period_ns); time that
    goes backwards (another pCPU's clock) stays in the later period.  Pure accounting:
    the caller decides what happens to bytes over budget, and keeps the count of those
    it dropped in `suppressed` until `suppressed_note` reports them.
    """

    def __init__(self, bytes_per_period: int = CONSOLE_RATE_BYTES,
                 period_ns: int = CONSOLE_RATE_PERIOD_NS) -> None:
        self.bytes_per_period, self.period_ns = bytes_per_period, period_ns
        self.period = -1                # index of the current period
        self.spent = 0                  # bytes granted in it
        self.suppressed = 0             # bytes dropped and not yet reported

    def take(self, now_ns: int, wanted: int) -> int:
        """Grant up to `wanted` bytes at virtual time `now_ns`; returns how many."""
        period = now_ns // self.period_ns
        if period > self.period:
            self.period, self.spent = period, 0
        granted = min(wanted, self.bytes_per_period - self.spent)
        self.spent += granted
        return granted

    def next_period_ns(self) -> int:
        """When the budget is next refilled."""
        return (self.period + 1) * self.period_ns

    def suppressed_note(self) -> str | None:
        """"(N bytes suppressed)" for the bytes dropped since the last note, once."""
        if not self.suppressed:
            return None
        note, self.suppressed = f"({self.suppressed} bytes suppressed)", 0
        return note


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


def name_column_width(names) -> int:
    """The width of the name column for a run that shows `names`."""
    return min(max([NAME_COLUMN_MIN, *(len(name) for name in names)]), NAME_COLUMN_MAX)


def name_label(name: str, width: int) -> str:
    """`name` in a column of `width`: padded, or cut with a final `~`."""
    return f"{name:<{width}}" if len(name) <= width else name[:width - 1] + "~"


class ConsoleHub:
    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None,
                 log_dir: str | None = None, raw: bool = False, names=()) -> None:
        """`log_dir` must be a directory (made if missing); else a UserError.  `names`
        are the domains the run will show, which set the name column's width."""
        self.stream = stream if stream is not None else sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.raw = raw
        self.log_dir = log_dir
        self._history: dict[str, _History] = {}
        self._seq = 0
        self._partial: dict[int, bytearray] = {}
        self._names: dict[int, str] = {}
        self._logs: dict[int, TextIO | None] = {}   # None: this domain is not logged
        self.width = name_column_width(names)
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

    def note(self, dom, text: str) -> None:
        """A line of the console's own in `dom`'s output (such as "(N bytes
        suppressed)"); it ends the domain's partial line first."""
        self._names[dom.domid] = dom.name
        mid_line = bool(self._partial.get(dom.domid))
        self._flush_domain(dom.domid)
        if self.raw:
            self._out(("\n" if mid_line else "") + text + "\n")
        self._emit(dom.domid, text)

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
        label = name_label(name, self.width)
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
