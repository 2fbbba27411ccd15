"""Software learning bridges: what `bridge=br0` in a vif spec plugs the interface into.

A Bridge has ports (the vifs on it, and optionally an uplink).  For every frame a port
hands it, the bridge learns that the frame's source MAC lives behind that port, then
forwards it: a unicast destination it has learned goes to that port only; broadcast,
multicast (first octet odd) and unknown destinations are flooded to every other port.
A frame never goes back out of the port it came in by (a frame to a MAC learned on the
ingress port is dropped, as Linux's bridge does).  Learned entries age out after
AGEING_NS of virtual time without traffic from that MAC (Linux's default, 300 s).

Frames shorter than an Ethernet header are dropped.  A bridge's `pcap` (host config)
records every frame it forwards, once, whatever the number of ports it goes to.

The Switch holds every bridge of the host by name, creating one on first use; the host
config's `bridges` settings (pcap, uplink) apply when a bridge is created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from paravisor.services.netback.netif import ETH_HLEN
from paravisor.services.netback.pcap import PcapWriter

AGEING_NS = 300 * 1_000_000_000
FDB_LIMIT = 4096          # learned MACs per bridge: a guest cycling source MACs cannot
                          # grow the table without bound


class Port(Protocol):
    """Something a bridge can send frames to: a vif, an uplink."""
    name: str

    def deliver(self, frame: bytes) -> None: ...


@dataclass(frozen=True)
class BridgeSetting:
    """Host-wide settings of one bridge (dom0.cfg `bridges`): `pcap` is an absolute
    path or None; `uplink` is (peer host, peer port, local port) or None."""
    name: str
    pcap: str | None = None
    uplink: tuple[str, int, int] | None = None

    def to_spec(self) -> str:
        """The `bridges` item text that parse_bridge_spec reads back equal."""
        parts = [self.name]
        if self.pcap is not None:
            parts.append(f"pcap={self.pcap}")
        if self.uplink is not None:
            host, port, local = self.uplink
            parts.append(f"uplink={host}:{port}@{local}")
        return ",".join(parts)


class Bridge:
    """One learning bridge.  `clock` gives virtual ns (for ageing and pcap stamps)."""

    def __init__(self, name: str, clock: Callable[[], int],
                 pcap: PcapWriter | None = None) -> None:
        self.name, self.clock, self.pcap = name, clock, pcap
        self.ports: list[Port] = []
        self.fdb: dict[bytes, tuple[Port, int]] = {}    # MAC -> (port, last seen)
        self.forwarded = 0

    def attach(self, port: Port) -> None:
        if port not in self.ports:
            self.ports.append(port)

    def detach(self, port: Port) -> None:
        """Remove a port and forget every MAC learned on it."""
        if port in self.ports:
            self.ports.remove(port)
        for mac in [m for m, (p, _t) in self.fdb.items() if p is port]:
            del self.fdb[mac]

    def lookup(self, mac: bytes) -> Port | None:
        """The port `mac` was learned on, unless its entry aged out."""
        entry = self.fdb.get(mac)
        if entry is None:
            return None
        port, seen = entry
        if self.clock() - seen >= AGEING_NS:
            del self.fdb[mac]
            return None
        return port

    def learn(self, mac: bytes, port: Port) -> None:
        if mac[0] & 1:
            return          # a multicast source is bogus: never learned
        if mac not in self.fdb and len(self.fdb) >= FDB_LIMIT:
            oldest = min(self.fdb, key=lambda m: self.fdb[m][1])
            del self.fdb[oldest]
        self.fdb[mac] = (port, self.clock())

    def destinations(self, ingress: Port, frame: bytes) -> list[Port]:
        """Where the bridge sends `frame` arriving on `ingress` (learning first)."""
        if len(frame) < ETH_HLEN or ingress not in self.ports:
            return []
        dst, src = frame[0:6], frame[6:12]
        self.learn(src, ingress)
        if not dst[0] & 1:
            port = self.lookup(dst)
            if port is not None:
                return [] if port is ingress else [port]
        return [p for p in self.ports if p is not ingress]

    def forward(self, ingress: Port, frame: bytes) -> list[Port]:
        """Forward `frame` from `ingress`; returns the ports it was delivered to."""
        out = self.destinations(ingress, frame)
        if out:
            self.forwarded += 1
            if self.pcap is not None:
                self.pcap.write(frame)
        for port in out:
            port.deliver(frame)
        return out

    def close(self) -> None:
        if self.pcap is not None:
            self.pcap.close()


class Switch:
    """Every bridge of the host, by name, created on first use with its settings."""

    def __init__(self, clock: Callable[[], int],
                 settings: tuple[BridgeSetting, ...] = (),
                 log: Callable[[str], None] = print) -> None:
        self.clock, self.log = clock, log
        self.settings = {s.name: s for s in settings}
        self.bridges: dict[str, Bridge] = {}
        self.uplinks: list = []

    def bridge(self, name: str) -> Bridge:
        if name not in self.bridges:
            self.bridges[name] = self._create(name)
        return self.bridges[name]

    def _create(self, name: str) -> Bridge:
        setting = self.settings.get(name, BridgeSetting(name))
        pcap = None
        if setting.pcap is not None:
            try:
                pcap = PcapWriter(setting.pcap, self.clock)
            except OSError as err:
                self.log(f"bridge {name}: cannot write pcap {setting.pcap}: {err.strerror}")
        bridge = Bridge(name, self.clock, pcap)
        if setting.uplink is not None:
            from paravisor.services.netback.uplink import UdpUplink
            try:
                uplink = UdpUplink(bridge, *setting.uplink, log=self.log)
            except OSError as err:
                self.log(f"bridge {name}: cannot open uplink: {err.strerror or err}")
            else:
                bridge.attach(uplink)
                self.uplinks.append(uplink)
        return bridge

    def poll(self) -> int:
        """Take frames waiting on every uplink into its bridge; how many were taken."""
        return sum(uplink.poll() for uplink in self.uplinks)

    def close(self) -> None:
        for uplink in self.uplinks:
            uplink.close()
        for bridge in self.bridges.values():
            bridge.close()
