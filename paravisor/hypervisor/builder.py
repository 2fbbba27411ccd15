"""The PV domain builder: turn an ELF32 guest image into a domain ready to run.

Like Xen's PV builder (libxenguest's xc_dom_*), it allocates the domain's whole memory
reservation, loads the image's PT_LOAD segments at their virtual addresses, and lays
out after the image, page by page:

    start_info | console ring | xenstore ring | p2m array (mfn_list) | boot stack | page tables

The bootstrap page tables map all of that (the tables themselves read-only) and are
built and pinned through the same checked path as a guest's own updates.  shared_info
is a hypervisor-owned page: start_info.shared_info gives its machine address and the
guest maps it where it likes with update_va_mapping, as Mini-OS does.

vCPU 0 starts in ring 1 with paging on at the image's entry point, a0 = the virtual
address of start_info and sp = the top of the boot stack (docs/abi.md); events start
masked (evtchn_upcall_mask = 1) until the guest is ready for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paravisor.abi import (
    HIGHEST_ADDRESS,
    SIF_INITDOMAIN,
    SIF_PRIVILEGED,
    START_INFO,
    START_INFO_MAGIC,
    ElfNote,
)
from paravisor.domain import Domain
from paravisor.errors import UserError
from paravisor.inputfiles import read_input_file
from paravisor.isa.table import (
    CR,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PTE_P,
    PTE_W,
    STATUS_PG,
    Ring,
)
from paravisor.mm.bootstrap import build_bootstrap_tables, table_frames
from paravisor.mm.frametable import alloc_xen_page, share_xen_page_with_guest
from paravisor.mm.pv_mmu import new_baseptr
from paravisor.mm.reservation import increase_reservation
from paravisor.toolchain.elf import ET_EXEC, PF_W, PT_LOAD, PT_NOTE, read_elf

BOOT_STACK_PAGES = 4
PAGE_TABLE_RESERVE = 16     # frames held back for the bootstrap page tables
LOWEST_LOAD_ADDRESS = PAGE_SIZE        # page 0 stays unmapped, so NULL faults



class BuildError(UserError):
    """A guest image that cannot be built into a domain; the message says why."""


@dataclass
class GuestImage:
    """What the builder needs of an ELF image: segments, entry and feature notes."""
    path: str
    entry: int
    segments: list[tuple[int, bytes, int, bool]]   # (vaddr, file bytes, memsz, writable)
    notes: dict[int, bytes] = field(default_factory=dict)

    @property
    def guest_os(self) -> str:
        return self.notes.get(ElfNote.XEN_ELFNOTE_GUEST_OS, b"").rstrip(b"\0").decode(
            errors="replace")


def parse_image(data: bytes, path: str) -> GuestImage:
    """Read and check a guest image; BuildError (or ElfError) says what is wrong."""
    elf = read_elf(data, path)
    if elf.type != ET_EXEC:
        raise BuildError(f"{path}: not an executable image (link it with `paravisor ld`)")
    segments = []
    notes: dict[int, bytes] = {}
    for seg in elf.segments:
        if seg.type == PT_NOTE:
            notes.update(_read_notes(data[seg.offset:seg.offset + seg.filesz], path))
        if seg.type != PT_LOAD or seg.memsz == 0:
            continue
        if seg.vaddr < LOWEST_LOAD_ADDRESS or seg.vaddr + seg.memsz > HIGHEST_ADDRESS:
            raise BuildError(f"{path}: segment at {seg.vaddr:#x} (size {seg.memsz:#x}) is "
                             "outside the guest's loadable range")
        if seg.filesz > seg.memsz:
            raise BuildError(f"{path}: segment at {seg.vaddr:#x} has filesz > memsz")
        segments.append((seg.vaddr, data[seg.offset:seg.offset + seg.filesz], seg.memsz,
                         bool(seg.flags & PF_W)))
    if not segments:
        raise BuildError(f"{path}: the image has no loadable segment")
    entry = elf.entry
    if ElfNote.XEN_ELFNOTE_ENTRY in notes and len(notes[ElfNote.XEN_ELFNOTE_ENTRY]) >= 4:
        entry = int.from_bytes(notes[ElfNote.XEN_ELFNOTE_ENTRY][:4], "little")
    return GuestImage(path, entry, segments, notes)


def _read_notes(blob: bytes, path: str) -> dict[int, bytes]:
    """The "Xen" notes of a PT_NOTE segment (namesz, descsz, type, name, desc; 4-aligned)."""
    notes, pos = {}, 0
    while pos + 12 <= len(blob):
        namesz, descsz, ntype = (int.from_bytes(blob[pos + i:pos + i + 4], "little")
                                 for i in (0, 4, 8))
        name_end = pos + 12 + namesz
        desc_start = pos + 12 + ((namesz + 3) & ~3)
        desc_end = desc_start + descsz
        if desc_end > len(blob):
            raise BuildError(f"{path}: truncated ELF note")
        if blob[pos + 12:name_end].rstrip(b"\0") == b"Xen":
            notes[ntype] = blob[desc_start:desc_end]
        pos = desc_start + ((descsz + 3) & ~3)
    return notes


@dataclass
class Layout:
    """Virtual addresses the builder chose (also reported in start_info)."""
    start_info: int
    console: int
    xenstore: int
    p2m: int
    p2m_pages: int
    stack_top: int
    page_tables: int


def build_domain(hv, dom: Domain, image: GuestImage, memory_mib: int,
                 cmdline: str = "") -> Layout:
    """Fill `dom` (created paused, without memory) from `image`; vCPU 0 is made ready."""
    nr_pages = memory_mib * 256
    if nr_pages <= 2 * PAGE_TABLE_RESERVE:
        raise BuildError(f"domain {dom.name}: {memory_mib} MiB is too little memory")
    _check_layout_fits(image, _plan(_image_end(image), nr_pages))
    dom.mem.max_pages = nr_pages
    # The bootstrap tables take their frames from the reservation themselves, so leave
    # room for them and top the domain up to its full size afterwards.
    frames = increase_reservation(hv.mm, dom.mem, nr_pages - PAGE_TABLE_RESERVE)
    if len(frames) < nr_pages - PAGE_TABLE_RESERVE:
        raise BuildError(f"domain {dom.name}: the host has no room for {memory_mib} MiB")
    free = iter(frames)
    mappings: dict[int, tuple[int, int]] = {}
    image_end = _load_segments(hv, image, free, mappings)
    layout = _plan(image_end, nr_pages)
    special: dict[str, list[int]] = {}
    for name, va, pages in (("start_info", layout.start_info, 1), ("console", layout.console, 1),
                            ("xenstore", layout.xenstore, 1), ("p2m", layout.p2m,
                                                               layout.p2m_pages),
                            ("stack", layout.stack_top - BOOT_STACK_PAGES * PAGE_SIZE,
                             BOOT_STACK_PAGES)):
        for i in range(pages):
            mfn = _next(free, dom)
            mappings[va + i * PAGE_SIZE] = (mfn, PTE_P | PTE_W)
            special.setdefault(name, []).append(mfn)
    l2 = build_bootstrap_tables(hv.mm, dom.mem, mappings, table_va=layout.page_tables)
    increase_reservation(hv.mm, dom.mem, nr_pages - dom.mem.tot_pages)
    _write_p2m(hv, dom, special["p2m"])
    _make_shared_info(hv, dom)
    dom.console_mfn, dom.xenstore_mfn = special["console"][0], special["xenstore"][0]
    _write_start_info(hv, dom, layout, l2, special, nr_pages, cmdline)
    _start_vcpu0(hv, dom, image.entry, layout, l2)
    dom.start_info_va = layout.start_info
    return layout


def _next(free, dom: Domain) -> int:
    mfn = next(free, None)
    if mfn is None:
        raise BuildError(f"domain {dom.name}: memory is too small for its kernel image")
    return mfn


def _load_segments(hv, image: GuestImage, free, mappings) -> int:
    """Copy each segment into fresh frames; returns the end of the image (page-aligned)."""
    pages: dict[int, int] = {}
    end = 0
    for vaddr, data, memsz, writable in image.segments:
        first, last = vaddr & ~PAGE_MASK, (vaddr + memsz - 1) & ~PAGE_MASK
        for va in range(first, last + PAGE_SIZE, PAGE_SIZE):
            if va not in pages:
                mfn = next(free, None)
                if mfn is None:
                    raise BuildError(f"{image.path}: the kernel does not fit in memory")
                pages[va] = mfn
                mappings[va] = (mfn, PTE_P)
            if writable:
                mappings[va] = (pages[va], PTE_P | PTE_W)
        for offset in range(0, len(data), PAGE_SIZE):
            _copy_virtual(hv, pages, vaddr + offset, data[offset:offset + PAGE_SIZE])
        end = max(end, last + PAGE_SIZE)
    return end


def _copy_virtual(hv, pages: dict[int, int], va: int, data: bytes) -> None:
    while data:
        page_off = va & PAGE_MASK
        n = min(len(data), PAGE_SIZE - page_off)
        hv.memory.write((pages[va & ~PAGE_MASK] << PAGE_SHIFT) + page_off, data[:n])
        va, data = va + n, data[n:]


def _plan(image_end: int, nr_pages: int) -> Layout:
    p2m_pages = -(-nr_pages * 4 // PAGE_SIZE)
    va = image_end
    start_info, console, xenstore = va, va + PAGE_SIZE, va + 2 * PAGE_SIZE
    p2m = va + 3 * PAGE_SIZE
    stack_bottom = p2m + p2m_pages * PAGE_SIZE
    stack_top = stack_bottom + BOOT_STACK_PAGES * PAGE_SIZE
    return Layout(start_info, console, xenstore, p2m, p2m_pages, stack_top, stack_top)


def _image_end(image: GuestImage) -> int:
    """The page-aligned end of the image's highest segment."""
    return max(((vaddr + memsz - 1) & ~PAGE_MASK) + PAGE_SIZE
               for vaddr, _, memsz, _ in image.segments)


