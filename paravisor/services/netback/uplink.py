"""A bridge port that joins two paravisor hosts: frames travel as UDP datagrams.

`bridges = ['br0,uplink=127.0.0.1:5555@5556']` in dom0.cfg gives bridge br0 a port that
sends every frame the bridge forwards to it as one datagram to 127.0.0.1:5555 and takes
datagrams arriving on local port 5556 (bound on the peer's address family, loopback by
default) into the bridge as frames from that port.  Run the other host with the ports
swapped.  The socket is non-blocking; `poll()` takes what has arrived, and the netback
calls it whenever it runs (events of any vif) and from the toolstack's loop hook.

Not deterministic by nature: when a datagram arrives depends on the other host's
progress and on the host OS, so a run with an uplink is not reproducible byte for byte
(a run without one still is).  Datagrams that are not Ethernet frames (shorter than 14
bytes or longer than 65535) are dropped and counted.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from paravisor.services.netback.netif import ETH_HLEN, MAX_TX_SIZE

if TYPE_CHECKING:
    from paravisor.services.netback.bridge import Bridge

POLL_BATCH = 64           # datagrams taken per poll: one poll never runs unbounded


class UdpUplink:
    """One uplink port of `bridge`."""

    def __init__(self, bridge: Bridge, peer_host: str, peer_port: int, local_port: int,
                 log: Callable[[str], None] = print) -> None:
        self.bridge, self.log = bridge, log
        self.name = f"uplink:{peer_host}:{peer_port}"
        self.peer = (peer_host, peer_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((peer_host, local_port))
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise
        self.sent = self.received = self.dropped = 0

    def deliver(self, frame: bytes) -> None:
        """Send one frame to the peer (a full or refused socket drops it)."""
        try:
            self.sock.sendto(frame, self.peer)
            self.sent += 1
        except OSError:
            self.dropped += 1       # the peer is not there (yet): frames are best effort

    def poll(self) -> int:
        """Forward the datagrams that arrived (at most POLL_BATCH); how many."""
        taken = 0
        for _ in range(POLL_BATCH):
            try:
                data = self.sock.recv(MAX_TX_SIZE + 1)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.dropped += 1   # e.g. ICMP port unreachable reported on the socket
                continue
            if not ETH_HLEN <= len(data) <= MAX_TX_SIZE:
                self.dropped += 1
                continue
            self.received += 1
            taken += 1
            self.bridge.forward(self, data)
        return taken

    def close(self) -> None:
        self.sock.close()
