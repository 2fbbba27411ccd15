"""--realtime stress: a vCPU keeps storing through a mapping while another host thread
takes the mapping away and then re-types or frees the frame.  Once the change is done,
no store may reach the frame: not through the native TLB, not through the interpreter's,
not from a run that was already under way.

- same domain: vCPU 0 writes `victim`; vCPU 1 unmaps it and pins the frame as an L1 table
  (the guest reads it back read-only through an alias) or frees it and takes a new one;
- across domains: a writer domain stores into a page another domain granted it (and into
  its own page) while that other domain's vCPU, on the other pCPU, destroys it.

Checked at every hypercall of the domain, under the hypervisor lock (FrameLedger): from
the moment the unmap returned, the frame changes only by the hypervisor's own hand (a
free or an allocation zeroes it); after every destruction, the granted frame stays as it
was; at the end, the invariants (free frames are zero, counts, types).

What these caught before the shootdown existed: a crashed host in about one run in
three to eight (the machine's load matters) -- native code storing through a TLB entry
torn by the other thread's flush, a memset (under gdb: a store to host address 0x11fff,
i.e. guest va 0x12000 plus the flushed addend -1: SIGSEGV, or a wild write had the
address been mapped), or the JIT's cold tier finding its Mmu emptied under its feet
(KeyError).  The content checks never tripped in those runs: a stale store needs its
thread to stall between the TLB lookup and the store, nanoseconds natively (unless the
host preempts it right there) and a few bytecodes in the interpreter tier (the tests
shrink the GIL switch interval to widen that one).  Stress alone cannot be relied on,
so test_shootdown.py checks the mechanism itself, deterministically.
"""

from __future__ import annotations

import struct
import sys

import pytest

from paravisor.abi import (
    GNTTAB_MAP_GRANT_REF,
    VCPU_GUEST_CONTEXT,
    Gntmap,
    GNTTABOP_map_grant_ref,
    Gtf,
    Hypercall,
    VCPUOP_initialise,
    VGCF_online,
)
from paravisor.grants.table import write_entry
from paravisor.hypercalls import dispatch
from paravisor.hypervisor.realtime import run_realtime
from paravisor.isa.table import CR, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PTE_P, pte_frame
from paravisor.jit import JitEngine
from paravisor.mm import increase_reservation, mmu_update
from paravisor.mm.invariants import verify
from paravisor.sched import make_scheduler
from paravisor.testing.guests import SCRATCH_PAGES, SCRATCH_SYMBOL, Guest, load_guest
from paravisor.testing.host import Host

# --- the guests ------------------------------------------------------------------------
# REMAP_KERNEL has two vCPUs.  vCPU 0 (`_start`, the writer) stores an ever-growing even
# word to the first two words of the page `victim`, forever; while the page is unmapped
# the store faults and the #PF handler waits a little and retries it.  (An even word is
# a non-present entry: the page validates as an L1 table whatever it last wrote.)  vCPU 1
# (`remapper`, brought up by the test) runs `rounds` rounds on the same page, through the
# parameter block `params` the test fills in:
#
#     unmap victim (mmu_update: its L1 entry := 0)
#     mode 0: read the page through the read-only alias `params.alias`, pin it as an L1
#             table, wait, read it again and unpin it: the two reads must be equal
#     mode 1: give the frame back (decrease_reservation), wait, take a new one
#             (increase_reservation): the writer must reach neither
#     map victim again (writable, to the current frame), wait
#
# and powers off with 0, or with the number of the check that failed.  WRITER_KERNEL
# stores an ever-growing word to `victim` and to `own`, forever.  OWNER_KERNEL makes a
# hypercall now and then, forever.
# Each has a `scratch` area for paravisor.testing.guests.Guest.

# Offsets in REMAP_KERNEL's `params` block (words).
P_MODE, P_ROUNDS, P_L1E, P_FLAGS, P_MFN, P_ALIAS = 0, 4, 8, 12, 16, 20
MODE_PIN, MODE_FREE = 0, 1

# Checks REMAP_KERNEL powers off with.
CHECK_UNMAP, CHECK_PIN, CHECK_CHANGED, CHECK_UNPIN, CHECK_FREE, CHECK_ALLOC = 1, 2, 3, 4, 5, 6

_SCRATCH = f"""
        .bss
        .balign 4096
        .global {SCRATCH_SYMBOL}
{SCRATCH_SYMBOL}:
        .space {SCRATCH_PAGES * 4096}
"""

