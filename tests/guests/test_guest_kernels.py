"""The demo kernels (guest_os/hello.s, ticker.s, faulty.s) through `paravisor run`."""

from __future__ import annotations

import re

import pytest

from paravisor.abi import Hypercall
from paravisor.abi.errno import Errno
from paravisor.toolstack.launch import DEFAULT_RUN_MEMORY_MIB

TICK_NS = 10_000_000
TICK = re.compile(r"tick (\d+) at (\d+) ns")
TRAP = re.compile(r"\*\*\* trap (\S+) \(vector (\d+)\): error (0x[0-9a-f]{8}), "
                  r"fault address (0x[0-9a-f]{8}), pc (0x[0-9a-f]{8})")


def test_hello_greets_and_powers_off(run_guest):
    result = run_guest("hello.s")
    assert result.status == 0
    lines = result.kernel_lines
    assert lines[0] == "Hello from a PV32 guest"
    assert f"I have {DEFAULT_RUN_MEMORY_MIB * 256} pages of memory" in lines
    assert lines[-1] == "Goodbye."


def test_hello_greets_with_its_command_line(run_guest):
    result = run_guest("hello.s", "the test suite")
    assert result.status == 0
    assert result.kernel_lines[0] == "Hello from the test suite"


def _ticks(lines: list[str]) -> list[tuple[int, int]]:
    return [(int(m[1]), int(m[2])) for m in map(TICK.fullmatch, lines) if m]


@pytest.mark.parametrize("cmdline, count", [("", 5), ("3", 3)])
def test_ticker_ticks_every_10ms(run_guest, require_hypercalls, cmdline, count):
    require_hypercalls(Hypercall.update_va_mapping, Hypercall.set_timer_op)
    result = run_guest("ticker.s", cmdline)
    assert result.status == 0, result.out + result.err
    ticks = _ticks(result.lines)
    assert [n for n, _ in ticks] == list(range(1, count + 1))
    times = [t for _, t in ticks]
    assert times[0] >= TICK_NS
    assert all(b - a == TICK_NS for a, b in zip(times, times[1:], strict=False))
    assert result.lines[-1] == "ticker: done"


def _trap(result) -> re.Match:
    traps = [m for m in map(TRAP.fullmatch, result.lines) if m]
    assert len(traps) == 1, result.out
    return traps[0]


def _assert_crashed(result) -> None:
    assert result.status == 1
    assert "crashed" in result.err
    assert "*** unhandled trap: crashing the domain" in result.lines
    assert "faulty: that should not have worked!" not in result.lines


@pytest.mark.parametrize("cmdline", ["", "priv"])
def test_faulty_privileged_instruction_is_a_gp(run_guest, cmdline):
    result = run_guest("faulty.s", cmdline)
    _assert_crashed(result)
    assert "faulty: executing a privileged instruction (mtcr tvec) in ring 1" in result.lines
    trap = _trap(result)
    assert (trap[1], int(trap[2]), int(trap[3], 16)) == ("#GP", 13, 0)


def test_faulty_page_table_write_is_a_write_protection_fault(run_guest):
    result = run_guest("faulty.s", "ptwrite")
    _assert_crashed(result)
    announced = re.search(r"writing to my own page table at (0x[0-9a-f]{8})", result.out)
    assert announced
    trap = _trap(result)
    assert (trap[1], int(trap[2]), int(trap[3], 16)) == ("#PF", 14, 0x3)   # PROT | WRITE
    assert trap[4] == announced[1]


def test_faulty_foreign_mapping_is_refused_then_it_crashes(run_guest, require_hypercalls):
    require_hypercalls(Hypercall.mmu_update)
    result = run_guest("faulty.s", "foreign")
    _assert_crashed(result)
    refused = re.search(r"mmu_update refused it: error -(\d+)", result.out)
    assert refused and int(refused[1]) in (Errno.EPERM, Errno.EINVAL)
    assert _trap(result)[1] == "#PF"


def test_faulty_unknown_command_line_falls_back_to_priv(run_guest):
    result = run_guest("faulty.s", "explode")
    _assert_crashed(result)
    assert any(line.startswith("faulty: unknown command line") for line in result.lines)
    assert _trap(result)[1] == "#GP"
