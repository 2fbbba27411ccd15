"""The frame table: one PageInfo per machine frame, the host allocator, general references.

Xen's model, on our two-level machine (xen/arch/x86/mm.c's opening comment):

- `count` is every reference to a frame: the allocation reference while its owner holds it
  (Xen's PGC_allocated), one per present page-table entry of a validated table mapping it,
  one per pin and one per vCPU base pointer.  A frame whose count drops to 0 is freed.
- `type_count` counts the uses of the frame in its current `type`.  Types are mutually
  exclusive; the type may change only at type_count 0 (the typing rules and the validation
  of tables are in pagetable.py).

Shared frames (shared_info, grant-table frames): there is no separate SHARED type.  The
hypervisor allocates them with `alloc_xen_page`; they are owned by DOMID_XEN, hold a permanent
WRITABLE type reference (so they can never be validated as a page table) and may be mapped by
exactly the domains they were shared with (`share_xen_page_with_guest`), read-only or writable.
Xen does the same with its own xen-heap pages (share_xen_page_with_guest).  A guest's console
ring is an ordinary guest page.

Ownership: one MemoryManager per hypervisor; in the deterministic mode one vCPU runs at a time
and hypercalls run to completion, so nothing here is locked.  Under --realtime the hypervisor
lock guards it, and `shootdown` keeps vCPUs running in parallel from using what a change here
made stale (paravisor.mm.shootdown).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from enum import Enum

from paravisor.abi import DOMID_FIRST_RESERVED, DOMID_XEN
from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.mm.consts import INVALID_M2P_ENTRY, INVALID_MFN
from paravisor.mm.shootdown import NO_SHOOTDOWN, Shootdown


class MMBug(RuntimeError):
    """A frame-table invariant broke inside the hypervisor.  Never caused by guest input:
    guests get errnos; this means paravisor itself is wrong."""


class PageType(Enum):
    """Xen's PGT_* types that exist on a two-level PV32 machine."""
    NONE = "none"
    WRITABLE = "writable"     # mapped writable by some present L1 entry (or a xen page)
    L1_TABLE = "l1"           # a validated page table (PTEs)
    L2_TABLE = "l2"           # a validated page directory (the root a PTBR points at)


TABLE_TYPES = (PageType.L1_TABLE, PageType.L2_TABLE)


class PageInfo:
    """The frame-table entry of one machine frame (Xen's struct page_info).

    owner: a domid, DOMID_XEN, or None when the frame is free.
    allocated: the owner's allocation reference is held (counted in `count`).
    validated: the frame is a table whose every entry has been checked and holds its
      references; True exactly while type is L1/L2 and type_count > 0 (outside a promotion).
    shared_with: for DOMID_XEN frames, domid -> True if that domain may map it writable.
    """

    __slots__ = ("owner", "allocated", "count", "type", "type_count", "pinned", "validated",
                 "shared_with")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.owner: int | None = None
        self.allocated = False
        self.count = 0
        self.type = PageType.NONE
        self.type_count = 0
        self.pinned = False
        self.validated = False
        self.shared_with: dict[int, bool] = {}

    @property
    def is_table(self) -> bool:
        """A validated page table (what mmu_update may write into)."""
        return self.validated and self.type in TABLE_TYPES

    def describe(self) -> str:
        return (f"owner={self.owner} allocated={self.allocated} count={self.count} "
                f"type={self.type.value} type_count={self.type_count} pinned={self.pinned} "
                f"validated={self.validated}")


class MemoryDomain:
    """What the memory manager knows of a domain.

    pages: the mfns it owns; p2m: pfn -> mfn (INVALID_MFN for a hole), filled in allocation
    order, a freed frame leaving a hole that the next allocation fills (lowest pfn first);
    vcpus: its vCPUs' CPUStates, registered with `add_vcpu`; guest_table[v]: the L2 frame
    vCPU v holds a base-pointer reference on (Xen's v->arch.guest_table), or None.
    """

    def __init__(self, domid: int, max_pages: int, privileged: bool = False) -> None:
        if not 0 <= domid < DOMID_FIRST_RESERVED:
            raise ValueError(f"domid {domid} is out of range")
        if max_pages < 0:
            raise ValueError("max_pages must be >= 0")
        self.domid = domid
        self.max_pages = max_pages
        self.privileged = privileged
        self.dying = False
        self.pages: set[int] = set()
        self.p2m: list[int] = []
        self.pfn_of: dict[int, int] = {}
        self._p2m_holes: list[int] = []
        self.vcpus: list[CPUState] = []
        self.guest_table: list[int | None] = []

    @property
    def tot_pages(self) -> int:
        return len(self.pages)

    def add_vcpu(self, cpu: CPUState) -> int:
        """Register a vCPU (no base pointer yet); returns its vcpu id."""
        self.vcpus.append(cpu)
        self.guest_table.append(None)
        return len(self.vcpus) - 1

    def vcpu_id(self, cpu: CPUState) -> int:
        """The id of a registered vCPU; ValueError (a hypervisor bug) if it is not ours."""
        for vid, known in enumerate(self.vcpus):
            if known is cpu:
                return vid
        raise ValueError(f"CPU is not a vCPU of domain {self.domid}")

    def p2m_insert(self, mfn: int) -> int:
        """Give `mfn` the lowest free pfn; returns it."""
        if self._p2m_holes:
            pfn = heapq.heappop(self._p2m_holes)
            self.p2m[pfn] = mfn
        else:
            pfn = len(self.p2m)
            self.p2m.append(mfn)
        self.pfn_of[mfn] = pfn
        return pfn

    def p2m_remove(self, mfn: int) -> None:
        """Leave a hole at `mfn`'s pfn; holes at the end are trimmed, so the p2m never
        outgrows the largest reservation the domain has held at once."""
        pfn = self.pfn_of.pop(mfn)
        self.p2m[pfn] = INVALID_MFN
        heapq.heappush(self._p2m_holes, pfn)
        if self.p2m[-1] == INVALID_MFN:
            while self.p2m and self.p2m[-1] == INVALID_MFN:
                self.p2m.pop()
            self._p2m_holes = [hole for hole in self._p2m_holes if hole < len(self.p2m)]
            heapq.heapify(self._p2m_holes)


