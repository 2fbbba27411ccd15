"""Credit1's pure accounting (credit_account.py), checked directly: debits, the
per-period share-out, clamps, caps and parking."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from paravisor.sched.credit_account import (
    CSCHED_CREDITS_PER_MSEC,
    NS_PER_MS,
    AcctDomain,
    AcctVcpu,
    CreditTiming,
    Pri,
    burn_credits,
    credit_cap,
    csched_acct,
)

CREDITS = CreditTiming().credits_per_tslice            # 300


def test_xen_defaults():
    timing = CreditTiming()
    assert timing.tslice_ms == 30 and timing.tick_ns == 10 * NS_PER_MS
    assert timing.credits_per_tslice == 300
    assert timing.ratelimit_ns == 1_000_000
    assert CreditTiming(tslice_ms=2).ticks_per_tslice == 1     # below 3 ms: one tick
    assert CreditTiming(tslice_ms=5, ratelimit_us=9000).ratelimit_ns == 5 * NS_PER_MS


def test_a_millisecond_costs_ten_credits():
    assert burn_credits(0, 0, NS_PER_MS) == (-CSCHED_CREDITS_PER_MSEC, 0)
    assert burn_credits(100, 0, 30 * NS_PER_MS) == (-200, 0)
    assert burn_credits(5, 7, 0) == (5, 7)


@given(st.lists(st.integers(0, 50 * NS_PER_MS), max_size=30))
def test_many_short_runs_cost_what_one_long_run_costs(runs):
    credit, residual = 0, 0
    for ran in runs:
        credit, residual = burn_credits(credit, residual, ran)
    assert credit == burn_credits(0, 0, sum(runs))[0]
    assert 0 <= residual < NS_PER_MS


domains_strategy = st.lists(
    st.builds(lambda w, n, credits: AcctDomain(w, 0, tuple(AcctVcpu(c) for c in credits[:n])),
              st.integers(1, 65535), st.integers(1, 4),
              st.lists(st.integers(-300, 300), min_size=4, max_size=4)),
    min_size=1, max_size=6)


@given(domains_strategy, st.integers(1, 8))
def test_uncapped_domains_earn_in_proportion_to_weight(domains, nr_pcpus):
    """While no domain could use more than its vCPUs can run (its peak), each earns
    credits_per_tslice x pCPUs x its weight share, rounded up, split over its vCPUs."""
    total = CREDITS * nr_pcpus
    weight_total = sum(d.weight * len(d.vcpus) for d in domains)
    fair = [-(-total * d.weight * len(d.vcpus) // weight_total) for d in domains]   # ceil
    assume(all(f < len(d.vcpus) * CREDITS for f, d in zip(fair, domains, strict=True)))
    result = csched_acct(domains, nr_pcpus=nr_pcpus, credits_per_tslice=CREDITS)
    for dom, share, outcomes in zip(domains, fair, result.outcomes, strict=True):
        for vcpu, out in zip(dom.vcpus, outcomes, strict=True):
            earned = -(-share // len(dom.vcpus))
            expected = vcpu.credit + earned
            if expected < 0:
                assert (out.credit, out.pri, out.parked, out.active) == (
                    max(expected, -CREDITS), Pri.OVER, False, True)
            elif expected > CREDITS:
                assert (out.credit, out.active) == (expected // 2, False)
            else:
                assert (out.credit, out.pri, out.active) == (expected, Pri.UNDER, True)


@given(domains_strategy, st.integers(1, 4))
def test_credit_stays_within_the_clamps(domains, nr_pcpus):
    result = csched_acct(domains, nr_pcpus=nr_pcpus, credits_per_tslice=CREDITS)
    for outcomes in result.outcomes:
        for out in outcomes:
            assert -CREDITS <= out.credit <= CREDITS
            assert (out.pri == Pri.OVER) == (out.credit < 0)
    assert result.credit_balance == sum(o.credit for outs in result.outcomes for o in outs)
    assert sorted(result.order) == list(range(len(domains)))


@given(st.integers(1, 100), st.integers(1, 4), st.integers(-300, 300), st.booleans())
def test_a_capped_vcpu_earns_at_most_the_cap_and_parks_when_deep_in_debt(cap, vcpus, credit,
                                                                        parked):
    dom = AcctDomain(256, cap, tuple(AcctVcpu(credit, parked) for _ in range(vcpus)))
    alone = csched_acct([dom], nr_pcpus=8, credits_per_tslice=CREDITS)
    limit = credit_cap(cap, CREDITS)
    per_vcpu = -(-limit // vcpus)
    for out in alone.outcomes[0]:
        earned = out.credit - credit if out.active else None
        if earned is not None and out.credit > -CREDITS:
            assert earned <= per_vcpu
        if out.credit < 0:
            assert out.parked == (parked or credit + per_vcpu < -per_vcpu)
        else:
            assert not out.parked             # back to 0 or more: unparked


def test_unused_capped_credit_goes_to_the_domains_after_it():
    capped = AcctDomain(256, 10, (AcctVcpu(0),))
    free = AcctDomain(256, 0, (AcctVcpu(0),))
    result = csched_acct([capped, free], nr_pcpus=1, credits_per_tslice=CREDITS)
    assert result.outcomes[0][0].credit == credit_cap(10, CREDITS) == 30
    assert result.outcomes[1][0].credit == 270      # 150 of its own + 120 the cap left


def test_no_active_domain_is_a_no_op():
    result = csched_acct([], nr_pcpus=2, credits_per_tslice=CREDITS)
    assert result.outcomes == () and result.credit_balance == 0
