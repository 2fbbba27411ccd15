"""The hypervisor: machine memory, domains, virtual time, and the loop that runs vCPUs.

One `Hypervisor` owns everything.  Its loop is deterministic: time is virtual (retired
instructions at abi.NOMINAL_CLOCK_HZ), each vCPU runs until its slice ends, a timer is
due, or it exits (hypercall, trap), and every decision depends only on that state.  So
the same configuration gives the same run, byte for byte, on every host and engine.

The loop itself (paravisor/hypervisor/loop.py) runs the scheduler's pCPUs interleaved in virtual
time.  Between quanta, at global time: fire due timers (the guests' and the
scheduler's); run deferred dom0 services.  Per quantum of the pCPU furthest behind: its
scheduler tick if due; a scheduling decision if its slice ended, it was tickled, or its
vCPU stopped being runnable or yielded; then `_enter` the guest (refresh the vCPU's
time info, make a pending event upcall, run the engine for at most the instructions
left before the quantum ends or the next timer is due, charge the retired instructions
to virtual time, handle the exit) until the quantum ends.  Hypercall work is charged
too (`charge`), and a long hypercall stops where the run would end and continues later
(`hypercall_preempt_check`; docs/abi.md, "What a hypercall costs").

Every path that makes a vCPU runnable goes through `_wake`, which tells the scheduler
and tickles the pCPUs it names; `set_vcpu_affinity` pins a vCPU.  Scheduling
parameters (weight, cap) are set through paravisor.sched.ctl.

Ownership: the loop.  Every hypercall handler, dom0 service and scheduler call runs
inside it: on one thread in the deterministic mode; under --realtime
(paravisor/hypervisor/realtime.py) on the pCPU threads, each with the one hypervisor lock held, and
only `engine.run` outside it.
"""
from __future__ import annotations

import heapq
import sys
from collections import deque
from collections.abc import Callable, Iterable
from typing import TextIO

from paravisor.abi import (
    SHARED_INFO,
    VCPU_INFO,
    Virq,
    instructions_to_ns,
    ns_to_instructions,
)
from paravisor.domain import Domain, ShutdownReason, Vcpu, VcpuState
from paravisor.domain.timers import next_periodic_tick
from paravisor.domain.traps import BounceError, bounce_event, bounce_trap, register_dump
from paravisor.evtchn import EventChannels, EventHub
from paravisor.grants.registry import GrantTables
from paravisor.hypercalls import dispatch
from paravisor.hypercalls.cost import PAGE_TABLE_NS
from paravisor.hypervisor.loop import Loop, Pcpu, RunEngine
from paravisor.isa.engine import Engine, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.mm import reservation
from paravisor.mm.frametable import MemoryDomain, MemoryManager, free_xen_page
from paravisor.sched.credit import CreditScheduler
from paravisor.sched.interface import Scheduler
from paravisor.trace import Tracer

DEFAULT_HOST_MIB = 256
_TIME_VERSION = VCPU_INFO.offset("time.version")
_VCPU_INFO = SHARED_INFO.offset("vcpu_info")
_VCPU_INFO_SIZE = SHARED_INFO.type_of("vcpu_info").elem.size
_TIME_SYSTEM_TIME = VCPU_INFO.offset("time.system_time")
FIRST_DOMU_ID = 1
DOMID_FIRST_RESERVED = 0x7FF0   # DOMID_SELF and up are not domains


class HypervisorBug(RuntimeError):
    """An internal error; in strict mode (tests) it propagates instead of crashing a domain."""


