"""F4, memory exhaustion through the console: a guest that prints without end must not
grow the host.  guest_os/tests/attacks/console_flood.s floods console_io (4 MiB, with and
without newlines) and its PV console ring (192 KiB, with and without newlines).

End to end (both engines, through `paravisor run` and `paravisor launch`): the guest
reports CONTAINED (console_io never failed, the daemon took every ring byte, but only at
its budget's pace), console_io beyond the budget is reported as suppressed, and what
reaches the terminal and the log is bounded.  In process: the hub's history and partial
lines stay under their caps however much is written, and the budget's arithmetic.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tracemalloc

from paravisor.console import (
    CONSOLE_HISTORY_BYTES,
    CONSOLE_HISTORY_LINES,
    CONSOLE_LINE_MAX_BYTES,
    CONSOLE_RATE_BYTES,
    CONSOLE_RATE_PERIOD_NS,
    HYPERVISOR,
    ConsoleBudget,
    ConsoleHub,
)
from paravisor.domain import ShutdownReason
from paravisor.hypervisor import Hypervisor
from paravisor.services.console import ConsoleDaemon
from paravisor.toolstack.config import DomainConfig
from paravisor.toolstack.domains import Toolstack, guest_os_dir

NAME = "console_flood"
IO_FLOOD_BYTES = 2 * 32 * 65536       # the kernel's console_io flood: 4 MiB
RING_FLOOD_BYTES = 2 * 98304          # and its ring flood: 192 KiB
# What may reach the console: console_io's budget in the one period the flood lasts,
# every ring byte (delayed, not lost), and a few short lines (note, verdict).
OUTPUT_BOUND = CONSOLE_RATE_BYTES + RING_FLOOD_BYTES + 1024
SUPPRESSED = re.compile(r"\((\d+) bytes suppressed\)")


class Dom:
    """What the hub needs of a domain."""

    def __init__(self, domid: int, name: str) -> None:
        self.domid, self.name = domid, name


class CountingStream(io.TextIOBase):
    """An output that keeps nothing: it counts the characters written."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return len(text)


def _suppressed(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := SUPPRESSED.fullmatch(line))]


# --- end to end ---------------------------------------------------------------------------

def test_a_console_flood_is_contained_under_run(run_attack, engine):
    result = run_attack(NAME, engine)
    assert result.contained(NAME), (result.status, result.err, result.out[-300:])
    assert _suppressed(result.lines) == [IO_FLOOD_BYTES - CONSOLE_RATE_BYTES]
    assert RING_FLOOD_BYTES < len(result.out) <= OUTPUT_BOUND


def test_a_console_flood_is_contained_under_launch(attack_image, tmp_path, engine):
    (tmp_path / "flood.cfg").write_text(
        f'name = "{NAME}"\nkernel = "{attack_image(NAME)}"\nmemory = 16\n')
    (tmp_path / "dom0.cfg").write_text('name = "Domain-0"\nmemory = 8\n'
                                       'guests = ["flood.cfg"]\n')
    logs = tmp_path / "logs"
    result = subprocess.run([sys.executable, "-P", "-m", "paravisor.cli", "launch",
                             str(tmp_path / "dom0.cfg"), "--engine", engine, "--log-dir",
                             str(logs), "--max-seconds", "30"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line.partition(" | ")[2] for line in result.stdout.splitlines()
             if line.startswith(NAME)]
    assert f"{NAME}: CONTAINED" in lines
    assert _suppressed(lines) == [IO_FLOOD_BYTES - CONSOLE_RATE_BYTES]
    logged = (logs / f"{NAME}.log").read_text()
    assert RING_FLOOD_BYTES < len(logged) <= OUTPUT_BOUND + len(lines)   # + newlines
    assert max(len(line) for line in lines) <= CONSOLE_LINE_MAX_BYTES


# --- in process ----------------------------------------------------------------------------

class MeasuringHub(ConsoleHub):
    """A hub that records the most console text it ever held."""

    peak = 0

    def write(self, dom, data: bytes) -> None:
        super().write(dom, data)
        self.peak = max(self.peak, self.retained_bytes())


def test_the_flood_never_makes_the_host_hold_more_than_the_caps():
    """The attack kernel on an in-process host: the hub's peak stays under its caps
    (one guest plus the hypervisor's lines), and console_io is cut at its budget while
    every ring byte reaches the output."""
    stream = CountingStream()
    hub = MeasuringHub(stream, raw=True)
    hv = Hypervisor(40, console=hub, strict=True)
    dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)
    toolstack = Toolstack(hv, dom0, ConsoleDaemon(hv, dom0))
    source = os.path.join(guest_os_dir(), "tests", "attacks", f"{NAME}.s")
    dom = toolstack.create(DomainConfig(name=NAME, kernel=source, path=source, memory=16,
                                        maxmem=16, on_poweroff="preserve"))
    hv.run(until=lambda: dom.is_shutdown and not hv.deferred, max_ns=10 ** 10)
    assert (dom.shutdown_reason, dom.shutdown_code) == (ShutdownReason.POWEROFF, 0)
    assert hub.peak <= 2 * (CONSOLE_HISTORY_BYTES + CONSOLE_LINE_MAX_BYTES)
    assert RING_FLOOD_BYTES < stream.written <= OUTPUT_BOUND
    assert f"{NAME}: CONTAINED" in hub.output_of(NAME)
    assert _suppressed(hub.output_of(NAME)) == [IO_FLOOD_BYTES - CONSOLE_RATE_BYTES]


