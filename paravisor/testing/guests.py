"""Small guests for hypercall tests: build one from assembly text, then drive hypercalls
straight through dispatch with argument structures placed in the guest's own memory.

    guest = api_guest(Host(host_mib=16))          # a built domain with scratch memory
    buf = guest.alloc(XEN_MEMORY_RESERVATION.size)
    guest.put(XEN_MEMORY_RESERVATION, buf, nr_extents=1, domid=DOMID_SELF)
    assert guest.call(Hypercall.memory_op, XENMEM_increase_reservation, buf) == 1

Everything a call reads or writes goes through the guest's page tables (guest_access),
exactly as when the guest itself makes the call with `hcall`.  `boot_guest(asm)` is the
one-liner for tests that only need (hv, dom).

Ownership: test code only; nothing here is used by the hypervisor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from paravisor.abi import (
    DOMID_SELF,
    XEN_MEMORY_RESERVATION,
    Hypercall,
    Struct,
    XENMEM_increase_reservation,
)
from paravisor.domain import Domain, Vcpu
from paravisor.domain.guest_access import copy_from_guest, copy_to_guest
from paravisor.hypercalls import dispatch
from paravisor.hypercalls.common import HCALL_SIZE, KEEP
from paravisor.hypervisor import Hypervisor
from paravisor.hypervisor.builder import build_domain, parse_image
from paravisor.isa.table import (
    HYPERCALL_ARG_REGS,
    HYPERCALL_NR_REG,
    HYPERCALL_RESULT_REG,
    PAGE_SHIFT,
    PAGE_SIZE,
    PTE_A,
    PTE_D,
    PTE_P,
    WORD_MASK,
    l1_index,
    l2_index,
    pte_frame,
)
from paravisor.mm.frametable import MemoryManager
from paravisor.mm.invariants import snapshot
from paravisor.mm.pagetable import entry_maddr, read_table
from paravisor.testing.host import Host
from paravisor.toolchain.elf import read_elf

SCRATCH_PAGES = 8
SCRATCH_SYMBOL = "scratch"
HCALL_TEST_PC = 0x10000       # where hcall_preempted pretends the guest's `hcall` is

# A kernel that only waits: for tests that drive hypercalls from Python.  Its .bss
# `scratch` area (SCRATCH_PAGES pages, writable) holds the argument structures.
IDLE_KERNEL = f"""
    .include "paravisor.inc"
    .text
    .global _start
_start:
    li    t0, __HYPERVISOR_sched_op
    li    a0, SCHEDOP_block
    hcall
    j     _start
    .bss
    .balign {PAGE_SIZE}
    .global {SCRATCH_SYMBOL}
{SCRATCH_SYMBOL}:
    .space {SCRATCH_PAGES * PAGE_SIZE}
