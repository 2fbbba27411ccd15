"""The credit scheduler's queue logic, driven directly with stand-in vCPUs (no guest
code, no hypervisor): boost, preemption, rate limit, stealing, affinity, parking; and a
stateful model test of its invariants under random operations."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from paravisor.sched.credit import CreditScheduler
from paravisor.sched.credit_account import Pri
from paravisor.sched.interface import SchedParamError
from paravisor.sched.rr import RoundRobin

MS = 1_000_000


@dataclass(eq=False)
class FakeVcpu:
    domid: int
    vcpu_id: int = 0
    runnable: bool = True
    cpu_hard_affinity: frozenset[int] | None = None


def credit(nr_pcpus: int = 1, *vcpus: FakeVcpu) -> CreditScheduler:
    sched = CreditScheduler(nr_pcpus)
    for vcpu in vcpus:
        sched.insert_vcpu(vcpu)
    return sched


def test_a_waking_vcpu_is_boosted_and_preempts_an_under_one():
    hog, waker = FakeVcpu(1), FakeVcpu(2, runnable=False)
    sched = credit(1, hog, waker)
    assert sched.do_schedule(0, 0) == (hog, 30 * MS)
    waker.runnable = True
    assert sched.wake(waker, 5 * MS) == (0,)                # tickles the busy pCPU
    assert sched.svc(waker).pri == Pri.BOOST
    assert sched.do_schedule(0, 5 * MS)[0] is waker
    assert sched.svc(hog).credit == -50                     # 5 ms charged


def test_the_rate_limit_keeps_a_vcpu_that_ran_less_than_1ms():
    hog, waker = FakeVcpu(1), FakeVcpu(2, runnable=False)
    sched = credit(1, hog, waker)
    sched.do_schedule(0, 0)
    waker.runnable = True
    sched.wake(waker, 400_000)
    assert sched.do_schedule(0, 400_000) == (hog, 600_000)  # the rest of its 1 ms
    assert sched.do_schedule(0, 1 * MS)[0] is waker


def test_a_tick_ends_the_boost():
    vcpu = FakeVcpu(1, runnable=False)
    sched = credit(1, vcpu)
    vcpu.runnable = True
    sched.wake(vcpu, 0)
    sched.do_schedule(0, 0)
    assert sched.svc(vcpu).pri == Pri.BOOST
    assert sched.next_tick(0) == 10 * MS
    sched.tick(0, 10 * MS)
    assert sched.svc(vcpu).pri == Pri.UNDER and sched.next_tick(0) == 20 * MS


def test_an_idle_pcpu_steals_under_work_but_not_against_affinity():
    a, b = FakeVcpu(1), FakeVcpu(2)
    pinned = FakeVcpu(3, cpu_hard_affinity=frozenset({0}))
    sched = CreditScheduler(2)
    for vcpu in (a, pinned, b):
        sched.insert_vcpu(vcpu)
        sched.svc(vcpu).processor = 0
    sched.runq = [[sched.svc(a), sched.svc(pinned), sched.svc(b)], []]
    assert sched.do_schedule(0, 0)[0] is a
    assert sched.do_schedule(1, 0)[0] is b                  # stole b, skipped pinned
    assert sched.svc(b).processor == 1
    assert sched.do_schedule(1, 30 * MS)[0] is b            # nothing else may run there


def test_wake_prefers_an_idle_pcpu_over_preempting():
    hog, waker = FakeVcpu(1), FakeVcpu(2, runnable=False)
    sched = credit(2, hog, waker)
    sched.svc(hog).processor = sched.svc(waker).processor = 0
    sched.runq = [[sched.svc(hog)], []]
    sched.do_schedule(0, 0)
    waker.runnable = True
    assert sched.wake(waker, MS) == (1,)


def test_parked_vcpus_are_not_scheduled_until_the_accounting_unparks_them():
    capped = FakeVcpu(1)
    sched = credit(1, capped)
    sched.set_domain_params(1, cap=10)
    assert sched.do_schedule(0, 0)[0] is capped
    sched.tick(0, 10 * MS)                                  # joins the active list
    assert sched.timer(30 * MS) == (0,)                     # parked: deschedule it
    assert sched.svc(capped).parked and sched.holds_work()
    assert sched.do_schedule(0, 30 * MS) == (None, 0)
    for period in range(2, 20):
        sched.timer(period * 30 * MS)
        if not sched.svc(capped).parked:
            break
    assert not sched.svc(capped).parked and sched.svc(capped).credit >= 0
    assert sched.do_schedule(0, period * 30 * MS)[0] is capped


def test_parameters_are_checked():
    sched = credit(1, FakeVcpu(1))
    assert sched.set_domain_params(1, weight=512) == sched.domain_params(1)
    assert (sched.domain_params(1).weight, sched.domain_params(1).cap) == (512, 0)
    for bad in ({"weight": 0}, {"weight": 65536}, {"cap": 101}, {"cap": -1}):
        with pytest.raises(SchedParamError):
            sched.set_domain_params(1, **bad)
    with pytest.raises(SchedParamError):
        sched.set_domain_params(7, weight=1)
    assert sched.domain_params(7) is None


def test_round_robin_takes_turns_and_honours_affinity():
    a, b = FakeVcpu(1), FakeVcpu(2, cpu_hard_affinity=frozenset({1}))
    rr = RoundRobin(2)
    rr.insert_vcpu(a)
    rr.insert_vcpu(b)
    assert rr.do_schedule(0, 0)[0] is a
    assert rr.do_schedule(0, 10 * MS)[0] is a               # b may not run on pCPU 0
    assert rr.do_schedule(1, 0)[0] is b
    assert rr.domain_params(1) is None
    with pytest.raises(SchedParamError):
        rr.set_domain_params(1, weight=5)


class CreditModel(RuleBasedStateMachine):
    """Random wakes, sleeps, yields, ticks, accounting and scheduling decisions; after
    each step every vCPU is in exactly one place it may be, and queues are ordered."""

    def __init__(self) -> None:
        super().__init__()
        self.vcpus = [FakeVcpu(d, runnable=False) for d in range(1, 5)]
        self.vcpus[3].cpu_hard_affinity = frozenset({1})
        self.sched = CreditScheduler(3)
        for vcpu in self.vcpus:
            self.sched.insert_vcpu(vcpu)
        self.now = 0

    @rule(index=st.integers(0, 3))
    def wake(self, index):
        vcpu = self.vcpus[index]
        vcpu.runnable = True
        for pcpu in self.sched.wake(vcpu, self.now):
            assert 0 <= pcpu < 3

    @rule(index=st.integers(0, 3))
    def sleep(self, index):
        self.vcpus[index].runnable = False
        self.sched.sleep(self.vcpus[index], self.now)

    @rule(pcpu=st.integers(0, 2))
    def yield_(self, pcpu):
        current = self.sched.current(pcpu)
        if current is not None:           # only a running vCPU can yield
            self.sched.yield_vcpu(current, self.now)

    @rule(pcpu=st.integers(0, 2), step=st.integers(0, 15 * MS))
    def schedule(self, pcpu, step):
        self.now += step
        vcpu, slice_ns = self.sched.do_schedule(pcpu, self.now)
        if vcpu is not None:
            assert vcpu.runnable and slice_ns > 0
            assert vcpu.cpu_hard_affinity is None or pcpu in vcpu.cpu_hard_affinity

    @rule(pcpu=st.integers(0, 2))
    def tick(self, pcpu):
        if self.sched.next_tick(pcpu) is not None:
            self.sched.tick(pcpu, max(self.now, self.sched.next_tick(pcpu)))

    @rule(index=st.integers(0, 3), weight=st.integers(1, 65535), cap=st.integers(0, 100))
    def adjust(self, index, weight, cap):
        self.sched.set_domain_params(index + 1, weight=weight, cap=cap)

    @rule(index=st.integers(0, 3), pins=st.none() | st.sets(st.integers(0, 2), min_size=1))
    def pin(self, index, pins):
        """Change a vCPU's affinity; a pCPU told to let it go reschedules at once."""
        vcpu = self.vcpus[index]
        vcpu.cpu_hard_affinity = None if pins is None else frozenset(pins)
        for pcpu in self.sched.affinity_changed(vcpu, self.now):
            if self.sched.current(pcpu) is vcpu:
                self.sched.do_schedule(pcpu, self.now)
        self.sched.take_tickles()

    @rule()
    def account(self):
        self.now = max(self.now, self.sched.next_timer())
        self.sched.timer(self.now)

    @invariant()
    def each_vcpu_is_in_one_place(self):
        sched = self.sched
        for vcpu in self.vcpus:
            svc = sched.svc(vcpu)
            queued = [p for p, q in enumerate(sched.runq) if svc in q]
            running = [p for p, c in enumerate(sched.curr) if c is svc]
            assert len(queued) + len(running) <= 1
            assert queued == ([svc.processor] if svc.on_runq else [])
            if queued:
                assert vcpu.runnable and not svc.parked
            if vcpu.runnable and not svc.parked and not running:
                assert svc.on_runq, f"{vcpu} is runnable but nowhere"
            if queued or running:
                pcpu = (queued or running)[0]
                assert vcpu.cpu_hard_affinity is None or pcpu in vcpu.cpu_hard_affinity

    @invariant()
    def queues_are_in_priority_order(self):
        """Highest priority first, except that a yielder may sit one place too far
        back (behind one lower-priority vCPU, as Xen queues it)."""
        for queue in self.sched.runq:
            pris = [svc.pri for svc in queue]
            for i, pri in enumerate(pris):
                assert all(pri >= later for later in pris[i + 2:])


TestCreditModel = CreditModel.TestCase


def test_a_running_vcpu_whose_affinity_moves_away_goes_to_an_allowed_pcpu():
    vcpu = FakeVcpu(1)
    sched = credit(2, vcpu)
    sched.svc(vcpu).processor = 0
    sched.runq = [[sched.svc(vcpu)], []]
    assert sched.do_schedule(0, 0)[0] is vcpu
    vcpu.cpu_hard_affinity = frozenset({1})
    assert sched.affinity_changed(vcpu, MS) == (0,)         # its pCPU must let it go
    assert sched.do_schedule(0, 2 * MS) == (None, 0)        # rate limit does not hold it
    assert sched.take_tickles() == (1,) and sched.take_tickles() == ()
    assert sched.do_schedule(1, 2 * MS)[0] is vcpu