FrameListener = Callable[[int], None]


class MemoryManager:
    """The hypervisor-wide memory state: machine memory, the frame table, the m2p table,
    the domains' memory views and the free-frame pool.

    free_listeners are called with an mfn after it has been freed and zeroed (engines use it
    to drop anything cached from the frame); table_walk_listeners with the mfn of every
    page table validated or torn down, all of its entries walked (the hypervisor charges
    that work to the vCPU whose hypercall caused it).  `shootdown` stops the vCPUs that
    may hold a translation before a change makes it stale (paravisor.mm.shootdown;
    --realtime installs its own).  With `debug`, every PV MMU operation ends with a full
    invariant check (paravisor.mm.invariants), raising on the first violation.
    """

    def __init__(self, memory: MachineMemory, debug: bool = False) -> None:
        self.memory = memory
        self.frames = [PageInfo() for _ in range(memory.nframes)]
        # m2p: mfn -> the pfn its owner gave it.  Only set_gpfn_from_mfn writes it.
        self.m2p = [INVALID_M2P_ENTRY] * memory.nframes
        self.domains: dict[int, MemoryDomain] = {}
        self.xen_pages: set[int] = set()
        self._free = list(range(memory.nframes))   # a sorted list is already a heap
        self._free_set = set(self._free)
        self.free_listeners: list[FrameListener] = []
        self.table_walk_listeners: list[FrameListener] = []
        self.shootdown: Shootdown = NO_SHOOTDOWN
        # References held outside page tables (grant pins, dom0 services' foreign maps):
        # (holder, owner, mfn, writable) -> how many.  Only paravisor.mm.external edits it.
        self.holds: Counter[tuple[str, int, int, bool]] = Counter()
        # Live grant mappings, the authority for foreign L1 entries: (mapper domid, mfn,
        # writable) -> how many.  Only paravisor.mm.external edits it (for paravisor.grants).
        self.grant_maps: Counter[tuple[int, int, bool]] = Counter()
        self.debug = debug

    @property
    def nframes(self) -> int:
        return self.memory.nframes

    @property
    def free_pages(self) -> int:
        return len(self._free)

    def is_free(self, mfn: int) -> bool:
        return mfn in self._free_set

    def valid_mfn(self, mfn: int) -> bool:
        return 0 <= mfn < self.memory.nframes

    def add_domain(self, dom: MemoryDomain) -> None:
        if dom.domid in self.domains:
            raise ValueError(f"domain {dom.domid} already exists")
        self.domains[dom.domid] = dom

    # --- host allocator -----------------------------------------------------------

    def alloc_host_frame(self) -> int | None:
        """The lowest-numbered free frame, zeroed, or None when memory is exhausted."""
        if not self._free:
            return None
        mfn = heapq.heappop(self._free)
        self._free_set.discard(mfn)
        self.memory.zero_frame(mfn)
        return mfn

    def free_host_frame(self, mfn: int) -> None:
        """Return a frame whose counts are zero to the pool, zeroed (no data leaks), with
        every vCPU stopped: any engine may have cached it, and it may be reused next."""
        page = self.frames[mfn]
        if page.count or page.type_count or mfn in self._free_set:
            raise MMBug(f"freeing frame {mfn:#x} that is in use: {page.describe()}")
        with self.shootdown.stop(None):
            self.memory.zero_frame(mfn)
            set_gpfn_from_mfn(self, mfn, INVALID_M2P_ENTRY)
            page.reset()
            heapq.heappush(self._free, mfn)
            self._free_set.add(mfn)
            for listener in list(self.free_listeners):
                listener(mfn)

    def table_walked(self, mfn: int) -> None:
        """Page table `mfn` had every entry validated or released (pagetable.py)."""
        for listener in self.table_walk_listeners:
            listener(mfn)