def _check_layout_fits(image: GuestImage, layout: Layout) -> None:
    """What the builder puts after the image (start_info up to the page tables, at most
    PAGE_TABLE_RESERVE frames of them) must end below HIGHEST_ADDRESS."""
    end = layout.page_tables + PAGE_TABLE_RESERVE * PAGE_SIZE
    if end > HIGHEST_ADDRESS:
        room = max(HIGHEST_ADDRESS - layout.start_info, 0)
        raise BuildError(
            f"{image.path}: the image's segments end at {layout.start_info:#x}, too near "
            f"the top of the address space: start_info, the console and xenstore rings, "
            f"the p2m ({layout.p2m_pages} pages), the boot stack and the page tables "
            f"need {end - layout.start_info:#x} bytes above it, and only {room:#x} are "
            f"left below {HIGHEST_ADDRESS:#x} (link it lower: paravisor ld --base)")


def _write_p2m(hv, dom: Domain, p2m_frames: list[int]) -> None:
    """Fill the mfn_list pages: entry pfn holds the mfn of the domain's page pfn."""
    p2m = b"".join(mfn.to_bytes(4, "little") for mfn in dom.mem.p2m)
    for i, mfn in enumerate(p2m_frames):
        hv.memory.write(mfn << PAGE_SHIFT, p2m[i * PAGE_SIZE:(i + 1) * PAGE_SIZE])


