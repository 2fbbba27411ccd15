"""What hypercall work costs in virtual time (docs/abi.md, "What a hypercall costs").

Virtual time counts retired guest instructions, NS_PER_INSTRUCTION (10 ns) each.  Work
the hypervisor does on a guest's behalf is charged to the calling vCPU in the same
currency, through `Hypervisor.charge(vcpu, ns)`: it advances `hv.now` and the vCPU's
`cpu_time_ns` exactly as retired instructions do, so the scheduler debits it and the
guest's clock shows it.  Without the charge a batch hypercall would be free however long
it ran on the host, and a guest could starve every other domain with it (issue 11, F3).

Each cost below is what the work would take the 100 MHz machine the guest runs on, in
whole instructions, so virtual time stays a multiple of NS_PER_INSTRUCTION.  They are
estimates, not measurements of this host: what matters is that no work is free and that
work grows the charge in proportion.  Who charges what:

- dispatch.invoke: HYPERCALL_NS for every call, a multicall's sub-calls included;
- common's copy helpers: copy_ns(bytes) for every argument or result copied to or from
  the guest (console_io, request arrays, results);
- batch loops (common.Batch): BATCH_ENTRY_NS per entry of mmu_update, mmuext_op,
  grant_table_op and multicall, and per extent of memory_op;
- the hypervisor, told by paravisor.mm: PAGE_TABLE_NS per page table validated (a
  promotion checks all 1024 entries) or torn down (a demotion drops them all);
- GNTTABOP_copy: copy_ns(len) for the bytes it moves between frames.
"""

from __future__ import annotations

from paravisor.abi import NS_PER_INSTRUCTION
from paravisor.isa.table import ENTRIES_PER_TABLE

HYPERCALL_NS = 50 * NS_PER_INSTRUCTION            # 500 ns: trap in, dispatch, return
BATCH_ENTRY_NS = 100 * NS_PER_INSTRUCTION         # 1 us: one entry: decode, check, act
PAGE_TABLE_NS = ENTRIES_PER_TABLE * 10 * NS_PER_INSTRUCTION   # 102.4 us: 1024 entries
COPY_NS_PER_WORD = NS_PER_INSTRUCTION             # 10 ns: one 4-byte word moved
WORD_BYTES = 4


def copy_ns(nbytes: int) -> int:
    """Virtual ns to copy `nbytes` (a started word counts whole)."""
    return -(-max(nbytes, 0) // WORD_BYTES) * COPY_NS_PER_WORD

