"""The PV MMU hypercalls' semantics: mmu_update, update_va_mapping, mmuext_op.

The hypercall layer copies the guest's request arrays out of guest memory and calls these
with plain integers; they return Xen's (rc, done) pairs or an rc.  Every change to a page
table goes through pagetable.mod_l1_entry / mod_l2_entry, so the rules there hold whatever
a guest asks for.

Subject domain: with `foreigndom` = DOMID_SELF (or the caller's own id) a call acts on the
caller's frames.  A privileged caller (dom0's domain builder) may name another domain; the
call then acts entirely as that domain: the tables written must be its frames and every
entry may map only its frames.  Foreign mappings of another domain's pages into the caller's
own tables are not offered here (they go through grant tables).  An unprivileged caller
naming another domain, or an unknown domain, gets -ESRCH (Xen's get_pg_owner failing).

TLBs: PV32's TLB is architecturally coherent (engines watch the page-table frames they
walk; docs/isa.md section 4), so flushes are hints.  mmu_update asks for none: the entry
writes themselves flush, once, the vCPUs that walked the tables written, and nobody else
holds a translation through them.  NEW_BASEPTR, the UVMF_* flags and the flush requests
flush what they name; after a write that already flushed, that second flush finds an empty
TLB and does nothing (isa.mmu.Mmu.flush).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from paravisor.abi import (
    DOMID_SELF,
    MMU_MACHPHYS_UPDATE,
    MMU_NORMAL_PT_UPDATE,
    MMUEXT_INVLPG_ALL,
    MMUEXT_INVLPG_LOCAL,
    MMUEXT_INVLPG_MULTI,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_PIN_L3_TABLE,
    MMUEXT_PIN_L4_TABLE,
    MMUEXT_TLB_FLUSH_ALL,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_TLB_FLUSH_MULTI,
    MMUEXT_UNPIN_TABLE,
    UVMF_FLUSHTYPE_MASK,
    UVMF_INVLPG,
    UVMF_LOCAL,
    UVMF_TLB_FLUSH,
)
from paravisor.abi.errno import Errno
from paravisor.isa.engine import CPUState
from paravisor.isa.table import CR, PAGE_MASK, PAGE_SHIFT
from paravisor.mm.consts import MMU_CMD_MASK
from paravisor.mm.frametable import MemoryDomain, MemoryManager, PageType, set_gpfn_from_mfn
from paravisor.mm.invariants import debug_check
from paravisor.mm.pagetable import (
    get_page_and_type,
    l1_slot,
    mod_l1_entry,
    mod_l2_entry,
    put_page_and_type,
)

WORD_MAX = 0xFFFF_FFFF


def _is_word(*values: int) -> bool:
    return all(isinstance(v, int) and 0 <= v <= WORD_MAX for v in values)


def subject_domain(mm: MemoryManager, dom: MemoryDomain, foreigndom: int) -> MemoryDomain | int:
    """The domain a call acts on (see the module docstring), or -ESRCH."""
    if foreigndom in (DOMID_SELF, dom.domid):
        return dom
    target = mm.domains.get(foreigndom) if dom.privileged else None
    if target is None or target.dying:
        return -Errno.ESRCH
    return target


def flush_domain_tlbs(dom: MemoryDomain) -> None:
    for cpu in dom.vcpus:
        cpu.flush_tlb()


# --- mmu_update ------------------------------------------------------------------------

def mmu_update(mm: MemoryManager, dom: MemoryDomain, requests: Iterable[tuple[int, int]],
               foreigndom: int = DOMID_SELF) -> tuple[int, int]:
    """Apply (ptr, val) requests in order.  Returns (0, number of requests), or (-errno, i)
    where request i failed and changed nothing; requests before it took effect.  The
    requests may come lazily (the hypercall layer stops handing them out when the
    caller's time is up: the count says how far it got)."""
    subject = subject_domain(mm, dom, foreigndom)
    if isinstance(subject, int):
        return subject, 0
    rc, done = 0, 0
    for ptr, val in requests:
        rc = _mmu_update_one(mm, subject, ptr, val)
        if rc:
            break
        done += 1
    debug_check(mm)
    return rc, done


def _mmu_update_one(mm: MemoryManager, subject: MemoryDomain, ptr: int, val: int) -> int:
    if not _is_word(ptr, val):
        return -Errno.EINVAL
    cmd, maddr = ptr & MMU_CMD_MASK, ptr & ~MMU_CMD_MASK
    if cmd == MMU_NORMAL_PT_UPDATE:
        return _normal_pt_update(mm, subject, maddr, val)
    if cmd == MMU_MACHPHYS_UPDATE:
        return _machphys_update(mm, subject, maddr >> PAGE_SHIFT, val)
    return -Errno.ENOSYS


def _normal_pt_update(mm: MemoryManager, subject: MemoryDomain, maddr: int, val: int) -> int:
    """A checked `*maddr = val` into a validated table of the subject domain."""
    mfn = maddr >> PAGE_SHIFT
    if not mm.valid_mfn(mfn):
        return -Errno.EINVAL
    page = mm.frames[mfn]
    if page.owner != subject.domid or not page.is_table:
        return -Errno.EINVAL
    index = (maddr & PAGE_MASK) >> 2
    if page.type == PageType.L1_TABLE:
        return mod_l1_entry(mm, mfn, index, val)
    return mod_l2_entry(mm, mfn, index, val)


def _machphys_update(mm: MemoryManager, subject: MemoryDomain, mfn: int, pfn: int) -> int:
    """m2p[mfn] = pfn for a frame the subject domain owns."""
    if not mm.valid_mfn(mfn) or mm.frames[mfn].owner != subject.domid:
        return -Errno.EINVAL
    set_gpfn_from_mfn(mm, mfn, pfn)
    return 0


# --- update_va_mapping -----------------------------------------------------------------

def update_va_mapping(mm: MemoryManager, dom: MemoryDomain, cpu: CPUState, va: int, pte: int,
                      flags: int) -> int:
    """Set the L1 entry mapping `va` in `cpu`'s current address space to `pte`, checked like
    mmu_update; then flush as `flags` asks (UVMF_*).  -EINVAL if the vCPU has no base
    pointer or `va`'s L2 entry is not present."""
    if not _is_word(va, pte, flags):
        return -Errno.EINVAL
    slot = l1_slot(mm, dom, cpu, va)
    if slot is None:
        return -Errno.EINVAL
    rc = mod_l1_entry(mm, *slot, pte)
    if rc == 0:
        _uvmf_flush(dom, cpu, flags)
    debug_check(mm)
    return rc


def _uvmf_flush(dom: MemoryDomain, cpu: CPUState, flags: int) -> None:
    """Flush for UVMF_TLB_FLUSH/UVMF_INVLPG (flush type 0 and 3 flush nothing, as in Xen).
    The target is LOCAL, ALL, or else a guest pointer to a vCPU mask, which we do not read:
    flushing every vCPU of the domain is a safe superset."""
    if flags & UVMF_FLUSHTYPE_MASK not in (UVMF_TLB_FLUSH, UVMF_INVLPG):
        return
    target = flags & ~UVMF_FLUSHTYPE_MASK
    if target == UVMF_LOCAL:
        cpu.flush_tlb()
    else:   # UVMF_ALL or a vcpumask pointer (UVMF_MULTI)
        flush_domain_tlbs(dom)


# --- mmuext_op -------------------------------------------------------------------------

def pin_table(mm: MemoryManager, subject: MemoryDomain, mfn: int, page_type: PageType) -> int:
    """Pin `mfn` as a table: take a general and a type reference (validating it if it was
    not yet a table) that stay until unpin_table.  Pins do not nest: -EINVAL if pinned."""
    if not mm.valid_mfn(mfn) or mm.frames[mfn].owner != subject.domid:
        return -Errno.EINVAL
    rc = get_page_and_type(mm, mfn, subject.domid, page_type)
    if rc:
        return rc
    page = mm.frames[mfn]
    if page.pinned:
        put_page_and_type(mm, mfn)
        return -Errno.EINVAL
    page.pinned = True
    return 0


def unpin_table(mm: MemoryManager, subject: MemoryDomain, mfn: int) -> int:
    """Drop a pin's references (-EINVAL if `mfn` is not a pinned table of `subject`).  A
    table still in use elsewhere stays typed; an unused one is demoted."""
    if not mm.valid_mfn(mfn):
        return -Errno.EINVAL
    page = mm.frames[mfn]
    if page.owner != subject.domid or not page.pinned:
        return -Errno.EINVAL
    page.pinned = False
    put_page_and_type(mm, mfn)
    return 0


def new_baseptr(mm: MemoryManager, dom: MemoryDomain, cpu: CPUState, mfn: int) -> int:
    """Make L2 table `mfn` (validated now if need be) `cpu`'s address space: take its base
    reference, drop the previous base's, set PTBR and flush.  -EINVAL if refused."""
    vid = dom.vcpu_id(cpu)
    if not mm.valid_mfn(mfn):
        return -Errno.EINVAL
    rc = get_page_and_type(mm, mfn, dom.domid, PageType.L2_TABLE)
    if rc:
        return rc
    with mm.shootdown.stop(dom.domid):   # the old root may be demoted (see shootdown.py)
        old = dom.guest_table[vid]
        dom.guest_table[vid] = mfn
        cpu.cr[CR.PTBR] = mfn << PAGE_SHIFT
        if old is not None:
            put_page_and_type(mm, old)
        cpu.flush_tlb()
    return 0


def drop_baseptr(mm: MemoryManager, dom: MemoryDomain, vid: int) -> None:
    """Release vCPU `vid`'s base reference (domain teardown); PTBR becomes 0."""
    old = dom.guest_table[vid]
    if old is None:
        return
    with mm.shootdown.stop(dom.domid):
        dom.guest_table[vid] = None
        cpu = dom.vcpus[vid]
        cpu.cr[CR.PTBR] = 0
        put_page_and_type(mm, old)
        cpu.flush_tlb()


MmuextHandler = Callable[[MemoryManager, MemoryDomain, MemoryDomain, CPUState, int, int], int]


def _op_pin_l1(mm, dom, subject, cpu, arg1, arg2):
    return pin_table(mm, subject, arg1, PageType.L1_TABLE)


def _op_pin_l2(mm, dom, subject, cpu, arg1, arg2):
    return pin_table(mm, subject, arg1, PageType.L2_TABLE)


def _op_no_such_level(mm, dom, subject, cpu, arg1, arg2):
    return -Errno.EINVAL     # PV32 has two levels: there are no L3/L4 tables to pin


def _op_unpin(mm, dom, subject, cpu, arg1, arg2):
    return unpin_table(mm, subject, arg1)


def _op_new_baseptr(mm, dom, subject, cpu, arg1, arg2):
    if subject is not dom:
        return -Errno.EPERM  # a base pointer is the caller's own (Xen refuses foreigndom)
    return new_baseptr(mm, dom, cpu, arg1)


def _op_flush_local(mm, dom, subject, cpu, arg1, arg2):
    cpu.flush_tlb()
    return 0


def _op_flush_domain(mm, dom, subject, cpu, arg1, arg2):
    # MULTI names a guest vcpumask pointer we do not read; all vCPUs is a safe superset.
    flush_domain_tlbs(dom)
    return 0


_MMUEXT_HANDLERS: dict[int, MmuextHandler] = {
    MMUEXT_PIN_L1_TABLE: _op_pin_l1,
    MMUEXT_PIN_L2_TABLE: _op_pin_l2,
    MMUEXT_PIN_L3_TABLE: _op_no_such_level,
    MMUEXT_PIN_L4_TABLE: _op_no_such_level,
    MMUEXT_UNPIN_TABLE: _op_unpin,
    MMUEXT_NEW_BASEPTR: _op_new_baseptr,
    MMUEXT_TLB_FLUSH_LOCAL: _op_flush_local,
    MMUEXT_INVLPG_LOCAL: _op_flush_local,
    MMUEXT_TLB_FLUSH_MULTI: _op_flush_domain,
    MMUEXT_INVLPG_MULTI: _op_flush_domain,
    MMUEXT_TLB_FLUSH_ALL: _op_flush_domain,
    MMUEXT_INVLPG_ALL: _op_flush_domain,
}


def mmuext_op(mm: MemoryManager, dom: MemoryDomain, cpu: CPUState,
              ops: Iterable[tuple[int, int, int]],
              foreigndom: int = DOMID_SELF) -> tuple[int, int]:
    """Apply (cmd, arg1, arg2) operations in order (arg1: an mfn or a linear address; arg2:
    unused here).  Returns (0, number of ops) or (-errno, i) for the failing op i; an
    unknown command is -ENOSYS, as in Xen.  The ops may come lazily, as mmu_update's."""
    subject = subject_domain(mm, dom, foreigndom)
    if isinstance(subject, int):
        return subject, 0
    rc, done = 0, 0
    for cmd, arg1, arg2 in ops:
        handler = _MMUEXT_HANDLERS.get(cmd)
        if handler is None:
            rc = -Errno.ENOSYS
        elif not _is_word(arg1, arg2):
            rc = -Errno.EINVAL
        else:
            rc = handler(mm, dom, subject, cpu, arg1, arg2)
        if rc:
            break
        done += 1
    debug_check(mm)
    return rc, done

