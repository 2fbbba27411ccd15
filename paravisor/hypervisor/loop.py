"""The hypervisor loop: physical CPUs interleaved deterministically in virtual time.

Each simulated pCPU keeps its own clock (virtual ns).  The loop always advances the
busy pCPU that is furthest behind (lowest clock, then lowest number) by at most one
quantum (QUANTUM_NS, when there are several pCPUs), so a cross-pCPU effect (an event
sent from a vCPU on pCPU 0 that wakes one for pCPU 1) lands at most a quantum late,
always in the same order: the same configuration gives the same run, byte for byte.

Global time (`Loop.global_now`) is the lowest clock of the busy pCPUs; it only grows.
Timers (guest timers, the scheduler's global timer) fire, and deferred dom0 services
run, at global time, between quanta.  While a pCPU runs a vCPU, `hv.now` is that
pCPU's clock, so a hypercall sees the time of the vCPU that made it.

A pCPU is *busy* while it has a current vCPU or has been tickled (it must call the
scheduler); an idle pCPU waits, its clock catching up with global time when tickled.
A vCPU never starts before `vcpu.ready_at` (when it was woken, or last stopped running
elsewhere), so no vCPU runs on two pCPUs at once in virtual time.  Each step of one
pCPU is one `Loop._advance`; `--realtime` (paravisor/hypervisor/realtime.py) calls those steps from
one host thread per pCPU, without changing the scheduler or the hypervisor: it passes
its own `Quanta` (longer quanta, engine.run with the hypervisor lock dropped, a stop
flag), and both enter guests through the one `Hypervisor._enter`.

Ownership: everything here belongs to the loop: one thread in the deterministic mode;
under --realtime, whichever pCPU thread holds the hypervisor lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paravisor.domain import Vcpu, VcpuState
from paravisor.isa.engine import Exit

if TYPE_CHECKING:
    from paravisor.hypervisor import Hypervisor

QUANTUM_NS = 100_000        # 100 us: the most a pCPU runs ahead of the others
PACED_STEP_NS = 1_000_000   # 1 ms: idle virtual time per wall-clock step when uplinks listen
NS_PER_S = 1_000_000_000

RunEngine = Callable[[Vcpu, int], Exit]
"""How a loop calls `engine.run(vcpu.cpu, budget)` for a vCPU (--realtime: with the
hypervisor lock dropped).  When it returns, the hypervisor's state is as the caller left
it (`hv.now`, `hv.current`, `hv.preempt_at`), whatever ran meanwhile."""


def run_engine_directly(vcpu: Vcpu, budget: int) -> Exit:
    """The deterministic loop's RunEngine: engine.run, called directly."""
    return vcpu.domain.engine.run(vcpu.cpu, budget)


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Quanta:
    """How `Loop._run_quantum` runs a pCPU's vCPU: the deterministic loop's way, or
    --realtime's (paravisor/hypervisor/realtime.py)."""
    length_ns: int | None                    # the most a quantum lasts (None: no limit of
                                             # its own; the slice, a tick or a timer ends it)
    run_engine: RunEngine = run_engine_directly
    ending: Callable[[], bool] = _never      # the run is over: enter the guest no more


@dataclass(eq=False)
class Pcpu:
    """One simulated physical CPU."""
    index: int
    clock: int = 0                       # virtual ns this pCPU has reached
    current: Vcpu | None = None
    slice_end: int = 0                   # when the current vCPU's slice ends
    resched_at: int | None = None        # tickled: reschedule no later than this
    yielded: bool = False                # its vCPU yielded: reschedule
    run_start: int = 0                   # when `current` started its present run
    busy_ns: int = 0                     # time spent running vCPUs

    @property
    def busy(self) -> bool:
        return self.current is not None or self.resched_at is not None

    @property
    def effective_clock(self) -> int:
        if self.current is None and self.resched_at is not None:
            return max(self.clock, self.resched_at)
        return self.clock


