"""Type references, page-table validation (promotion/demotion) and checked entry updates.

The isolation rules, on two levels (Xen's get_page_type / get_page_from_l?e / mod_l?_entry):

- A frame's type may change only while its type_count is 0.  Taking the first L1/L2 type
  reference *promotes* the frame: every entry is validated and takes its references; if any
  entry is refused, the ones already taken are dropped and the promotion fails.  Dropping the
  last type reference of a table *demotes* it: its entries' references are dropped.
- A present L1 entry holds a general reference on its frame and, if PTE_W, a WRITABLE type
  reference.  So a frame used as a table can never be mapped writable, and a frame mapped
  writable can never become a table.  Read-only mappings of tables are fine (guests read them).
- A present L2 entry holds a general and an L1_TABLE type reference on its frame.  There are no
  linear (recursive) page tables: an L2 entry naming an L2 frame -- itself included -- fails
  its L1 type reference.  That removes the XSA-182/XSA-240 class entirely.
- A present entry may carry only PTE_P/W/U/A/D: every other flag bit is reserved, so there are
  no superpages (the XSA-148 class).  Its frame must be installed memory and owned by the
  table's owner, or be a DOMID_XEN frame shared with that owner.  A non-present entry may hold
  any value and holds no references.
- An entry of a validated table changes only through mod_l1_entry / mod_l2_entry: take the new
  entry's references, write it, then drop the old entry's references; a refusal changes
  nothing.  The one shortcut is a whitelist: an entry whose new value differs from the old only
  in PTE_A/PTE_D keeps its references (the fix of XSA-182 made Xen's fast path a whitelist too).
- Every entry is written with the table owner's vCPUs stopped (mm.shootdown.stop: they are
  the only ones that walk it), so none still uses the old entry once the write is done.

Functions return 0 or a negative errno, as hypercalls do.
"""

from __future__ import annotations

from paravisor.abi import DOMID_XEN
from paravisor.abi.errno import Errno
from paravisor.isa.engine import CPUState
from paravisor.isa.table import (
    ENTRIES_PER_TABLE,
    PAGE_SHIFT,
    PTE_A,
    PTE_D,
    PTE_P,
    PTE_W,
    l1_index,
    l2_index,
    pte_frame,
)
from paravisor.mm.consts import PTE_ALLOWED_FLAGS, PTE_FLAG_BITS
from paravisor.mm.frametable import (
    TABLE_TYPES,
    MemoryDomain,
    MemoryManager,
    MMBug,
    PageType,
    get_page,
    has_grant_authority,
    put_page,
)

_AD_BITS = PTE_A | PTE_D


def read_table(mm: MemoryManager, mfn: int) -> list[int]:
    """All entries of frame `mfn`, read once (reading never needs to notify watchers)."""
    base = (mfn << PAGE_SHIFT) >> 2
    return mm.memory.u32[base:base + ENTRIES_PER_TABLE].tolist()


def entry_maddr(mfn: int, index: int) -> int:
    return (mfn << PAGE_SHIFT) + 4 * index


# --- type references ---------------------------------------------------------------

def get_page_type(mm: MemoryManager, mfn: int, page_type: PageType) -> int:
    """Take a type reference of `page_type` on a frame the caller holds a general reference
    on.  At type_count 0 the frame takes the new type (promoting it if it is a table type);
    otherwise the type must already be `page_type`.  -EINVAL if refused."""
    page = mm.frames[mfn]
    if page.type_count == 0:
        page.type, page.type_count = page_type, 1
        if page_type not in TABLE_TYPES:
            return 0
        # The frame is typed before its entries are checked, so that an entry naming the
        # frame itself sees it as a table under validation (refused as L1, or writable).
        page.validated = False
        rc = _promote(mm, mfn, page_type)
        if rc:
            page.type, page.type_count = PageType.NONE, 0
            return rc
        page.validated = True
        return 0
    if page.type != page_type or (page_type in TABLE_TYPES and not page.validated):
        return -Errno.EINVAL
    page.type_count += 1
    return 0


def put_page_type(mm: MemoryManager, mfn: int) -> None:
    """Drop a type reference; the last one of a table demotes it."""
    page = mm.frames[mfn]
    if page.type_count <= 0:
        raise MMBug(f"put_page_type on untyped frame {mfn:#x}: {page.describe()}")
    page.type_count -= 1
    if page.type_count:
        return
    was_table = page.validated
    page.validated = False
    if was_table:
        _demote(mm, mfn, page.type)
    page.type = PageType.NONE


