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


def csched_acct(domains: Sequence[AcctDomain], *, nr_pcpus: int, credits_per_tslice: int,
                credit_balance: int = 0) -> AcctResult:
    """One accounting period (Xen's csched_acct) over the active domains, in list order.

    The order matters only for how credit a capped domain cannot use is handed on to
    the domains after it; domains that took such extra credit move to the front.
    """
    weight_total = sum(d.weight * len(d.vcpus) for d in domains)
    if weight_total == 0:
        return AcctResult((), tuple(range(len(domains))), 0)
    credit_total = credits_per_tslice * nr_pcpus
    if credit_balance < 0:        # converge the balance towards 0 when it drops negative
        credit_total -= credit_balance
    weight_left, credit_xtra, balance = weight_total, False, 0
    order = list(range(len(domains)))
    outcomes = []
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
    return AcctResult(tuple(outcomes), tuple(order), balance)


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
