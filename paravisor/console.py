"""Console output: every domain's lines, prefixed by its name, on one terminal.

`ConsoleHub` receives bytes per domain (from console_io and from the console daemon),
cuts them into lines, and prints each as `name | line` (the name coloured when the
output is a terminal), like `xl console` across many domains at once.  It can also copy
each domain's output into `<log_dir>/<name>.log`, and keeps every line for tests.  In
`raw` mode (`paravisor run`) a single guest's bytes go to the output untouched.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_COLOURS = (36, 33, 35, 32, 34, 31)   # cyan yellow magenta green blue red
HYPERVISOR = "(XEN)"


class ConsoleHub:
    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None,
                 log_dir: str | None = None, raw: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.raw = raw
        self.log_dir = log_dir
        self.lines: list[tuple[str, str]] = []     # (source name, line), in order
        self._partial: dict[int, bytearray] = {}
        self._names: dict[int, str] = {}
        self._logs: dict[int, TextIO] = {}
        self.width = 8
        self.closed = False   # the output's reader went away
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)

    def write(self, dom, data: bytes) -> None:
        """Output from domain `dom` (anything with .domid and .name)."""
        self._names[dom.domid] = dom.name
        self.width = max(self.width, len(dom.name))
        if self.raw:
            self._out(data.decode(errors="replace"))
        buf = self._partial.setdefault(dom.domid, bytearray())
        buf += data
        while (nl := buf.find(b"\n")) >= 0:
            line = buf[:nl].decode(errors="replace").rstrip("\r")
            del buf[:nl + 1]
            self._emit(dom.domid, line)

    def hypervisor_line(self, message: str, important: bool = False) -> None:
        """A hypervisor message; in raw mode only `important` ones, on stderr."""
        self.lines.append((HYPERVISOR, message))
        if not self.raw:
            self._print(HYPERVISOR, message, 90)
        elif important:
            print(f"{HYPERVISOR} {message}", file=sys.stderr)

    def flush(self) -> None:
        """Emit partial last lines (a guest that ended without a newline)."""
        for domid in list(self._partial):
            self._flush_domain(domid)
        for log in self._logs.values():
            log.flush()

    def end(self, dom) -> None:
        """`dom` is going away: its partial last line is emitted and its log closed."""
        self._flush_domain(dom.domid)
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
            log.close()
        self._logs.clear()

    def output_of(self, name: str) -> list[str]:
        """Every line a domain printed (for tests and summaries)."""
        return [line for source, line in self.lines if source == name]

    def _emit(self, domid: int, line: str) -> None:
        name = self._names.get(domid, f"d{domid}")
        self.lines.append((name, line))
        if self.log_dir:
            log = self._logs.get(domid)
            if log is None:
                log = open(os.path.join(self.log_dir, f"{name}.log"), "a", encoding="utf-8")
                self._logs[domid] = log
            log.write(line + "\n")
        if not self.raw:
            self._print(name, line, _COLOURS[domid % len(_COLOURS)])

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
