"""End to end: a guest kernel talks to the XenStore daemon through its ring page.

The guest (start_info in a0; the builder maps the store page two pages after it)
copies a WRITE and a READ request into the request ring, publishes req_prod, notifies
store_evtchn, waits for the 40 reply bytes, compares them with the replies it expects
and powers off with exit code 0 (all matched) or the 1-based offset of the first wrong
byte.  dom0 then finds the value through its Python handle.
"""

import pytest

from paravisor.domain import ShutdownReason
from paravisor.isa.interpreter import Interpreter
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.services.xenstore.tree import domain_path

ENGINES = {"interpreter": Interpreter,
           "jit": lambda memory: JitEngine(memory, JitConfig(threshold=1))}

GUEST = """
    .include "paravisor.inc"
    .text
    .global _start
_start:
    mv s0, a0                           # start_info
    li t1, 8192
    add s1, s0, t1                      # the xenstore_domain_interface page
    la a1, reqs
    li a2, 0
    li a3, reqs_end - reqs
1:  beq a2, a3, 2f                      # copy the requests into req[]
    add t1, a1, a2
    lbu t2, 0(t1)
    add t1, s1, a2
    sb t2, XENSTORE_DOMAIN_INTERFACE_REQ(t1)
    addi a2, a2, 1
    j 1b
2:  fence
    sw a2, XENSTORE_DOMAIN_INTERFACE_REQ_PROD(s1)
    lw t1, START_INFO_STORE_EVTCHN(s0)
    la a1, port
    sw t1, 0(a1)
    li a0, EVTCHNOP_send
    li t0, __HYPERVISOR_event_channel_op
    hcall
    li a3, expect_end - expect
3:  lw t1, XENSTORE_DOMAIN_INTERFACE_RSP_PROD(s1)
    bltu t1, a3, 3b                     # the daemon runs when this slice ends
    fence
    la a1, expect
    li a2, 0
    li s2, 0
4:  beq a2, a3, 5f
    add t1, a1, a2
    lbu t2, 0(t1)
    add t1, s1, a2
    lbu t1, XENSTORE_DOMAIN_INTERFACE_RSP(t1)
    addi a2, a2, 1
    beq t1, t2, 4b
    mv s2, a2
5:  sw a3, XENSTORE_DOMAIN_INTERFACE_RSP_CONS(s1)
    la a1, args
    sw s2, 4(a1)
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
    .data
reqs:
    .word XS_WRITE, 1, 0, 19
    .ascii "data/greeting"
    .byte 0
    .ascii "hello"
    .word XS_READ, 2, 0, 14
    .asciz "data/greeting"
reqs_end:
expect:
    .word XS_WRITE, 1, 0, 3
    .asciz "OK"
    .word XS_READ, 2, 0, 5
    .ascii "hello"
expect_end:
    .balign 4
port: .word 0
args: .word SHUTDOWN_poweroff, 0
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_guest_writes_and_reads_back_through_its_ring(xs_host_factory, engine):
    xs = xs_host_factory(engine_factory=ENGINES[engine])
    dom = xs.guest(GUEST)
    xs.hv.unpause(dom)
    xs.hv.run(max_ns=10**9)
    assert dom.shutdown_reason == ShutdownReason.POWEROFF
    assert dom.shutdown_code == 0, f"reply byte {dom.shutdown_code - 1} differs"
    assert xs.daemon.dom0_handle.read(f"{domain_path(dom.domid)}/data/greeting") == b"hello"
    assert xs.daemon.dom0_handle.get_perms(
        f"{domain_path(dom.domid)}/data/greeting") == [f"n{dom.domid}"]


def test_the_guest_notices_a_wrong_reply(xs):
    wrong = GUEST.replace('.ascii "hello"\nexpect_end:', '.ascii "jello"\nexpect_end:')
    dom = xs.guest(wrong)
    xs.hv.unpause(dom)
    xs.hv.run(max_ns=10**9)
    assert dom.shutdown_code == 36                  # the READ payload's first byte
