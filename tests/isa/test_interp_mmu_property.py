"""Random page tables and accesses: the MMU allows exactly what an independent model of
the PV32 paging rules allows, faults with the model's vector and error code otherwise,
and leaves the A/D bits where the model says."""

from hypothesis import given

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.mmu import Mmu
from paravisor.isa.semantics import GuestFault
from paravisor.isa.table import CR, STATUS_PG, Vector
from paravisor.testing.programs import assemble, i, load_words
from paravisor.testing.strategies import walk_cases

NFRAMES = 8
CODE_MFN, L2_MFN, CODE_L1_MFN = 0, 1, 2
L1_FRAMES = [3, 4, 5, 6, 7, 8, 9, 0xFFFFF]        # the last three are not installed
DATA_FRAMES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0xFFFFF]
SIZE = NFRAMES * 4096


def model(words, va, write, user, fetch):
    """('ok', maddr, {word index: new value}) or ('#PF', error code) or ('#GP',).
    `words(addr)` reads memory as it is before the access."""
    access_bits = (2 if write else 0) | (4 if user else 0) | (16 if fetch else 0)
    l2_addr = L2_MFN * 4096 + (va >> 22) * 4
    l2e = words(l2_addr)
    if l2e % 2 == 0:
        return ("#PF", access_bits)
    l1_addr = (l2e >> 12) * 4096 + ((va >> 12) % 1024) * 4
    if l1_addr >= SIZE:
        return ("#GP",)
    l1e = words(l1_addr)
    if l1e % 2 == 0:
        return ("#PF", access_bits)
    needs = (4 if user else 0) | (2 if write else 0)
    if (l2e & needs) != needs or (l1e & needs) != needs:
        return ("#PF", access_bits | 1)
    page = (l1e >> 12) * 4096
    if page >= SIZE:
        return ("#GP",)
    updates = {l2_addr: l2e | 0x20}
    updates[l1_addr] = updates.get(l1_addr, l1e) | (0x60 if write else 0x20)
    return ("ok", page + va % 4096, updates)


def install(case):
    memory = MachineMemory(NFRAMES)
    memory.write32(L2_MFN * 4096, (CODE_L1_MFN << 12) | 0x7)     # P|W|U
    memory.write32(CODE_L1_MFN * 4096, (CODE_MFN << 12) | 0x5)   # P|U, read-only code
    memory.write32(L2_MFN * 4096 + (case.va >> 22) * 4, case.l2e)
    l1_addr = (case.l2e >> 12) * 4096 + ((case.va >> 12) % 1024) * 4
    if l1_addr < SIZE:
        memory.write32(l1_addr, case.l1e)
    return memory


def expected_memory(before, outcome, write_value, write):
    after = bytearray(before)
    if outcome[0] == "ok":
        for addr, value in outcome[2].items():
            after[addr:addr + 4] = value.to_bytes(4, "little")
        if write:
            after[outcome[1]:outcome[1] + 4] = write_value.to_bytes(4, "little")
    return bytes(after)


def check_trap(trap, outcome, va, pc, fetch):
    if outcome[0] == "#GP":
        assert (trap.vector, trap.error_code) == (Vector.GENERAL_PROTECTION, 0)
    else:
        assert (trap.vector, trap.error_code) == (Vector.PAGE_FAULT, outcome[1])
    assert trap.fault_addr == va and trap.pc == pc


@given(walk_cases(L1_FRAMES, DATA_FRAMES))
def test_data_and_fetch_accesses_follow_the_paging_rules(case):
    memory = install(case)
    load_words(memory, 0, assemble([i("lw", rd=3, rs1=1, imm=0) if case.access == "read"
                                    else i("sw", rs2=2, rs1=1, imm=0), i("break")]))
    before = bytes(memory.data)
    write, fetch, user = case.access == "write", case.access == "fetch", case.ring == 3
    outcome = model(lambda a: int.from_bytes(before[a:a + 4], "little"), case.va, write, user,
                    fetch)
    if fetch:
        mmu = Mmu(memory)
        mmu.set_context(True, L2_MFN << 12, user)
        try:
            maddr = case.va + mmu.translate_fetch(case.va)
        except GuestFault as fault:
            assert outcome[0] != "ok"
            check_trap(fault.trap(), outcome, case.va, case.va, fetch)
        else:
            assert outcome[0] == "ok" and maddr == outcome[1]
    else:
        cpu = CPUState(pc=0, ring=case.ring)
        cpu.cr[CR.PTBR], cpu.cr[CR.STATUS] = L2_MFN << 12, STATUS_PG
        cpu.regs[1], cpu.regs[2] = case.va, case.value
        result = Interpreter(memory).run(cpu, 10)
        assert result.reason is ExitReason.TRAP
        if outcome[0] == "ok":
            assert result.trap.vector is Vector.BREAKPOINT and result.retired == 2
            if not write:
                loaded = expected_memory(before, outcome, 0, False)[outcome[1]:outcome[1] + 4]
                assert cpu.regs[3] == int.from_bytes(loaded, "little")
        else:
            assert result.retired == 0 and cpu.regs[3] == 0
            check_trap(result.trap, outcome, case.va, 0, fetch)
    expected = bytearray(before)
    if not fetch:   # the code fetch walked first and set A in the code's own entries
        for addr in (L2_MFN * 4096, CODE_L1_MFN * 4096):
            expected[addr] |= 0x20
    assert bytes(memory.data) == expected_memory(expected, outcome, case.value, write)