class Loop:
    """Runs the hypervisor's vCPUs on `nr_pcpus` simulated pCPUs."""

    def __init__(self, hv: Hypervisor, nr_pcpus: int) -> None:
        self.hv = hv
        self.pcpus = [Pcpu(i) for i in range(nr_pcpus)]
        self.quanta = Quanta(QUANTUM_NS if nr_pcpus > 1 else None)
        self.global_now = 0

    # --- tickles ------------------------------------------------------------------------

    def tickle(self, pcpus: tuple[int, ...], at: int) -> None:
        """Make each of `pcpus` reschedule no later than `at`."""
        for index in pcpus:
            pcpu = self.pcpus[index]
            pcpu.resched_at = at if pcpu.resched_at is None else min(pcpu.resched_at, at)

    # --- the loop -----------------------------------------------------------------------

    def run(self, until: Callable[[], bool] | None, max_ns: int | None) -> str:
        """See Hypervisor.run."""
        while True:
            why = self._housekeeping(until, max_ns)
            if why is not None:
                return why
            busy = [p for p in self.pcpus if p.busy]
            if not busy:
                why = self._idle(max_ns)
                if why is not None:
                    return why
                continue
            self._advance(min(busy, key=lambda p: (p.effective_clock, p.index)), max_ns)

    def _housekeeping(self, until: Callable[[], bool] | None, max_ns: int | None) -> str | None:
        """At global time: fire timers, run dom0 services, and check whether to stop."""
        hv = self.hv
        busy = [p.effective_clock for p in self.pcpus if p.busy]
        if busy:
            self.global_now = max(self.global_now, min(busy))
        hv.now = self.global_now
        due = hv.sched.next_timer()
        if due is not None and due <= hv.now:
            self.tickle(hv.sched.timer(hv.now), hv.now)
        hv._fire_timers()
        hv._poll_inputs()
        hv.run_deferred()
        if (until is not None and until()) or hv.stopped:
            return "until"
        if max_ns is not None and hv.now >= max_ns:
            return "time"
        return None

    def _idle(self, max_ns: int | None) -> str | None:
        """Every pCPU idles: jump to the next timer, or stop.  A host with input from
        outside (hv.pollers: UDP uplinks) instead lets idle time pass at the wall
        clock's pace, in steps of PACED_STEP_NS, so a peer host has time to answer."""
        hv = self.hv
        deadline = hv.next_deadline()
        if hv.sched.holds_work():
            due = hv.sched.next_timer()
            if due is not None:
                deadline = due if deadline is None else min(deadline, due)
        if hv.pollers and (deadline is not None or hv._anyone_blocked()):
            step = self.global_now + PACED_STEP_NS
            deadline = step if deadline is None else min(deadline, step)
            time.sleep((deadline - self.global_now) / NS_PER_S)
        if deadline is None:
            return "deadlock" if hv._anyone_blocked() else "idle"
        if max_ns is not None:
            deadline = min(deadline, max(max_ns, self.global_now))
        self.global_now = max(self.global_now, deadline)
        return None

    def _advance(self, pcpu: Pcpu, max_ns: int | None, quanta: Quanta | None = None) -> None:
        """One step of one pCPU: its tick, a scheduling decision if due, one quantum, run
        the `quanta` way (by default the loop's own; --realtime passes its own)."""
        hv = self.hv
        pcpu.clock = pcpu.effective_clock
        tick = hv.sched.next_tick(pcpu.index)
        if tick is not None and tick <= pcpu.clock:
            hv.now = pcpu.clock
            self.tickle(hv.sched.tick(pcpu.index, pcpu.clock), pcpu.clock)
        if self._must_schedule(pcpu):
            self._schedule(pcpu)
        if pcpu.current is not None:
            self._run_quantum(pcpu, max_ns, quanta or self.quanta)

    def _must_schedule(self, pcpu: Pcpu) -> bool:
        vcpu = pcpu.current
        return (vcpu is None or not vcpu.runnable or pcpu.yielded
                or pcpu.clock >= pcpu.slice_end
                or (pcpu.resched_at is not None and pcpu.resched_at <= pcpu.clock))

    def _schedule(self, pcpu: Pcpu) -> None:
        """Ask the scheduler what `pcpu` runs now (it may keep the current vCPU)."""
        hv = self.hv
        prev = pcpu.current
        hv.now = pcpu.clock
        vcpu, slice_ns = hv.sched.do_schedule(pcpu.index, pcpu.clock)
        pcpu.resched_at, pcpu.yielded = None, False
        self.tickle(hv.sched.take_tickles(), pcpu.clock)
        if vcpu is not prev and prev is not None:
            self._stop_running(pcpu)
        if vcpu is None:
            return
        if vcpu is not prev:
            pcpu.clock = max(pcpu.clock, vcpu.ready_at)
            pcpu.current, pcpu.run_start = vcpu, pcpu.clock
            vcpu.processor = pcpu.index
        pcpu.slice_end = pcpu.clock + slice_ns

    def _stop_running(self, pcpu: Pcpu) -> None:
        vcpu = pcpu.current
        assert vcpu is not None
        vcpu.ready_at = max(vcpu.ready_at, pcpu.clock)
        if self.hv.tracer is not None:
            self.hv.tracer.run(pcpu.index, vcpu, pcpu.run_start, pcpu.clock, _state(vcpu))
        pcpu.current = None

    def _stop(self, pcpu: Pcpu, max_ns: int | None, quantum_ns: int | None) -> int:
        """Where this quantum of `pcpu`, at most `quantum_ns` long, must end at the latest."""
        candidates = [pcpu.slice_end]
        if quantum_ns is not None:
            candidates.append(pcpu.clock + quantum_ns)
        for when in (self.hv.sched.next_tick(pcpu.index), pcpu.resched_at, max_ns):
            if when is not None:
                candidates.append(when)
        return min(candidates)

    def _run_quantum(self, pcpu: Pcpu, max_ns: int | None, quanta: Quanta) -> None:
        """Run `pcpu`'s vCPU until the quantum ends or it stops being runnable."""
        hv = self.hv
        vcpu = pcpu.current
        assert vcpu is not None
        hv.now = start = pcpu.clock
        limit = self._stop(pcpu, max_ns, quanta.length_ns)
        while (vcpu.runnable and not hv.deferred and not pcpu.yielded
               and not quanta.ending()):
            deadline = hv.next_deadline()
            stop = min(limit, deadline) if deadline is not None else limit
            if pcpu.resched_at is not None:
                stop = min(stop, max(pcpu.resched_at, hv.now))
            if stop <= hv.now:
                break
            hv._enter(vcpu, stop - hv.now, quanta.run_engine)
            if deadline is not None and deadline <= hv.now:
                break
        pcpu.clock = hv.now
        pcpu.busy_ns += hv.now - start
        if vcpu.state == VcpuState.BLOCKED and hv.tracer is not None:
            hv.tracer.block(vcpu, hv.now)

    def finish(self) -> None:
        """Close the trace spans of vCPUs still running (the run is over)."""
        for pcpu in self.pcpus:
            if pcpu.current is not None and self.hv.tracer is not None:
                self.hv.tracer.run(pcpu.index, pcpu.current, pcpu.run_start, pcpu.clock,
                                   _state(pcpu.current))
                pcpu.run_start = pcpu.clock


def _state(vcpu: Vcpu) -> str:
    """How a vCPU stands when it stops running, for the trace."""
    if vcpu.runnable:
        return "runnable"
    if not vcpu.domain.can_run:
        return "paused" if not vcpu.domain.is_shutdown else "shutdown"
    return vcpu.state.value