def get_page_and_type(mm: MemoryManager, mfn: int, domid: int, page_type: PageType) -> int:
    """A general and a type reference together, or neither (-EINVAL)."""
    if not get_page(mm, mfn, domid):
        return -Errno.EINVAL
    rc = get_page_type(mm, mfn, page_type)
    if rc:
        put_page(mm, mfn)
    return rc


def put_page_and_type(mm: MemoryManager, mfn: int) -> None:
    put_page_type(mm, mfn)
    put_page(mm, mfn)


# --- entries -----------------------------------------------------------------------

def check_entry_flags(mm: MemoryManager, pte: int) -> int:
    """0 if a present entry's flags and frame number are acceptable at either level."""
    if pte & PTE_FLAG_BITS & ~PTE_ALLOWED_FLAGS:
        return -Errno.EINVAL
    if not mm.valid_mfn(pte_frame(pte)):
        return -Errno.EINVAL
    return 0


def get_page_from_l1e(mm: MemoryManager, pte: int, domid: int) -> int:
    """Take the references a present L1 entry of a table owned by `domid` holds."""
    if not pte & PTE_P:
        return 0
    rc = check_entry_flags(mm, pte)
    if rc:
        return rc
    mfn = pte_frame(pte)
    if not get_page(mm, mfn, domid):
        return -Errno.EINVAL
    if not pte & PTE_W:
        return 0
    page = mm.frames[mfn]
    if page.owner == DOMID_XEN and not page.shared_with[domid]:
        rc = -Errno.EINVAL      # a hypervisor page shared read-only
    else:
        rc = get_page_type(mm, mfn, PageType.WRITABLE)
    if rc:
        put_page(mm, mfn)
    return rc


def put_page_from_l1e(mm: MemoryManager, pte: int) -> None:
    if not pte & PTE_P:
        return
    mfn = pte_frame(pte)
    if pte & PTE_W:
        put_page_type(mm, mfn)
    put_page(mm, mfn)


def get_page_from_l2e(mm: MemoryManager, pte: int, domid: int) -> int:
    """Take the references a present L2 entry of a table owned by `domid` holds: its frame
    becomes (or already is) a validated L1 table."""
    if not pte & PTE_P:
        return 0
    rc = check_entry_flags(mm, pte)
    if rc:
        return rc
    return get_page_and_type(mm, pte_frame(pte), domid, PageType.L1_TABLE)


def put_page_from_l2e(mm: MemoryManager, pte: int) -> None:
    if pte & PTE_P:
        put_page_and_type(mm, pte_frame(pte))


def _entry_ops(page_type: PageType):
    if page_type == PageType.L1_TABLE:
        return get_page_from_l1e, put_page_from_l1e
    if page_type == PageType.L2_TABLE:
        return get_page_from_l2e, put_page_from_l2e
    raise MMBug(f"{page_type} is not a page-table type")


# --- promotion and demotion ----------------------------------------------------------

def _promote(mm: MemoryManager, mfn: int, page_type: PageType) -> int:
    """Validate every entry of table `mfn` (Xen's alloc_l?_table); all or nothing."""
    get_from, put_from = _entry_ops(page_type)
    owner = mm.frames[mfn].owner
    if owner is None or owner == DOMID_XEN:
        return -Errno.EINVAL
    mm.table_walked(mfn)
    entries = read_table(mm, mfn)
    for index, pte in enumerate(entries):
        rc = get_from(mm, pte, owner)
        if rc:
            for taken in reversed(entries[:index]):
                put_from(mm, taken)
            return rc
    return 0


def _demote(mm: MemoryManager, mfn: int, page_type: PageType) -> None:
    """Drop the references every entry of a table held (Xen's free_l?_table)."""
    _, put_from = _entry_ops(page_type)
    mm.table_walked(mfn)
    for pte in read_table(mm, mfn):
        put_from(mm, pte)


# --- checked updates -----------------------------------------------------------------

def _only_ad_changed(old: int, new: int) -> bool:
    """The whitelist: both present, same frame, nothing but accessed/dirty differs."""
    return bool(old & new & PTE_P) and (old ^ new) & ~_AD_BITS == 0


def _mod_entry(mm: MemoryManager, table_mfn: int, index: int, new: int,
               page_type: PageType) -> int:
    page = mm.frames[table_mfn]
    if not page.is_table or page.type != page_type:
        raise MMBug(f"mod entry of frame {table_mfn:#x} that is not a validated "
                    f"{page_type.value} table: {page.describe()}")
    if not 0 <= index < ENTRIES_PER_TABLE or not 0 <= new <= 0xFFFF_FFFF:
        return -Errno.EINVAL
    with mm.shootdown.stop(page.owner):
        maddr = entry_maddr(table_mfn, index)
        old = mm.memory.read32(maddr)
        if _only_ad_changed(old, new):
            mm.memory.write32(maddr, new)
            return 0
        get_from, put_from = _entry_ops(page_type)
        rc = get_from(mm, new, page.owner)
        if rc:
            return rc
        mm.memory.write32(maddr, new)
        put_from(mm, old)
        return 0