REMAP_KERNEL = f"""
        .include "paravisor.inc"
        .equ DELAY, 300

        .text
        .global _start
_start:                               # vCPU 0: the writer
        la    a0, trap_table
        li    t0, __HYPERVISOR_set_trap_table
        hcall
        la    s0, victim
        li    s1, 0
1:      addi  s1, s1, 2
        sw    s1, 0(s0)
        sw    s1, 4(s0)
        j     1b

on_page_fault:                        # sp: the bounce frame; wait, then retry the store
        li    t0, 200
1:      addi  t0, t0, -1
        bnez  t0, 1b
        addi  sp, sp, BOUNCE_FRAME_T0
        li    t0, __HYPERVISOR_iret   # restores t0, pc, flags and sp from the frame
        hcall

        .global remapper
remapper:                             # vCPU 1
        la    s0, params
        lw    s1, {P_ROUNDS}(s0)
round:  lw    a1, {P_L1E}(s0)
        li    a2, 0
        li    a5, {CHECK_UNMAP}
        call  pt_update
        lw    t1, {P_MODE}(s0)
        bnez  t1, free_round
        lw    t1, {P_ALIAS}(s0)       # mode 0: pin as an L1 table, nothing may change
        lw    s2, 0(t1)
        lw    s3, 4(t1)
        li    a1, MMUEXT_PIN_L1_TABLE
        li    a5, {CHECK_PIN}
        call  mmuext
        call  delay
        lw    t1, {P_ALIAS}(s0)
        lw    t2, 0(t1)
        li    a0, {CHECK_CHANGED}
        bne   t2, s2, fail
        lw    t2, 4(t1)
        bne   t2, s3, fail
        li    a1, MMUEXT_UNPIN_TABLE
        li    a5, {CHECK_UNPIN}
        call  mmuext
        j     remap
free_round:                           # mode 1: free the frame, then take a new one
        li    a0, XENMEM_decrease_reservation
        li    a5, {CHECK_FREE}
        call  reservation
        call  delay
        li    a0, XENMEM_increase_reservation
        li    a5, {CHECK_ALLOC}
        call  reservation
remap:  lw    a1, {P_L1E}(s0)
        lw    a2, {P_MFN}(s0)
        slli  a2, a2, 12
        lw    t1, {P_FLAGS}(s0)
        or    a2, a2, t1
        li    a5, {CHECK_UNMAP}
        call  pt_update
        call  delay
        addi  s1, s1, -1
        bnez  s1, round
        li    a0, 0
fail:   la    a1, shutdown_arg
        sw    a0, SCHED_SHUTDOWN_CODE(a1)
        li    a0, SCHEDOP_shutdown
        li    t0, __HYPERVISOR_sched_op
        hcall
        j     fail

# pt_update(a1 = entry maddr, a2 = value): one mmu_update; on failure, fail with a5.
pt_update:
        la    a0, request
        sw    a1, MMU_UPDATE_PTR(a0)
        sw    a2, MMU_UPDATE_VAL(a0)
        li    a1, 1
        li    a2, 0
        li    a3, DOMID_SELF
        li    t0, __HYPERVISOR_mmu_update
        hcall
        bnez  a0, 1f
        ret
1:      mv    a0, a5
        j     fail

# mmuext(a1 = command) on the victim's frame; on failure, fail with a5.
mmuext:
        la    a0, request
        sw    a1, MMUEXT_OP_CMD(a0)
        lw    a2, {P_MFN}(s0)
        sw    a2, MMUEXT_OP_ARG1(a0)
        sw    zero, MMUEXT_OP_ARG2(a0)
        li    a1, 1
        li    a2, 0
        li    a3, DOMID_SELF
        li    t0, __HYPERVISOR_mmuext_op
        hcall
        bnez  a0, 1f
        ret
1:      mv    a0, a5
        j     fail

# reservation(a0 = XENMEM_decrease/increase_reservation) of one extent, params.mfn
# in or out; on anything but 1 extent done, fail with a5.
reservation:
        la    a1, extent_args
        addi  t1, s0, {P_MFN}
        sw    t1, XEN_MEMORY_RESERVATION_EXTENT_START(a1)
        li    t1, 1
        sw    t1, XEN_MEMORY_RESERVATION_NR_EXTENTS(a1)
        sw    zero, XEN_MEMORY_RESERVATION_EXTENT_ORDER(a1)
        sw    zero, XEN_MEMORY_RESERVATION_MEM_FLAGS(a1)
        li    t1, DOMID_SELF
        sw    t1, XEN_MEMORY_RESERVATION_DOMID(a1)
        li    t0, __HYPERVISOR_memory_op
        hcall
        li    t1, 1
        bne   a0, t1, 1f
        ret
1:      mv    a0, a5
        j     fail

delay:  li    t1, DELAY
1:      addi  t1, t1, -1
        bnez  t1, 1b
        ret

        .data
        .balign 4
        .global params
params: .space 24
trap_table:
        .byte TRAP_VEC_PAGE_FAULT, 1
        .half 0
        .word on_page_fault
        .word 0, 0
shutdown_arg:
        .word SHUTDOWN_poweroff, 0
request:
        .space 12
extent_args:
        .space XEN_MEMORY_RESERVATION_SIZE

        .bss
        .balign 4096
        .global victim
victim: .space 4096
        .global alias
alias:  .space 4096
        .global stack1
stack1: .space 4096
""" + _SCRATCH

