"""Copying to and from guest virtual memory on a guest's behalf (Xen's copy_{to,from}_guest).

The hypervisor reads hypercall arguments and writes results through the guest's own
page tables, with the guest kernel's rights: a write to a page the guest has mapped
read-only fails with -EFAULT exactly as the guest's own store would fault.  This is what
stops a guest from pointing an OUT argument at its own page table or at memory it does
not own (the confused-deputy attack on a hypervisor).
"""

from __future__ import annotations

from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.isa.mmu import Access, walk
from paravisor.isa.semantics import GuestFault
from paravisor.isa.table import CR, PAGE_MASK, PAGE_SIZE, WORD_MASK, Ring


class GuestMemoryError(Exception):
    """A guest address the guest itself could not have accessed; hypercalls answer -EFAULT."""

    def __init__(self, va: int, write: bool) -> None:
        super().__init__(f"cannot {'write' if write else 'read'} guest address {va:#010x}")
        self.va = va
        self.write = write


def _page(memory: MachineMemory, cpu: CPUState, va: int, write: bool) -> int:
    """Machine address of the page holding `va`, walked with ring-1 (kernel) rights."""
    if not cpu.paging:
        raise GuestMemoryError(va, write)   # PV guests always run with paging on
    try:
        page, _, _ = walk(memory, cpu.cr[CR.PTBR], va & WORD_MASK,
                          Access.WRITE if write else Access.READ,
                          cpu.ring == Ring.USER, cpu.pc)
    except GuestFault:
        raise GuestMemoryError(va, write) from None
    return page


def _chunks(va: int, length: int):
    """Split [va, va+length) at page boundaries: yields (va, offset in data, length)."""
    if length < 0 or va < 0 or va + length > WORD_MASK + 1:
        raise GuestMemoryError(va, False)
    done = 0
    while done < length:
        here = va + done
        n = min(length - done, PAGE_SIZE - (here & PAGE_MASK))
        yield here, done, n
        done += n


def copy_from_guest(memory: MachineMemory, cpu: CPUState, va: int, length: int) -> bytes:
    """Read `length` bytes at guest virtual `va` as `cpu`'s kernel would."""
    out = bytearray(length)
    for here, done, n in _chunks(va, length):
        maddr = _page(memory, cpu, here, write=False) + (here & PAGE_MASK)
        out[done:done + n] = memory.data[maddr:maddr + n]
    return bytes(out)


def copy_to_guest(memory: MachineMemory, cpu: CPUState, va: int, data: bytes) -> None:
    """Write `data` at guest virtual `va` as `cpu`'s kernel would.  All pages are
    translated before anything is written, so a fault leaves memory unchanged."""
    pages = [(_page(memory, cpu, here, write=True) + (here & PAGE_MASK), done, n)
             for here, done, n in _chunks(va, len(data))]
    for maddr, done, n in pages:
        memory.write(maddr, data[done:done + n])


def read_u32(memory: MachineMemory, cpu: CPUState, va: int) -> int:
    return int.from_bytes(copy_from_guest(memory, cpu, va, 4), "little")


def write_u32(memory: MachineMemory, cpu: CPUState, va: int, value: int) -> None:
    copy_to_guest(memory, cpu, va, (value & WORD_MASK).to_bytes(4, "little"))


def read_cstring(memory: MachineMemory, cpu: CPUState, va: int, limit: int) -> bytes:
    """A NUL-terminated string of at most `limit` bytes (without the NUL)."""
    out = bytearray()
    while len(out) < limit:
        chunk = copy_from_guest(memory, cpu, va + len(out),
                                min(limit - len(out), PAGE_SIZE - ((va + len(out)) & PAGE_MASK)))
        nul = chunk.find(0)
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
    return bytes(out)
