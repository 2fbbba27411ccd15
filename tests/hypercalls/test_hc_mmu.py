"""mmu_update (1), update_va_mapping (14) and mmuext_op (26) through dispatch: each
request is copied out when its turn comes, pv_mmu does the checked work, success_count
is written back; bad pointers are -EFAULT and change nothing.  (Continuations:
tests/hypercalls/test_hc_continuations.py.)"""

from paravisor.abi import (
    DOMID_SELF,
    MMU_PT_UPDATE_NO_TRANSLATE,
    MMU_PT_UPDATE_PRESERVE_AD,
    MMU_UPDATE,
    MMU_UPDATE_PREEMPTED,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_OP,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_UNPIN_TABLE,
    UVMF_INVLPG,
    XEN_MEMORY_RESERVATION,
    Hypercall,
    XENMEM_increase_reservation,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.common import MAX_ARRAY_BYTES
from paravisor.isa.table import PAGE_SIZE, PTE_P, PTE_W, make_pte
from paravisor.mm.invariants import verify
from paravisor.testing.guests import mm_state

MMU = Hypercall.mmu_update
UVM = Hypercall.update_va_mapping
MMUEXT = Hypercall.mmuext_op
TEXT_VA = 0x10000            # the linker's base: the kernel's code, mapped read-only


def new_frame(guest) -> int:
    """A fresh frame of the guest's own, not mapped anywhere."""
    guest.dom.mem.max_pages += 1          # the builder filled the reservation
    out = guest.put_words([0])
    res = guest.put(XEN_MEMORY_RESERVATION, extent_start=out, nr_extents=1, domid=DOMID_SELF)
    assert guest.call(Hypercall.memory_op, XENMEM_increase_reservation, res) == 1
    return guest.words(out, 1)[0]


def requests(guest, pairs) -> int:
    va = guest.alloc(MMU_UPDATE.size * len(pairs))
    for i, (ptr, val) in enumerate(pairs):
        guest.put(MMU_UPDATE, va + i * MMU_UPDATE.size, ptr=ptr, val=val)
    return va


def test_update_va_mapping_maps_a_new_frame(domu):
    mfn = new_frame(domu)
    va = domu.alloc(PAGE_SIZE, align=PAGE_SIZE)
    domu.hv.memory.write(mfn << 12, b"fresh frame")
    assert domu.call(UVM, va, make_pte(mfn, PTE_P | PTE_W), UVMF_INVLPG) == 0
    assert domu.read(va, 11) == b"fresh frame"
    verify(domu.hv.mm)


def test_update_va_mapping_refuses_another_domains_frame(domu, dom0):
    va = domu.alloc(PAGE_SIZE, align=PAGE_SIZE)
    foreign = dom0.dom.mem.guest_table[0]
    before = mm_state(domu.hv.mm)
    assert domu.hcall(UVM, va, make_pte(foreign, PTE_P), 0) == -Errno.EINVAL
    assert mm_state(domu.hv.mm) == before


def test_mmu_update_applies_in_order_and_reports_success_count(domu):
    a, b = new_frame(domu), new_frame(domu)
    va = domu.alloc(2 * PAGE_SIZE, align=PAGE_SIZE)
    entries = [domu.l1_entry_maddr(va), domu.l1_entry_maddr(va + PAGE_SIZE)]
    reqs = requests(domu, [(entries[0], make_pte(a, PTE_P | PTE_W)),
                           (entries[1], make_pte(b, PTE_P))])
    done = domu.put_words([0xDEAD])
    assert domu.call(MMU, reqs, 2, done, DOMID_SELF) == 0
    assert domu.words(done, 1) == [2]
    assert domu.hv.memory.read32(entries[1]) == make_pte(b, PTE_P)
    verify(domu.hv.mm)


def test_mmu_update_stops_at_the_first_refusal(domu, dom0):
    a = new_frame(domu)
    va = domu.alloc(2 * PAGE_SIZE, align=PAGE_SIZE)
    entries = [domu.l1_entry_maddr(va), domu.l1_entry_maddr(va + PAGE_SIZE)]
    foreign = dom0.dom.mem.guest_table[0]
    reqs = requests(domu, [(entries[0], make_pte(a, PTE_P)),
                           (entries[1], make_pte(foreign, PTE_P)),
                           (entries[0], 0)])
    done = domu.put_words([0])
    assert domu.call(MMU, reqs, 3, done, DOMID_SELF) == -Errno.EINVAL
    assert domu.words(done, 1) == [1]
    assert domu.hv.memory.read32(entries[0]) == make_pte(a, PTE_P)   # the third never ran
    verify(domu.hv.mm)


def test_mmu_update_bad_pointers_are_efault_and_change_nothing(domu):
    a = new_frame(domu)
    va = domu.alloc(PAGE_SIZE, align=PAGE_SIZE)
    reqs = requests(domu, [(domu.l1_entry_maddr(va), make_pte(a, PTE_P))])
    before = mm_state(domu.hv.mm)
    assert domu.call(MMU, 0, 1, 0, DOMID_SELF) == -Errno.EFAULT
    assert domu.call(MMU, 0xFFFF_FFFC, 1, 0, DOMID_SELF) == -Errno.EFAULT
    assert domu.call(MMU, reqs, 1, TEXT_VA, DOMID_SELF) == -Errno.EFAULT   # read-only
    assert domu.call(MMU, reqs, 1, 0x1000, DOMID_SELF) == -Errno.EFAULT    # unmapped
    assert mm_state(domu.hv.mm) == before


def test_mmu_update_rejects_absurd_counts(domu):
    reqs = domu.alloc(MMU_UPDATE.size)
    too_many = MAX_ARRAY_BYTES // MMU_UPDATE.size + 1
    assert domu.call(MMU, reqs, too_many, 0, DOMID_SELF) == -Errno.EINVAL
    assert domu.call(MMU, reqs, too_many | MMU_UPDATE_PREEMPTED, 0, DOMID_SELF) \
        == -Errno.EINVAL
    # A continuation flag with nothing left to do never comes from the hypervisor.
    assert domu.call(MMU, reqs, MMU_UPDATE_PREEMPTED, 0, DOMID_SELF) == -Errno.EINVAL
    assert domu.call(MMU, reqs, 0, 0, DOMID_SELF) == 0


def test_mmu_update_foreign_domain_needs_privilege(domu, dom0):
    reqs = domu.alloc(MMU_UPDATE.size)
    assert domu.call(MMU, reqs, 1, 0, dom0.dom.domid) == -Errno.ESRCH


def test_mmu_update_commands_it_does_not_know_are_enosys_with_progress(domu):
    """docs/abi.md 5.1: only NORMAL_PT_UPDATE and MACHPHYS_UPDATE; the other two of
    ptr's low bits are -ENOSYS (as in Xen), not -EINVAL."""
    a = new_frame(domu)
    entry = domu.l1_entry_maddr(domu.alloc(PAGE_SIZE, align=PAGE_SIZE))
    for command in (MMU_PT_UPDATE_PRESERVE_AD, MMU_PT_UPDATE_NO_TRANSLATE):
        reqs = requests(domu, [(entry, make_pte(a, PTE_P)), (entry | command, 0)])
        done = domu.put_words([9])
        assert domu.call(MMU, reqs, 2, done, DOMID_SELF) == -Errno.ENOSYS
        assert domu.words(done, 1) == [1]
    verify(domu.hv.mm)


def test_new_baseptr_for_another_domain_is_eperm(domu, dom0):
    """docs/abi.md 5.1: dom0 may pin another domain's tables, but a base pointer is
    the caller's own address space."""
    ops = dom0.put(MMUEXT_OP, cmd=MMUEXT_NEW_BASEPTR, arg1=domu.dom.mem.guest_table[0])
    assert dom0.call(MMUEXT, ops, 1, 0, domu.dom.domid) == -Errno.EPERM


def test_mmuext_pin_and_unpin_an_l1_table(domu):
    frame = new_frame(domu)
    ops = domu.alloc(2 * MMUEXT_OP.size)
    domu.put(MMUEXT_OP, ops, cmd=MMUEXT_PIN_L1_TABLE, arg1=frame)
    domu.put(MMUEXT_OP, ops + MMUEXT_OP.size, cmd=MMUEXT_TLB_FLUSH_LOCAL)
    done = domu.put_words([0])
    assert domu.call(MMUEXT, ops, 2, done, DOMID_SELF) == 0
    assert domu.words(done, 1) == [2]
    assert domu.hv.mm.frames[frame].pinned
    domu.put(MMUEXT_OP, ops, cmd=MMUEXT_UNPIN_TABLE, arg1=frame)
    assert domu.call(MMUEXT, ops, 1, 0, DOMID_SELF) == 0
    assert not domu.hv.mm.frames[frame].pinned
    verify(domu.hv.mm)


def test_mmuext_unknown_command_is_enosys_with_progress(domu):
    ops = domu.alloc(2 * MMUEXT_OP.size)
    domu.put(MMUEXT_OP, ops, cmd=MMUEXT_TLB_FLUSH_LOCAL)
    domu.put(MMUEXT_OP, ops + MMUEXT_OP.size, cmd=0x777)
    done = domu.put_words([9])
    assert domu.call(MMUEXT, ops, 2, done, DOMID_SELF) == -Errno.ENOSYS
    assert domu.words(done, 1) == [1]


def test_mmuext_bad_array_is_efault(domu):
    before = mm_state(domu.hv.mm)
    assert domu.hcall(MMUEXT, 0x1000, 4, 0, DOMID_SELF) == -Errno.EFAULT
    assert mm_state(domu.hv.mm) == before