class Hypervisor:
    def __init__(self, host_mib: int = DEFAULT_HOST_MIB, *, scheduler: Scheduler | None = None,
                 engine_factory: Callable[[MachineMemory], Engine] = Interpreter,
                 console=None, log: TextIO | None = None, strict: bool = False,
                 tracer: Tracer | None = None) -> None:
        """A host with as many pCPUs as `scheduler` schedules (default: the credit
        scheduler on one pCPU).  `tracer` records a timeline (paravisor.trace)."""
        self.memory = MachineMemory(host_mib * 256)
        self.mm = MemoryManager(self.memory)
        self.domains: dict[int, Domain] = {}
        self.now = 0                                   # virtual ns since boot
        self.sched = scheduler or CreditScheduler()
        self.loop = Loop(self, self.sched.nr_pcpus)
        self.engine_factory = engine_factory
        self.events = EventHub(self.memory, self.lookup, self.kick, self.defer)
        self.grants = GrantTables(self)                # every domain's grant table
        self.console = console                         # paravisor.console.ConsoleHub
        self.log_stream = log if log is not None else sys.stderr
        self.strict = strict
        # dom0 service work run between quanta: (fn, arg, the domid it is done for).
        self.deferred: deque[tuple[Callable[[int], None], int, int | None]] = deque()
        self.listeners: list[Callable[[Domain], None]] = []   # domain state changes
        # Host-side input sources (UDP uplinks), polled at every housekeeping step.  What
        # they bring in depends on the host's timing: a run that uses them is not
        # deterministic.
        self.pollers: list[Callable[[], object]] = []
        # dom0 services' timers in virtual time (call_at): a heap of (ns, seq, fn, domid).
        self.service_timers: list[tuple[int, int, Callable[[], None], int | None]] = []
        self._timer_seq = 0
        self.current: Vcpu | None = None
        # Where the current vCPU's run must end (slice, quantum, tick, timer, tickle): set
        # by the loop for each guest entry, None outside one.  A long hypercall that has
        # been charged past it stops and continues later (hypercall_preempt_check).
        self.preempt_at: int | None = None
        self.preempt_hypercalls = True    # False: never preempt (benchmarks/hcost.py only)
        self.stopped = False
        self._domid_rover = FIRST_DOMU_ID
        self.tracer = tracer                           # a timeline recorder, if any
        if tracer is not None:
            tracer.attach(self)
            self.sched.listener = tracer.sched_event
        # A freed frame may be handed to another domain: drop every translation of it.
        self.mm.free_listeners.append(self._frame_freed)
        # Validating or tearing down a page table is work for the caller's hypercall.
        self.mm.table_walk_listeners.append(self._table_walked)

    # --- domains ----------------------------------------------------------------------------

    def lookup(self, domid: int) -> Domain | None:
        dom = self.domains.get(domid)
        return dom if dom is not None and not dom.dying else None

    def next_domid(self) -> int:
        """The next free domid after the last one handed out, as Xen's rover does, so a
        restarted guest gets a new id and stale references to the old one find nothing."""
        for _ in range(DOMID_FIRST_RESERVED):
            domid = self._domid_rover
            self._domid_rover = domid + 1 if domid + 1 < DOMID_FIRST_RESERVED else FIRST_DOMU_ID
            if domid not in self.domains:
                return domid
        raise HypervisorBug("no free domain id")

    def create_domain(self, name: str, *, domid: int | None = None, privileged: bool = False,
                      max_vcpus: int = 1, max_pages: int = 0,
                      max_event_channels: int = 1023) -> Domain:
        """A new, paused domain with no memory yet (the builder fills it in)."""
        domid = self.next_domid() if domid is None else domid
        if domid in self.domains:
            raise ValueError(f"domain {domid} exists")
        dom = Domain(domid, name, privileged=privileged, max_vcpus=0)
        dom.mem = MemoryDomain(domid, max_pages, privileged)
        self.mm.add_domain(dom.mem)
        dom.evtchn = EventChannels(dom, max_event_channels)
        dom.engine = self.engine_factory(self.memory)
        dom.pause_count = 1
        self.domains[domid] = dom
        for _ in range(max_vcpus):
            self.add_vcpu(dom)
        return dom

    def add_vcpu(self, dom: Domain) -> Vcpu:
        """One more vCPU for `dom`, down (VCPUOP_up or the builder brings it up)."""
        vcpu = Vcpu(dom, len(dom.vcpus))
        dom.vcpus.append(vcpu)
        dom.mem.add_vcpu(vcpu.cpu)
        self.sched.insert_vcpu(vcpu)
        if dom.shared_info_mfn:
            self.events.set_upcall_mask(vcpu, True)
        return vcpu

    def pause(self, dom: Domain) -> None:
        dom.pause_count += 1
        for vcpu in dom.vcpus:
            self.sched.sleep(vcpu, self.now)

    def unpause(self, dom: Domain) -> None:
        if dom.pause_count > 0:
            dom.pause_count -= 1
        self._rewake(dom)

    def _rewake(self, dom: Domain) -> None:
        for vcpu in dom.vcpus:
            if vcpu.runnable:
                self._wake(vcpu)

    def shutdown(self, dom: Domain, reason: ShutdownReason, code: int = 0,
                 message: str = "") -> None:
        """The domain stops running for good (it stays until destroyed, like Xen's
        shut-down domains, so the toolstack can read how it ended)."""
        if dom.is_shutdown or dom.dying:
            return
        dom.shutdown_reason, dom.shutdown_code = reason, code
        dom.crash_message = message
        for vcpu in dom.vcpus:
            self.sched.sleep(vcpu, self.now)
        note = dom.console_io_budget.suppressed_note()   # console_io output it lost
        if note is not None:
            self.console_note(dom, note)
        if reason != ShutdownReason.CRASH:
            self.log(f"domain {dom.domid} ({dom.name}) {dom.describe_end()}")
        dom0 = self.lookup(0)
        if dom0 is not None and dom is not dom0:
            self.events.send_virq(dom0, Virq.VIRQ_DOM_EXC)
        for listener in list(self.listeners):
            listener(dom)

    def crash(self, dom: Domain, message: str, vcpu: Vcpu | None = None) -> None:
        """Crash one domain, with a clear message and a register dump on its console."""
        if vcpu is not None:
            self.log(f"domain {dom.domid} ({dom.name}) {vcpu.name} crashed: {message}\n"
                     f"{register_dump(vcpu)}", important=True)
        self.shutdown(dom, ShutdownReason.CRASH, message=message)

    def destroy(self, dom: Domain) -> None:
        """Tear a domain down: ports closed, memory relinquished, gone from the table.
        Its vCPUs are stopped for the whole teardown (a vCPU still finishing its run on
        another pCPU under --realtime must not write to the frames being freed), and
        none runs again: a domain that is dying cannot run.  An internal error on the way
        (a frame-table bug) is reported and leaves the domain's remaining frames
        quarantined: it never takes the host down."""
        if dom.dying:
            return
        with self.mm.shootdown.stop(dom.domid):
            self._teardown(dom)
        for listener in list(self.listeners):
            self.contain(dom.domid, "a domain listener", listener, dom)

    def _teardown(self, dom: Domain) -> None:
        if not dom.is_shutdown:
            self.shutdown(dom, ShutdownReason.POWEROFF)
        dom.dying = True
        try:
            self._relinquish(dom)
        except Exception as err:
            if self.strict:
                raise
            self.log(f"domain {dom.domid} ({dom.name}): internal error while destroying it: "
                     f"{err!r}; its remaining memory is quarantined", important=True)
        del self.domains[dom.domid]

    def _relinquish(self, dom: Domain) -> None:
        if self.console is not None:
            self.console.end(dom)
        self.events.close_all(dom)
        for vcpu in dom.vcpus:
            self.sched.remove_vcpu(vcpu)
            dom.engine.forget(vcpu.cpu)
        # Once each, in this order (paravisor/grants/registry.py): its grant mappings of
        # other domains' frames go before its page tables do, its table after its memory.
        self.grants.release_mappings_of(dom.domid)
        reservation.relinquish(self.mm, dom.mem)
        self.grants.retire_table(dom.domid)
        if dom.shared_info_mfn and free_xen_page(self.mm, dom.shared_info_mfn):
            dom.shared_info_mfn = 0       # the builder's; nothing maps it any more

    def contain(self, domid: int | None, what: str, fn: Callable[..., object],
                *args: object) -> None:
        """Run host-side work done for domain `domid` (a dom0 service callback, a timer,
        toolstack work): an internal error in it crashes that domain with a "(XEN)"
        message, never the host.  Strict mode (tests) re-raises."""
        try:
            fn(*args)
        except Exception as err:
            if self.strict:
                raise
            dom = self.domains.get(domid) if domid is not None else None
            who = ("the host" if domid is None else f"domain {domid}"
                   + (f" ({dom.name})" if dom is not None else ""))
            self.log(f"internal error in {what} for {who}: {err!r}", important=True)
            if dom is not None and not dom.is_shutdown:
                self.crash(dom, f"internal hypervisor error in {what}: {err!r}")

    def _frame_freed(self, mfn: int) -> None:
        for dom in self.domains.values():
            dom.engine.invalidate_frame(mfn)

    def _table_walked(self, mfn: int) -> None:
        if self.current is not None:      # not the builder's or a dom0 service's work
            self.charge(self.current, PAGE_TABLE_NS)

    # --- hypercall work ---------------------------------------------------------------------

    def charge(self, vcpu: Vcpu, ns: int) -> None:
        """Charge `ns` of hypercall work to `vcpu`, the caller (the costs are
        paravisor.hypercalls.cost's): virtual time passes exactly as if it had retired
        instructions for that long -- `now`, its pCPU's clock, so the scheduler debits it
        and timers see it, and its cpu_time_ns."""
        self.now += ns
        vcpu.cpu_time_ns += ns

    def hypercall_preempt_check(self, vcpu: Vcpu) -> bool:
        """Whether `vcpu`'s long hypercall must stop at this point and continue later
        (Xen's hypercall_preempt_check): the time charged to it reached `preempt_at`,
        where the loop would have ended its run.  Never outside a guest entry."""
        return (self.preempt_at is not None and self.now >= self.preempt_at
                and self.preempt_hypercalls)

    # --- vCPUs --------------------------------------------------------------------------------

    def vcpu_up(self, vcpu: Vcpu) -> None:
        if vcpu.state == VcpuState.DOWN:
            vcpu.state = VcpuState.RUNNABLE
            if vcpu.runnable:
                self._wake(vcpu)

    def vcpu_down(self, vcpu: Vcpu) -> None:
        vcpu.state = VcpuState.DOWN
        self.sched.sleep(vcpu, self.now)

    def block(self, vcpu: Vcpu) -> None:
        """SCHEDOP_block: unmask events, then sleep unless one is already pending."""
        self.events.set_upcall_mask(vcpu, False)
        if self.events.upcall_pending(vcpu):
            return
        vcpu.state = VcpuState.BLOCKED
        self.sched.sleep(vcpu, self.now)

    def yield_vcpu(self, vcpu: Vcpu) -> None:
        """SCHEDOP_yield: end this slice (the pCPU running `vcpu` reschedules when the
        hypercall returns); the vCPU stays runnable."""
        self.sched.yield_vcpu(vcpu, self.now)
        self.loop.pcpus[vcpu.processor].yielded = True

    @property
    def yielded(self) -> bool:
        """Whether the running vCPU gave up its slice (a multicall stops its batch)."""
        vcpu = self.current
        return vcpu is not None and self.loop.pcpus[vcpu.processor].yielded

    def _wake(self, vcpu: Vcpu) -> None:
        """Tell the scheduler `vcpu` is runnable; tickle the pCPUs it names."""
        vcpu.ready_at = max(vcpu.ready_at, self.now)
        if self.tracer is not None:
            self.tracer.wake(vcpu, self.now)
        self.loop.tickle(self.sched.wake(vcpu, self.now), self.now)

    def set_vcpu_affinity(self, vcpu: Vcpu, cpus: Iterable[int] | None) -> None:
        """Pin `vcpu` to `cpus` (hard affinity; None: any pCPU).  ValueError if the set
        is empty or names a pCPU the host lacks."""
        nr_pcpus = len(self.loop.pcpus)
        if cpus is None:
            affinity = None
        else:
            affinity = frozenset(cpus)
            if not affinity or not affinity <= frozenset(range(nr_pcpus)):
                raise ValueError(f"{vcpu.name}: affinity {sorted(affinity)} is not a non-empty "
                                 f"set of pCPUs 0..{nr_pcpus - 1}")
        vcpu.cpu_hard_affinity = affinity
        self.loop.tickle(self.sched.affinity_changed(vcpu, self.now), self.now)

    def kick(self, vcpu: Vcpu) -> None:
        """An event arrived for `vcpu`: wake it if it waits."""
        if vcpu.state == VcpuState.BLOCKED:
            vcpu.state = VcpuState.RUNNABLE
            vcpu.poll_ports, vcpu.poll_deadline = (), 0
            if vcpu.runnable:
                self._wake(vcpu)

    def defer(self, fn: Callable[[int], None], arg: int, domid: int | None = None) -> None:
        """Run `fn(arg)` between quanta, on behalf of domain `domid` (see `contain`)."""
        self.deferred.append((fn, arg, domid))

    # --- shared_info ------------------------------------------------------------------------

    def vcpu_info_addr(self, vcpu: Vcpu) -> int:
        return (vcpu.domain.shared_info_mfn << 12) + _VCPU_INFO + _VCPU_INFO_SIZE * vcpu.vcpu_id

    def write_vcpu_info(self, vcpu: Vcpu, path: str, value: int) -> None:
        if vcpu.domain.shared_info_mfn:
            VCPU_INFO.write(self.memory.write, self.vcpu_info_addr(vcpu), path, value)

    def _refresh_time(self, vcpu: Vcpu) -> None:
        """Publish system time to the guest, bumping `version` around it as Xen does."""
        if not vcpu.domain.shared_info_mfn:
            return
        # Offsets resolved once (module level): this runs on every guest entry.
        base = self.vcpu_info_addr(vcpu)
        version = self.memory.read32(base + _TIME_VERSION)
        self.memory.write32(base + _TIME_VERSION, (version + 1) & 0xFFFFFFFF)
        self.memory.write(base + _TIME_SYSTEM_TIME, self.now.to_bytes(8, "little"))
        self.memory.write32(base + _TIME_VERSION, (version + 2) & 0xFFFFFFFF)

    # --- output -----------------------------------------------------------------------------

    def log(self, message: str, *, important: bool = False) -> None:
        """A hypervisor message (Xen prints these as "(XEN) ...").  `important` ones
        (crashes) are shown even where routine ones are not (`paravisor run`)."""
        for line in message.splitlines():
            if self.console is not None:
                self.console.hypervisor_line(line, important=important)
            else:
                print(f"(XEN) {line}", file=self.log_stream)

    def console_write(self, dom: Domain, text: str | bytes) -> None:
        """Bytes for `dom`'s console (rate limits are the callers': console_io, the
        console daemon)."""
        data = text.encode() if isinstance(text, str) else text
        if self.console is not None:
            self.console.write(dom, data)
        else:
            for line in data.decode(errors="replace").splitlines():
                print(f"[{dom.name}] {line}", file=self.log_stream)

    def console_note(self, dom: Domain, text: str) -> None:
        """A line of the console's own in `dom`'s output ("(N bytes suppressed)")."""
        if self.console is not None:
            self.console.note(dom, text)
        else:
            print(f"[{dom.name}] {text}", file=self.log_stream)

    # --- timers ----------------------------------------------------------------------------

    def _vcpus(self):
        for dom in list(self.domains.values()):
            yield from dom.vcpus

    def call_at(self, ns: int, fn: Callable[[], None], domid: int | None = None) -> None:
        """Run the dom0 service callback `fn` once virtual time reaches `ns` (a backend's
        rate limit, say), on behalf of domain `domid` (see `contain`).  Timers due at the
        same time run in the order they were set."""
        self._timer_seq += 1
        heapq.heappush(self.service_timers, (ns, self._timer_seq, fn, domid))

    def next_deadline(self) -> int | None:
        """The earliest armed guest timer of a domain that can run, or service timer
        (None: none).  Runs at every guest entry, so it looks at the timer fields before
        anything else."""
        best = self.service_timers[0][0] if self.service_timers else None
        for dom in self.domains.values():
            for vcpu in dom.vcpus:
                for t in (vcpu.singleshot_deadline, vcpu.periodic_next, vcpu.poll_deadline):
                    if t and (best is None or t < best) and dom.can_run:
                        best = t
        return best

    def _fire_timers(self) -> None:
        """Fire every guest and service timer due at `self.now` (global time, between
        quanta).  A periodic timer fires once however many ticks it is behind (its
        domain was paused), and its next tick is computed, not counted up to."""
        now = self.now
        while self.service_timers and self.service_timers[0][0] <= now:
            _, _, fn, domid = heapq.heappop(self.service_timers)
            self.contain(domid, "a service timer", fn)
        for dom in list(self.domains.values()):
            for vcpu in dom.vcpus:
                single, periodic, poll = (vcpu.singleshot_deadline, vcpu.periodic_next,
                                          vcpu.poll_deadline)
                if not ((single and single <= now) or (periodic and periodic <= now)
                        or (poll and poll <= now)) or not dom.can_run:
                    continue
                fired = False
                if single and single <= now:
                    vcpu.singleshot_deadline = 0
                    fired = True
                if periodic and periodic <= now:
                    vcpu.periodic_next = next_periodic_tick(now, periodic,
                                                            vcpu.periodic_period)
                    fired = True
                if fired:
                    self.events.send_virq(dom, Virq.VIRQ_TIMER, vcpu.vcpu_id)
                if vcpu.poll_deadline and vcpu.poll_deadline <= now:
                    vcpu.poll_deadline = 0
                    self.kick(vcpu)

    # --- the loop ---------------------------------------------------------------------------

    @property
    def pcpus(self) -> list[Pcpu]:
        return self.loop.pcpus

    def alive(self) -> bool:
        return any(d.can_run or d.pause_count for d in self.domains.values()
                   if not d.is_shutdown and not d.dying)

    def run(self, *, until: Callable[[], bool] | None = None,
            max_ns: int | None = None) -> str:
        """Run until `until()` holds, no domain can run any more, or `max_ns` of virtual
        time passed.  Returns why it stopped: "until", "idle", "deadlock", "time".
        May be called again to continue."""
        try:
            return self.loop.run(until, max_ns)
        finally:
            self.loop.finish()

    def _anyone_blocked(self) -> bool:
        return any(v.state == VcpuState.BLOCKED and v.domain.can_run for v in self._vcpus())

    def _enter(self, vcpu: Vcpu, ns: int, run_engine: RunEngine) -> None:
        """Enter `vcpu` once, for at most `ns` of virtual time from `now`: publish its
        time, make a pending event upcall, run its engine (through `run_engine`: the
        deterministic loop calls engine.run directly, --realtime with the hypervisor lock
        dropped), charge the retired instructions to virtual time, and handle the exit: a
        hypercall (charged too; a long one stops where the run would have ended and
        continues later, hypercall_preempt_check), a trap bounced to the guest, a halt.
        A fault while bouncing to the guest crashes its domain, and so does an internal
        error (strict mode re-raises it): never the host.  Both loops enter guests
        here, and only here."""
        self.current, self.preempt_at = vcpu, self.now + ns
        try:
            self._refresh_time(vcpu)
            if self.events.upcall_pending(vcpu) and not self.events.upcall_masked(vcpu):
                if self.tracer is not None:
                    self.tracer.upcall(vcpu, self.now)
                bounce_event(self, vcpu)
            exit = run_engine(vcpu, max(ns_to_instructions(ns), 1))
            elapsed = instructions_to_ns(exit.retired)
            self.now += elapsed
            vcpu.cpu_time_ns += elapsed
            vcpu.instructions += exit.retired
            if exit.reason == ExitReason.HYPERCALL:
                dispatch.hypercall(self, vcpu)
            elif exit.reason == ExitReason.TRAP:
                bounce_trap(self, vcpu, exit.trap)
            elif exit.reason == ExitReason.HALT:
                raise BounceError("halt executed outside ring 0")
        except BounceError as err:
            self.crash(vcpu.domain, str(err), vcpu)
        except Exception as err:   # a hypervisor bug must not take the host down
            if self.strict:
                raise
            self.crash(vcpu.domain, f"internal hypervisor error: {err!r}", vcpu)
        finally:
            self.current, self.preempt_at = None, None

    def run_deferred(self) -> None:
        """Run the dom0 service work deferred so far (the loop does, between quanta)."""
        while self.deferred:
            fn, arg, domid = self.deferred.popleft()
            self.contain(domid, _describe(fn), fn, arg)

    def _poll_inputs(self) -> None:
        """Host-side input sources (uplinks); a failing one is reported, not fatal."""
        for poll in self.pollers:
            self.contain(None, _describe(poll), poll)


def _describe(fn: Callable[..., object]) -> str:
    """A callback's name for messages: "XenStoreDaemon.on_event" and the like."""
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    return name.replace(".<locals>", "")