# --- domain and xen pages ---------------------------------------------------------

def alloc_domheap_page(mm: MemoryManager, dom: MemoryDomain) -> int | None:
    """Give `dom` one more frame (zeroed, untyped, holding only its allocation reference).
    None if the domain is at max_pages, dying, or the host has no free frame."""
    if dom.dying or dom.tot_pages >= dom.max_pages:
        return None
    mfn = mm.alloc_host_frame()
    if mfn is None:
        return None
    page = mm.frames[mfn]
    page.owner, page.allocated, page.count = dom.domid, True, 1
    dom.pages.add(mfn)
    set_gpfn_from_mfn(mm, mfn, dom.p2m_insert(mfn))
    return mfn


def set_gpfn_from_mfn(mm: MemoryManager, mfn: int, pfn: int) -> None:
    """m2p[mfn] = pfn (Xen's set_gpfn_from_mfn), the one writer of the m2p: allocation
    gives a frame its p2m slot, MMU_MACHPHYS_UPDATE and populate_physmap the pfn the
    guest names, freeing INVALID_M2P_ENTRY.  Callers check that the frame is the
    domain's."""
    mm.m2p[mfn] = pfn


def alloc_xen_page(mm: MemoryManager) -> int | None:
    """A zeroed DOMID_XEN frame for hypervisor-owned shared pages (shared_info, grant
    frames).  It holds a permanent WRITABLE type reference: it can never become a table."""
    mfn = mm.alloc_host_frame()
    if mfn is None:
        return None
    page = mm.frames[mfn]
    page.owner, page.allocated, page.count = DOMID_XEN, True, 1
    page.type, page.type_count = PageType.WRITABLE, 1
    mm.xen_pages.add(mfn)
    return mfn


def share_xen_page_with_guest(mm: MemoryManager, mfn: int, domid: int, writable: bool) -> None:
    """Allow domain `domid` to map DOMID_XEN frame `mfn` (writable mappings only if
    `writable`).  Caller bugs (not a xen page) raise MMBug."""
    page = mm.frames[mfn]
    if page.owner != DOMID_XEN:
        raise MMBug(f"frame {mfn:#x} is not a hypervisor page")
    page.shared_with[domid] = writable


def free_xen_page(mm: MemoryManager, mfn: int) -> bool:
    """Free a DOMID_XEN frame; False (nothing changed) while any domain still maps it."""
    page = mm.frames[mfn]
    if page.owner != DOMID_XEN:
        raise MMBug(f"frame {mfn:#x} is not a hypervisor page")
    if page.count != 1 or page.type_count != 1:
        return False
    page.count = page.type_count = 0
    page.allocated = False
    mm.xen_pages.discard(mfn)
    mm.free_host_frame(mfn)
    return True


def has_grant_authority(mm: MemoryManager, domid: int, mfn: int, writable: bool) -> bool:
    """Domain `domid` holds a live grant mapping of `mfn` (a writable one if `writable`):
    the only way a frame of another domain may appear in its L1 tables."""
    if mm.grant_maps[(domid, mfn, True)] > 0:
        return True
    return not writable and mm.grant_maps[(domid, mfn, False)] > 0


# --- general references -----------------------------------------------------------

def get_page(mm: MemoryManager, mfn: int, domid: int) -> bool:
    """Take a general reference on `mfn` on behalf of domain `domid`: allowed if the frame is
    valid, in use, and owned by `domid` or a DOMID_XEN frame shared with it."""
    if not mm.valid_mfn(mfn):
        return False
    page = mm.frames[mfn]
    if page.count == 0:
        return False
    if page.owner != domid and not (page.owner == DOMID_XEN and domid in page.shared_with):
        return False
    page.count += 1
    return True


def put_page(mm: MemoryManager, mfn: int) -> None:
    """Drop a general reference; the last one frees the frame (zeroed, back to the pool)."""
    page = mm.frames[mfn]
    if page.count <= 0:
        raise MMBug(f"put_page on frame {mfn:#x} with no references: {page.describe()}")
    page.count -= 1
    if page.count == 0:
        _free_page(mm, mfn)


def _free_page(mm: MemoryManager, mfn: int) -> None:
    page = mm.frames[mfn]
    if page.type_count:
        raise MMBug(f"frame {mfn:#x} lost its last reference while typed: {page.describe()}")
    owner = page.owner
    if owner == DOMID_XEN:
        mm.xen_pages.discard(mfn)
    elif owner is not None:
        dom = mm.domains[owner]
        dom.pages.discard(mfn)
        dom.p2m_remove(mfn)
        if dom.dying and not dom.pages:
            del mm.domains[owner]   # the last frame of a destroyed domain is gone
    mm.free_host_frame(mfn)
