"""The PV MMU under random hostile use: a Hypothesis state machine drives three domains
(one privileged) through reservations, pins, page-table writes, update_va_mapping, base
pointer changes, guest writes to their own non-table frames and domain teardown, while a
dom0 service maps guest frames (read-only or writable, as xenstored and the backends do)
and writes forged PTEs into the ones it holds writable; after every step it checks the
isolation invariants against a from-scratch recount."""

from contextlib import contextmanager

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from paravisor.abi import (
    DOMID_XEN,
    MMU_MACHPHYS_UPDATE,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_UNPIN_TABLE,
    UVMF_INVLPG,
    UVMF_TLB_FLUSH,
)
from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_U, PTE_W, make_pte
from paravisor.mm import (
    BootstrapError,
    MemoryDomain,
    MemoryManager,
    PageType,
    alloc_xen_page,
    build_bootstrap_tables,
    check_invariants,
    decrease_reservation,
    increase_reservation,
    mmu_update,
    mmuext_op,
    relinquish,
    share_xen_page_with_guest,
    update_va_mapping,
)
from paravisor.mm.external import hold_frame, release_frame

NFRAMES = 40
DOMIDS = (0, 1, 2)
MAX_PAGES = {0: 12, 1: 10, 2: 8}
FLAG_BITS = (PTE_P, PTE_W, PTE_U, PTE_A, PTE_D, 1 << 3, 1 << 7, 1 << 11)

good_flags_st = st.sampled_from([PTE_P, PTE_P | PTE_W, PTE_P | PTE_U, PTE_P | PTE_W | PTE_U])
# Mostly acceptable flags, so that state builds up; sometimes any mix (reserved bits, P clear).
flags_st = st.one_of(good_flags_st, good_flags_st,
                     st.lists(st.sampled_from(FLAG_BITS), unique=True, max_size=4).map(sum))
index_st = st.integers(0, 7)          # a few entries, so random writes collide and reuse
va_st = st.builds(lambda l2, l1: l2 << 22 | l1 << 12, st.integers(0, 2), st.integers(0, 7))
domid_st = st.sampled_from(DOMIDS)
SERVICE = "xenstored d0"


