"""TLB shootdown: no vCPU uses a translation that a memory-manager change made stale.

PV32's TLB is architecturally coherent: engines watch the page-table frames they walked,
and a write to one flushes their cached translations (paravisor/isa/memory.py).  That is
enough while nothing runs during the write, which is the deterministic loop's case.  Under
--realtime a vCPU runs guest code on its own host thread while another thread, holding
the hypervisor lock, changes page tables: the flush then lands in the middle of a run.  A
store may already have looked its translation up and be about to use it, an interpreter
walk may have read the old entry and install it after the flush (or write its accessed
bit back over the new entry), the flush (a memset from the other thread) may tear an
entry that native code is reading into a wild host pointer, and nothing tells the
changing thread when the old translation is really gone.  Xen's answer is the shootdown:
the CPUs that may hold the translation flush, and the page is reused only after they
did (flush_tlb_mask).

Ours is coarser and simpler: `shootdown.stop(domid)` returns a context inside which no
vCPU of domain `domid` (None: of any domain) is running guest code, nor will start until
the context ends (the runner asks running ones to end early).  The memory manager enters
it around each change that can invalidate a translation, before making it:

- every write of a page-table entry (pagetable): only the table's owner walks it, since
  a base pointer and every L2 entry name tables of their own domain;
- a vCPU's base pointer switched or dropped (pv_mmu.new_baseptr / drop_baseptr): the
  old root may be demoted, which drops the references its entries held;
- a frame freed (frametable.free_host_frame): every domain, because any engine may have
  cached the frame's code, and the frame may go to another domain next;
- a domain destroyed (Hypervisor.destroy): its vCPUs, for the whole teardown.

Re-typing needs no stop of its own: a frame takes a table type only at type_count 0, i.e.
after its last writable entry was removed (a page-table write, so a stop) or its table
demoted: by a page-table write, a base-pointer change or a teardown (stops too), or by an
unpin, which demotes only a table that no L2 entry links, so that nothing walks it (the
L2 write that unlinked it flushed whoever had).

Stops nest (a frame freed by a page-table write) and cost nothing where nothing runs in
parallel: the default `NO_SHOOTDOWN` is what the deterministic loop and the unit tests
use; paravisor.hypervisor.realtime installs its own on the memory manager while it runs.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class Shootdown(Protocol):
    def stop(self, domid: int | None) -> AbstractContextManager[None]:
        """A context in which no vCPU of `domid` (None: of any domain) runs guest code."""
        ...


_NOTHING = nullcontext()


class NoShootdown:
    """Nothing runs while the memory manager changes state: nothing to stop."""

    def stop(self, domid: int | None) -> AbstractContextManager[None]:
        return _NOTHING


NO_SHOOTDOWN = NoShootdown()
