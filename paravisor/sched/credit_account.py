"""Credit1's arithmetic, as pure functions: debiting run time and the periodic accounting.

Nothing here knows about runqueues, pCPUs or the hypervisor: the scheduler
(`credit.py`) hands in plain values and applies what comes back, so property tests can
drive the accounting directly.  Units and defaults are Xen's (xen/common/sched/credit.c):

- a vCPU burns CSCHED_CREDITS_PER_MSEC (10) credits per millisecond it runs;
- every time slice (30 ms) `csched_acct` hands out credits_per_tslice (10 x tslice_ms =
  300) per pCPU, shared among the *active* domains in proportion to weight (times their
  active vCPUs), then evenly among each domain's active vCPUs;
- credit < 0 means OVER, >= 0 UNDER; credit is clamped at -credits_per_tslice; a vCPU
  above +credits_per_tslice stops earning (leaves the active list) and its credit is
  halved;
- a cap (percent of one pCPU) limits what a domain earns per period to
  (cap x credits_per_tslice + 99) / 100, and a vCPU of a capped domain whose credit
  falls below minus its share of that is *parked* (not scheduled) until its credit is
  back to 0 or more.

Many periods at once (`csched_acct_periods`): when virtual time jumps (every pCPU idle
until a far timer) the accounting owes one period per time slice of the jump, which a
guest can make ~10^11.  Nothing runs meanwhile, so nothing is debited, and every active
vCPU gains at least one credit per period: within 2 x credits_per_tslice + 2 periods
each one passes +credits_per_tslice and stops earning, after which a period changes
nothing (the fixed point).  So the periods are replayed only until that point, and runs
of identical periods (same active set and order, no debt to recover) are added up in
one multiplication: the cost is a few periods per vCPU (never more than 2 x
credits_per_tslice + 2), not one per period of the jump.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

CSCHED_DEFAULT_WEIGHT = 256
CSCHED_MAX_WEIGHT = 65535
CSCHED_TICKS_PER_TSLICE = 3
CSCHED_DEFAULT_TSLICE_MS = 30
CSCHED_CREDITS_PER_MSEC = 10
SCHED_DEFAULT_RATELIMIT_US = 1000
CSCHED_MIN_TIMER_NS = 100_000      # XEN_SYSCTL_SCHED_RATELIMIT_MIN: never a shorter slice
NS_PER_MS = 1_000_000
NS_PER_US = 1_000


class Pri(IntEnum):
    """Credit1 priorities (higher runs first)."""
    BOOST = 0       # woke from blocking while UNDER
    UNDER = -1      # has credit left
    OVER = -2       # has used up its credit
    IDLE = -64      # the idle vCPU


@dataclass(frozen=True)
class CreditTiming:
    """The scheduler's clock settings, in Xen's units (sched_credit_tslice_ms,
    sched_ratelimit_us) and the values derived from them (__csched_set_tslice)."""

    tslice_ms: int = CSCHED_DEFAULT_TSLICE_MS
    ratelimit_us: int = SCHED_DEFAULT_RATELIMIT_US

    @property
    def ticks_per_tslice(self) -> int:
        return CSCHED_TICKS_PER_TSLICE if self.tslice_ms >= CSCHED_TICKS_PER_TSLICE else 1

    @property
    def tslice_ns(self) -> int:
        return self.tslice_ms * NS_PER_MS

    @property
    def tick_ns(self) -> int:
        return self.tslice_ns // self.ticks_per_tslice

    @property
    def credits_per_tslice(self) -> int:
        return CSCHED_CREDITS_PER_MSEC * self.tslice_ms

    @property
    def ratelimit_ns(self) -> int:
        # Xen: a rate limit longer than the slice is the slice.
        return min(self.ratelimit_us * NS_PER_US, self.tslice_ns)


def burn_credits(credit: int, residual: int, ran_ns: int) -> tuple[int, int]:
    """Debit `ran_ns` of run time: (new credit, new residual).

    `residual` carries the sub-credit remainder (in credit x ns units) to the next
    debit, so many short runs cost exactly what one long run of the same total costs.
    """
    if ran_ns <= 0:
        return credit, residual
    value = ran_ns * CSCHED_CREDITS_PER_MSEC + residual
    return credit - value // NS_PER_MS, value % NS_PER_MS


def credit_cap(cap: int, credits_per_tslice: int) -> int:
    """The most a domain with `cap` percent may earn per accounting period (0: no cap)."""
    return (cap * credits_per_tslice + 99) // 100 if cap else 0


@dataclass(frozen=True)
class AcctVcpu:
    """An active vCPU as the accounting sees it."""
    credit: int
    parked: bool = False


@dataclass(frozen=True)
class AcctDomain:
    """An active domain: its parameters and its active vCPUs (never empty)."""
    weight: int
    cap: int
    vcpus: tuple[AcctVcpu, ...]


@dataclass(frozen=True)
class VcpuOutcome:
    """What one accounting period decided for a vCPU."""
    credit: int
    pri: Pri            # UNDER or OVER
    parked: bool        # whether it is parked after this period
    active: bool        # False: it stopped earning (left the active list)


@dataclass(frozen=True)
class AcctResult:
    outcomes: tuple[tuple[VcpuOutcome, ...], ...]   # per input domain, per vCPU
    order: tuple[int, ...]     # the new order of the active domains (input indexes)
    credit_balance: int        # carried into the next period


def acct_periods_due(next_acct: int, now: int, tslice_ns: int) -> int:
    """How many accounting periods have ended by `now` when the next one ends at
    `next_acct` (0: none yet), computed rather than counted."""
    return 0 if now < next_acct else (now - next_acct) // tslice_ns + 1


def csched_acct(domains: Sequence[AcctDomain], *, nr_pcpus: int, credits_per_tslice: int,
                credit_balance: int = 0) -> AcctResult:
    """One accounting period (Xen's csched_acct) over the active domains, in list order.

    The order matters only for how credit a capped domain cannot use is handed on to
    the domains after it; domains that took such extra credit move to the front.
    """
    return _acct_period(domains, nr_pcpus, credits_per_tslice, credit_balance)[0]


def _acct_period(domains: Sequence[AcctDomain], nr_pcpus: int, credits_per_tslice: int,
                 credit_balance: int) -> tuple[AcctResult, tuple[int, ...]]:
    """csched_acct, and what each domain's vCPUs earned (per vCPU, per domain): that
    depends on the weights, caps, numbers of active vCPUs, order and (when negative)
    the balance, never on the credits themselves."""
    weight_total = sum(d.weight * len(d.vcpus) for d in domains)
    if weight_total == 0:
        return AcctResult((), tuple(range(len(domains))), 0), ()
    credit_total = credits_per_tslice * nr_pcpus
    if credit_balance < 0:        # converge the balance towards 0 when it drops negative
        credit_total -= credit_balance
    weight_left, credit_xtra, balance = weight_total, False, 0
    order = list(range(len(domains)))
    outcomes, earned = [], []
    for index, dom in enumerate(domains):
        active = len(dom.vcpus)
        weight_left -= dom.weight * active
        peak = active * credits_per_tslice
        if credit_balance < 0:
            peak += (-credit_balance * dom.weight * active + weight_total - 1) // weight_total
        cap_per_vcpu = 0
        if dom.cap:
            cap_total = credit_cap(dom.cap, credits_per_tslice)
            peak = min(peak, cap_total)
            cap_per_vcpu = (cap_total + active - 1) // active
        fair = (credit_total * dom.weight * active + weight_total - 1) // weight_total
        if fair < peak:
            credit_xtra = True
        else:
            if weight_left:       # give the other domains a chance at the unused credit
                credit_total += ((fair - peak) * weight_total + weight_left - 1) // weight_left
            if credit_xtra:
                order.remove(index)
                order.insert(0, index)
            fair = peak
        per_vcpu = (fair + active - 1) // active
        results = tuple(_account_vcpu(v, per_vcpu, dom.cap, cap_per_vcpu, credits_per_tslice)
                        for v in dom.vcpus)
        balance += sum(r.credit for r in results)
        outcomes.append(results)
        earned.append(per_vcpu)
    return AcctResult(tuple(outcomes), tuple(order), balance), tuple(earned)


@dataclass
class _Earning:
    """A domain still active during csched_acct_periods: its input index and the input
    indexes and current state of its vCPUs that still earn."""
    index: int
    weight: int
    cap: int
    vcpus: list[tuple[int, AcctVcpu]]

    def acct_domain(self) -> AcctDomain:
        return AcctDomain(self.weight, self.cap, tuple(v for _, v in self.vcpus))


def csched_acct_periods(domains: Sequence[AcctDomain], periods: int, *, nr_pcpus: int,
                        credits_per_tslice: int, credit_balance: int = 0) -> AcctResult:
    """`periods` (>= 1) accounting periods in a row, with no run time debited between
    them (every pCPU idle): what calling csched_acct that many times would leave, each
    period over the domains and vCPUs the previous one left active, in its new order.

    Returns, for every input vCPU, the outcome of the last period it took part in (a
    vCPU that stopped earning keeps the one that stopped it); `order` lists the input
    domains still active at the end in their final order, then the others; the balance
    is the last period's.  Costs a bounded number of csched_acct calls whatever
    `periods` is: at most 2 x credits_per_tslice + 2, and about two per vCPU when
    nothing is capped (module docstring).
    """
    if periods < 1:
        raise ValueError(f"{periods} accounting periods: at least one is needed")
    if any(d.weight < 1 or not d.vcpus for d in domains):
        raise ValueError("every active domain has a weight of at least 1 and a vCPU")
    last: list[list[VcpuOutcome | None]] = [[None] * len(d.vcpus) for d in domains]
    earning = [_Earning(i, d.weight, d.cap, list(enumerate(d.vcpus)))
               for i, d in enumerate(domains)]
    balance, left = credit_balance, periods
    while left and earning:
        result, earned = _acct_period([e.acct_domain() for e in earning], nr_pcpus,
                                      credits_per_tslice, balance)
        left -= 1
        steady = (balance >= 0 and result.credit_balance >= 0
                  and result.order == tuple(range(len(earning)))
                  and all(o.active for outs in result.outcomes for o in outs))
        balance = result.credit_balance
        earning = _carry_over(earning, result, last)
        if steady and left:
            skipped = _skip_steady_periods(earning, earned, left, credits_per_tslice, last)
            if skipped:
                left -= skipped
                balance = sum(v.credit for e in earning for _, v in e.vcpus)
    if left:                      # nobody earns any more: csched_acct([]) from here on
        balance = 0
    still = [e.index for e in earning]
    order = still + [i for i in range(len(domains)) if i not in still]
    outcomes = tuple(tuple(o for o in outs if o is not None) for outs in last)  # all set
    return AcctResult(outcomes, tuple(order), balance)


def _carry_over(earning: list[_Earning], result: AcctResult,
                last: list[list[VcpuOutcome | None]]) -> list[_Earning]:
    """Record one period's outcomes; the domains and vCPUs that still earn, in the
    period's new order (what the scheduler's active lists become)."""
    for dom, outs in zip(earning, result.outcomes, strict=True):
        for (j, _), outcome in zip(dom.vcpus, outs, strict=True):
            last[dom.index][j] = outcome
    carried = []
    for position in result.order:
        dom = earning[position]
        vcpus = [(j, AcctVcpu(o.credit, o.parked))
                 for (j, _), o in zip(dom.vcpus, result.outcomes[position], strict=True)
                 if o.active]
        if vcpus:
            carried.append(_Earning(dom.index, dom.weight, dom.cap, vcpus))
    return carried


def _skip_steady_periods(earning: list[_Earning], earned: tuple[int, ...], left: int,
                         credits_per_tslice: int,
                         last: list[list[VcpuOutcome | None]]) -> int:
    """The period just accounted changed neither the active set nor the order and left
    no debt (balance >= 0), so the next ones earn each vCPU the same `earned` as long
    as none passes +credits_per_tslice: add up as many of them as that allows (at most
    `left`) at once.  Credits only rise meanwhile (each earns >= 1), so none is clamped
    or newly parked, and a parked one is unparked once back at 0, as one period at a
    time would do.  Returns how many periods it added up."""
    skipped = min([left] + [(credits_per_tslice - v.credit) // gain
                            for e, gain in zip(earning, earned, strict=True)
                            for _, v in e.vcpus])
    if skipped <= 0:
        return 0
    for e, gain in zip(earning, earned, strict=True):
        for k, (j, v) in enumerate(e.vcpus):
            credit = v.credit + skipped * gain
            parked = v.parked and credit < 0
            e.vcpus[k] = (j, AcctVcpu(credit, parked))
            last[e.index][j] = VcpuOutcome(credit, Pri.OVER if credit < 0 else Pri.UNDER,
                                           parked, True)
    return skipped


def _account_vcpu(vcpu: AcctVcpu, earned: int, cap: int, cap_per_vcpu: int,
                  credits_per_tslice: int) -> VcpuOutcome:
    """Add one period's credit to a vCPU and recompute its priority and state."""
    credit = vcpu.credit + earned
    if credit < 0:
        parked = vcpu.parked or (cap != 0 and credit < -cap_per_vcpu)
        return VcpuOutcome(max(credit, -credits_per_tslice), Pri.OVER, parked, True)
    if credit > credits_per_tslice:
        # It stops earning; halved, so it starts "a little ahead" when it comes back.
        return VcpuOutcome(credit // 2, Pri.UNDER, False, False)
    return VcpuOutcome(credit, Pri.UNDER, False, True)