def _make_shared_info(hv, dom: Domain) -> None:
    mfn = alloc_xen_page(hv.mm)
    if mfn is None:
        raise BuildError(f"domain {dom.name}: no memory for shared_info")
    share_xen_page_with_guest(hv.mm, mfn, dom.domid, writable=True)
    dom.shared_info_mfn = mfn
    for vcpu in dom.vcpus:
        hv.events.set_upcall_mask(vcpu, True)


def _write_start_info(hv, dom: Domain, layout: Layout, l2: int, special: dict[str, list[int]],
                      nr_pages: int, cmdline: str) -> None:
    flags = SIF_PRIVILEGED | SIF_INITDOMAIN if dom.privileged else 0
    info = START_INFO.pack(
        magic=START_INFO_MAGIC.encode(), nr_pages=nr_pages,
        shared_info=dom.shared_info_mfn << PAGE_SHIFT, flags=flags,
        store_mfn=dom.xenstore_mfn, store_evtchn=dom.xenstore_evtchn,
        console={"domU": {"mfn": dom.console_mfn, "evtchn": dom.console_evtchn}},
        pt_base=layout.page_tables, nr_pt_frames=len(table_frames(hv.mm, l2)),
        mfn_list=layout.p2m, cmd_line=cmdline.encode()[:1023],
        first_p2m_pfn=0, nr_p2m_frames=0)
    hv.memory.write(special["start_info"][0] << PAGE_SHIFT, info)


def _start_vcpu0(hv, dom: Domain, entry: int, layout: Layout, l2: int) -> None:
    vcpu = dom.vcpus[0]
    cpu = vcpu.cpu
    cpu.ring = int(Ring.KERNEL)
    cpu.cr[CR.STATUS] |= STATUS_PG
    rc = new_baseptr(hv.mm, dom.mem, cpu, l2)
    if rc:
        raise BuildError(f"domain {dom.name}: bootstrap page tables refused (errno {-rc})")
    cpu.pc = entry
    cpu.regs[3] = layout.start_info
    cpu.regs[2] = layout.stack_top
    hv.vcpu_up(vcpu)


def load_image_file(path: str, memory_mib: int) -> GuestImage:
    """The kernel image at `path` for a domain of `memory_mib`: a regular file no
    larger than that memory (else paravisor.inputfiles.InputFileError, raised before
    anything is read)."""
    try:
        data = read_input_file(path, "kernel image", memory_mib << 20,
                               f"the domain's memory ({memory_mib} MiB)")
    except OSError as err:
        raise BuildError(f"{path}: cannot read the kernel image: {err.strerror}") from None
    return parse_image(data, path)