"""


def link_image(asm: str, name: str = "guest.s") -> bytes:
    """Assemble and link one source text into ELF image bytes (its includes resolve
    against the guest runtime, as for any kernel)."""
    from paravisor.toolchain.asm import assemble
    from paravisor.toolchain.ld import link
    return link([(name, assemble(asm, name))])


@dataclass
class Guest:
    """A built domain and what tests need to call hypercalls on its behalf."""
    hv: Hypervisor
    dom: Domain
    symbols: dict[str, int]
    _next_free: int = field(default=0)

    @property
    def vcpu(self) -> Vcpu:
        return self.dom.vcpus[0]

    # --- guest memory -----------------------------------------------------------------

    def alloc(self, size: int, align: int = 8) -> int:
        """A fresh, zeroed range of the `scratch` area (virtual address)."""
        base = self.symbols[SCRATCH_SYMBOL]
        start = -(-(base + self._next_free) // align) * align
        if start + size > base + SCRATCH_PAGES * PAGE_SIZE:
            raise ValueError("the guest's scratch area is full")
        self._next_free = start + size - base
        self.write(start, bytes(size))
        return start

    def write(self, va: int, data: bytes) -> None:
        copy_to_guest(self.hv.memory, self.vcpu.cpu, va, data)

    def read(self, va: int, length: int) -> bytes:
        return copy_from_guest(self.hv.memory, self.vcpu.cpu, va, length)

    def put(self, struct: Struct, va: int | None = None, **values: Any) -> int:
        """Write `struct` with `values` at `va` (a fresh scratch range if None); its va."""
        if va is None:
            va = self.alloc(struct.size)
        self.write(va, struct.pack(**values))
        return va

    def get(self, struct: Struct, va: int) -> dict[str, Any]:
        return struct.unpack(self.read(va, struct.size))

    def put_words(self, words: list[int]) -> int:
        """A u32 array in scratch memory; its va."""
        va = self.alloc(4 * max(len(words), 1), align=4)
        self.write(va, b"".join((w & WORD_MASK).to_bytes(4, "little") for w in words))
        return va

    def put_array(self, struct: Struct, rows: list[dict[str, Any]]) -> int:
        """Consecutive `struct`s with the values of `rows`, in scratch memory; their va."""
        va = self.alloc(struct.size * max(len(rows), 1))
        for i, values in enumerate(rows):
            self.put(struct, va + i * struct.size, **values)
        return va

    def words(self, va: int, count: int) -> list[int]:
        raw = self.read(va, 4 * count)
        return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]

    def l1_entry_maddr(self, va: int) -> int:
        """Machine address of the L1 entry mapping `va` in vCPU 0's address space (what
        mmu_update's MMU_NORMAL_PT_UPDATE names); ValueError if no L1 covers `va`."""
        base = self.dom.mem.guest_table[0]
        l2e = self.hv.memory.read32(entry_maddr(base, l2_index(va)))
        if not l2e & PTE_P:
            raise ValueError(f"no L1 table covers {va:#010x}")
        return entry_maddr(pte_frame(l2e), l1_index(va))

    def fresh_frames(self, count: int) -> list[int]:
        """`count` new frames of the guest's own, unmapped (increase_reservation, with
        max_pages raised to make room)."""
        self.dom.mem.max_pages += count
        out = self.put_words([0] * count)
        res = self.put(XEN_MEMORY_RESERVATION, extent_start=out, nr_extents=count,
                       domid=DOMID_SELF)
        done = self.call(Hypercall.memory_op, XENMEM_increase_reservation, res)
        if done != count:
            raise ValueError(f"increase_reservation gave {done} of {count} frames")
        return self.words(out, count)

    # --- hypercalls ---------------------------------------------------------------------

    def call(self, number: int, *args: int, vcpu: Vcpu | None = None) -> Any:
        """dispatch.invoke with six argument words: the handler's result (-errno on
        failure), or common.KEEP.  `vcpu` is hv.current meanwhile, as in the loop."""
        words = tuple((a & WORD_MASK) for a in args) + (0,) * (len(HYPERCALL_ARG_REGS) - len(args))
        vcpu = vcpu or self.vcpu
        with self._running(vcpu):
            return dispatch.invoke(self.hv, vcpu, number, words)

    def hcall(self, number: int, *args: int, vcpu: Vcpu | None = None) -> int:
        """The register path: load t0/a0..a5 as `hcall` leaves them, run
        dispatch.hypercall, return a0 as a signed value."""
        vcpu = vcpu or self.vcpu
        regs = vcpu.cpu.regs
        regs[HYPERCALL_NR_REG] = number & WORD_MASK
        for reg, value in zip(HYPERCALL_ARG_REGS, args, strict=False):
            regs[reg] = value & WORD_MASK
        with self._running(vcpu):
            dispatch.hypercall(self.hv, vcpu)
        return signed(regs[HYPERCALL_RESULT_REG])

    def hcall_preempted(self, number: int, *args: int, vcpu: Vcpu | None = None,
                        limit: int = 100_000) -> tuple[int, int]:
        """The register path with preemption forced at every check (hv.preempt_at = 0):
        re-execute the `hcall` after each continuation, as the guest does when it next
        runs, until the call completes.  (a0 as a signed value, continuations taken)."""
        vcpu = vcpu or self.vcpu
        cpu = vcpu.cpu
        regs = cpu.regs
        regs[HYPERCALL_NR_REG] = number & WORD_MASK
        for reg, value in zip(HYPERCALL_ARG_REGS, args, strict=False):
            regs[reg] = value & WORD_MASK
        for continuations in range(limit):
            cpu.pc = HCALL_TEST_PC + HCALL_SIZE       # just after the `hcall`, as on entry
            self.hv.preempt_at = 0
            try:
                with self._running(vcpu):
                    dispatch.hypercall(self.hv, vcpu)
            finally:
                self.hv.preempt_at = None
            if cpu.pc != HCALL_TEST_PC:
                return signed(regs[HYPERCALL_RESULT_REG]), continuations
        raise AssertionError(f"hypercall {number} still continuing after {limit} entries")

    @contextmanager
    def _running(self, vcpu: Vcpu) -> Iterator[None]:
        """`vcpu` is the running vCPU (hv.current) for the duration, as when the loop
        handles its hypercall, so work the hypervisor charges to it lands on it."""
        outer, self.hv.current = self.hv.current, vcpu
        try:
            yield
        finally:
            self.hv.current = outer


