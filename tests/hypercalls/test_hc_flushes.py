"""One TLB flush per page-table change (issue 12, item 5; paravisor/mm/pv_mmu.py, "TLBs"):
an mmu_update batch that changes a table the vCPU walked wipes its caches exactly once,
one that changes nothing it walked wipes nothing, and a flush hint after a change that
already flushed costs nothing -- the same counts on both engines.  (Deterministic
figures; benchmarks/flushes.py measures the time.)"""

from pathlib import Path

import pytest

from paravisor.abi import DOMID_SELF, MMU_UPDATE, UVMF_INVLPG, Hypercall
from paravisor.hypervisor.builder import build_domain, parse_image
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.table import PAGE_SIZE, PTE_P, make_pte
from paravisor.jit import JitEngine
from paravisor.mm.invariants import verify
from paravisor.testing.guests import api_guest, tlb_wipes
from paravisor.testing.host import Host
from paravisor.toolchain.cc import build_program

PT_REMAP = Path(__file__).resolve().parents[2] / "guest_os" / "tests" / "pt_remap.c"
ENGINES = {"interp": Interpreter, "jit": JitEngine}


@pytest.fixture(scope="module")
def pt_remap_image() -> bytes:
    return build_program([str(PT_REMAP)])


def run_pt_remap(image: bytes, engine, rounds: int) -> tuple[int, list[str]]:
    """(TLB wipes, console output) of a pt_remap run of `rounds` batches."""
    host = Host(16, engine_factory=engine)
    dom = host.hv.create_domain("remap")
    build_domain(host.hv, dom, parse_image(image, "remap"), 2, cmdline=str(rounds))
    host.hv.unpause(dom)
    with tlb_wipes() as wipes:
        host.hv.run(max_ns=10**12)
    assert dom.shutdown_code == 0, host.output(dom)
    verify(host.hv.mm)
    return wipes[0], host.output(dom)


def test_a_batch_that_changes_a_walked_table_flushes_once(pt_remap_image):
    runs = {(name, rounds): run_pt_remap(pt_remap_image, engine, rounds)
            for name, engine in ENGINES.items() for rounds in (8, 24)}
    for name in ENGINES:
        assert runs[(name, 24)][0] - runs[(name, 8)][0] == 24 - 8     # one per batch
    assert runs[("interp", 8)] == runs[("jit", 8)]                 # wipes and output
    assert runs[("interp", 24)] == runs[("jit", 24)]


@pytest.mark.parametrize("engine", ENGINES.values(), ids=ENGINES)
def test_flushes_follow_what_the_vcpu_walked(engine):
    guest = api_guest(Host(16, engine_factory=engine))
    cpu, run = guest.vcpu.cpu, guest.dom.engine.run
    frame = min(guest.dom.mem.pages)           # a frame of its own, to map read-only
    va = guest.alloc(PAGE_SIZE, align=PAGE_SIZE)   # under the L1 that maps its code
    reqs = guest.alloc(MMU_UPDATE.size)
    guest.put(MMU_UPDATE, reqs, ptr=guest.l1_entry_maddr(va), val=make_pte(frame, PTE_P))

    def mmu_update() -> int:
        assert guest.call(Hypercall.mmu_update, reqs, 1, 0, DOMID_SELF) == 0
        return wipes[0]

    with tlb_wipes() as wipes:
        run(cpu, 3)                            # walks the L1 (its code's)
        assert wipes[0] == 0
        assert mmu_update() == 1               # the entry write flushes the walker
        assert mmu_update() == 1               # nothing walked since: nothing to flush
        run(cpu, 3)                            # walks it again
        assert wipes[0] == 1                   # and no flush request was left pending
        assert guest.call(Hypercall.update_va_mapping, va, 0, UVMF_INVLPG) == 0
        assert wipes[0] == 2                   # the entry write
        run(cpu, 3)                            # the hint finds the TLB already empty
        assert wipes[0] == 2
    verify(guest.hv.mm)
