"""Event channels: Xen's two-level ABI on 32 bits (1024 ports per domain).

A port is one end of a channel.  Its *pending* and *mask* bits live in the domain's
shared_info page (evtchn_pending / evtchn_mask, 32 words of 32 bits), written by the
hypervisor (pending) and the guest (mask, and clearing pending).  Setting a pending bit
follows Xen's evtchn_2l_set_pending: set the port's bit; if it was clear and the port is
unmasked, set its word's bit in the notified vCPU's evtchn_pending_sel; if that was
clear, set evtchn_upcall_pending and kick the vCPU (wake it if blocked).  The upcall
itself is made by the hypervisor loop on the next entry to the guest, if
evtchn_upcall_mask is clear.

dom0's "userspace" services (console daemon, XenStore, backends: Python objects on the
host) own ports in dom0 too.  Such a port has a `service` callback: an event for it is
handed to the callback (deferred to the hypervisor loop, in order) instead of being set
pending in dom0's shared_info, as if dom0's kernel had forwarded it through
/dev/xen/evtchn.

Ownership: the hypervisor loop; nothing here runs concurrently with other hypervisor
code (under --realtime, the hypervisor lock is held).  The guest writes its side of the
same shared_info words (mask bits, clearing pending bits) from guest code, which under
--realtime may run at the same time on another pCPU's thread; the plain read-modify-write
in `set_pending` is then not atomic against it (docs/design.md, section 8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from paravisor.abi import (
    DOMID_SELF,
    SHARED_INFO,
    EVTCHNSTAT_closed,
    EVTCHNSTAT_interdomain,
    EVTCHNSTAT_ipi,
    EVTCHNSTAT_unbound,
    EVTCHNSTAT_virq,
    Virq,
)
from paravisor.abi.errno import Errno

if TYPE_CHECKING:
    from paravisor.domain import Domain, Vcpu

NR_EVENT_CHANNELS = 32 * 32          # EVTCHN_2L_NR_CHANNELS with 32-bit words
PER_VCPU_VIRQS = frozenset({Virq.VIRQ_TIMER, Virq.VIRQ_DEBUG, Virq.VIRQ_XENOPROF,
                            Virq.VIRQ_XENPMU})

_PENDING = SHARED_INFO.offset("evtchn_pending")
_MASK = SHARED_INFO.offset("evtchn_mask")
_VCPU_INFO = SHARED_INFO.offset("vcpu_info")
_VCPU_INFO_SIZE = SHARED_INFO.type_of("vcpu_info").elem.size
_UPCALL_PENDING = SHARED_INFO.offset("vcpu_info.0.evtchn_upcall_pending") - _VCPU_INFO
_UPCALL_MASK = SHARED_INFO.offset("vcpu_info.0.evtchn_upcall_mask") - _VCPU_INFO
_PENDING_SEL = SHARED_INFO.offset("vcpu_info.0.evtchn_pending_sel") - _VCPU_INFO


class ChannelState(IntEnum):
    """A port's state; the values are EVTCHNSTAT_*, as EVTCHNOP_status reports them."""
    CLOSED = EVTCHNSTAT_closed
    UNBOUND = EVTCHNSTAT_unbound
    INTERDOMAIN = EVTCHNSTAT_interdomain
    VIRQ = EVTCHNSTAT_virq
    IPI = EVTCHNSTAT_ipi


@dataclass
class Channel:
    state: ChannelState = ChannelState.CLOSED
    notify_vcpu: int = 0
    remote_domid: int = 0     # UNBOUND: who may bind; INTERDOMAIN: the peer
    remote_port: int = 0
    virq: int = 0
    service: Callable[[int], None] | None = None   # dom0 userspace endpoint


class EventError(Exception):
    def __init__(self, errno: Errno, why: str = "") -> None:
        super().__init__(why or errno.name)
        self.errno = errno


