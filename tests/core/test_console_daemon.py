"""The console daemon drains a guest's PV console ring, and survives a hostile one."""

from paravisor.domain import ShutdownReason
from paravisor.mm.external import holders_of
from paravisor.services.console import ConsoleDaemon

# The console ring page is mapped right after start_info (builder layout).  The guest
# copies its message into `out`, publishes out_prod, notifies, and shuts down.
RING_GUEST = """
    .include "paravisor.inc"
    .text
    .global _start
_start:
    mv s0, a0                       # start_info
    li t1, 4096
    add s1, s0, t1                  # the console ring page
    la a1, msg
    li a2, 0
1:  lbu t1, 0(a1)
    beqz t1, 2f
    add t2, s1, a2
    sb t1, XENCONS_INTERFACE_OUT(t2)
    addi a1, a1, 1
    addi a2, a2, 1
    j 1b
2:  fence
    sw a2, XENCONS_INTERFACE_OUT_PROD(s1)
    lw t1, START_INFO_CONSOLE_DOMU_EVTCHN(s0)
    la a1, port
    sw t1, 0(a1)
    li a0, EVTCHNOP_send
    li t0, __HYPERVISOR_event_channel_op
    hcall
    la a1, args
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
    .data
msg:  .asciz "through the ring\\nsecond line\\n"
    .balign 4
port: .word 0
args: .word SHUTDOWN_poweroff, 0
"""


def _with_console(host, asm):
    dom0 = host.hv.create_domain("Domain-0", domid=0, privileged=True)
    daemon = ConsoleDaemon(host.hv, dom0)
    dom = host.hv.create_domain("ring")
    dom.console_evtchn = host.hv.events.alloc_unbound(dom, dom.domid, 0)
    from paravisor.hypervisor.builder import build_domain
    from paravisor.testing.host import image_from
    build_domain(host.hv, dom, image_from(asm), 2)
    daemon.connect(dom)
    return daemon, dom


def test_output_written_to_the_ring_reaches_the_console(host):
    daemon, dom = _with_console(host, RING_GUEST)
    host.hv.unpause(dom)
    host.hv.run(max_ns=10**8)
    assert dom.shutdown_reason == ShutdownReason.POWEROFF
    daemon.disconnect(dom)
    assert host.output(dom) == ["through the ring", "second line"]


def test_a_ring_index_far_ahead_disconnects_the_console_without_harm(host):
    evil = RING_GUEST.replace("sw a2, XENCONS_INTERFACE_OUT_PROD(s1)",
                              "li a2, 0x7fffffff\n    sw a2, XENCONS_INTERFACE_OUT_PROD(s1)")
    daemon, dom = _with_console(host, evil)
    host.hv.unpause(dom)
    host.hv.run(max_ns=10**8)
    assert dom.shutdown_reason == ShutdownReason.POWEROFF
    assert any("more than a ring ahead" in line for line in host.output(dom))


def test_the_mapping_holds_a_reference_until_disconnected(host):
    daemon, dom = _with_console(host, RING_GUEST)
    assert holders_of(host.hv.mm, dom.console_mfn) == [
        ("xenconsoled d0", dom.domid, dom.console_mfn, True)]
    daemon.disconnect(dom)
    assert holders_of(host.hv.mm, dom.console_mfn) == []
    from paravisor.mm.invariants import verify
    verify(host.hv.mm)