def mm_state(mm: MemoryManager) -> tuple:
    """invariants.snapshot with the accessed/dirty bits of page-table entries cleared:
    for "a refused call changed nothing" checks, since translating a guest pointer
    sets PTE_A (and a write PTE_D) exactly as the guest's own access would."""
    frames, data, m2p, domains, free = snapshot(mm)
    memory = bytearray(data)
    for mfn, page in enumerate(mm.frames):
        if page.is_table:
            entries = [pte & ~(PTE_A | PTE_D) for pte in read_table(mm, mfn)]
            start = mfn << PAGE_SHIFT
            memory[start:start + PAGE_SIZE] = b"".join(e.to_bytes(4, "little")
                                                       for e in entries)
    return frames, bytes(memory), m2p, domains, free


@contextmanager
def tlb_wipes() -> Iterator[list[int]]:
    """Count the TLB flushes that did work (isa.mmu.Mmu.flushes: each one wipes the
    interpreter's block map or the JIT's native TLB and jump cache) in every vCPU while
    the context lasts: yields a one-element list, updated."""
    from paravisor.isa.mmu import Mmu
    total, flush = [0], Mmu.flush

    def counted(mmu: Mmu) -> None:
        before = mmu.flushes
        flush(mmu)
        total[0] += mmu.flushes - before
    Mmu.flush = counted
    try:
        yield total
    finally:
        Mmu.flush = flush


def signed(word: int) -> int:
    """A 32-bit register value as the signed result a guest sees (-errno < 0)."""
    return word - (1 << 32) if word & (1 << 31) else word


def load_guest(host: Host, asm: str = IDLE_KERNEL, *, name: str | None = None,
               memory_mib: int = 1, privileged: bool = False, domid: int | None = None,
               max_vcpus: int = 1) -> Guest:
    """Build `asm` into a new, paused domain of `host` (see Host.guest); vCPU 0 is
    ready, any others are down."""
    name = name or f"g{len(host.hv.domains)}"
    image = link_image(asm, f"{name}.s")
    symbols = {s.name: s.value for s in read_elf(image, name).symbols
               if s.name and s.defined}
    dom = host.hv.create_domain(name, privileged=privileged, domid=domid,
                                max_vcpus=max_vcpus)
    build_domain(host.hv, dom, parse_image(image, name), memory_mib)
    return Guest(host.hv, dom, symbols)


def api_guest(host: Host, **options: Any) -> Guest:
    """A guest for driving hypercalls from Python (IDLE_KERNEL, with scratch space),
    unpaused: its vCPU 0 is the one "making" the calls, so it must be able to run
    (multicall, for one, stops a batch when the caller cannot)."""
    guest = load_guest(host, IDLE_KERNEL, **options)
    host.hv.unpause(guest.dom)
    return guest


def boot_guest(asm: str, memory_mib: int = 4, name: str = "t", *,
               host: Host | None = None,
               privileged: bool = False) -> tuple[Hypervisor, Domain]:
    """Build `asm` into a domain of a new strict test host (or `host`) and unpause it:
    (hv, dom), ready for hv.run()."""
    host = host or Host()
    guest = load_guest(host, asm, name=name, memory_mib=memory_mib, privileged=privileged)
    host.hv.unpause(guest.dom)
    return host.hv, guest.dom


__all__ = ["IDLE_KERNEL", "KEEP", "SCRATCH_PAGES", "Guest", "api_guest", "boot_guest",
           "link_image", "load_guest", "mm_state", "signed", "tlb_wipes"]
