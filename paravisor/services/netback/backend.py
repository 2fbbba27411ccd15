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

from paravisor.services.backend import BackendService
from paravisor.services.netback.bridge import BridgeSetting, Switch
from paravisor.services.netback.nodes import BACKEND_ROOT
from paravisor.services.netback.vif import Vif

if TYPE_CHECKING:
    from paravisor.domain import Domain
    from paravisor.hypervisor import Hypervisor
    from paravisor.services.xenstore.daemon import XenStoreDaemon


class Netback(BackendService[Vif]):
    """The network backend daemon: one Vif per device directory under backend/vif."""

    ROOT, NAME, DEVICE = BACKEND_ROOT, "netback", Vif

    def __init__(self, hv: Hypervisor, dom0: Domain, xenstore: XenStoreDaemon,
                 bridges: Iterable[BridgeSetting] = ()) -> None:
        # The switch first: the backend watch fires at once and vifs plug into it.
        self.switch = Switch(lambda: hv.now, tuple(bridges), log=hv.log)
        super().__init__(hv, dom0, xenstore)
        if any(setting.uplink is not None for setting in self.switch.settings.values()):
            hv.pollers.append(self.poll)     # frames from the peer host, as they come

    def poll(self) -> int:
        """Take frames that arrived on uplinks (see uplink.py); how many."""
        return self.switch.poll()

    def close(self) -> None:
        """Close every vif, then the bridges (captures, uplinks)."""
        super().close()
        self.switch.close()
