"""Event channels against a model (Hypothesis stateful): random alloc/bind/send/close/
mask/unmask across three domains.  After every step: the hub's channel tables equal the
model's, interdomain channels are symmetric, pending bits are exactly the model's, every
pending unmasked port is signalled (selector bit and upcall_pending set), and no
operation changes the shared_info of a domain it does not involve."""

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from paravisor.abi import SHARED_INFO, Virq
from paravisor.abi.errno import Errno
from paravisor.evtchn import ChannelState, EventError
from paravisor.isa.table import PAGE_SIZE
from paravisor.testing.host import Host

DOMS = 3
_PENDING = SHARED_INFO.offset("evtchn_pending")
_MASK = SHARED_INFO.offset("evtchn_mask")
_SEL = SHARED_INFO.offset("vcpu_info.0.evtchn_pending_sel")
_UPCALL = SHARED_INFO.offset("vcpu_info.0.evtchn_upcall_pending")

dom_index = st.integers(0, DOMS - 1)
port_number = st.integers(0, 12)


class EventChannelMachine(RuleBasedStateMachine):
    @initialize()
    def boot(self):
        self.host = Host(32)
        self.doms = [self.host.guest(name=f"d{i}", memory_mib=2) for i in range(DOMS)]
        # model: (dom, port) -> (state, remote_dom, remote_port)
        self.chan: dict[tuple[int, int], tuple[ChannelState, int, int]] = {}
        self.pending: set[tuple[int, int]] = set()
        self.masked: set[tuple[int, int]] = set()
        self.virqs: set[int] = set()

    # --- helpers --------------------------------------------------------------------------

    @property
    def hub(self):
        return self.host.hv.events

    def _si(self, i: int) -> bytes:
        base = self.doms[i].shared_info_mfn * PAGE_SIZE
        return self.host.hv.memory.read(base, PAGE_SIZE)

    def _bit(self, i: int, base: int, port: int) -> bool:
        word = self.host.hv.memory.read32(self.doms[i].shared_info_mfn * PAGE_SIZE + base
                                          + 4 * (port // 32))
        return bool(word >> (port % 32) & 1)

    def _untouched(self, involved: set[int], action):
        before = {i: self._si(i) for i in range(DOMS) if i not in involved}
        result = action()
        for i, data in before.items():
            assert self._si(i) == data, f"domain {i}'s shared_info changed"
        return result

    def _raise(self, i: int, port: int) -> None:
        self.pending.add((i, port))

    # --- rules ---------------------------------------------------------------------------

    @rule(i=dom_index, remote=dom_index)
    def alloc_unbound(self, i, remote):
        port = self._untouched({i}, lambda: self.hub.alloc_unbound(
            self.doms[i], self.doms[i].domid, self.doms[remote].domid))
        assert (i, port) not in self.chan and port > 0
        self.chan[(i, port)] = (ChannelState.UNBOUND, remote, 0)

    @rule(i=dom_index, remote=dom_index, rport=port_number)
    def bind_interdomain(self, i, remote, rport):
        expect_ok = self.chan.get((remote, rport)) == (ChannelState.UNBOUND, i, 0)
        try:
            port = self._untouched({i, remote}, lambda: self.hub.bind_interdomain(
                self.doms[i], self.doms[remote].domid, rport))
        except EventError as err:
            assert not expect_ok, f"refused a valid bind: {err}"
            assert err.errno == Errno.EINVAL
            return
        assert expect_ok, "bound a port that was not offered to this domain"
        self.chan[(i, port)] = (ChannelState.INTERDOMAIN, remote, rport)
        self.chan[(remote, rport)] = (ChannelState.INTERDOMAIN, i, port)
        self._raise(i, port)        # Xen marks the new local end pending

    @rule(i=dom_index)
    def bind_virq_timer(self, i):
        try:
            port = self.hub.bind_virq(self.doms[i], Virq.VIRQ_TIMER, 0)
        except EventError as err:
            assert i in self.virqs and err.errno == Errno.EEXIST
            return
        assert i not in self.virqs
        self.virqs.add(i)
        self.chan[(i, port)] = (ChannelState.VIRQ, i, 0)

    @rule(i=dom_index, port=port_number)
    def send(self, i, port):
        state = self.chan.get((i, port))
        try:
            involved = {i} if state is None else {i, state[1]}
            self._untouched(involved, lambda: self.hub.send(self.doms[i], port))
        except EventError as err:
            assert state is None or state[0] == ChannelState.VIRQ, err
            return
        assert state is not None
        if state[0] == ChannelState.INTERDOMAIN:
            self._raise(state[1], state[2])

    @rule(i=dom_index, port=port_number)
    def close(self, i, port):
        state = self.chan.get((i, port))
        try:
            involved = {i} if state is None else {i, state[1]}
            self._untouched(involved, lambda: self.hub.close(self.doms[i], port))
        except EventError:
            assert state is None
            return
        assert state is not None
        del self.chan[(i, port)]
        if state[0] == ChannelState.INTERDOMAIN:
            self.chan[(state[1], state[2])] = (ChannelState.UNBOUND, i, 0)
        if state[0] == ChannelState.VIRQ:
            self.virqs.discard(i)

    @rule(i=dom_index, port=st.integers(1, 12))
    def mask(self, i, port):
        """The guest sets a mask bit itself (shared memory, no hypercall)."""
        addr = self.doms[i].shared_info_mfn * PAGE_SIZE + _MASK + 4 * (port // 32)
        mem = self.host.hv.memory
        mem.write32(addr, mem.read32(addr) | 1 << (port % 32))
        self.masked.add((i, port))

    @rule(i=dom_index, port=st.integers(1, 12))
    def unmask(self, i, port):
        self._untouched({i}, lambda: self.hub.unmask(self.doms[i], port))
        self.masked.discard((i, port))

    @rule(i=dom_index)
    @precondition(lambda self: self.virqs)
    def timer_fires(self, i):
        if i in self.virqs and self.hub.send_virq(self.doms[i], Virq.VIRQ_TIMER):
            port = self.doms[i].evtchn.virqs[(Virq.VIRQ_TIMER, 0)]
            self._raise(i, port)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def tables_match_the_model(self):
        for i, dom in enumerate(self.doms):
            for port in range(1, len(dom.evtchn.channels)):
                c = dom.evtchn.channels[port]
                model = self.chan.get((i, port))
                if model is None:
                    assert c.state == ChannelState.CLOSED, (i, port, c)
                    continue
                assert c.state == model[0], (i, port, c, model)
                if model[0] in (ChannelState.UNBOUND, ChannelState.INTERDOMAIN):
                    assert c.remote_domid == self.doms[model[1]].domid
                if model[0] == ChannelState.INTERDOMAIN:
                    assert c.remote_port == model[2]

    @invariant()
    def pending_bits_are_exactly_the_models(self):
        for i in range(DOMS):
            for port in range(1, 13):
                assert self._bit(i, _PENDING, port) == ((i, port) in self.pending), (i, port)

    @invariant()
    def pending_unmasked_ports_are_signalled(self):
        for (i, port) in self.pending:
            if (i, port) not in self.masked and not self.doms[i].evtchn.channels[port].service:
                assert self._bit(i, _SEL, port // 32)
                assert self.host.hv.memory.data[self.doms[i].shared_info_mfn * PAGE_SIZE
                                                + _UPCALL] == 1


TestEventChannels = EventChannelMachine.TestCase