class PVMMUMachine(RuleBasedStateMachine):
    @initialize()
    def boot(self):
        self.mm = MemoryManager(MachineMemory(NFRAMES))
        self.xen_page = alloc_xen_page(self.mm)
        self.doms = {}
        self.service_holds = []          # (mfn, owner, writable) the dom0 service holds
        for domid in DOMIDS:
            self._create(domid)

    def _create(self, domid):
        dom = MemoryDomain(domid, MAX_PAGES[domid], privileged=(domid == 0))
        self.mm.add_domain(dom)
        for _ in range(2):
            dom.add_vcpu(CPUState())
        share_xen_page_with_guest(self.mm, self.xen_page, domid, writable=(domid == 1))
        self.doms[domid] = dom
        increase_reservation(self.mm, dom, 3)

    @contextmanager
    def _others_untouched(self, domid):
        """A call made by (and acting on) `domid` changes no other domain's frames."""
        def others():
            return [(mfn, f.owner, f.count, f.type, f.type_count, f.pinned,
                     self.mm.memory.read_frame(mfn))
                    for mfn, f in enumerate(self.mm.frames)
                    if f.owner not in (None, DOMID_XEN, domid)]
        before = others()
        yield
        assert others() == before

    def _frame(self, data, domid):
        """A frame number: usually the domain's own, sometimes anybody's or nonexistent."""
        own = sorted(self.doms[domid].pages)
        choices = [st.integers(0, NFRAMES - 1), st.sampled_from([self.xen_page, NFRAMES, 0xFFFFF])]
        if own:
            choices = [st.sampled_from(own)] * 3 + choices
        return data.draw(st.one_of(*choices))

    def _pte(self, data, domid):
        return make_pte(self._frame(data, domid), data.draw(flags_st))

    # --- reservations -----------------------------------------------------------------

    @rule(domid=domid_st, n=st.integers(0, 4))
    def increase(self, domid, n):
        dom = self.doms[domid]
        room = min(dom.max_pages - dom.tot_pages, self.mm.free_pages)
        assert len(increase_reservation(self.mm, dom, n)) == min(n, room)

    @rule(domid=domid_st, data=st.data())
    def decrease(self, domid, data):
        mfns = [self._frame(data, domid) for _ in range(data.draw(st.integers(1, 3)))]
        before = self.doms[domid].tot_pages
        with self._others_untouched(domid):
            done = decrease_reservation(self.mm, self.doms[domid], mfns)
        assert self.doms[domid].tot_pages == before - done

    @rule(domid=st.sampled_from([1, 2]))
    def destroy_and_recreate(self, domid):
        """Teardown as the toolstack does it: memory relinquished, then the services see
        the domain gone and unmap; its last frame leaves with the last hold."""
        relinquish(self.mm, self.doms[domid])
        for hold in [h for h in self.service_holds if h[1] == domid]:
            self.service_holds.remove(hold)
            release_frame(self.mm, hold[0], hold[2], SERVICE)
        assert domid not in self.mm.domains
        self._create(domid)

    @rule(domid=domid_st, vcpu=st.integers(0, 1), table_va=st.sampled_from([None, 0x2000]),
          data=st.data())
    def build_an_address_space(self, domid, vcpu, table_va, data):
        """Bootstrap tables (the builder's checked path) and switch a vCPU to them, so
        that update_va_mapping and live tables are reached often."""
        dom = self.doms[domid]
        vas = data.draw(st.lists(va_st, min_size=1, max_size=4, unique=True))
        mappings = {va: (self._frame(data, domid), data.draw(good_flags_st)) for va in vas}
        try:
            l2 = build_bootstrap_tables(self.mm, dom, mappings, table_va=table_va)
        except BootstrapError:
            event("bootstrap refused")
            return
        rc, _ = mmuext_op(self.mm, dom, dom.vcpus[vcpu], [(MMUEXT_NEW_BASEPTR, l2, 0)])
        assert rc == 0
        event("bootstrap built")

    # --- guests writing their own ordinary frames ----------------------------------------

    @rule(domid=domid_st, index=index_st, data=st.data())
    def guest_writes_a_data_frame(self, domid, index, data):
        mfn = self._frame(data, domid)
        if mfn in self.doms[domid].pages and self.mm.frames[mfn].type not in (
                PageType.L1_TABLE, PageType.L2_TABLE):
            self.mm.memory.write32((mfn << PAGE_SHIFT) + 4 * index, self._pte(data, domid))

    # --- a dom0 service holding guest frames (foreign maps, grant maps) ------------------

    @rule(domid=domid_st, writable=st.booleans(), data=st.data())
    def service_maps_a_frame(self, domid, writable, data):
        mfn = self._frame(data, domid)
        was_table = self.mm.valid_mfn(mfn) and self.mm.frames[mfn].is_table
        held = hold_frame(self.mm, mfn, domid, writable, SERVICE)
        if held:
            self.service_holds.append((mfn, domid, writable))
        assert not (held and writable and was_table), "a page table was mapped writable"
        event(f"service map writable={writable} held={held}")

    @precondition(lambda self: any(writable for _, _, writable in self.service_holds))
    @rule(data=st.data(), index=index_st)
    def service_writes_a_forged_pte(self, data, index):
        """What xenstored's reply bytes would be in the F1 attack: PTE-shaped words the
        guest chose, written with no validation into a frame the service holds."""
        mfn, owner, _ = data.draw(st.sampled_from([h for h in self.service_holds if h[2]]))
        self.mm.memory.write32((mfn << PAGE_SHIFT) + 4 * index,
                               make_pte(self._frame(data, owner), PTE_P | PTE_W | PTE_U))

    @precondition(lambda self: self.service_holds)
    @rule(data=st.data())
    def service_unmaps_a_frame(self, data):
        hold = data.draw(st.sampled_from(self.service_holds))
        self.service_holds.remove(hold)
        release_frame(self.mm, hold[0], hold[2], SERVICE)

    # --- hypercalls ----------------------------------------------------------------------

    @rule(domid=domid_st, cmd=st.sampled_from([MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE,
                                               MMUEXT_UNPIN_TABLE]),
          foreign=st.sampled_from([None, None, None, 1]), data=st.data())
    def pin_or_unpin(self, domid, cmd, foreign, data):
        dom = self.doms[domid]
        subject = foreign if foreign is not None else domid
        ops = [(cmd, self._frame(data, subject), 0)]
        kwargs = {} if foreign is None else {"foreigndom": foreign}
        with self._others_untouched(subject):
            rc, done = mmuext_op(self.mm, dom, dom.vcpus[0], ops, **kwargs)
        assert (rc == 0) == (done == 1)
        event(f"mmuext {cmd} rc={rc}")

    @rule(domid=domid_st, index=index_st, data=st.data())
    def mmu_update_entry(self, domid, index, data):
        dom = self.doms[domid]
        if data.draw(st.booleans()):
            ptr = (self._frame(data, domid) << PAGE_SHIFT) + 4 * index
            request = (ptr, self._pte(data, domid))
        else:
            request = ((self._frame(data, domid) << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, index)
        with self._others_untouched(domid):
            rc, done = mmu_update(self.mm, dom, [request])
        assert (rc == 0) == (done == 1)
        event(f"mmu_update rc={rc}")

    @rule(domid=domid_st, vcpu=st.integers(0, 1), va=va_st,
          flags=st.sampled_from([0, UVMF_TLB_FLUSH, UVMF_INVLPG]), data=st.data())
    def update_va(self, domid, vcpu, va, flags, data):
        dom = self.doms[domid]
        pte = self._pte(data, domid)
        with self._others_untouched(domid):
            rc = update_va_mapping(self.mm, dom, dom.vcpus[vcpu], va, pte, flags)
        event(f"update_va_mapping rc={rc}")

    @rule(domid=domid_st, vcpu=st.integers(0, 1), data=st.data())
    def new_baseptr(self, domid, vcpu, data):
        dom = self.doms[domid]
        mfn = self._frame(data, domid)
        with self._others_untouched(domid):
            rc, _ = mmuext_op(self.mm, dom, dom.vcpus[vcpu], [(MMUEXT_NEW_BASEPTR, mfn, 0)])
        if rc == 0:
            assert dom.guest_table[vcpu] == mfn
        event(f"new_baseptr rc={rc}")

    @precondition(lambda self: any(f.is_table for f in self.mm.frames))
    @rule(data=st.data())
    def rewrite_a_live_table_entry(self, data):
        """Aim mmu_update at an entry of an existing table (random writes rarely hit one)."""
        tables = [mfn for mfn, f in enumerate(self.mm.frames) if f.is_table]
        mfn = data.draw(st.sampled_from(tables))
        owner = self.mm.frames[mfn].owner
        ptr = (mfn << PAGE_SHIFT) + 4 * data.draw(index_st)
        rc, _ = mmu_update(self.mm, self.doms[owner], [(ptr, self._pte(data, owner))])
        event(f"live table rewrite rc={rc}")

    @precondition(lambda self: any(f.is_table for f in self.mm.frames))
    @rule(data=st.data(), toggle=st.sampled_from([PTE_W, PTE_U, PTE_A | PTE_D, PTE_W | PTE_D,
                                                  PTE_P, 1 << 7]))
    def toggle_flags_of_a_live_entry(self, data, toggle):
        """Same frame, other flags: the XSA-182 pattern (only A/D may skip validation)."""
        tables = [mfn for mfn, f in enumerate(self.mm.frames) if f.is_table]
        mfn = data.draw(st.sampled_from(tables))
        index = data.draw(index_st)
        ptr = (mfn << PAGE_SHIFT) + 4 * index
        owner = self.mm.frames[mfn].owner
        rc, _ = mmu_update(self.mm, self.doms[owner], [(ptr, self.mm.memory.read32(ptr) ^ toggle)])
        event(f"toggle {toggle:#x} rc={rc}")

    # --- the invariants --------------------------------------------------------------------

    @invariant()
    def isolation_holds(self):
        problems = check_invariants(self.mm)
        assert not problems, "\n".join(problems)

    @invariant()
    def every_frame_is_free_or_held(self):
        held = sum(d.tot_pages for d in self.doms.values()) + len(self.mm.xen_pages)
        assert held + self.mm.free_pages == NFRAMES
        for dom in self.doms.values():
            assert dom.tot_pages <= dom.max_pages


TestPVMMU = PVMMUMachine.TestCase
