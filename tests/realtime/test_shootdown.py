"""The --realtime TLB shootdown, deterministically: a change that can make a running
vCPU's translations stale (a page-table write, a free, a domain destroyed) waits until
that vCPU's engine is not running, asks a run in progress to end early (and a JIT run
does, at its next return to Python, exactly), and a run that was about to start when
its domain went away does not start.  The races themselves: test_shootdown_stress.py."""

from __future__ import annotations

import threading
import time

import pytest

from paravisor.hypervisor.realtime import RealtimeRunner
from paravisor.isa.engine import CPUState, Exit, ExitReason
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import CR, PAGE_SHIFT, Ring
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.mm import decrease_reservation, mmu_update, pin_table
from paravisor.mm.frametable import PageType
from paravisor.mm.invariants import verify
from paravisor.mm.reservation import increase_reservation
from paravisor.mm.shootdown import NO_SHOOTDOWN
from paravisor.testing.guests import IDLE_KERNEL, load_guest
from paravisor.testing.host import Host
from paravisor.testing.programs import assemble, i, load_words

WAIT_S = 10          # generous bounds for things that happen at once
BLOCKED_S = 0.3      # how long a change must stay blocked to count as waiting


class GateEngine:
    """Wraps a domain's engine: `run` stands for a long native run -- it blocks until
    the test opens the gate (or, with `obeys_exit_requests`, until a shootdown asks it
    to exit) -- and logs what happens, in order."""

    def __init__(self, inner, log: list[str], obeys_exit_requests: bool) -> None:
        self.inner, self.log = inner, log
        self.entered, self.gate = threading.Event(), threading.Event()
        if obeys_exit_requests:
            self.request_exit = self._request_exit
            self.cancel_exit = lambda: None

    def run(self, cpu: CPUState, budget: int) -> Exit:
        self.log.append("run started")
        self.entered.set()
        assert self.gate.wait(WAIT_S), "nobody let the run end"
        self.log.append("run returned")
        return Exit(ExitReason.KICK, 0)

    def _request_exit(self) -> None:
        self.log.append("exit requested")
        self.gate.set()

    def invalidate_frame(self, mfn: int) -> None:
        self.inner.invalidate_frame(mfn)

    def forget(self, cpu: CPUState) -> None:
        self.inner.forget(cpu)


class World:
    """Domain `d` (its engine gated) with a writable page `page_va`, domain `e`, and a
    RealtimeRunner whose shootdown the memory manager uses, but no pCPU threads: the
    tests play the threads."""

    def __init__(self, obeys_exit_requests: bool = False) -> None:
        self.host = Host(16)
        self.hv = self.host.hv
        self.d = load_guest(self.host, IDLE_KERNEL, name="d")
        self.e = load_guest(self.host, IDLE_KERNEL, name="e")
        for guest in (self.d, self.e):
            self.hv.unpause(guest.dom)
        self.log: list[str] = []
        self.engine = GateEngine(self.d.dom.engine, self.log, obeys_exit_requests)
        self.d.dom.engine = self.engine
        self.runner = RealtimeRunner(self.hv)
        self.hv.mm.shootdown = self.runner.engines
        self.page_va = self.d.symbols["scratch"]
        self.page_l1e = self.d.l1_entry_maddr(self.page_va)
        self.page_mfn = self.hv.memory.read32(self.page_l1e) >> PAGE_SHIFT

    def start_run(self) -> tuple[threading.Thread, list[Exit]]:
        """A pCPU thread entering d's vCPU 0 the way the runner does."""
        exits: list[Exit] = []

        def pcpu() -> None:
            with self.runner.lock:
                exits.append(self.runner._run_unlocked(self.d.vcpu, 1000))
        thread = threading.Thread(target=pcpu, name="pcpu-test")
        thread.start()
        return thread, exits

    def start_change(self, change) -> threading.Thread:
        """A pCPU thread making `change` under the hypervisor lock, as a hypercall does."""
        def pcpu() -> None:
            with self.runner.lock:
                change(self)
                self.log.append("changed")
        thread = threading.Thread(target=pcpu, name="pcpu-change")
        thread.start()
        return thread


def unmap_page(w: World) -> None:
    assert mmu_update(w.hv.mm, w.d.dom.mem, [(w.page_l1e, 0)]) == (0, 1)


def unmap_then_pin(w: World) -> None:
    """The re-type: a frame becomes a table only once its writable entry is gone."""
    unmap_page(w)
    assert pin_table(w.hv.mm, w.d.dom.mem, w.page_mfn, PageType.L1_TABLE) == 0


def free_a_frame_of_another_domain(w: World) -> None:
    mem = w.e.dom.mem
    mem.max_pages += 1
    (mfn,) = increase_reservation(w.hv.mm, mem, 1)
    assert decrease_reservation(w.hv.mm, mem, [mfn]) == 1


def destroy(w: World) -> None:
    w.hv.destroy(w.d.dom)


