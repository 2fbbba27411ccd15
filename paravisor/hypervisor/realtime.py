"""`--realtime`: every simulated pCPU is a host thread, running guest code in parallel.

The deterministic `Loop` stays the default.  `run_realtime` reuses its pCPUs, tickles,
housekeeping and scheduling steps, but drives each pCPU from its own host thread:

    take the hypervisor lock -> housekeeping (timers, deferred services, stop check),
    tick, schedule, work out a budget (at most REALTIME_QUANTUM_NS = 10 ms of virtual
    time, and never past a timer, tick or slice end) -> refresh vcpu_info time, deliver
    an upcall -> RELEASE the lock -> engine.run (JIT: native code, the GIL released)
    -> re-take the lock -> account and handle the exit (hypercall, trap; hypercall work
    is charged and a long hypercall continues later once it reaches the budget's end,
    as in the deterministic loop) -> repeat.

These are the deterministic loop's own steps (`Loop._advance`, `Loop._run_quantum`,
`Hypervisor._enter`), given our `Quanta`: REALTIME_QUANTUM_NS, `_run_unlocked` as the
call of engine.run, and the stop flag.

Every piece of hypervisor, scheduler, event-channel and mm state is guarded by ONE lock
(`RealtimeRunner.lock`); only `engine.run` runs outside it.  Idle pCPUs wait on a
condition variable of that lock, notified after every locked step (a kick, tickle or
timer may have made them busy), with a short timeout as a safety net.

Time: each pCPU keeps its instruction-based clock, so a guest sees a consistent
system_time.  `Loop.global_now` stays "the lowest clock of the busy pCPUs" (what
`Loop._housekeeping` computes), so timers fire when the earliest pCPU passes them,
exactly the deterministic rule; but a pCPU may run ahead of the others by however far
the host lets it, so runs are NOT deterministic.  Whenever a thread holds the lock,
`hv.now` is its own pCPU's clock: it sets it before touching state, and `_run_unlocked`
puts it back (with hv.current and hv.preempt_at) when it re-takes the lock.

Engines: the scheduler never hands a running vCPU to a second pCPU, so no vCPU is
entered by two threads.  A JitEngine is per domain and its code cache, watches and
per-vCPU list are shared by that domain's vCPUs; translation calls into llvmlite (which
is not thread-safe and releases the GIL) and invalidation mutates the shared dicts.  So:
(1) a per-engine lock serialises `engine.run` for vCPUs of the same domain (different
domains run in parallel), and (2) translation across engines is serialised by the JIT's
own process-wide paravisor.jit.engine.TRANSLATE_LOCK (LLVM's global state).

Shootdown: a vCPU running unlocked may hold translations that a hypervisor thread is
about to make stale (it unmaps a page, then frees or re-types the frame).  The engine
lock doubles as the proof that none of a domain's vCPUs is running, so `EngineLocks`
implements the memory manager's shootdown (paravisor.mm.shootdown): before such a change
the hypervisor-lock holder takes the engine locks concerned, asking a run in progress to
end early (JitEngine.request_exit), and keeps them until the change is done.  A run
that was about to start re-checks, once it has its engine lock, that its vCPU may still
run (a destroyed domain's may not).  Lock order: hypervisor lock, then engine locks,
then TRANSLATE_LOCK; `_run_unlocked` drops the hypervisor lock before it takes an engine
lock and drops the engine lock before it takes the hypervisor lock back, so the wait in
`stop` always ends.

Ownership: a RealtimeRunner owns its threads; the Hypervisor and Loop are borrowed and
only touched with `lock` held.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from paravisor.domain import Vcpu
from paravisor.hypervisor.loop import Pcpu, Quanta
from paravisor.isa.engine import Exit, ExitReason
from paravisor.mm.shootdown import NO_SHOOTDOWN

if TYPE_CHECKING:
    from paravisor.hypervisor import Hypervisor

# The most one unlocked run lasts: 10 ms of virtual time, credit's tick period (runs end
# at ticks anyway).  At 1 ms the Python around each run (under the lock and the GIL)
# costs as much as the native run and two threads are slower than one (benchmarks/
# realtime.py); the price is a guest clock that advances in steps of up to 10 ms.
REALTIME_QUANTUM_NS = 10_000_000
MAX_LEAD_NS = 2 * REALTIME_QUANTUM_NS   # the furthest a pCPU runs ahead of global time
IDLE_WAIT_S = 0.005          # an idle pCPU re-checks at least this often
JOIN_POLL_S = 0.05           # the waiting main thread looks for a Ctrl-C this often


class EngineLocks:
    """The per-engine locks that serialise engine.run, and the TLB shootdown built on
    them (the memory manager's `shootdown` while a RealtimeRunner runs).

    Guest code runs only inside engine.run, called only with the engine's lock held, so
    whoever holds an engine's lock knows that none of its domain's vCPUs runs.  `stop` is
    called only by the holder of the hypervisor lock; `_stopped` (the engines it holds)
    is its alone."""

    def __init__(self, hv: Hypervisor) -> None:
        self.hv = hv
        self._locks: dict[int, tuple[object, threading.Lock]] = {}   # id -> (engine, lock)
        self._stopped: set[int] = set()

    def lock_of(self, engine: object) -> threading.Lock:
        """The lock serialising `engine` (called with the hypervisor lock held)."""
        entry = self._locks.get(id(engine))
        if entry is not None:
            return entry[1]
        lock = threading.Lock()
        self._locks[id(engine)] = (engine, lock)   # the reference keeps id() unique
        return lock

    @contextmanager
    def stop(self, domid: int | None) -> Iterator[None]:
        """No vCPU of `domid` (None: of any domain) runs guest code inside the context:
        take the engine locks concerned, asking a run in progress to end early.  Every
        run that can be in progress or about to start has registered its lock (lock_of
        runs before the hypervisor lock is dropped), so the others need none.  Nests."""
        taken: list[tuple[object, threading.Lock]] = []
        try:
            for engine in self._engines(domid):
                if id(engine) in self._stopped:
                    continue
                lock = self.lock_of(engine)
                if not lock.acquire(blocking=False):
                    _call(engine, "request_exit")
                    lock.acquire()
                    _call(engine, "cancel_exit")
                self._stopped.add(id(engine))
                taken.append((engine, lock))
            yield
        finally:
            for engine, lock in reversed(taken):
                self._stopped.discard(id(engine))
                lock.release()

    def _engines(self, domid: int | None) -> list[object]:
        if domid is None:
            return [engine for engine, _lock in self._locks.values()]
        dom = self.hv.domains.get(domid)
        return [dom.engine] if dom is not None else []


class DeferredSigint:
    """Inside `with`: Ctrl-C (SIGINT) only sets `came`, instead of raising
    KeyboardInterrupt wherever the main thread happens to be.  On the way out the previous
    handler is put back and a SIGINT that came is delivered to it (signal.raise_signal),
    at that clean point: by default a KeyboardInterrupt; a caller's own handler (the
    CLI's, which then ignores further ones) does what it would have.  Only a handler set
    from Python is deferred (SIG_IGN and SIG_DFL keep their meaning), and only in the
    main thread, where Python runs signal handlers; elsewhere this changes nothing."""

    def __init__(self) -> None:
        self.came = False
        self._previous: object = None

    def __enter__(self) -> DeferredSigint:
        if (threading.current_thread() is threading.main_thread()
                and callable(signal.getsignal(signal.SIGINT))):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum: int, frame: object) -> None:
        self.came = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._previous is None:
            return
        signal.signal(signal.SIGINT, self._previous)
        if self.came and exc_type is None:
            signal.raise_signal(signal.SIGINT)


def _call(engine: object, method: str) -> None:
    """engine.method() if the engine offers it (the interpreter runs its whole budget)."""
    fn = getattr(engine, method, None)
    if fn is not None:
        fn()


class RealtimeRunner:
    """Runs `hv`'s vCPUs with one host thread per pCPU (see the module docstring)."""

    def __init__(self, hv: Hypervisor) -> None:
        self.hv = hv
        self.loop = hv.loop
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.why: str | None = None
        self.error: BaseException | None = None
        self.engines = EngineLocks(hv)
        self.threads: list[threading.Thread] = []
        # The loop's quanta, but longer (a longer run per lock round-trip is what lets
        # the pCPUs overlap), run unlocked, and ending as soon as the run is over.
        self.quanta = Quanta(REALTIME_QUANTUM_NS, self._run_unlocked,
                             lambda: self.why is not None)

    def run(self, until: Callable[[], bool] | None, max_ns: int | None) -> str:
        """Run until `until()` holds, nothing can run, or `max_ns` virtual ns passed; join
        every thread before returning.  Ctrl-C stops every thread at a clean point (between
        two guest entries) and, once all are joined, is delivered to the caller's SIGINT
        handler (by default a KeyboardInterrupt: see DeferredSigint).  The memory
        manager's shootdown is ours meanwhile."""
        self.threads = [threading.Thread(target=self._thread, args=(p, until, max_ns),
                                         name=f"pcpu{p.index}", daemon=True)
                        for p in self.loop.pcpus]
        self.hv.mm.shootdown = self.engines
        try:
            with DeferredSigint() as sigint:
                self._start_and_join(sigint)
        finally:
            self.hv.mm.shootdown = NO_SHOOTDOWN
            self.hv.now = self.loop.global_now
        if self.error is not None:
            raise self.error
        return self.why or "idle"

    def _start_and_join(self, sigint: DeferredSigint) -> None:
        """Start the threads and wait until every one has ended; once Ctrl-C came, tell
        them to stop.  (Thread.join is only safe because no KeyboardInterrupt is raised
        meanwhile: one raised inside it marks the thread being joined as ended although it
        still runs, CPython gh-90882, and the toolstack then destroyed the domains under
        it.)"""
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            while thread.is_alive():
                thread.join(JOIN_POLL_S)
                if sigint.came and self.why is None:
                    self._stop("interrupted")

    def _stop(self, why: str) -> None:
        with self.wake:
            if self.why is None:
                self.why = why
            self.wake.notify_all()

    def _thread(self, pcpu: Pcpu, until: Callable[[], bool] | None, max_ns: int | None) -> None:
        try:
            while True:
                with self.wake:
                    if self.why is not None:
                        return
                    why = self.loop._housekeeping(until, max_ns)
                    if why is None and not pcpu.busy:
                        why = self._idle_wait(max_ns)
                    if why is not None:
                        self.why = self.why or why
                        self.wake.notify_all()
                        return
                    if not pcpu.busy:
                        continue
                    if self._ahead(pcpu, max_ns):
                        self.wake.wait(IDLE_WAIT_S)
                        continue
                    self.loop._advance(pcpu, max_ns, self.quanta)
                    self.wake.notify_all()
        except BaseException as err:     # re-raised by run(); the other threads stop
            self.error = err
            self._stop("error")

    def _ahead(self, pcpu: Pcpu, max_ns: int | None) -> bool:
        """Whether `pcpu` must wait for the others (lock held): it is MAX_LEAD_NS ahead of
        global time, or already at `max_ns`.  Without this a pCPU whose thread wins the
        lock runs on (or spins at max_ns) while global time, the slowest pCPU's clock,
        stands still: wasted host time, and timers firing ever later for it.  The slowest
        busy pCPU defines global time, so it is never held back: no deadlock."""
        clock = pcpu.effective_clock
        return (clock >= self.loop.global_now + MAX_LEAD_NS
                or (max_ns is not None and clock >= max_ns))

    def _idle_wait(self, max_ns: int | None) -> str | None:
        """This pCPU has nothing to do (lock held): if no pCPU is busy, jump global time
        to the next timer (no further than `max_ns`) like the deterministic loop does;
        then wait to be notified."""
        if not any(p.busy for p in self.loop.pcpus):
            why = self.loop._idle(max_ns)
            if why is not None:
                return why
            return None               # global time moved: housekeeping fires the timer
        self.wake.wait(IDLE_WAIT_S)
        return None

    def _run_unlocked(self, vcpu: Vcpu, budget: int) -> Exit:
        """Our RunEngine (paravisor.hypervisor.loop): engine.run with the hypervisor lock
        released and the engine's own lock held.  Other threads move `hv.now` to their
        pCPU's clock and enter their own vCPUs meanwhile, so the state of this entry
        (hv.now, hv.current, hv.preempt_at) is put back once the lock is ours again.  A
        shootdown may have held the engine lock in between and changed the vCPU's lot
        (its domain destroyed, say): then nothing runs (KICK, 0 retired)."""
        hv = self.hv
        entry = hv.now, hv.current, hv.preempt_at
        engine = vcpu.domain.engine
        engine_lock = self.engines.lock_of(engine)
        self.lock.release()
        try:
            with engine_lock:
                if not vcpu.runnable:
                    return Exit(ExitReason.KICK, 0)
                return engine.run(vcpu.cpu, budget)
        finally:
            self.lock.acquire()
            hv.now, hv.current, hv.preempt_at = entry


def run_realtime(hv: Hypervisor, *, until: Callable[[], bool] | None = None,
                 max_ns: int | None = None) -> str:
    """`Hypervisor.run`, but one host thread per pCPU (non-deterministic; see module)."""
    try:
        return RealtimeRunner(hv).run(until, max_ns)
    finally:
        hv.loop.finish()
