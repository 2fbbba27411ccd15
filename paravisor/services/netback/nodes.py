"""XenStore layout of a vif: the paths and the toolstack's part (libxl's device_nic_add).

Backend  /local/domain/0/backend/vif/<domid>/<devid>/   owned by dom0, readable by the guest
    frontend, frontend-id, online = 1, state = 1, script, mac, bridge, handle = devid,
    type = vif; and when set in the vif spec: ip, rate ("<bytes per interval>,<interval
    us>", as libxl writes it), pcap (a paravisor extension: the capture file's path).
Frontend /local/domain/<domid>/device/vif/<devid>/      owned by the guest, readable by dom0
    backend, backend-id = 0, handle = devid, mac, state = 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paravisor.abi.consts import XenbusState

if TYPE_CHECKING:
    from paravisor.services.xenstore.client import XsHandle
    from paravisor.toolstack.devices import VifSpec

BACKEND_ROOT = "/local/domain/0/backend/vif"
DEFAULT_SCRIPT = "vif-bridge"          # libxl's default hotplug script name


def backend_path(domid: int, devid: int) -> str:
    return f"{BACKEND_ROOT}/{domid}/{devid}"


def frontend_path(domid: int, devid: int) -> str:
    return f"/local/domain/{domid}/device/vif/{devid}"


def write_vif_nodes(xs: XsHandle, domid: int, vif: VifSpec) -> None:
    """Write both directories of `vif` for domain `domid` in one transaction (retried
    while it conflicts), the backend's state last, so netback sees a whole directory."""
    back, front = backend_path(domid, vif.devid), frontend_path(domid, vif.devid)
    initialising = int(XenbusState.XenbusStateInitialising)
    optional = [("ip", vif.ip), ("pcap", vif.pcap)]
    if vif.rate is not None:
        optional.append(("rate", f"{vif.rate.bytes_per_interval},{vif.rate.interval_us}"))
    while True:
        tx = xs.transaction_start()
        xs.write(front, b"", tx)
        xs.set_perms(front, [f"n{domid}", "r0"], tx)
        for key, value in (("backend", back), ("backend-id", 0), ("handle", vif.devid),
                           ("mac", vif.mac), ("state", initialising)):
            xs.write(f"{front}/{key}", value, tx)
        xs.write(back, b"", tx)
        xs.set_perms(back, ["n0", f"r{domid}"], tx)
        for key, value in (("frontend", front), ("frontend-id", domid), ("online", 1),
                           ("script", vif.script or DEFAULT_SCRIPT), ("mac", vif.mac),
                           ("bridge", vif.bridge), ("handle", vif.devid), ("type", "vif"),
                           *((k, v) for k, v in optional if v is not None),
                           ("state", initialising)):
            xs.write(f"{back}/{key}", value, tx)
        if xs.transaction_end(tx):
            return
