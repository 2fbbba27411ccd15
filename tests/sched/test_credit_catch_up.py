"""Catching the credit accounting up after a jump of virtual time (issue 11, F2): many
periods at once must give what one period at a time gives, at a cost bounded by the
number of vCPUs, not by the length of the jump.

The reference below replays csched_acct period by period with the feedback the credit
scheduler applies (credit.py `_account`): vCPUs that stop earning leave their domain's
active list, a domain with none left leaves the active domains, the rest take the
period's new order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paravisor.sched import credit_account
from paravisor.sched.credit import CreditScheduler
from paravisor.sched.credit_account import (
    AcctDomain,
    AcctResult,
    AcctVcpu,
    VcpuOutcome,
    acct_periods_due,
    csched_acct,
    csched_acct_periods,
)

MS = 1_000_000
HUGE_JUMPS = (10**6, 3 * 10**11, 10**18)       # periods: a 2^64 ns jump is ~6 x 10^11


@dataclass(frozen=True)
class Replayed:
    last: dict[tuple[int, int], VcpuOutcome]      # (domain, vCPU) -> its last outcome
    active: tuple[int, ...]                       # domains still earning, in order
    balance: int


def replay(domains: list[AcctDomain], periods: int, nr_pcpus: int, cpt: int,
           balance: int) -> Replayed:
    """csched_acct `periods` times, one period at a time."""
    live = [(i, list(enumerate(d.vcpus))) for i, d in enumerate(domains)]
    last: dict[tuple[int, int], VcpuOutcome] = {}
    for _ in range(periods):
        result = csched_acct([AcctDomain(domains[i].weight, domains[i].cap,
                                         tuple(v for _, v in vcpus)) for i, vcpus in live],
                             nr_pcpus=nr_pcpus, credits_per_tslice=cpt,
                             credit_balance=balance)
        balance = result.credit_balance
        for (i, vcpus), outcomes in zip(live, result.outcomes, strict=True):
            for (j, _), outcome in zip(vcpus, outcomes, strict=True):
                last[i, j] = outcome
        live = [(live[p][0], [(j, AcctVcpu(o.credit, o.parked))
                              for (j, _), o in zip(live[p][1], result.outcomes[p], strict=True)
                              if o.active])
                for p in result.order]
        live = [(i, vcpus) for i, vcpus in live if vcpus]
    return Replayed(last, tuple(i for i, _ in live), balance)


def at_once(domains: list[AcctDomain], periods: int, nr_pcpus: int, cpt: int,
            balance: int) -> Replayed:
    result = csched_acct_periods(domains, periods, nr_pcpus=nr_pcpus, credits_per_tslice=cpt,
                                 credit_balance=balance)
    last = {(i, j): o for i, outs in enumerate(result.outcomes) for j, o in enumerate(outs)}
    still = sum(any(o.active for o in result.outcomes[i]) for i in range(len(domains)))
    return Replayed(last, result.order[:still], result.credit_balance)


vcpu_strategy = st.builds(AcctVcpu, st.integers(-900, 300), st.booleans())
domain_strategy = st.builds(
    AcctDomain, st.sampled_from([1, 2, 128, 256, 512, 65535]),
    st.sampled_from([0, 0, 1, 10, 25, 50, 100, 150]),
    st.lists(vcpu_strategy, min_size=1, max_size=3).map(tuple))
host_strategy = st.fixed_dictionaries({
    "domains": st.lists(domain_strategy, min_size=0, max_size=5),
    "nr_pcpus": st.integers(1, 4),
    "cpt": st.sampled_from([10, 30, 300]),      # tslice 1, 3 and 30 ms
    "balance": st.integers(-3000, 3000),
})


def converged(cpt: int) -> int:
    """Periods after which every vCPU has stopped earning, and one more: from the
    second period on credit is at least -cpt and grows by at least 1."""
    return 2 * cpt + 3


def test_periods_due_are_computed():
    assert acct_periods_due(30 * MS, 29 * MS, 30 * MS) == 0
    assert acct_periods_due(30 * MS, 30 * MS, 30 * MS) == 1
    assert acct_periods_due(30 * MS, 89 * MS, 30 * MS) == 2
    assert acct_periods_due(30 * MS, 2**64, 30 * MS) == (2**64 - 30 * MS) // (30 * MS) + 1


def test_one_period_is_csched_acct():
    domains = [AcctDomain(256, 0, (AcctVcpu(-50), AcctVcpu(290))),
               AcctDomain(512, 25, (AcctVcpu(-250, True),))]
    one = csched_acct(domains, nr_pcpus=2, credits_per_tslice=300)
    many = csched_acct_periods(domains, 1, nr_pcpus=2, credits_per_tslice=300)
    assert many.outcomes == one.outcomes and many.credit_balance == one.credit_balance
    assert csched_acct_periods([], 5, nr_pcpus=1, credits_per_tslice=300) == AcctResult((), (), 0)
    with pytest.raises(ValueError):
        csched_acct_periods(domains, 0, nr_pcpus=1, credits_per_tslice=300)


@settings(max_examples=150, deadline=None)
@given(host_strategy, st.integers(1, 80))
def test_n_periods_at_once_are_n_periods_one_at_a_time(host, periods):
    assert at_once(periods=periods, **host) == replay(periods=periods, **host)


@settings(max_examples=60, deadline=None)
@given(host_strategy, st.sampled_from(HUGE_JUMPS))
def test_a_huge_jump_ends_where_the_accounting_converges(host, periods):
    """Past the fixed point a period changes nothing, so a jump of 10^18 periods is the
    replay of the few periods it takes to get there."""
    assert at_once(periods=periods, **host) == replay(periods=converged(host["cpt"]), **host)


def count_periods(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = credit_account._acct_period

    def counting(*args):
        calls.append(1)
        return real(*args)
    monkeypatch.setattr(credit_account, "_acct_period", counting)
    return calls


def test_a_huge_jump_costs_a_few_periods_per_vcpu(monkeypatch):
    """Uncapped domains of Xen's default and extreme weights: a 2^64 ns jump (6 x 10^11
    periods) replays a handful of periods, not 600 (the bound) nor 10^11."""
    calls = count_periods(monkeypatch)
    domains = [AcctDomain(w, 0, (AcctVcpu(-300), AcctVcpu(0)))
               for w in (1, 256, 256, 65535)]
    started = time.monotonic()
    result = csched_acct_periods(domains, 2**64 // (30 * MS), nr_pcpus=2,
                                 credits_per_tslice=300, credit_balance=-1000)
    assert time.monotonic() - started < 1.0
    assert len(calls) <= 3 * 8 + 2
    assert result.credit_balance == 0
    # Every vCPU passed +300 and was halved: none earns any more.
    assert all(not o.active and o.credit > 150 for outs in result.outcomes for o in outs)


def test_the_worst_case_is_bounded_by_the_credit_range(monkeypatch):
    """Capped domains may keep the order changing or a debt open; even then the replay
    stops at the fixed point, within 2 x credits_per_tslice + 2 periods."""
    calls = count_periods(monkeypatch)
    domains = [AcctDomain(1, 1, (AcctVcpu(-300, True),)), AcctDomain(65535, 1, (AcctVcpu(-300),)),
               AcctDomain(7, 0, (AcctVcpu(-300),))]
    csched_acct_periods(domains, 10**18, nr_pcpus=4, credits_per_tslice=300,
                        credit_balance=-5000)
    assert len(calls) <= 2 * 300 + 2


@dataclass(eq=False)
class SleepingVcpu:
    """A vCPU the scheduler has seen run (it earns) and that now waits: not runnable."""
    domid: int
    vcpu_id: int = 0
    runnable: bool = False
    cpu_hard_affinity: frozenset[int] | None = None


def _scheduler_state(sched: CreditScheduler):
    return (sched.next_acct, sched.credit_balance,
            [d.domid for d in sched.active_doms],
            {(svc.sdom.domid, svc.vcpu.vcpu_id): (svc.credit, svc.pri, svc.parked,
                                                  svc in svc.sdom.active)
             for svc in sched.svcs.values()})


def _idle_host() -> CreditScheduler:
    """Four earning domains (one capped, one parked) on an idle 2-pCPU host."""
    sched = CreditScheduler(2)
    for domid, weight, cap, credit, parked in ((1, 256, 0, -300, False), (2, 512, 0, 120, False),
                                              (3, 128, 20, -250, True), (4, 65535, 0, 0, False)):
        vcpu = SleepingVcpu(domid)
        sched.insert_vcpu(vcpu)
        sched.set_domain_params(domid, weight=weight, cap=cap)
        svc = sched.svc(vcpu)
        svc.credit, svc.parked = credit, parked
        sched._acct_start(svc)
    return sched


def test_the_scheduler_catches_up_in_one_call_as_boundary_by_boundary():
    """CreditScheduler.timer after a jump of 700 periods leaves the state 700 calls at
    each boundary leave (what the loop did before: one call per period)."""
    jumped, stepped = _idle_host(), _idle_host()
    tslice = jumped.timing.tslice_ns
    now = 700 * tslice + 12345
    jumped.timer(now)
    while stepped.next_acct <= now:
        stepped.timer(stepped.next_acct)
    assert _scheduler_state(jumped) == _scheduler_state(stepped)


def test_the_scheduler_catches_up_on_a_2_to_the_64_ns_jump_promptly():
    sched = _idle_host()
    started = time.monotonic()
    sched.timer(2**64)
    assert time.monotonic() - started < 1.0
    assert sched.next_acct > 2**64 and not sched.active_doms and sched.credit_balance == 0
