"""A from-scratch recount of the frame table and a checker of the isolation invariants.

Nothing here trusts the incremental bookkeeping: references are recounted from what exists
(allocations, pins, base pointers and the entries of validated tables) and compared.  Tests
call `check_invariants` after every step; a MemoryManager built with debug=True runs it after
every PV MMU operation (`debug_check`), raising InvariantViolation.

The invariants:
 1. ownership: a frame is free (owner None, no references, contents zero, not in any
    domain) or owned by exactly one registered domain that lists it, or by DOMID_XEN;
    each domain's p2m names exactly its frames.
 2. counts: count and type_count equal the recount; a type reference implies a type;
    `validated` holds exactly for table-typed frames with type_count > 0; pins are on tables.
 3. no frame typed L1/L2 is mapped writable by a present entry of any validated L1 table.
 4. every present entry of a validated table of domain D has only allowed flags and maps a
    frame D owns or a DOMID_XEN frame shared with D (writable only if shared writable),
    or -- L1 entries only -- a foreign frame D holds a live grant mapping of (writable
    only through a writable grant mapping); L2 entries map validated L1 tables.
 5. base pointers: each vCPU's base is a validated L2 table of its domain and PTBR names it.
 6. holds (references outside page tables, paravisor.mm.external): each names a frame its
    recorded owner still owns, and a frame held writable is typed WRITABLE -- never a
    table -- so nothing the host writes on a guest's behalf can become a PTE.
"""

from __future__ import annotations

from paravisor.abi import DOMID_XEN
from paravisor.isa.table import CR, PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_W, pte_frame
from paravisor.mm.consts import INVALID_MFN, PTE_ALLOWED_FLAGS, PTE_FLAG_BITS
from paravisor.mm.external import held_refs
from paravisor.mm.frametable import TABLE_TYPES, MemoryManager, PageType, has_grant_authority
from paravisor.mm.pagetable import read_table


class InvariantViolation(AssertionError):
    """The frame table disagrees with the invariants (a hypervisor bug)."""


def recount(mm: MemoryManager) -> tuple[list[int], list[int]]:
    """(count, type_count) per frame, derived only from allocations, pins, base pointers,
    permanent xen-page type references and the entries of validated tables."""
    count = [0] * mm.nframes
    type_count = [0] * mm.nframes
    for mfn, page in enumerate(mm.frames):
        if page.allocated:
            count[mfn] += 1
            if page.owner == DOMID_XEN:
                type_count[mfn] += 1
        if page.pinned:
            count[mfn] += 1
            type_count[mfn] += 1
        if not page.is_table:
            continue
        for pte in read_table(mm, mfn):
            if pte & PTE_P:
                target = pte_frame(pte)
                count[target] += 1
                if page.type == PageType.L2_TABLE or pte & PTE_W:
                    type_count[target] += 1
    refs, type_refs = held_refs(mm)
    for mfn, n in refs.items():
        count[mfn] += n
    for mfn, n in type_refs.items():
        type_count[mfn] += n
    for dom in mm.domains.values():
        for base in dom.guest_table:
            if base is not None:
                count[base] += 1
                type_count[base] += 1
    return count, type_count


def snapshot(mm: MemoryManager) -> tuple:
    """Everything the memory manager decides, for "a refused operation changed nothing"
    checks: every PageInfo, machine memory, m2p, and each domain's pages, p2m, bases, PTBRs."""
    frames = tuple((p.owner, p.allocated, p.count, p.type, p.type_count, p.pinned,
                    p.validated, tuple(sorted(p.shared_with.items()))) for p in mm.frames)
    domains = tuple((d.domid, d.max_pages, tuple(sorted(d.pages)), tuple(d.p2m),
                     tuple(d.guest_table), tuple(cpu.cr[CR.PTBR] for cpu in d.vcpus))
                    for d in mm.domains.values())
    return frames, bytes(mm.memory.data), tuple(mm.m2p), domains, mm.free_pages


def check_invariants(mm: MemoryManager) -> list[str]:
    """Every violation found, as a sentence; empty when the state is sound."""
    problems: list[str] = []
    problems += _check_ownership(mm)
    problems += _check_counts(mm)
    problems += _check_tables(mm)
    problems += _check_base_pointers(mm)
    problems += _check_holds(mm)
    return problems


def verify(mm: MemoryManager) -> None:
    """Raise InvariantViolation listing every violation, if there is any."""
    problems = check_invariants(mm)
    if problems:
        raise InvariantViolation("\n".join(problems))


def debug_check(mm: MemoryManager) -> None:
    """`verify` when the manager runs in debug mode; nothing otherwise."""
    if mm.debug:
        verify(mm)


