"""What a hypercall costs (docs/abi.md, "What a hypercall costs"): each call, batch entry,
page table walked and byte copied advances the caller's virtual time -- hv.now and its
vCPU's cpu_time_ns alike -- by exactly the cost paravisor.hypercalls.cost names."""

from __future__ import annotations

from paravisor.abi import (
    DOMID_SELF,
    GNTTAB_COPY,
    MMUEXT_OP,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_UNPIN_TABLE,
    CONSOLEIO_write,
    Gntst,
    GNTTABOP_copy,
    Hypercall,
    XENVER_version,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.cost import BATCH_ENTRY_NS, HYPERCALL_NS, PAGE_TABLE_NS, copy_ns
from paravisor.mm.frametable import PageType
from paravisor.mm.pv_mmu import pin_table
from paravisor.testing.grant_harness import GrantWorld
from paravisor.testing.guests import Guest

MMUEXT = Hypercall.mmuext_op
FLUSH = copy_ns(MMUEXT_OP.size) + BATCH_ENTRY_NS      # one mmuext entry, copied and run


def spent(guest: Guest, fn) -> tuple[object, int]:
    """(fn(), virtual ns charged to the guest's vCPU meanwhile); hv.now moves as much."""
    vcpu, hv = guest.vcpu, guest.hv
    cpu_before, now_before = vcpu.cpu_time_ns, hv.now
    result = fn()
    assert hv.now - now_before == vcpu.cpu_time_ns - cpu_before
    return result, vcpu.cpu_time_ns - cpu_before


def test_every_call_costs_hypercall_ns(domu):
    rc, ns = spent(domu, lambda: domu.call(Hypercall.xen_version, XENVER_version, 0))
    assert rc == (4 << 16) | 20 and ns == HYPERCALL_NS
    rc, ns = spent(domu, lambda: domu.call(99))
    assert rc == -Errno.ENOSYS and ns == HYPERCALL_NS


def test_batch_entries_and_copies_are_charged(domu):
    ops = domu.put_array(MMUEXT_OP, [{"cmd": MMUEXT_TLB_FLUSH_LOCAL}] * 10)
    rc, ns = spent(domu, lambda: domu.call(MMUEXT, ops, 10, 0, DOMID_SELF))
    assert rc == 0 and ns == HYPERCALL_NS + 10 * FLUSH
    text = domu.put_words([0x41414141] * 25)
    rc, ns = spent(domu, lambda: domu.call(Hypercall.console_io, CONSOLEIO_write, 99, text))
    assert rc == 0 and ns == HYPERCALL_NS + copy_ns(99)


def test_validating_and_tearing_down_a_page_table_is_charged(domu):
    (frame,) = domu.fresh_frames(1)
    for cmd in (MMUEXT_PIN_L1_TABLE, MMUEXT_UNPIN_TABLE):
        ops = domu.put_array(MMUEXT_OP, [{"cmd": cmd, "arg1": frame}])
        rc, ns = spent(domu, lambda ops=ops: domu.call(MMUEXT, ops, 1, 0, DOMID_SELF))
        assert rc == 0 and ns == HYPERCALL_NS + FLUSH + PAGE_TABLE_NS


def test_a_grant_copy_is_charged_for_the_bytes_it_moves():
    world = GrantWorld(nr_guests=1)
    (a,) = world.guests
    src, dst = world.fresh_frame(a), world.fresh_frame(a)
    side = {"domid": DOMID_SELF}
    copy = a.put(GNTTAB_COPY, source={"u": {"gmfn": src}, **side},
                 dest={"u": {"gmfn": dst}, **side, "offset": 8}, len=1000, flags=0)
    rc, ns = spent(a, lambda: a.call(Hypercall.grant_table_op, GNTTABOP_copy, copy, 1))
    assert rc == 0 and a.get(GNTTAB_COPY, copy)["status"] == Gntst.GNTST_okay
    read_op, status_write = copy_ns(GNTTAB_COPY.size), copy_ns(2)
    assert ns == HYPERCALL_NS + read_op + BATCH_ENTRY_NS + copy_ns(1000) + status_write


def test_page_tables_walked_outside_a_hypercall_are_charged_to_nobody(domu):
    """The builder's and dom0 services' work is the host's (hv.current is None)."""
    (frame,) = domu.fresh_frames(1)
    cpu_before, now_before = domu.vcpu.cpu_time_ns, domu.hv.now
    assert pin_table(domu.hv.mm, domu.dom.mem, frame, PageType.L1_TABLE) == 0
    assert (domu.vcpu.cpu_time_ns, domu.hv.now) == (cpu_before, now_before)
