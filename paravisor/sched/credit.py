"""The credit scheduler (Xen's credit1): weights, caps, boost, per-pCPU runqueues and
work stealing.  The arithmetic lives in `credit_account.py`; this module keeps the
queues and applies the accounting's decisions.

Model (xen/common/sched/credit.c):
- one runqueue per pCPU, sorted by priority (BOOST > UNDER > OVER); a yielding vCPU
  goes one place further back;
- within one priority Xen queues FIFO; we order by credit, most first (FIFO among
  equals) unless `order_by_credit=False`.  This is our one deliberate departure: with
  FIFO, light CPU-bound domains run their slices back to back while a heavy one waits
  until its credit passes +300 and is halved, so shares drift far from
  weight-proportional (1024:128:128:128 on one pCPU: 33 points); ordered by credit,
  they stay within 2 for weights within 8:1 (docs/scheduler.md);
- `do_schedule` charges the previous vCPU, keeps it if it ran less than the rate limit
  (1 ms), else requeues it and takes the head of the local runqueue; if that is OVER
  (or there is none), it first tries to steal a better vCPU from a busy peer's runqueue
  (load balancing), honouring hard affinity;
- a waking vCPU that is UNDER (and not parked) is boosted; it is queued on its pCPU and
  a pCPU is tickled: an idle one that may run it, else its own pCPU if it outranks what
  runs there;
- each busy pCPU ticks every tslice/3 (10 ms): the current vCPU is charged, loses its
  boost, and joins the active (earning) list; a pCPU with queued work and an idle peer
  tickles the peer so it steals the work (Xen migrates the running vCPU instead);
- the global accounting runs every tslice (30 ms) from boot; after a jump of virtual
  time, the periods it missed are accounted in one go (credit_account's
  csched_acct_periods), in a bounded number of steps.

Ownership: the hypervisor loop (see interface.py); `CschedVcpu.processor` is the pCPU
whose runqueue holds (or runs) the vCPU, like Xen's v->processor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paravisor.abi import XEN_SCHEDULER_CREDIT
from paravisor.sched import credit_account as acct
from paravisor.sched.credit_account import (
    CSCHED_DEFAULT_WEIGHT,
    CSCHED_MAX_WEIGHT,
    CSCHED_MIN_TIMER_NS,
    CreditTiming,
    Pri,
)
from paravisor.sched.interface import (
    NO_TICKLE,
    SchedParamError,
    SchedParams,
    Scheduler,
    SchedVcpu,
    Tickles,
    allowed,
)


@dataclass(eq=False)
class CschedDom:
    domid: int
    weight: int = CSCHED_DEFAULT_WEIGHT
    cap: int = 0
    vcpus: list[CschedVcpu] = field(default_factory=list)
    active: list[CschedVcpu] = field(default_factory=list)   # earning, in join order


@dataclass(eq=False)
class CschedVcpu:
    vcpu: SchedVcpu
    sdom: CschedDom
    processor: int = 0
    pri: Pri = Pri.UNDER
    credit: int = 0
    residual: int = 0
    start_time: int = 0          # charged up to here
    sched_in: int = 0            # when it last started running
    on_runq: bool = False
    yielding: bool = False
    parked: bool = False

    @property
    def schedulable(self) -> bool:
        return self.vcpu.runnable and not self.parked


class CreditScheduler(Scheduler):
    name = "credit"
    sched_id = XEN_SCHEDULER_CREDIT

    def __init__(self, nr_pcpus: int = 1, timing: CreditTiming | None = None, *,
                 order_by_credit: bool = True) -> None:
        super().__init__(nr_pcpus)
        self.timing = timing or CreditTiming()
        self.order_by_credit = order_by_credit
        self.svcs: dict[int, CschedVcpu] = {}          # id(vcpu) -> its scheduler data
        self.doms: dict[int, CschedDom] = {}
        self.active_doms: list[CschedDom] = []         # domains with earning vCPUs
        self.runq: list[list[CschedVcpu]] = [[] for _ in range(nr_pcpus)]
        self.curr: list[CschedVcpu | None] = [None] * nr_pcpus
        self.ticks: list[int | None] = [None] * nr_pcpus
        self.next_acct = self.timing.tslice_ns
        self.credit_balance = 0
        self.last_tickle = nr_pcpus - 1                 # idlers are tickled in turn
        self.tickled: set[int] = set()                  # idle pCPUs told to schedule
        self.pending_tickles: Tickles = NO_TICKLE       # for take_tickles
        self.balance_bias = 0                           # where stealing starts looking

    # --- bookkeeping -------------------------------------------------------------------

    def svc(self, vcpu: SchedVcpu) -> CschedVcpu:
        return self.svcs[id(vcpu)]

    def _dom(self, domid: int) -> CschedDom:
        if domid not in self.doms:
            self.doms[domid] = CschedDom(domid)
        return self.doms[domid]

    def insert_vcpu(self, vcpu: SchedVcpu) -> None:
        sdom = self._dom(vcpu.domid)
        svc = CschedVcpu(vcpu, sdom, processor=self._least_loaded(vcpu))
        self.svcs[id(vcpu)] = svc
        sdom.vcpus.append(svc)
        if svc.schedulable:
            self._runq_insert(svc)

    def remove_vcpu(self, vcpu: SchedVcpu) -> None:
        svc = self.svcs.pop(id(vcpu), None)
        if svc is None:
            return
        self._runq_remove(svc)
        self.curr = [None if c is svc else c for c in self.curr]
        self._acct_stop(svc)
        svc.sdom.vcpus.remove(svc)
        if not svc.sdom.vcpus:
            del self.doms[svc.sdom.domid]

    def _least_loaded(self, vcpu: SchedVcpu) -> int:
        def load(pcpu: int) -> tuple[int, int]:
            return (len(self.runq[pcpu]) + (self.curr[pcpu] is not None), pcpu)
        choices = [p for p in range(self.nr_pcpus) if allowed(vcpu, p)]
        return min(choices, key=load) if choices else 0

    def take_tickles(self) -> Tickles:
        tickles, self.pending_tickles = self.pending_tickles, NO_TICKLE
        return tickles

    def current(self, pcpu: int) -> SchedVcpu | None:
        svc = self.curr[pcpu]
        return svc.vcpu if svc is not None else None

    def holds_work(self) -> bool:
        return any(svc.parked and svc.vcpu.runnable for svc in self.svcs.values())

    # --- runqueues ---------------------------------------------------------------------

    def _queue_key(self, svc: CschedVcpu) -> tuple[int, int]:
        """Runqueue order, highest first: priority, then (unless Xen's plain FIFO was
        asked for) credit."""
        return (svc.pri, svc.credit if self.order_by_credit else 0)

    def _runq_insert(self, svc: CschedVcpu) -> None:
        """Queue behind every vCPU that ranks equal or higher (a yielder: behind one
        more), like __runq_insert."""
        if svc.on_runq:
            return
        queue = self.runq[svc.processor]
        key = self._queue_key(svc)
        at = next((i for i, other in enumerate(queue) if key > self._queue_key(other)),
                  len(queue))
        if svc.yielding and at < len(queue):
            at += 1
        queue.insert(at, svc)
        svc.on_runq = True

    def _runq_remove(self, svc: CschedVcpu) -> None:
        if svc.on_runq:
            self.runq[svc.processor].remove(svc)
            svc.on_runq = False

    def _runq_sort(self, pcpu: int) -> None:
        """After the accounting changed priorities: stable re-sort by priority."""
        self.runq[pcpu].sort(key=self._queue_key, reverse=True)

    # --- wake / sleep / yield ------------------------------------------------------------

    def wake(self, vcpu: SchedVcpu, now: int) -> Tickles:
        svc = self.svc(vcpu)
        if self.curr[svc.processor] is svc or svc.on_runq or not svc.schedulable:
            return NO_TICKLE
        if not allowed(vcpu, svc.processor):
            svc.processor = self._least_loaded(vcpu)
        if svc.pri == Pri.UNDER:
            # Boost: an I/O-bound vCPU preempts CPU hogs; a CPU hog loses the boost at
            # its next tick, so fairness holds.
            svc.pri = Pri.BOOST
            self._note("boost", vcpu, now)
        self._runq_insert(svc)
        return self._tickle(svc)

    def sleep(self, vcpu: SchedVcpu, now: int) -> None:
        svc = self.svcs.get(id(vcpu))
        if svc is not None:
            self._runq_remove(svc)

    def yield_vcpu(self, vcpu: SchedVcpu, now: int) -> None:
        self.svc(vcpu).yielding = True

    def affinity_changed(self, vcpu: SchedVcpu, now: int) -> Tickles:
        svc = self.svc(vcpu)
        if self.curr[svc.processor] is svc:
            return NO_TICKLE if allowed(vcpu, svc.processor) else (svc.processor,)
        was_queued = svc.on_runq
        self._runq_remove(svc)
        if not allowed(vcpu, svc.processor):
            svc.processor = self._least_loaded(vcpu)
        if was_queued:
            self._runq_insert(svc)
            return self._tickle(svc)
        return NO_TICKLE

    def _idlers(self) -> list[int]:
        """Idle pCPUs not yet tickled (Xen clears a pCPU from `idlers` as it tickles
        it, so the next wake goes to another one)."""
        return [p for p in range(self.nr_pcpus)
                if self.curr[p] is None and p not in self.tickled]

    def _tickle(self, new: CschedVcpu) -> Tickles:
        """Which pCPU should look at `new` (__runq_tickle): its own if idle; else an
        idle pCPU it may run on (in turn); else its own if it outranks the current."""
        cpu = new.processor
        cur = self.curr[cpu]
        suitable = [p for p in self._idlers() if allowed(new.vcpu, p)]
        if cur is None and cpu in suitable:
            chosen = cpu
        elif suitable:
            later = [p for p in suitable if p > self.last_tickle]
            chosen = self.last_tickle = (later or suitable)[0]
        elif cur is not None and new.pri > cur.pri:
            chosen = cpu
        else:
            return NO_TICKLE
        if self.curr[chosen] is None:
            self.tickled.add(chosen)
        return (chosen,)

    # --- scheduling ----------------------------------------------------------------------

    def _burn(self, svc: CschedVcpu, now: int) -> None:
        svc.credit, svc.residual = acct.burn_credits(svc.credit, svc.residual,
                                                      now - svc.start_time)
        svc.start_time = max(svc.start_time, now)

    def do_schedule(self, pcpu: int, now: int) -> tuple[SchedVcpu | None, int]:
        self.tickled.discard(pcpu)
        cur = self.curr[pcpu]
        if cur is not None:
            self._burn(cur, now)
            runtime = now - cur.sched_in
            ratelimit = self.timing.ratelimit_ns
            if (not cur.yielding and ratelimit and runtime < ratelimit
                    and cur.schedulable and allowed(cur.vcpu, pcpu)):
                return cur.vcpu, max(ratelimit - runtime, CSCHED_MIN_TIMER_NS)
            self.curr[pcpu] = None
            if cur.schedulable and allowed(cur.vcpu, pcpu):
                self._runq_insert(cur)
            elif cur.schedulable:     # its affinity moved away while it ran
                cur.processor = self._least_loaded(cur.vcpu)
                self._runq_insert(cur)
                self.pending_tickles += self._tickle(cur)
            cur.yielding = False
        snext = self._choose(pcpu, now)
        if snext is None:
            self.ticks[pcpu] = None           # Xen stops the tick on an idle pCPU
            return None, 0
        self.curr[pcpu] = snext
        snext.processor = pcpu
        snext.sched_in = snext.start_time = now
        if self.ticks[pcpu] is None:
            tick = self.timing.tick_ns
            self.ticks[pcpu] = now + tick - now % tick
        return snext.vcpu, self.timing.tslice_ns

    def _choose(self, pcpu: int, now: int) -> CschedVcpu | None:
        queue = self.runq[pcpu]
        snext = queue[0] if queue else None
        if snext is None or snext.pri <= Pri.OVER:
            stolen = self._load_balance(pcpu, snext.pri if snext else Pri.IDLE, now)
            if stolen is not None:
                return stolen
        if snext is not None:
            self._runq_remove(snext)
        return snext

    def _load_balance(self, pcpu: int, pri: Pri, now: int) -> CschedVcpu | None:
        """Steal the first queued vCPU of strictly higher priority than `pri` that may
        run here, from busy peers in turn (csched_load_balance / csched_runq_steal)."""
        peers = [(self.balance_bias + i) % self.nr_pcpus for i in range(1, self.nr_pcpus + 1)]
        for peer in peers:
            if peer == pcpu or self.curr[peer] is None:
                continue           # an idle peer is about to take its own work
            for svc in self.runq[peer]:
                if svc.pri <= pri:
                    break
                if allowed(svc.vcpu, pcpu):
                    self._runq_remove(svc)
                    svc.processor = pcpu
                    self.balance_bias = peer
                    self._note("steal", svc.vcpu, now)
                    return svc
        return None

    # --- ticks and accounting ----------------------------------------------------------

    def next_tick(self, pcpu: int) -> int | None:
        return self.ticks[pcpu]

    def tick(self, pcpu: int, now: int) -> Tickles:
        """csched_tick: charge the current vCPU, end its boost, make it earn again."""
        cur = self.curr[pcpu]
        tick = self.timing.tick_ns
        if cur is None:
            self.ticks[pcpu] = None
            return NO_TICKLE
        self.ticks[pcpu] = now + tick - now % tick
        if cur.pri == Pri.BOOST:
            cur.pri = Pri.UNDER
        self._burn(cur, now)
        self._acct_start(cur)
        return self._offload(pcpu)

    def _offload(self, pcpu: int) -> Tickles:
        """Work waits here while a peer idles: tickle the peer (it will steal it)."""
        for svc in self.runq[pcpu]:
            for idle in self._idlers():
                if allowed(svc.vcpu, idle):
                    self.tickled.add(idle)
                    return (idle,)
        return NO_TICKLE

    def _acct_start(self, svc: CschedVcpu) -> None:
        sdom = svc.sdom
        if svc not in sdom.active:
            sdom.active.append(svc)
            if sdom not in self.active_doms:
                self.active_doms.append(sdom)

    def _acct_stop(self, svc: CschedVcpu) -> None:
        sdom = svc.sdom
        if svc in sdom.active:
            sdom.active.remove(svc)
            if not sdom.active and sdom in self.active_doms:
                self.active_doms.remove(sdom)

    def next_timer(self) -> int | None:
        return self.next_acct

    def timer(self, now: int) -> Tickles:
        """csched_acct for every period boundary up to `now`: the first on its own (it
        charges the running vCPUs up to its end), all the others in one go
        (acct.csched_acct_periods), so catching up after a jump of virtual time costs
        the same however long the jump.  Only an idle host jumps past more than one
        boundary (every pCPU idle until a far timer: nothing runs meanwhile)."""
        tslice = self.timing.tslice_ns
        periods = acct.acct_periods_due(self.next_acct, now, tslice)
        if not periods:
            return NO_TICKLE
        first = self.next_acct
        self.next_acct += periods * tslice
        tickles = self._account(first)
        if periods > 1:
            tickles += self._account(first + (periods - 1) * tslice, periods - 1)
        return tuple(dict.fromkeys(tickles))

    def _account(self, now: int, periods: int = 1) -> list[int]:
        """Account `periods` periods, the last ending at `now`, and apply the outcome.
        The running vCPUs are charged up to `now` first (a vCPU still running across
        several boundaries would be charged once for all of them; the loop never lets
        that happen: a running pCPU stops at every tick)."""
        for svc in self.curr:
            if svc is not None:
                self._burn(svc, now)    # charge the running vCPUs up to the period's end
        doms = list(self.active_doms)
        result = acct.csched_acct_periods(
            [acct.AcctDomain(d.weight, d.cap, tuple(acct.AcctVcpu(s.credit, s.parked)
                                                  for s in d.active)) for d in doms],
            periods, nr_pcpus=self.nr_pcpus,
            credits_per_tslice=self.timing.credits_per_tslice,
            credit_balance=self.credit_balance)
        self.credit_balance = result.credit_balance
        tickles: list[int] = []
        for sdom, outcomes in zip(doms, result.outcomes, strict=True):
            for svc, outcome in zip(list(sdom.active), outcomes, strict=True):
                tickles += self._apply(svc, outcome, now)
        if result.order:
            self.active_doms = [d for d in (doms[i] for i in result.order)
                                if d in self.active_doms]
        for pcpu in range(self.nr_pcpus):
            self._runq_sort(pcpu)
        return tickles

    def _apply(self, svc: CschedVcpu, outcome: acct.VcpuOutcome, now: int) -> list[int]:
        svc.credit, svc.pri = outcome.credit, outcome.pri
        if not outcome.active:
            self._acct_stop(svc)
        if outcome.parked and not svc.parked:
            svc.parked = True
            self._note("park", svc.vcpu, now)
            self._runq_remove(svc)
            running = [p for p, c in enumerate(self.curr) if c is svc]
            return running            # its pCPU must deschedule it
        if svc.parked and not outcome.parked:
            svc.parked = False        # unparked: queued again, without a boost
            self._note("unpark", svc.vcpu, now)
            if svc.schedulable and self.curr[svc.processor] is not svc:
                self._runq_insert(svc)
                return list(self._tickle(svc))
        return []

    # --- parameters ----------------------------------------------------------------------

    def domain_params(self, domid: int) -> SchedParams | None:
        sdom = self.doms.get(domid)
        return SchedParams(sdom.weight, sdom.cap) if sdom is not None else None

    def set_domain_params(self, domid: int, *, weight: int | None = None,
                          cap: int | None = None) -> SchedParams:
        sdom = self.doms.get(domid)
        if sdom is None:
            raise SchedParamError(f"domain {domid} has no vCPUs")
        if weight is not None and not 1 <= weight <= CSCHED_MAX_WEIGHT:
            raise SchedParamError(f"weight {weight} is not in 1..{CSCHED_MAX_WEIGHT}")
        if cap is not None and not 0 <= cap <= 100 * len(sdom.vcpus):
            raise SchedParamError(f"cap {cap}% is not in 0..{100 * len(sdom.vcpus)} "
                                  f"(100 per vCPU)")
        if weight is not None:
            sdom.weight = weight
        if cap is not None:
            sdom.cap = cap
        return SchedParams(sdom.weight, sdom.cap)