def test_the_hub_keeps_a_bounded_history_per_domain():
    hub = ConsoleHub(CountingStream(), colour=False)
    quiet, flooder = Dom(1, "quiet"), Dom(2, "flooder")
    hub.write(quiet, b"one\ntwo\n")
    short_lines = b"".join(b"line %06d\n" % i for i in range(6000))   # ~64 KiB
    endless = b"x" * 65536
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(16):                              # 2 MiB in all
            hub.write(flooder, short_lines)
            hub.write(flooder, endless)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1 << 20
    assert hub.retained_bytes() <= 3 * CONSOLE_HISTORY_BYTES + CONSOLE_LINE_MAX_BYTES
    flooded = hub.output_of("flooder")
    assert len(flooded) <= CONSOLE_HISTORY_LINES
    assert flooded[-1] == "x" * CONSOLE_LINE_MAX_BYTES   # the most recent piece
    assert hub.output_of("quiet") == ["one", "two"]      # not pushed out by the flooder


def test_the_merged_history_keeps_the_order_of_arrival():
    hub = ConsoleHub(CountingStream(), colour=False)
    a, b = Dom(1, "a"), Dom(2, "b")
    hub.write(a, b"1\n")
    hub.hypervisor_line("2")
    hub.write(b, b"3\n")
    hub.write(a, b"4\n")
    assert hub.lines == [("a", "1"), (HYPERVISOR, "2"), ("b", "3"), ("a", "4")]


def test_a_line_without_a_newline_is_cut_at_the_cap_like_a_terminal_wraps():
    hub = ConsoleHub(CountingStream(), colour=False)
    dom = Dom(1, "g")
    hub.write(dom, b"y" * (10 * CONSOLE_LINE_MAX_BYTES + 5))
    assert hub.output_of("g") == ["y" * CONSOLE_LINE_MAX_BYTES] * 10
    assert hub.retained_bytes() - 10 * CONSOLE_LINE_MAX_BYTES <= CONSOLE_LINE_MAX_BYTES
    hub.flush()
    assert hub.output_of("g")[-1] == "yyyyy"


def test_a_cut_never_splits_a_character():
    hub = ConsoleHub(CountingStream(), colour=False)
    dom = Dom(1, "g")
    hub.write(dom, b"a" * (CONSOLE_LINE_MAX_BYTES - 1) + "é".encode() + b"b" * 10)
    hub.flush()
    assert hub.output_of("g") == ["a" * (CONSOLE_LINE_MAX_BYTES - 1), "é" + "b" * 10]


def test_a_note_ends_the_partial_line_it_interrupts():
    out = io.StringIO()
    hub = ConsoleHub(out, raw=True)
    dom = Dom(1, "g")
    hub.write(dom, b"abc")
    hub.note(dom, "(7 bytes suppressed)")
    hub.write(dom, b"def\n")
    assert out.getvalue() == "abc\n(7 bytes suppressed)\ndef\n"
    assert hub.output_of("g") == ["abc", "(7 bytes suppressed)", "def"]


def test_the_budget_refills_at_each_period_and_not_before():
    budget = ConsoleBudget(100, 1000)
    assert budget.take(0, 60) == 60
    assert budget.take(999, 60) == 40
    assert budget.take(999, 1) == 0
    assert budget.next_period_ns() == 1000
    assert budget.take(1000, 500) == 100
    assert budget.take(500, 10) == 0          # an earlier clock does not refill it
    assert budget.take(5500, 10) == 10


def test_the_default_budget_is_xenconsoleds_worst_case():
    """30 ring events of at most a full 2 KiB ring, per 200 ms (tools/console/daemon)."""
    assert (CONSOLE_RATE_BYTES, CONSOLE_RATE_PERIOD_NS) == (30 * 2048, 200_000_000)


def test_a_suppressed_count_is_reported_once():
    budget = ConsoleBudget()
    assert budget.suppressed_note() is None
    budget.suppressed += 5
    assert budget.suppressed_note() == "(5 bytes suppressed)"
    assert budget.suppressed_note() is None
