"""netback: vif nodes, the network backend, software learning bridges, pcap, UDP uplinks.

    Netback(hv, dom0, xenstore, bridges=())    the dom0 service (backend.py)
    write_vif_nodes(xs, domid, vif_spec)       the toolstack's part (nodes.py)
    Bridge, BridgeSetting, Switch              learning bridges (bridge.py)
    PcapWriter, read_pcap                      capture files (pcap.py)
"""

from paravisor.services.netback.backend import Netback
from paravisor.services.netback.bridge import Bridge, BridgeSetting, Switch
from paravisor.services.netback.nodes import backend_path, frontend_path, write_vif_nodes
from paravisor.services.netback.pcap import PcapWriter, read_pcap

__all__ = ["Bridge", "BridgeSetting", "Netback", "PcapWriter", "Switch", "backend_path",
           "frontend_path", "read_pcap", "write_vif_nodes"]
