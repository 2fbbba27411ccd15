"""A stateful test at the hypercall level: dom0 and two domUs issue random memory_op,
mmu_update, mmuext_op and update_va_mapping calls through dispatch, with the argument
structures in their own memory, and the frame-table invariants (paravisor.mm.invariants:
ownership, reference counts, no writable mapping of a table, no mapping of another
domain's frame) are checked after every step."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from paravisor.abi import (
    DOMID_SELF,
    MMU_UPDATE,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_OP,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_UNPIN_TABLE,
    XEN_MEMORY_RESERVATION,
    Hypercall,
    XENMEM_decrease_reservation,
    XENMEM_increase_reservation,
)
from paravisor.domain.guest_access import GuestMemoryError
from paravisor.isa.table import PAGE_SIZE, PTE_A, PTE_D, PTE_P, PTE_U, PTE_W, make_pte
from paravisor.mm.frametable import PageType
from paravisor.mm.invariants import verify
from paravisor.mm.pagetable import read_table
from paravisor.testing.guests import api_guest
from paravisor.testing.host import Host

FLAG_CHOICES = [PTE_P, PTE_P | PTE_W, PTE_P | PTE_W | PTE_U, PTE_P | PTE_A | PTE_D,
                PTE_P | PTE_W | PTE_A | PTE_D, 0, PTE_W, PTE_P | 0x80]
ARGS_OFFSET = 0                 # argument structures go at the start of scratch ...
TARGET_PAGES = range(1, 8)      # ... and the other scratch pages are remapped at random


class HypercallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.host = Host(host_mib=4)
        self.guests = [api_guest(self.host, name="dom0", privileged=True, domid=0),
                       api_guest(self.host, name="a"), api_guest(self.host, name="b")]
        for guest in self.guests:
            guest.dom.mem.max_pages += 8
        self.hv = self.host.hv
        self.calls = self.refused = 0

    # --- helpers -----------------------------------------------------------------------

    def call(self, guest, number, payload: bytes, *args):
        """Place `payload` in the guest's argument area and call; None if the guest has
        unmapped its own argument area (its earlier calls may legitimately do that)."""
        va = guest.symbols["scratch"] + ARGS_OFFSET
        try:
            guest.write(va, payload)
        except GuestMemoryError:
            return None
        rc = guest.call(number, *(va if a is None else a for a in args))
        self.calls += 1
        self.refused += rc < 0 if isinstance(rc, int) else 0
        return rc

    def frames(self, kind=None):
        """Frames to name: every domain's, filtered by page type, plus one past memory."""
        mm = self.hv.mm
        found = [mfn for g in self.guests for mfn in sorted(g.dom.mem.pages)
                 if kind is None or mm.frames[mfn].type == kind]
        return found + [mm.nframes]

    # --- rules -------------------------------------------------------------------------

    @rule(data=st.data(), who=st.integers(0, 2), count=st.integers(1, 3))
    def increase_reservation(self, data, who, count):
        guest = self.guests[who]
        out = guest.symbols["scratch"] + 64
        res = XEN_MEMORY_RESERVATION.pack(extent_start=out, nr_extents=count, domid=DOMID_SELF)
        self.call(guest, Hypercall.memory_op, res, XENMEM_increase_reservation, None)

    @rule(data=st.data(), who=st.integers(0, 2))
    def decrease_reservation(self, data, who):
        guest = self.guests[who]
        mfn = data.draw(st.sampled_from(self.frames()))
        array = guest.symbols["scratch"] + 64
        res = XEN_MEMORY_RESERVATION.pack(extent_start=array, nr_extents=1, domid=DOMID_SELF)
        try:
            guest.write(array, mfn.to_bytes(4, "little"))
        except GuestMemoryError:
            return
        self.call(guest, Hypercall.memory_op, res, XENMEM_decrease_reservation, None)

    @rule(data=st.data(), who=st.integers(0, 2), flags=st.sampled_from(FLAG_CHOICES))
    def mmu_update(self, data, who, flags):
        guest = self.guests[who]
        table = data.draw(st.sampled_from(self.frames(PageType.L1_TABLE)
                                          + self.frames(PageType.L2_TABLE)))
        index = data.draw(st.integers(0, 1023))
        target = data.draw(st.sampled_from(self.frames()))
        req = MMU_UPDATE.pack(ptr=(table << 12) + 4 * index, val=make_pte(target, flags)
                              if target < self.hv.mm.nframes else target << 12 | flags)
        self.call(guest, Hypercall.mmu_update, req, None, 1, 0, DOMID_SELF)

    @rule(data=st.data(), who=st.integers(0, 2),
          toggle=st.sampled_from([PTE_W, PTE_A, PTE_D, PTE_U, PTE_W | PTE_D, PTE_P]))
    def toggle_a_live_entry(self, data, who, toggle):
        """Flip flags of a present entry, keeping its frame: the mod_l?_entry fast path
        (XSA-182: flipping W on the read-only mapping of a table must be refused)."""
        guest = self.guests[who]
        tables = [mfn for mfn in sorted(guest.dom.mem.pages)
                  if self.hv.mm.frames[mfn].is_table]
        if not tables:
            return
        table = data.draw(st.sampled_from(tables))
        live = [i for i, pte in enumerate(read_table(self.hv.mm, table)) if pte & PTE_P]
        if not live:
            return
        index = data.draw(st.sampled_from(live))
        old = self.hv.memory.read32((table << 12) + 4 * index)
        req = MMU_UPDATE.pack(ptr=(table << 12) + 4 * index, val=old ^ toggle)
        self.call(guest, Hypercall.mmu_update, req, None, 1, 0, DOMID_SELF)

    @rule(data=st.data(), who=st.integers(0, 2), flags=st.sampled_from(FLAG_CHOICES),
          page=st.sampled_from(TARGET_PAGES))
    def update_va_mapping(self, data, who, flags, page):
        guest = self.guests[who]
        target = data.draw(st.sampled_from(self.frames()))
        va = guest.symbols["scratch"] + page * PAGE_SIZE
        pte = make_pte(target, flags) if target < self.hv.mm.nframes else target << 12 | flags
        rc = guest.call(Hypercall.update_va_mapping, va, pte, 0)
        self.calls += 1
        self.refused += rc < 0

    @rule(data=st.data(), who=st.integers(0, 2),
          cmd=st.sampled_from([MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE,
                               MMUEXT_NEW_BASEPTR]))
    def mmuext_op(self, data, who, cmd):
        guest = self.guests[who]
        pool = self.frames(PageType.L2_TABLE) if cmd == MMUEXT_NEW_BASEPTR else self.frames()
        mfn = data.draw(st.sampled_from(pool))
        op = MMUEXT_OP.pack(cmd=cmd, arg1=mfn)
        self.call(guest, Hypercall.mmuext_op, op, None, 1, 0, DOMID_SELF)

    @precondition(lambda self: self.calls > 0)
    @rule()
    def nothing_crashed(self):
        assert all(not g.dom.is_shutdown for g in self.guests)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def frame_table_is_sound(self):
        verify(self.hv.mm)


HypercallMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25)
TestHypercallStateful = HypercallMachine.TestCase
