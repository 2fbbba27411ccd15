"""The toolstack gives every domain it creates a XenStore home and connection, and the
store forgets the domain when the toolstack destroys it."""

from paravisor.evtchn import ChannelState
from paravisor.hypervisor import Hypervisor
from paravisor.services.console import ConsoleDaemon
from paravisor.testing.host import image_from
from paravisor.toolstack.config import DomainConfig
from paravisor.toolstack.domains import Toolstack

POWER_OFF = """
    .include "paravisor.inc"
    .text
    .global _start
_start:
    la a1, args
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
    .data
args: .word SHUTDOWN_poweroff, 0
"""


def _toolstack(tmp_path):
    kernel = tmp_path / "off.s"
    kernel.write_text(POWER_OFF)
    image_from(POWER_OFF)                              # fails early if it does not build
    hv = Hypervisor(12, strict=True)
    dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)
    toolstack = Toolstack(hv, dom0, ConsoleDaemon(hv, dom0))
    cfg = DomainConfig(name="vm", kernel=str(kernel), path=str(kernel), memory=4,
                       maxmem=4)
    return hv, toolstack, cfg


def test_a_created_domain_has_its_home_and_connection(tmp_path):
    hv, toolstack, cfg = _toolstack(tmp_path)
    dom = toolstack.create(cfg, paused=True)
    h = toolstack.xenstore.dom0_handle
    home = f"/local/domain/{dom.domid}"
    assert h.read(f"{home}/name") == b"vm"
    assert h.read(f"{home}/domid") == str(dom.domid).encode()
    assert h.get_perms(home) == ["n0", f"r{dom.domid}"]
    assert h.get_perms(f"{home}/data") == [f"n{dom.domid}"]
    assert dom.domid in toolstack.xenstore.connections
    status = hv.events.status(dom, dom.domid, dom.xenstore_evtchn)
    assert status["status"] == ChannelState.INTERDOMAIN and status["remote_domid"] == 0

def test_a_destroyed_domain_is_forgotten(tmp_path):
    hv, toolstack, cfg = _toolstack(tmp_path)
    dom = toolstack.create(cfg)
    hv.run(until=lambda: not toolstack.busy(), max_ns=10**9)
    assert dom.dying
    assert not toolstack.xenstore.dom0_handle.exists(f"/local/domain/{dom.domid}")
    assert dom.domid not in toolstack.xenstore.connections

