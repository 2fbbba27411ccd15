"""The console daemon (xenconsoled): drains each domain's PV console ring.

The guest writes bytes into `out` of its xencons_interface page at out_prod (modulo the
ring size), advances out_prod and notifies its console event channel.  The daemon, a
dom0 service, maps the page, copies out[out_cons..out_prod) once, advances out_cons and
notifies back.  Indices are free-running u32 counters, as in io/console.h; a guest that
publishes an impossible out_prod (more than a ring ahead) gets its console disconnected
with a message, never a daemon crash.

Rate limit, as xenconsoled's: each connection drains at most CONSOLE_RATE_BYTES per
CONSOLE_RATE_PERIOD_NS of virtual time (paravisor.console.ConsoleBudget).  What is over
budget stays in the ring: the daemon neither consumes it nor notifies, and drains again
when the next period starts (a service timer).  A flooding guest finds its ring full and
waits, so it is slowed by back-pressure and loses nothing.  When the connection closes
(the domain shut down) the last ring's worth is drained whatever the budget.
"""

from __future__ import annotations

from paravisor.abi import XENCONS_INTERFACE, Console
from paravisor.console import ConsoleBudget
from paravisor.services.foreign import ForeignPage

_OUT = XENCONS_INTERFACE.offset("out")
_OUT_CONS = XENCONS_INTERFACE.offset("out_cons")
_OUT_PROD = XENCONS_INTERFACE.offset("out_prod")
OUT_SIZE = int(Console.XENCONS_OUT_SIZE)


class ConsoleConnection:
    def __init__(self, daemon: ConsoleDaemon, dom) -> None:
        hv = daemon.hv
        self.daemon, self.dom = daemon, dom
        self.page = ForeignPage(hv, daemon.dom0, dom, dom.console_mfn, holder="xenconsoled")
        self.broken = False
        self.closed = False
        self.budget = ConsoleBudget()
        self.resume_pending = False     # a timer will drain at the next period
        self.port = hv.events.bind_interdomain(daemon.dom0, dom.domid, dom.console_evtchn,
                                               service=self.on_event)

    def on_event(self, _port: int) -> None:
        self.drain()

    def drain(self, *, budgeted: bool = True) -> None:
        """Copy out what the guest queued (within this period's budget unless not
        `budgeted`), advance out_cons and notify the guest."""
        if self.broken or self.closed or self.dom.dying:
            return
        hv = self.daemon.hv
        cons = self.page.read32(_OUT_CONS)
        prod = self.page.read32(_OUT_PROD)
        pending = (prod - cons) & 0xFFFF_FFFF
        if pending > OUT_SIZE:
            self.broken = True
            hv.console_write(
                self.dom, f"\n*** console: out_prod {prod:#x} is more than a ring ahead of "
                          f"out_cons {cons:#x}; console disconnected\n")
            return
        granted = self.budget.take(hv.now, pending) if budgeted else pending
        if granted < pending:
            self._resume_at_next_period()
            if not granted:
                return
        data = bytearray()
        end = (cons + granted) & 0xFFFF_FFFF
        while cons != end:
            start = cons % OUT_SIZE
            n = min((end - cons) & 0xFFFF_FFFF, OUT_SIZE - start)
            data += self.page.read(_OUT + start, n)
            cons = (cons + n) & 0xFFFF_FFFF
        self.page.write32(_OUT_CONS, cons)
        if data:
            hv.console_write(self.dom, bytes(data))
        hv.events.send(self.daemon.dom0, self.port)

    def _resume_at_next_period(self) -> None:
        if not self.resume_pending:
            self.resume_pending = True
            self.daemon.hv.call_at(self.budget.next_period_ns(), self._resume)

    def _resume(self) -> None:
        self.resume_pending = False
        self.drain()

    def close(self) -> None:
        self.drain(budgeted=False)
        self.closed = True
        self.page.unmap()


class ConsoleDaemon:
    def __init__(self, hv, dom0) -> None:
        self.hv, self.dom0 = hv, dom0
        self.connections: dict[int, ConsoleConnection] = {}

    def connect(self, dom) -> None:
        """Serve `dom`'s console ring (after the builder set console_mfn/evtchn)."""
        self.connections[dom.domid] = ConsoleConnection(self, dom)

    def disconnect(self, dom) -> None:
        conn = self.connections.pop(dom.domid, None)
        if conn is not None:
            conn.close()
