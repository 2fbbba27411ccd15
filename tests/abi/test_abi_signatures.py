"""The hypercall signatures (paravisor/abi/signatures.py): one per hypercall, each
well formed, and the C wrappers and docs/abi.md's table made from them."""

from pathlib import Path

from paravisor import abi
from paravisor.abi import c_wrappers, headers
from paravisor.abi.errno import Errno
from paravisor.abi.signatures import GENERIC_ARGS, SIGNATURES, Status, signature
from paravisor.isa.table import HYPERCALL_ARG_REGS

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_keyed_by_each_signatures_own_hypercall_in_number_order():
    assert all(call is sig.call for call, sig in SIGNATURES.items())
    assert list(SIGNATURES) == sorted(SIGNATURES)


def test_every_hypercall_has_a_signature_and_undeclared_ones_do_nothing():
    for call in abi.Hypercall:
        sig = signature(call)
        assert sig.call is call and sig.arity <= len(HYPERCALL_ARG_REGS)
        if call not in SIGNATURES:
            assert sig.args == GENERIC_ARGS and sig.status is Status.NOT_IMPLEMENTED
            assert sig.errnos == (Errno.ENOSYS,)


def test_a_call_that_is_not_implemented_returns_only_enosys():
    for sig in SIGNATURES.values():
        if not sig.implemented:
            assert sig.errnos == (Errno.ENOSYS,), sig.call.name


def test_errnos_are_xens_listed_once_in_numeric_order():
    for sig in SIGNATURES.values():
        assert all(isinstance(e, Errno) for e in sig.errnos)
        assert list(sig.errnos) == sorted(set(sig.errnos)), sig.call.name


def test_only_iret_has_no_c_wrapper():
    assert [c.name for c in abi.Hypercall if not signature(c).c_wrapper] == ["iret"]


def test_a_wrapper_passes_its_arguments_in_order():
    text = c_wrappers.render()
    assert ("long HYPERVISOR_mmu_update(const struct mmu_update *reqs, unsigned count, "
            "unsigned *success_count, domid_t foreigndom)\n{\n    return "
            "__hcall(__HYPERVISOR_mmu_update, reqs, count, success_count, foreigndom);"
            in text)
    assert ("long HYPERVISOR_set_gdt(unsigned long a0, unsigned long a1, unsigned long a2, "
            "unsigned long a3, unsigned long a4, unsigned long a5);") in text


def test_the_docs_table_has_a_row_per_declared_hypercall():
    table = headers.render_hypercall_table()
    rows = [line for line in table.splitlines() if line.startswith("| ") and
            not line.startswith("| nr ")]
    assert [int(r.split("|")[1]) for r in rows] == [int(c) for c in SIGNATURES]
    assert ("| 15 | set_timer_op | `unsigned long timeout_lo, unsigned long timeout_hi`; "
            "absolute ns, low word first; 0 cancels; §5.3 | none | implemented |") in rows
    assert "| 21 | vm_assist | `unsigned cmd, unsigned type` | `-ENOSYS` | not implemented |" \
        in rows
    assert "set_gdt (2)" in table and "arch_7 (55)." in table
