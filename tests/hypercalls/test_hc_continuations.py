"""Continuations of long hypercalls (docs/abi.md, "What a hypercall costs").

With preemption forced at every check (Guest.hcall_preempted) a batch call does one
entry per entry into the hypervisor and re-executes itself with arguments describing the
rest; the guest must see exactly what an uninterrupted call gives it.  The state machine
at the end runs random batches on two identical hosts, one never preempted and one
preempted at every entry, and compares everything the guest can see.  Forged
continuation arguments are checked like fresh ones.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from paravisor.abi import (
    DOMID_SELF,
    GNTTAB_COPY,
    MEMOP_EXTENT_SHIFT,
    MMU_MACHPHYS_UPDATE,
    MMU_UPDATE,
    MMU_UPDATE_PREEMPTED,
    MMUEXT_INVLPG_LOCAL,
    MMUEXT_OP,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_TLB_FLUSH_ALL,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_UNPIN_TABLE,
    MULTICALL_ENTRY,
    XEN_MEMORY_RESERVATION,
    Gntst,
    GNTTABOP_copy,
    Hypercall,
    XENMEM_decrease_reservation,
    XENMEM_increase_reservation,
    XENMEM_populate_physmap,
    XENVER_version,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.cost import (
    BATCH_ENTRY_NS,
    copy_ns,
)
from paravisor.isa.table import (
    HYPERCALL_ARG_REGS,
    HYPERCALL_NR_REG,
    PAGE_SIZE,
    PTE_P,
    PTE_W,
    make_pte,
)
from paravisor.mm.invariants import verify
from paravisor.testing.grant_harness import GrantWorld
from paravisor.testing.guests import HCALL_TEST_PC, Guest, api_guest, mm_state
from paravisor.testing.host import Host

MMU, MMUEXT, MEM, MC = (Hypercall.mmu_update, Hypercall.mmuext_op, Hypercall.memory_op,
                        Hypercall.multicall)
A0, A1, A2 = HYPERCALL_ARG_REGS[:3]
FLUSH = copy_ns(MMUEXT_OP.size) + BATCH_ENTRY_NS      # one mmuext entry, copied and run


def resume(guest: Guest, nargs: int) -> tuple[int, ...]:
    """The call a rewound vCPU makes when it re-executes its `hcall`: t0, a0.. as left."""
    regs = guest.vcpu.cpu.regs
    return (regs[HYPERCALL_NR_REG], *(regs[r] for r in HYPERCALL_ARG_REGS[:nargs]))


def m2p_updates(guest: Guest, frames: list[int], bad_at: int | None = None) -> int:
    """MMU_MACHPHYS_UPDATE requests for `frames` (one naming no frame at `bad_at`)."""
    return guest.put_array(MMU_UPDATE, [
        {"ptr": (0xFFFFF if i == bad_at else mfn) << 12 | MMU_MACHPHYS_UPDATE, "val": i}
        for i, mfn in enumerate(frames)])


# --- continuations, call by call --------------------------------------------------------

def test_outside_a_guest_entry_nothing_is_preempted(domu):
    assert domu.hv.preempt_at is None
    assert not domu.hv.hypercall_preempt_check(domu.vcpu)
    ops = domu.put_array(MMUEXT_OP, [{"cmd": MMUEXT_TLB_FLUSH_LOCAL}] * 50)
    assert domu.hcall(MMUEXT, ops, 50, 0, DOMID_SELF) == 0


def test_mmuext_op_continues_with_the_rest_and_accumulates_success_count(domu):
    ops = domu.put_array(MMUEXT_OP, [{"cmd": MMUEXT_TLB_FLUSH_LOCAL}] * 4 + [{"cmd": 0x777}])
    done = domu.put_words([0xDEAD])
    domu.hv.preempt_at = 0                         # a preemption point at every check
    try:
        domu.vcpu.cpu.pc = HCALL_TEST_PC + 4
        assert domu.call(MMUEXT, ops, 5, done, DOMID_SELF) is not None
    finally:
        domu.hv.preempt_at = None
    regs = domu.vcpu.cpu.regs                      # the first part did one op ...
    assert domu.vcpu.cpu.pc == HCALL_TEST_PC       # ... and rewound onto the hcall
    assert (regs[HYPERCALL_NR_REG], regs[A0], regs[A1], regs[A2]) == (
        MMUEXT, ops + MMUEXT_OP.size, 4 | MMU_UPDATE_PREEMPTED, done)
    assert domu.words(done, 1) == [1]
    rc, continuations = domu.hcall_preempted(*resume(domu, 4))     # as the guest re-enters
    assert (rc, continuations, domu.words(done, 1)) == (-Errno.ENOSYS, 3, [4])


def test_mmu_update_failing_part_way_reports_the_exact_count(domu):
    frames = sorted(domu.dom.mem.pages)[:12]
    reqs = m2p_updates(domu, frames, bad_at=9)
    done = domu.put_words([0])
    rc, continuations = domu.hcall_preempted(MMU, reqs, 12, done, DOMID_SELF)
    assert (rc, continuations, domu.words(done, 1)) == (-Errno.EINVAL, 9, [9])
    assert [domu.hv.mm.m2p[mfn] for mfn in frames[:9]] == list(range(9))
    verify(domu.hv.mm)


def test_forged_mmu_continuations_are_checked_like_fresh_calls(domu):
    ops = domu.put_array(MMUEXT_OP, [{"cmd": MMUEXT_TLB_FLUSH_LOCAL},
                                     {"cmd": MMUEXT_PIN_L1_TABLE, "arg1": 0xFFFFF}])
    done = domu.put_words([100])
    # A "resumed" batch still refuses what a fresh one refuses; the only thing taken on
    # trust is the guest's own count, which it may set as it likes.
    assert domu.call(MMUEXT, ops, 2 | MMU_UPDATE_PREEMPTED, done, DOMID_SELF) == -Errno.EINVAL
    assert domu.words(done, 1) == [101]
    assert domu.call(MMUEXT, ops, MMU_UPDATE_PREEMPTED, done, DOMID_SELF) == -Errno.EINVAL
    assert domu.call(MMUEXT, ops, 1 | MMU_UPDATE_PREEMPTED, 0x10000, DOMID_SELF) \
        == -Errno.EFAULT                           # success_count still must be writable
    assert domu.call(MMU, ops, 1 | MMU_UPDATE_PREEMPTED, done, 0x7FEF) == -Errno.ESRCH


def test_memory_op_continues_at_the_next_extent_and_counts_from_zero(domu):
    domu.dom.mem.max_pages += 5
    out = domu.put_words([0] * 5)
    res = domu.put(XEN_MEMORY_RESERVATION, extent_start=out, nr_extents=5, domid=DOMID_SELF)
    domu.hv.preempt_at = 0
    try:
        domu.vcpu.cpu.pc = HCALL_TEST_PC + 4
        domu.call(MEM, XENMEM_increase_reservation, res)
    finally:
        domu.hv.preempt_at = None
    regs = domu.vcpu.cpu.regs
    assert (regs[A0], regs[A1]) == (XENMEM_increase_reservation | 1 << MEMOP_EXTENT_SHIFT, res)
    rc, continuations = domu.hcall_preempted(*resume(domu, 2))
    assert (rc, continuations) == (5, 3)
    mfns = domu.words(out, 5)
    assert len(set(mfns)) == 5 and all(domu.hv.mm.frames[m].owner == domu.dom.domid
                                       for m in mfns)


def test_forged_memory_op_continuations_are_checked(domu):
    frames = domu.fresh_frames(3)
    array = domu.put_words(frames)
    res = domu.put(XEN_MEMORY_RESERVATION, extent_start=array, nr_extents=3,
                   domid=DOMID_SELF)
    past_end = XENMEM_decrease_reservation | 3 << MEMOP_EXTENT_SHIFT
    assert domu.call(MEM, past_end, res) == -Errno.EINVAL
    # Starting part-way is the guest's own business: it does the rest and says so.
    assert domu.call(MEM, XENMEM_decrease_reservation | 2 << MEMOP_EXTENT_SHIFT, res) == 3
    assert [domu.hv.mm.frames[m].owner for m in frames[:2]] == [domu.dom.domid] * 2
    assert domu.hv.mm.frames[frames[2]].owner is None
    verify(domu.hv.mm)


def test_grant_copies_continue_with_the_remaining_ops():
    world = GrantWorld(nr_guests=1)
    (a,) = world.guests
    src, dst = world.fresh_frame(a), world.fresh_frame(a)
    world.hv.memory.write(src << 12, bytes(range(256)) * 16)
    side = {"domid": DOMID_SELF}
    ops = a.alloc(GNTTAB_COPY.size * 4)
    for i in range(4):
        a.put(GNTTAB_COPY, ops + i * GNTTAB_COPY.size,
              source={"u": {"gmfn": src}, **side, "offset": 16 * i},
              dest={"u": {"gmfn": dst if i != 2 else 0xFFFFF}, **side, "offset": 16 * i},
              len=16, flags=0, status=99)
    rc, continuations = a.hcall_preempted(Hypercall.grant_table_op, GNTTABOP_copy, ops, 4)
    assert (rc, continuations) == (0, 3)
    statuses = [a.get(GNTTAB_COPY, ops + i * GNTTAB_COPY.size)["status"] for i in range(4)]
    assert statuses == [Gntst.GNTST_okay] * 2 + [Gntst.GNTST_bad_page, Gntst.GNTST_okay]
    copied = world.hv.memory.read(dst << 12, 64)
    assert copied[:32] == bytes(range(32)) and copied[48:] == bytes(range(48, 64))


def test_a_call_preempted_inside_a_multicall_continues_from_its_entry(domu):
    ops = domu.put_array(MMUEXT_OP, [{"cmd": MMUEXT_TLB_FLUSH_LOCAL}] * 3)
    done = domu.put_words([0])
    calls = domu.alloc(2 * MULTICALL_ENTRY.size)
    domu.put(MULTICALL_ENTRY, calls, op=MMUEXT, result=0xEEEE,
             args=[ops, 3, done, DOMID_SELF, 0, 0])
    domu.put(MULTICALL_ENTRY, calls + MULTICALL_ENTRY.size, op=Hypercall.xen_version,
             result=0xEEEE, args=[XENVER_version, 0, 0, 0, 0, 0])
    domu.hv.preempt_at = 0
    try:
        domu.vcpu.cpu.pc = HCALL_TEST_PC + 4
        domu.call(MC, calls, 2)
    finally:
        domu.hv.preempt_at = None
    first = domu.get(MULTICALL_ENTRY, calls)       # its continuation, written in place
    assert (first["op"], first["result"], first["args"][:4]) == (
        MMUEXT, 0xEEEE, [ops + MMUEXT_OP.size, 2 | MMU_UPDATE_PREEMPTED, done, DOMID_SELF])
    regs = domu.vcpu.cpu.regs
    assert (regs[A0], regs[A1]) == (calls, 2)      # the batch resumes at that entry
    rc, _ = domu.hcall_preempted(*resume(domu, 2))
    results = [domu.get(MULTICALL_ENTRY, calls + i * MULTICALL_ENTRY.size)["result"]
               for i in range(2)]
    assert (rc, results, domu.words(done, 1)) == (0, [0, (4 << 16) | 20], [3])


# --- random batches: preempted at every entry or never, the guest sees the same ---------

WORLD_MIB = 4
SCRATCH_ARGS = 0                 # argument arrays at the start of scratch ...
OUT = 2048                       # ... success counts and extent arrays further on
MMUEXT_CMDS = [MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE,
               MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_ALL, MMUEXT_INVLPG_LOCAL, 0x777]


class World:
    """One host with one domU (a few spare frames); built the same way twice, it holds
    the same frames at the same numbers."""

    def __init__(self, preempt: bool) -> None:
        self.preempt = preempt
        self.guest = api_guest(Host(host_mib=WORLD_MIB), name="twin")
        self.guest.fresh_frames(6)
        self.guest.dom.mem.max_pages += 8
        self.scratch = self.guest.symbols["scratch"]

    def frames(self) -> list[int]:
        return sorted(self.guest.dom.mem.pages) + [0xFFFFF]

    def call(self, number: int, payload: bytes, *args: int) -> int:
        """Place `payload` at the argument area, then make the call to completion."""
        self.guest.write(self.scratch + SCRATCH_ARGS, payload)
        if self.preempt:
            return self.guest.hcall_preempted(number, *args)[0]
        return self.guest.hcall(number, *args)

    def state(self) -> tuple:
        return mm_state(self.guest.hv.mm)


class PreemptionTwins(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.never, self.always = World(preempt=False), World(preempt=True)

    def both(self, build) -> None:
        """Run the call `build(world)` describes, (number, payload, args), in both."""
        results = [world.call(*build(world)) for world in (self.never, self.always)]
        assert results[0] == results[1]

    @rule(ops=st.lists(st.tuples(st.sampled_from(MMUEXT_CMDS), st.integers(0, 40)),
                       min_size=1, max_size=8), count_done=st.booleans())
    def mmuext_op(self, ops, count_done):
        def build(world):
            frames = world.frames()
            payload = b"".join(MMUEXT_OP.pack(cmd=cmd, arg1=frames[i % len(frames)])
                               for cmd, i in ops)
            done = world.scratch + OUT if count_done else 0
            return MMUEXT, payload, world.scratch, len(ops), done, DOMID_SELF
        self.both(build)

    @rule(reqs=st.lists(st.tuples(st.integers(0, 40), st.sampled_from([0, PTE_P, PTE_P | PTE_W]),
                                  st.integers(1, 7), st.booleans()),
                        min_size=1, max_size=8))
    def mmu_update(self, reqs):
        def build(world):
            frames, guest = world.frames(), world.guest
            payload = b""
            for i, flags, page, machphys in reqs:
                mfn = frames[i % len(frames)]
                if machphys:
                    payload += MMU_UPDATE.pack(ptr=mfn << 12 | MMU_MACHPHYS_UPDATE, val=i)
                else:
                    entry = guest.l1_entry_maddr(world.scratch + page * PAGE_SIZE)
                    pte = make_pte(mfn, flags) if mfn < guest.hv.mm.nframes else 0
                    payload += MMU_UPDATE.pack(ptr=entry, val=pte)
            return MMU, payload, world.scratch, len(reqs), world.scratch + OUT, DOMID_SELF
        self.both(build)

    @rule(cmd=st.sampled_from([XENMEM_increase_reservation, XENMEM_populate_physmap,
                               XENMEM_decrease_reservation]),
          picks=st.lists(st.integers(0, 40), min_size=1, max_size=6))
    def memory_op(self, cmd, picks):
        def build(world):
            frames, guest = world.frames(), world.guest
            array = world.scratch + OUT
            guest.write(array, b"".join((frames[i % len(frames)] if cmd ==
                                         XENMEM_decrease_reservation else i)
                                        .to_bytes(4, "little") for i in picks))
            payload = XEN_MEMORY_RESERVATION.pack(extent_start=array, nr_extents=len(picks),
                                                  domid=DOMID_SELF)
            return MEM, payload, cmd, world.scratch
        self.both(build)

    @rule(copies=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40),
                                    st.integers(0, 64), st.integers(0, 4090)),
                          min_size=1, max_size=6))
    def grant_copy(self, copies):
        def build(world):
            frames = world.frames()
            payload = b"".join(GNTTAB_COPY.pack(
                source={"u": {"gmfn": frames[s % len(frames)]}, "domid": DOMID_SELF,
                        "offset": offset},
                dest={"u": {"gmfn": frames[d % len(frames)]}, "domid": DOMID_SELF,
                      "offset": 0}, len=length, flags=0)
                for s, d, length, offset in copies)
            return (Hypercall.grant_table_op, payload, GNTTABOP_copy, world.scratch,
                    len(copies))
        self.both(build)

    @rule(batches=st.lists(st.integers(1, 4), min_size=1, max_size=4))
    def multicall_of_flush_batches(self, batches):
        def build(world):
            ops = world.scratch + 1024
            world.guest.write(ops, MMUEXT_OP.pack(cmd=MMUEXT_TLB_FLUSH_LOCAL) * 4)
            payload = b"".join(MULTICALL_ENTRY.pack(
                op=MMUEXT, result=0xEEEE,
                args=[ops, n, world.scratch + OUT + 4 * i, DOMID_SELF, 0, 0])
                for i, n in enumerate(batches))
            return MC, payload, world.scratch, len(batches)
        self.both(build)
        # Only `result` is the guest's to read afterwards: put back the arguments that a
        # continuation rewrote, so the comparison covers everything else.
        for world in (self.never, self.always):
            for i, n in enumerate(batches):
                va = world.scratch + i * MULTICALL_ENTRY.size
                result = world.guest.get(MULTICALL_ENTRY, va)["result"]
                world.guest.put(MULTICALL_ENTRY, va, op=MMUEXT, result=result, args=[
                    world.scratch + 1024, n, world.scratch + OUT + 4 * i, DOMID_SELF, 0, 0])

    @invariant()
    def the_guest_sees_the_same(self):
        assert self.never.state() == self.always.state()


PreemptionTwins.TestCase.settings = settings(max_examples=20, stateful_step_count=12,
                                             deadline=None)
TestPreemptionTwins = PreemptionTwins.TestCase


def test_twin_worlds_start_identical():
    assert World(preempt=False).state() == World(preempt=True).state()
