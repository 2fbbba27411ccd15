"""netback: the network split driver's backend, a dom0 service (started by the toolstack).

It watches /local/domain/0/backend/vif; each new vif directory (state Initialising)
gets a `Vif` (paravisor/services/netback/vif.py) that does the handshake and moves
frames between the guest's rings and its bridge.  Bridges are the host's `Switch`:
software learning bridges by name, with the host config's `bridges` settings (pcap,
UDP uplink).  When a domain dies its vifs are dropped (rings unmapped, port closed,
unplugged) and its backend/vif/<domid> directory removed, as blkback does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from paravisor.hypercalls.abi_consts import XenbusState
from paravisor.services.netback.bridge import BridgeSetting, Switch
from paravisor.services.netback.nodes import BACKEND_ROOT, backend_path
from paravisor.services.netback.vif import Vif, read_int
from paravisor.services.xenstore.tree import XenStoreError

if TYPE_CHECKING:
    from paravisor.domain import Domain
    from paravisor.hypervisor import Hypervisor
    from paravisor.services.xenstore.daemon import XenStoreDaemon


class Netback:
    """The network backend daemon: one Vif per device directory under backend/vif."""

    def __init__(self, hv: Hypervisor, dom0: Domain, xenstore: XenStoreDaemon,
                 bridges: Iterable[BridgeSetting] = ()) -> None:
        self.hv, self.dom0 = hv, dom0
        self.xs = xenstore.handle()
        self.switch = Switch(lambda: hv.now, tuple(bridges), log=hv.log)
        self.devices: dict[tuple[int, int], Vif] = {}
        self.xs.mkdir(BACKEND_ROOT)
        self.xs.watch(BACKEND_ROOT, "netback", self.on_backend)
        hv.listeners.append(self._domain_changed)
        if any(setting.uplink is not None for setting in self.switch.settings.values()):
            hv.pollers.append(self.poll)     # frames from the peer host, as they come

    def on_backend(self, path: str, _token: str) -> None:
        """A change under backend/vif: start new vifs, close removed ones."""
        parts = path[len(BACKEND_ROOT):].strip("/").split("/")
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
            self._reap()
            return
        key = (int(parts[0]), int(parts[1]))
        if not self.xs.exists(backend_path(*key)):
            self._drop(key)
        elif key not in self.devices and read_int(
                self.xs, f"{backend_path(*key)}/state") == XenbusState.XenbusStateInitialising:
            vif = self.devices[key] = Vif(self, *key)
            vif.start()

    def poll(self) -> int:
        """Take frames that arrived on uplinks (see uplink.py); how many."""
        return self.switch.poll()

    def _reap(self) -> None:
        for key in list(self.devices):
            if not self.xs.exists(backend_path(*key)):
                self._drop(key)

    def _drop(self, key: tuple[int, int]) -> None:
        vif = self.devices.pop(key, None)
        if vif is not None:
            vif.close()

    def _domain_changed(self, dom: Domain) -> None:
        if not dom.dying:
            return
        for key in [k for k in self.devices if k[0] == dom.domid]:
            self._drop(key)
        try:
            self.xs.rm(f"{BACKEND_ROOT}/{dom.domid}")
        except XenStoreError:
            pass        # no vifs were ever written for it

    def close(self) -> None:
        for key in list(self.devices):
            self._drop(key)
        self.switch.close()
