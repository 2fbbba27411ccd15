"""Fixtures for the XenStore daemon tests: a host with a service-only dom0 running the
daemon, guests introduced to it, and a Python stand-in for a guest's side of the ring
(it writes the shared page directly, as the guest kernel would)."""

from __future__ import annotations

import pytest

from paravisor.abi import XENSTORE_DOMAIN_INTERFACE, XsType
from paravisor.hypervisor.builder import build_domain
from paravisor.services.xenstore.daemon import RING_SIZE, XenStoreDaemon
from paravisor.services.xenstore.wire import Message, MessageReader
from paravisor.testing.host import SPIN, Host, image_from


class GuestRingEnd:
    """The guest's end of its XenStore ring, driven from Python."""

    def __init__(self, host: Host, dom) -> None:
        self.hv, self.dom = host.hv, dom
        self.base = dom.xenstore_mfn << 12
        self.reader = MessageReader()

    def field(self, name: str) -> int:
        return self.hv.memory.read32(self.base + XENSTORE_DOMAIN_INTERFACE.offset(name))

    def set_field(self, name: str, value: int) -> None:
        self.hv.memory.write32(self.base + XENSTORE_DOMAIN_INTERFACE.offset(name),
                               value & 0xFFFF_FFFF)

    def put(self, data: bytes) -> None:
        """Append raw bytes to the request ring (the caller keeps within its room)."""
        prod = self.field("req_prod")
        for i, byte in enumerate(data):
            self.hv.memory.write(self.base + XENSTORE_DOMAIN_INTERFACE.offset("req") +
                                 (prod + i) % RING_SIZE, bytes([byte]))
        self.set_field("req_prod", prod + len(data))

    def notify(self) -> None:
        """EVTCHNOP_send on the store port, then let the loop run the daemon."""
        self.hv.events.send(self.dom, self.dom.xenstore_evtchn)
        self.hv.run(until=lambda: True)

    def take(self) -> bytes:
        cons, prod = self.field("rsp_cons"), self.field("rsp_prod")
        if (prod - cons) & 0xFFFF_FFFF > RING_SIZE:
            return b""                  # indices scribbled over (hostile tests)
        out = bytearray()
        while cons != prod:
            out += self.hv.memory.read(self.base + XENSTORE_DOMAIN_INTERFACE.offset("rsp") +
                                       cons % RING_SIZE, 1)
            cons = (cons + 1) & 0xFFFF_FFFF
        self.set_field("rsp_cons", cons)
        return bytes(out)

    def messages(self) -> list[Message]:
        """Every whole message the daemon has sent so far (consuming them)."""
        self.reader.feed(self.take())
        out = []
        while (msg := self.reader.next_message()) is not None:
            out.append(msg)
        return out

    def request(self, op: XsType, *parts: bytes, req_id: int = 1, tx_id: int = 0) -> None:
        payload = b"".join(parts)
        self.put(Message(int(op), req_id, tx_id, payload).encode())
        self.notify()


class XsHost:
    def __init__(self, **hv_options) -> None:
        # 8 MiB: room for a few 2 MiB guests, and quick to make.
        self.host = Host(host_mib=8, **hv_options)
        self.hv = self.host.hv
        self.dom0 = self.hv.create_domain("Domain-0", domid=0, privileged=True)
        self.daemon = XenStoreDaemon(self.hv, self.dom0)

    def guest(self, asm: str = SPIN, introduce: bool = True):
        """A paused guest with its store event channel, home nodes and connection."""
        dom = self.hv.create_domain(f"g{len(self.hv.domains)}")
        dom.xenstore_evtchn = self.hv.events.alloc_unbound(dom, dom.domid, 0)
        build_domain(self.hv, dom, image_from(asm, f"{dom.name}.s"), 2)
        if introduce:
            self.daemon.create_domain_home(dom)
            self.daemon.introduce(dom)
        return dom

    def ring(self, dom) -> GuestRingEnd:
        return GuestRingEnd(self.host, dom)


@pytest.fixture
def xs() -> XsHost:
    return XsHost()


@pytest.fixture(scope="session")
def xs_host_factory():
    """XsHost itself, for Hypothesis tests that need a fresh host per example."""
    return XsHost