CHANGES = [unmap_page, unmap_then_pin, free_a_frame_of_another_domain, destroy]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__)
def test_a_change_waits_until_the_running_engine_returns(change):
    w = World(obeys_exit_requests=False)      # like the interpreter: runs its budget
    run, exits = w.start_run()
    assert w.engine.entered.wait(WAIT_S)
    changing = w.start_change(change)
    changing.join(BLOCKED_S)
    assert changing.is_alive() and "changed" not in w.log
    w.engine.gate.set()
    run.join(WAIT_S)
    changing.join(WAIT_S)
    assert w.log == ["run started", "run returned", "changed"]
    assert exits == [Exit(ExitReason.KICK, 0)]
    verify(w.hv.mm)


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__)
def test_a_change_asks_the_running_engine_to_exit(change):
    w = World(obeys_exit_requests=True)
    run, _ = w.start_run()
    assert w.engine.entered.wait(WAIT_S)
    changing = w.start_change(change)
    changing.join(WAIT_S)
    run.join(WAIT_S)
    assert w.log == ["run started", "exit requested", "run returned", "changed"]


def test_a_change_while_nothing_runs_does_not_wait():
    w = World()
    started = time.monotonic()
    changing = w.start_change(unmap_then_pin)
    changing.join(WAIT_S)
    assert w.log == ["changed"] and time.monotonic() - started < BLOCKED_S


def test_a_run_about_to_start_when_its_domain_is_destroyed_does_not_start():
    w = World()
    with w.runner.lock:
        stop = w.runner.engines.stop(w.d.dom.domid)
        stop.__enter__()                       # d's engine lock is ours
    run, exits = w.start_run()                 # drops the hypervisor lock, then waits
    time.sleep(BLOCKED_S)
    with w.runner.lock:
        w.hv.destroy(w.d.dom)
        stop.__exit__(None, None, None)
    run.join(WAIT_S)
    assert exits == [Exit(ExitReason.KICK, 0)] and w.log == []


def test_stops_nest_and_release_every_engine_lock():
    w = World()
    engines = w.runner.engines
    with w.runner.lock:
        with engines.stop(w.d.dom.domid):
            with engines.stop(None):
                with engines.stop(w.d.dom.domid):
                    assert engines.lock_of(w.engine).locked()
                    assert engines.lock_of(w.e.dom.engine).locked() is False  # never ran
            assert engines.lock_of(w.engine).locked()
        assert not engines.lock_of(w.engine).locked()


def test_the_runner_lends_its_shootdown_only_while_it_runs():
    host = Host(16)
    assert host.hv.mm.shootdown is NO_SHOOTDOWN
    seen = []
    dom = host.guest(name="g")
    host.hv.unpause(dom)
    host.hv.call_at(1_000_000, lambda: seen.append(host.hv.mm.shootdown))
    from paravisor.hypervisor.realtime import run_realtime
    assert run_realtime(host.hv, max_ns=2_000_000) == "time"
    assert seen and seen[0] is not NO_SHOOTDOWN
    assert host.hv.mm.shootdown is NO_SHOOTDOWN


# --- JitEngine.request_exit: a run returns at its next return to Python ------------------

COUNT_DOWN = [i("add", rd=3, rs1=3, rs2=5),       # r3 += r5; r5 -= 1; loop while r5 != 1
              i("addi", rd=5, rs1=5, imm=-1),     # (r5 starts at 0: 2**32 iterations);
              i("mfcr", rd=7, imm=CR.STATUS),     # mfcr leaves native code (STEP) every
              i("bne", rs1=5, rs2=6, imm=-3),     # iteration
              i("halt")]


def _count_down() -> tuple[JitEngine, CPUState]:
    memory = MachineMemory(4)
    load_words(memory, 0, assemble(COUNT_DOWN))
    cpu = CPUState(pc=0, ring=Ring.HYPERVISOR)
    cpu.regs[6] = 1
    return JitEngine(memory, JitConfig(threshold=1)), cpu


def test_request_exit_ends_a_run_exactly_where_it_stands():
    engine, cpu = _count_down()
    exits: list[Exit] = []
    thread = threading.Thread(target=lambda: exits.append(engine.run(cpu, 1 << 62)))
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while engine.exec_stats.native < 10_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.request_exit()
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the run ignored the exit request"
    kicked = exits[0]
    assert kicked.reason is ExitReason.KICK and kicked.retired == cpu.instret > 10_000
    # The request stands until cancelled: every run returns at once.
    assert engine.run(cpu, 100) == Exit(ExitReason.KICK, 0)
    engine.cancel_exit()
    # Nothing was lost or done twice: going on gives what one uninterrupted run gives.
    total = cpu.instret + 1000
    assert engine.run(cpu, 1000) == Exit(ExitReason.BUDGET, 1000)
    reference, ref_cpu = _count_down()
    assert reference.run(ref_cpu, total) == Exit(ExitReason.BUDGET, total)
    assert cpu.snapshot() == ref_cpu.snapshot()