WRITER_KERNEL = """
        .include "paravisor.inc"
        .text
        .global _start
_start: la    s0, victim
        la    s1, own
        li    s2, 0
1:      addi  s2, s2, 1
        sw    s2, 0(s0)
        sw    s2, 0(s1)
        j     1b

        .bss
        .balign 4096
        .global victim
victim: .space 4096
own:    .space 4096
""" + _SCRATCH

OWNER_KERNEL = """
        .include "paravisor.inc"
        .text
        .global _start
_start: li    a0, 0                   # xen_version(XENVER_version): the test's hook runs
        li    a1, 0                   # the toolstack's work in this hypercall, as
        li    t0, __HYPERVISOR_xen_version    # domctl's handler would
        hcall
        li    t1, 2000
1:      addi  t1, t1, -1
        bnez  t1, 1b
        j     _start
""" + _SCRATCH


ZERO_PAGE = bytes(PAGE_SIZE)
MAX_NS = 60_000_000_000          # virtual time: the guests stop the runs long before
WRITERS = 12
WRITER_WARM = 3_000_000         # instructions a writer runs (hot, native) before its end


@pytest.fixture
def fine_gil_switching():
    """Switch threads every 20 us instead of every 5 ms: Python-level races show up."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(20e-6)
    yield
    sys.setswitchinterval(saved)


def _realtime_host() -> Host:
    return Host(64, engine_factory=JitEngine, scheduler=make_scheduler("credit", 2))


class FrameLedger:
    """Watches REMAP_KERNEL's victim page from the hypervisor, at every hypercall of its
    domain (under the hypervisor lock): from the moment its unmap returned until it is
    mapped again, the frame it mapped changes only by the hypervisor's own hand -- a free
    zeroes it, an allocation hands it out zeroed."""

    def __init__(self, guest: Guest, l1e: int) -> None:
        self.hv, self.dom, self.l1e = guest.hv, guest.dom, l1e
        self.mapped = pte_frame(self.hv.memory.read32(l1e))
        self.frame: int | None = None     # the victim's frame while it is unmapped
        self.expected = b""
        self.unmaps = 0
        self.violations: list[str] = []

    def install(self, monkeypatch) -> None:
        original = dispatch.hypercall

        def hypercall(hv, vcpu) -> None:
            if vcpu.domain is self.dom:
                self._check("before", vcpu)
            original(hv, vcpu)
            if vcpu.domain is self.dom:
                self._after(vcpu)
        monkeypatch.setattr(dispatch, "hypercall", hypercall)

    def _content(self) -> bytes:
        return self.hv.memory.read_frame(self.frame)

    def _check(self, when: str, vcpu) -> None:
        if self.frame is not None and self._content() != self.expected:
            self.violations.append(f"frame {self.frame:#x} written after its unmap "
                                   f"({when} a hypercall of {vcpu.name})")
            self.expected = self._content()

    def _after(self, vcpu) -> None:
        pte = self.hv.memory.read32(self.l1e)
        if self.frame is None:
            if not pte & PTE_P:                  # the unmap just returned
                self.frame = self.mapped
                self.expected = self._content()
                self.unmaps += 1
            return
        if pte & PTE_P:                          # mapped again: the writer may write
            self.frame, self.mapped = None, pte_frame(pte)
            return
        if self.hv.mm.is_free(self.frame) and self.expected != ZERO_PAGE:
            self.expected = ZERO_PAGE            # this hypercall freed it, zeroed
        self._check("after", vcpu)


def _remap_guest(host: Host, mode: int, rounds: int) -> tuple[Guest, int]:
    """REMAP_KERNEL's domain, parameters filled in, vCPU 1 up; (guest, victim's L1e)."""
    hv = host.hv
    guest = load_guest(host, REMAP_KERNEL, name="remap", max_vcpus=2)
    sym, dom = guest.symbols, guest.dom
    l1e = guest.l1_entry_maddr(sym["victim"])
    pte = hv.memory.read32(l1e)
    if mode == MODE_PIN:     # a read-only alias of the frame: tables may be read
        alias = (pte_frame(pte) << PAGE_SHIFT) | PTE_P
        assert mmu_update(hv.mm, dom.mem, [(guest.l1_entry_maddr(sym["alias"]), alias)]) == (0, 1)
    guest.write(sym["params"], struct.pack("<6I", mode, rounds, l1e, pte & PAGE_MASK,
                                           pte_frame(pte), sym["alias"]))
    regs = [0] * 16
    regs[2] = sym["stack1"] + PAGE_SIZE
    context = guest.put(VCPU_GUEST_CONTEXT, flags=VGCF_online,
                        user_regs={"regs": regs, "pc": sym["remapper"], "ring": 1},
                        ctrlreg=[0, guest.vcpu.cpu.cr[CR.PTBR]])
    assert guest.call(Hypercall.vcpu_op, VCPUOP_initialise, 1, context) == 0
    for vcpu in dom.vcpus:
        hv.set_vcpu_affinity(vcpu, {vcpu.vcpu_id})
    return guest, l1e


@pytest.mark.parametrize("mode", [MODE_PIN, MODE_FREE], ids=["unmap-pin", "unmap-free"])
def test_no_store_reaches_a_frame_unmapped_by_another_vcpu(mode, monkeypatch,
                                                           fine_gil_switching):
    host = _realtime_host()
    rounds = 400
    guest, l1e = _remap_guest(host, mode, rounds)
    ledger = FrameLedger(guest, l1e)
    ledger.install(monkeypatch)
    hv, dom = host.hv, guest.dom
    hv.unpause(dom)
    run_realtime(hv, until=lambda: dom.is_shutdown, max_ns=MAX_NS)
    assert ledger.violations == []
    assert (dom.shutdown_code, dom.crash_message) == (0, "")
    assert ledger.unmaps == rounds
    assert dom.vcpus[0].instructions > rounds       # the writer did run meanwhile
    verify(hv.mm)


def test_no_store_reaches_a_granted_frame_after_the_writer_is_destroyed(monkeypatch,
                                                                        fine_gil_switching):
    """The owner's vCPU (pCPU 1) destroys each writer in turn from one of its hypercalls,
    as dom0's domctl would, while the writer runs on pCPU 0; the frame it was granted
    must then stay as it was (checked at the owner's next hypercalls), and the writer's
    own pages, freed, must stay zero (the invariants, at the end)."""
    host = _realtime_host()
    hv = host.hv
    owner = load_guest(host, OWNER_KERNEL, name="owner")
    writers = [load_guest(host, WRITER_KERNEL, name=f"writer{k}") for k in range(WRITERS)]
    granted = _grant_frames(owner, writers)
    for writer in writers:
        hv.set_vcpu_affinity(writer.vcpu, {0})
    hv.set_vcpu_affinity(owner.vcpu, {1})
    violations: list[str] = []
    destroyed_at: list[int] = [0]
    state = {"next": 0, "after": None}
    original = dispatch.hypercall

    def hypercall(hv_, vcpu) -> None:
        original(hv_, vcpu)
        if vcpu.domain is not owner.dom:
            return
        if state["after"] is not None:
            k, frame, after = state["after"]
            if hv.memory.read_frame(frame) != after:
                violations.append(f"writer{k} wrote frame {frame:#x} after its destruction")
                state["after"] = (k, frame, hv.memory.read_frame(frame))
        k = state["next"]
        if k < WRITERS and writers[k].vcpu.instructions >= WRITER_WARM:
            hv.destroy(writers[k].dom)
            destroyed_at.append(owner.vcpu.instructions)
            state["after"] = (k, granted[k], hv.memory.read_frame(granted[k]))
            state["next"] = k + 1
            if k + 1 < WRITERS:
                hv.unpause(writers[k + 1].dom)
    monkeypatch.setattr(dispatch, "hypercall", hypercall)
    hv.unpause(owner.dom)
    hv.unpause(writers[0].dom)
    run_realtime(hv, until=lambda: state["next"] == WRITERS and owner.vcpu.instructions
                 > destroyed_at[-1] + 100_000, max_ns=MAX_NS)
    assert violations == [] and state["next"] == WRITERS
    assert all(w.dom.domid not in hv.domains for w in writers)
    verify(hv.mm)         # the writers' own pages were freed: still zero?


def _grant_frames(owner: Guest, writers: list[Guest]) -> list[int]:
    """A fresh frame of `owner` per writer, granted and mapped writable at its `victim`."""
    hv = owner.hv
    table = hv.grants.table_of(owner.dom)
    owner.dom.mem.max_pages += len(writers)
    granted = increase_reservation(hv.mm, owner.dom.mem, len(writers))
    for ref, (writer, frame) in enumerate(zip(writers, granted, strict=True), start=8):
        write_entry(hv.memory, table.entry_maddr(ref), writer.dom.domid, frame,
                    Gtf.GTF_permit_access)
        op = writer.put(GNTTAB_MAP_GRANT_REF, host_addr=writer.symbols["victim"],
                        flags=Gntmap.GNTMAP_host_map, ref=ref, dom=owner.dom.domid)
        assert writer.call(Hypercall.grant_table_op, GNTTABOP_map_grant_ref, op, 1) == 0
        assert writer.get(GNTTAB_MAP_GRANT_REF, op)["status"] == 0
    return granted
