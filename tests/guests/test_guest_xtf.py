"""XTF-style guest tests: each kernel in guest_os/tests/ checks one behaviour of the
hypervisor from inside a guest and powers off with 0 (success) or the number of the
check that failed, after printing "<name>: SUCCESS" or "<name>: FAILURE (check N)".
"""

from __future__ import annotations

import os

import pytest

from paravisor.abi import Hypercall
from paravisor.toolstack.domains import guest_os_dir

UVM = Hypercall.update_va_mapping

# kernel -> hypercalls it needs beyond the ones every kernel uses (console_io, sched_op,
# set_trap_table, iret): shared_info and the console ring are mapped with
# update_va_mapping.
XTF_TESTS = {
    "console_io": (),
    "gp_priv": (),
    "divide_error": (),
    "breakpoint": (),
    "iret_regs": (),
    "enosys": (),
    "trap_table_efault": (),
    "pt_write": (),
    "page_fault": (UVM,),
    "evtchn_loopback": (UVM,),
    "timer_virq": (UVM, Hypercall.set_timer_op),
    "sched_poll": (UVM,),
    "console_ring": (UVM,),
    "hcall_regs": (UVM, Hypercall.set_timer_op, Hypercall.mmuext_op, Hypercall.multicall),
}


def test_every_xtf_kernel_is_listed():
    kernels = {name[:-2] for name in os.listdir(os.path.join(guest_os_dir(), "tests"))
               if name.endswith(".s") and name != "runtime_lib.s"}
    assert kernels == set(XTF_TESTS)


@pytest.mark.parametrize("name", sorted(XTF_TESTS))
def test_xtf_kernel(name, run_guest, require_hypercalls):
    require_hypercalls(*XTF_TESTS[name])
    result = run_guest(f"tests/{name}.s")
    assert f"{name}: SUCCESS" in result.lines, result.out + result.err
    assert result.status == 0


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_hcall_keeps_the_registers_docs_abi_md_promises(engine, run_guest, require_hypercalls):
    """docs/abi.md section 2 and docs/isa.md section 6: only a0..a5 may change, also
    across a reschedule and a continued batch; t0 still holds the number."""
    require_hypercalls(*XTF_TESTS["hcall_regs"])
    result = run_guest("tests/hcall_regs.s", engine=engine)
    assert "hcall_regs: SUCCESS" in result.lines, result.out + result.err
    assert result.status == 0


def test_console_io_output_is_verbatim(run_guest):
    result = run_guest("tests/console_io.s")
    assert result.kernel_lines[0] == "console_io: written with CONSOLEIO_write"


def test_console_ring_output_reaches_the_console(run_guest, require_hypercalls):
    require_hypercalls(UVM)
    result = run_guest("tests/console_ring.s")
    assert "console_ring: through the PV console ring" in result.lines


def test_runtime_formatting_and_parsing(run_guest):
    """runtime_lib.s prints edge values with print_u64/dec/hex/signed, parse_uint and
    strcmp; each line must match Python's rendering of the same operation."""
    u64 = [0, 2**32 - 1, 2**32, 10**19, 2**64 - 1]
    expected = [str(v) for v in u64]
    expected += [str(0), str(2**32 - 1), f"0x{0:08x}", f"0x{0xdeadbeef:08x}", "-38", "7"]

    def parse_uint(text: str) -> int:
        return int(text) if text.isdigit() and len(text) <= 9 else -1

    expected += [str(parse_uint(s)) for s in ("0", "123456789", "", "12a", "1234567890")]

    def sign(a: str, b: str) -> int:
        return (a > b) - (a < b)

    expected += [str(sign(a, b)) for a, b in (("abc", "abd"), ("abc", "abc"), ("b", "a"))]
    result = run_guest("tests/runtime_lib.s")
    assert result.status == 0
    assert result.kernel_lines == expected