def _check_ownership(mm: MemoryManager) -> list[str]:
    problems = []
    zero = bytes(PAGE_SIZE)
    for mfn, page in enumerate(mm.frames):
        if page.owner is None:
            if not mm.is_free(mfn) or page.count or page.type_count or page.pinned:
                problems.append(f"frame {mfn:#x}: ownerless but not free: {page.describe()}")
            elif mm.memory.read_frame(mfn) != zero:
                problems.append(f"frame {mfn:#x}: free but not zero")
        elif mm.is_free(mfn):
            problems.append(f"frame {mfn:#x}: in the free pool but owned by {page.owner}")
        elif page.owner == DOMID_XEN:
            if mfn not in mm.xen_pages:
                problems.append(f"frame {mfn:#x}: DOMID_XEN page not listed")
        elif page.owner not in mm.domains or mfn not in mm.domains[page.owner].pages:
            problems.append(f"frame {mfn:#x}: owner {page.owner} does not list it")
    for dom in mm.domains.values():
        for mfn in dom.pages:
            if mm.frames[mfn].owner != dom.domid:
                problems.append(f"domain {dom.domid} lists frame {mfn:#x} it does not own")
        named = [mfn for mfn in dom.p2m if mfn != INVALID_MFN]
        if sorted(named) != sorted(dom.pages):
            problems.append(f"domain {dom.domid}: p2m does not name exactly its frames")
    for mfn in mm.xen_pages:
        if mm.frames[mfn].owner != DOMID_XEN:
            problems.append(f"xen page {mfn:#x} not owned by DOMID_XEN")
    return problems


def _check_counts(mm: MemoryManager) -> list[str]:
    problems = []
    count, type_count = recount(mm)
    for mfn, page in enumerate(mm.frames):
        where = f"frame {mfn:#x} ({page.describe()})"
        if page.count != count[mfn] or page.type_count != type_count[mfn]:
            problems.append(f"{where}: recount gives count={count[mfn]} "
                            f"type_count={type_count[mfn]}")
        if (page.type_count > 0) == (page.type == PageType.NONE):
            problems.append(f"{where}: type and type_count disagree")
        if page.validated != (page.type in TABLE_TYPES and page.type_count > 0):
            problems.append(f"{where}: validated flag wrong")
        if page.pinned and page.type not in TABLE_TYPES:
            problems.append(f"{where}: pinned but not a table")
    return problems


def _check_tables(mm: MemoryManager) -> list[str]:
    problems = []
    for mfn, page in enumerate(mm.frames):
        if not page.is_table:
            continue
        for index, pte in enumerate(read_table(mm, mfn)):
            if pte & PTE_P:
                problem = _check_entry(mm, page.owner, page.type, pte)
                if problem:
                    problems.append(f"table {mfn:#x} entry {index} ({pte:#010x}): {problem}")
    return problems


def _check_entry(mm: MemoryManager, owner: int, table_type: PageType, pte: int) -> str | None:
    if pte & PTE_FLAG_BITS & ~PTE_ALLOWED_FLAGS:
        return "reserved flag bits set"
    target = pte_frame(pte)
    if not mm.valid_mfn(target):
        return "maps a frame outside memory"
    page = mm.frames[target]
    shared = page.owner == DOMID_XEN and owner in page.shared_with
    granted = table_type == PageType.L1_TABLE and has_grant_authority(
        mm, owner, target, bool(pte & PTE_W))
    if page.owner != owner and not shared and not granted:
        return f"maps frame {target:#x} owned by {page.owner}, not by {owner}"
    if table_type == PageType.L2_TABLE:
        if not (page.is_table and page.type == PageType.L1_TABLE):
            return f"L2 entry maps frame {target:#x} that is not a validated L1 table"
    elif pte & PTE_W:
        if page.type in TABLE_TYPES:
            return f"maps page-table frame {target:#x} writable"
        if shared and not page.shared_with[owner]:
            return f"maps read-only shared frame {target:#x} writable"
    return None


def _check_base_pointers(mm: MemoryManager) -> list[str]:
    problems = []
    for dom in mm.domains.values():
        for vid, base in enumerate(dom.guest_table):
            if base is None:
                continue
            page = mm.frames[base]
            if page.owner != dom.domid or page.type != PageType.L2_TABLE or not page.validated:
                problems.append(f"d{dom.domid}v{vid}: base {base:#x} is not its L2 table")
            if dom.vcpus[vid].cr[CR.PTBR] != base << PAGE_SHIFT:
                problems.append(f"d{dom.domid}v{vid}: PTBR does not name its base {base:#x}")
    return problems


def _check_holds(mm: MemoryManager) -> list[str]:
    problems = []
    for (holder, owner, mfn, writable), n in sorted(mm.holds.items()):
        where = f"{holder} holds frame {mfn:#x} ({'writable' if writable else 'read-only'})"
        if n <= 0 or not mm.valid_mfn(mfn):
            problems.append(f"{where}: a hold of {n} on a frame outside memory")
            continue
        page = mm.frames[mfn]
        if page.owner != owner:
            problems.append(f"{where}: recorded owner {owner}, but it is {page.owner}'s")
        if writable and page.type != PageType.WRITABLE:
            problems.append(f"{where}: the frame is typed {page.type.value}, not writable")
    return problems