class EventChannels:
    """One domain's ports.  Port 0 is reserved and never allocated, as in Xen."""

    def __init__(self, domain: Domain, max_ports: int = 1023) -> None:
        self.domain = domain
        self.limit = min(max_ports + 1, NR_EVENT_CHANNELS)
        self.channels: list[Channel] = [Channel()]
        self.virqs: dict[tuple[int, int], int] = {}   # (virq, vcpu) -> port

    def get(self, port: int) -> Channel:
        if not 0 < port < len(self.channels) or self.channels[port].state == ChannelState.CLOSED:
            raise EventError(Errno.EINVAL, f"port {port} is not open")
        return self.channels[port]

    def allocate(self) -> int:
        for port in range(1, len(self.channels)):
            if self.channels[port].state == ChannelState.CLOSED:
                self.channels[port] = Channel()
                return port
        if len(self.channels) >= self.limit:
            raise EventError(Errno.ENOSPC, "no free event channel")
        self.channels.append(Channel())
        return len(self.channels) - 1

    def open_ports(self) -> list[int]:
        return [p for p, c in enumerate(self.channels) if c.state != ChannelState.CLOSED]


class EventHub:
    """The event-channel operations, across domains.

    `lookup(domid)` finds a live domain; `kick(vcpu)` wakes a vCPU that has an upcall
    pending or a polled port set; `defer(fn, arg, domid)` runs a dom0 service later in
    the loop, on behalf of domain `domid`.
    """

    def __init__(self, memory, lookup: Callable[[int], Domain | None],
                 kick: Callable[[Vcpu], None],
                 defer: Callable[[Callable[[int], None], int, int | None], None]) -> None:
        self.memory = memory
        self.lookup = lookup
        self.kick = kick
        self.defer = defer

    # --- shared_info bits ----------------------------------------------------------------

    def _word(self, dom: Domain, base: int, port: int) -> int:
        return (dom.shared_info_mfn << 12) + base + 4 * (port // 32)

    def _vcpu_info(self, dom: Domain, vcpu_id: int) -> int:
        return (dom.shared_info_mfn << 12) + _VCPU_INFO + vcpu_id * _VCPU_INFO_SIZE

    def is_masked(self, dom: Domain, port: int) -> bool:
        return bool(self.memory.read32(self._word(dom, _MASK, port)) >> (port % 32) & 1)

    def is_pending(self, dom: Domain, port: int) -> bool:
        return bool(self.memory.read32(self._word(dom, _PENDING, port)) >> (port % 32) & 1)

    def upcall_pending(self, vcpu: Vcpu) -> bool:
        return bool(self.memory.data[self._vcpu_info(vcpu.domain, vcpu.vcpu_id) + _UPCALL_PENDING])

    def upcall_masked(self, vcpu: Vcpu) -> bool:
        return bool(self.memory.data[self._vcpu_info(vcpu.domain, vcpu.vcpu_id) + _UPCALL_MASK])

    def set_upcall_mask(self, vcpu: Vcpu, masked: bool) -> None:
        addr = self._vcpu_info(vcpu.domain, vcpu.vcpu_id) + _UPCALL_MASK
        self.memory.write(addr, bytes([1 if masked else 0]))

    def set_pending(self, dom: Domain, port: int) -> None:
        """Raise `port` in `dom` (Xen's evtchn_2l_set_pending)."""
        channel = dom.evtchn.channels[port]
        if channel.service is not None:
            self.defer(channel.service, port, channel.remote_domid)
            return
        if not dom.shared_info_mfn:
            return   # a domain without shared_info (a kernel-less dom0) takes no events
        word = self._word(dom, _PENDING, port)
        bit = 1 << (port % 32)
        old = self.memory.read32(word)
        if old & bit:
            return
        self.memory.write32(word, old | bit)
        vcpu = dom.vcpus[channel.notify_vcpu]
        if self.is_masked(dom, port):
            self._kick_poller(vcpu, port)
            return
        info = self._vcpu_info(dom, vcpu.vcpu_id)
        sel = self.memory.read32(info + _PENDING_SEL)
        sel_bit = 1 << (port // 32)
        if not sel & sel_bit:
            self.memory.write32(info + _PENDING_SEL, sel | sel_bit)
            self.memory.write(info + _UPCALL_PENDING, b"\x01")
            self.kick(vcpu)
        self._kick_poller(vcpu, port)

    def _kick_poller(self, vcpu: Vcpu, port: int) -> None:
        if port in vcpu.poll_ports:
            self.kick(vcpu)

    # --- operations (EVTCHNOP_*); each raises EventError with Xen's errno ------------------

    def _resolve_domid(self, caller: Domain, domid: int) -> Domain:
        if domid == DOMID_SELF:
            return caller
        dom = self.lookup(domid)
        if dom is None:
            raise EventError(Errno.ESRCH, f"no domain {domid}")
        return dom

    def alloc_unbound(self, caller: Domain, dom_id: int, remote_domid: int) -> int:
        dom = self._resolve_domid(caller, dom_id)
        if dom is not caller and not caller.privileged:
            raise EventError(Errno.EPERM, "only dom0 allocates ports for other domains")
        remote = caller.domid if remote_domid == DOMID_SELF else remote_domid
        port = dom.evtchn.allocate()
        dom.evtchn.channels[port] = Channel(ChannelState.UNBOUND, remote_domid=remote)
        return port

    def bind_interdomain(self, caller: Domain, remote_domid: int, remote_port: int,
                         service: Callable[[int], None] | None = None) -> int:
        """Bind to `remote_port` of `remote_domid` (which must be unbound for us); with
        `service`, the new port belongs to a dom0 service that receives its events."""
        remote = self._resolve_domid(caller, remote_domid)
        try:
            rchan = remote.evtchn.get(remote_port)
        except EventError:
            raise EventError(Errno.EINVAL, f"port {remote_port} of domain {remote.domid} "
                                           "is not open") from None
        if rchan.state != ChannelState.UNBOUND or rchan.remote_domid != caller.domid:
            raise EventError(Errno.EINVAL, "remote port is not unbound for this domain")
        port = caller.evtchn.allocate()
        caller.evtchn.channels[port] = Channel(ChannelState.INTERDOMAIN,
                                               remote_domid=remote.domid,
                                               remote_port=remote_port, service=service)
        rchan.state = ChannelState.INTERDOMAIN
        rchan.remote_domid, rchan.remote_port = caller.domid, port
        # Xen marks the new local end pending, so a notification sent before the bind
        # completed is not lost.
        self.set_pending(caller, port)
        return port

    def bind_virq(self, caller: Domain, virq: int, vcpu_id: int) -> int:
        if not 0 <= virq < Virq.NR_VIRQS:
            raise EventError(Errno.EINVAL, f"no VIRQ {virq}")
        if virq not in PER_VCPU_VIRQS and vcpu_id != 0:
            raise EventError(Errno.EINVAL, "global VIRQs bind to vCPU 0")
        if not 0 <= vcpu_id < len(caller.vcpus):
            raise EventError(Errno.ENOENT, f"no vCPU {vcpu_id}")
        if (virq, vcpu_id) in caller.evtchn.virqs:
            raise EventError(Errno.EEXIST, f"VIRQ {virq} is already bound")
        port = caller.evtchn.allocate()
        caller.evtchn.channels[port] = Channel(ChannelState.VIRQ, notify_vcpu=vcpu_id,
                                               virq=virq)
        caller.evtchn.virqs[(virq, vcpu_id)] = port
        return port

    def bind_ipi(self, caller: Domain, vcpu_id: int) -> int:
        if not 0 <= vcpu_id < len(caller.vcpus):
            raise EventError(Errno.ENOENT, f"no vCPU {vcpu_id}")
        port = caller.evtchn.allocate()
        caller.evtchn.channels[port] = Channel(ChannelState.IPI, notify_vcpu=vcpu_id)
        return port

    def bind_vcpu(self, caller: Domain, port: int, vcpu_id: int) -> None:
        channel = caller.evtchn.get(port)
        if not 0 <= vcpu_id < len(caller.vcpus):
            raise EventError(Errno.ENOENT, f"no vCPU {vcpu_id}")
        if channel.state == ChannelState.VIRQ and channel.virq in PER_VCPU_VIRQS:
            raise EventError(Errno.EINVAL, "a per-vCPU VIRQ cannot move")
        channel.notify_vcpu = vcpu_id

    def close(self, caller: Domain, port: int) -> None:
        channel = caller.evtchn.get(port)
        if channel.state == ChannelState.INTERDOMAIN:
            peer = self.lookup(channel.remote_domid)
            if peer is not None and 0 < channel.remote_port < len(peer.evtchn.channels):
                rchan = peer.evtchn.channels[channel.remote_port]
                if rchan.state == ChannelState.INTERDOMAIN and \
                        rchan.remote_domid == caller.domid and rchan.remote_port == port:
                    rchan.state = ChannelState.UNBOUND
                    rchan.remote_domid, rchan.remote_port = caller.domid, 0
        elif channel.state == ChannelState.VIRQ:
            caller.evtchn.virqs.pop((channel.virq, channel.notify_vcpu), None)
        caller.evtchn.channels[port] = Channel()

    def send(self, caller: Domain, port: int) -> None:
        channel = caller.evtchn.get(port)
        if channel.state == ChannelState.INTERDOMAIN:
            peer = self.lookup(channel.remote_domid)
            if peer is not None:
                self.set_pending(peer, channel.remote_port)
        elif channel.state == ChannelState.IPI:
            self.set_pending(caller, port)
        elif channel.state == ChannelState.VIRQ:
            raise EventError(Errno.EINVAL, "cannot send on a VIRQ port")
        # UNBOUND: nobody listens yet; Xen drops the event silently.

    def status(self, caller: Domain, dom_id: int, port: int) -> dict:
        dom = self._resolve_domid(caller, dom_id)
        if dom is not caller and not caller.privileged:
            raise EventError(Errno.EPERM, "only dom0 inspects other domains' ports")
        if not 0 < port < dom.evtchn.limit:
            raise EventError(Errno.EINVAL, f"port {port} out of range")
        channel = dom.evtchn.channels[port] if port < len(dom.evtchn.channels) else Channel()
        return {"status": int(channel.state), "vcpu": channel.notify_vcpu,
                "remote_domid": channel.remote_domid, "remote_port": channel.remote_port,
                "virq": channel.virq}

    def unmask(self, caller: Domain, port: int) -> None:
        """Clear the mask bit; if the port is pending, deliver it now (Xen's
        evtchn_2l_unmask)."""
        if not 0 < port < caller.evtchn.limit:
            raise EventError(Errno.EINVAL, f"port {port} out of range")
        word = self._word(caller, _MASK, port)
        self.memory.write32(word, self.memory.read32(word) & ~(1 << (port % 32)))
        if self.is_pending(caller, port) and port < len(caller.evtchn.channels):
            vcpu = caller.vcpus[caller.evtchn.channels[port].notify_vcpu]
            info = self._vcpu_info(caller, vcpu.vcpu_id)
            sel = self.memory.read32(info + _PENDING_SEL)
            sel_bit = 1 << (port // 32)
            if not sel & sel_bit:
                self.memory.write32(info + _PENDING_SEL, sel | sel_bit)
                if not self.upcall_pending(vcpu):
                    self.memory.write(info + _UPCALL_PENDING, b"\x01")
                    self.kick(vcpu)

    # --- raising VIRQs -------------------------------------------------------------------

    def send_virq(self, dom: Domain, virq: int, vcpu_id: int = 0) -> bool:
        """Raise `virq` in `dom` if bound; True if it was."""
        port = dom.evtchn.virqs.get((virq, vcpu_id))
        if port is None:
            return False
        self.set_pending(dom, port)
        return True

    def close_all(self, dom: Domain) -> None:
        """Close every port of a dying domain (peers see their ends become unbound)."""
        for port in dom.evtchn.open_ports():
            self.close(dom, port)