def mod_l1_entry(mm: MemoryManager, table_mfn: int, index: int, new: int) -> int:
    """Set entry `index` of validated L1 table `table_mfn` to `new`, checked as a present
    L1 entry of the table's owner; on refusal nothing changes."""
    return _mod_entry(mm, table_mfn, index, new, PageType.L1_TABLE)


def mod_l2_entry(mm: MemoryManager, table_mfn: int, index: int, new: int) -> int:
    """Set entry `index` of validated L2 table `table_mfn` to `new` (its frame is promoted
    to an L1 table if need be); on refusal nothing changes."""
    return _mod_entry(mm, table_mfn, index, new, PageType.L2_TABLE)


def l1_slot(mm: MemoryManager, dom: MemoryDomain, cpu: CPUState,
            va: int) -> tuple[int, int] | None:
    """(L1 table mfn, index) of the entry mapping `va` in `cpu`'s current address space
    (a vCPU of `dom`), or None if the vCPU has no base pointer or `va`'s L2 entry is not
    present.  The L1 is a validated table: present L2 entries of a base hold one."""
    base = dom.guest_table[dom.vcpu_id(cpu)]
    if base is None:
        return None
    l2e = mm.memory.read32(entry_maddr(base, l2_index(va)))
    if not l2e & PTE_P:
        return None
    return pte_frame(l2e), l1_index(va)


def mod_l1_entry_grant(mm: MemoryManager, table_mfn: int, index: int, new: int) -> int:
    """Install a grant host mapping: set entry `index` of validated L1 table `table_mfn` to
    the present entry `new`, which maps a frame of another domain.  The authority is the
    grant: the table's owner must already hold a live grant mapping of the frame in
    mm.grant_maps (a writable one if `new` has PTE_W), registered by paravisor.grants.
    The entry holds its own references, like any present L1 entry (a general one taken on
    behalf of the frame's owner, and WRITABLE if PTE_W), so the ordinary mod_l1_entry can
    later clear it.  Guests can never create such an entry through mmu_update: its
    get_page_from_l1e takes references only on the table owner's own frames.
    -EINVAL (nothing changed) if the entry or the authority is refused."""
    page = mm.frames[table_mfn]
    if not page.is_table or page.type != PageType.L1_TABLE:
        raise MMBug(f"grant mapping into frame {table_mfn:#x} that is not a validated L1")
    if not new & PTE_P or not 0 <= index < ENTRIES_PER_TABLE or check_entry_flags(mm, new):
        return -Errno.EINVAL
    mfn = pte_frame(new)
    writable = bool(new & PTE_W)
    if not has_grant_authority(mm, page.owner, mfn, writable):
        return -Errno.EINVAL
    target_owner = mm.frames[mfn].owner
    if target_owner is None or not get_page(mm, mfn, target_owner):
        return -Errno.EINVAL
    if writable and get_page_type(mm, mfn, PageType.WRITABLE):
        put_page(mm, mfn)
        return -Errno.EINVAL
    with mm.shootdown.stop(page.owner):
        maddr = entry_maddr(table_mfn, index)
        old = mm.memory.read32(maddr)
        mm.memory.write32(maddr, new)
        put_page_from_l1e(mm, old)
    return 0


def destroy_grant_host_mapping(mm: MemoryManager, table_mfn: int, index: int, mapper: int,
                               mfn: int) -> None:
    """Remove the entry a grant host mapping of `mfn` installed at (table_mfn, index)
    with mod_l1_entry_grant -- if it is still there: the table is still a validated L1 of
    `mapper` and the entry still maps `mfn`.  Otherwise the guest already replaced the
    entry, or the table was demoted (its entries hold nothing), and nothing changes.
    The caller drops the grant-map record afterwards (external.forget_grant_map)."""
    page = mm.frames[table_mfn]
    if not (page.is_table and page.type == PageType.L1_TABLE and page.owner == mapper):
        return
    pte = mm.memory.read32(entry_maddr(table_mfn, index))
    if pte & PTE_P and pte_frame(pte) == mfn:
        mod_l1_entry(mm, table_mfn, index, 0)
