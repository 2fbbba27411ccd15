"""Traps bounce to the guest's handlers through a bounce frame; iret returns; faults with
no handler, or while bouncing, crash the one domain with a register dump."""

from paravisor.domain import ShutdownReason
from paravisor.isa.table import Vector

PRELUDE = """
    .include "paravisor.inc"
    .text
    .global _start
"""

# Registers a #GP handler that records the frame, skips the faulting instruction and
# returns with iret; then executes a privileged instruction and shuts down with
# code = 100 + (t0 survived the bounce) so the test sees what happened.
GP_GUEST = PRELUDE + """
_start:
    la a0, traps
    li t0, __HYPERVISOR_set_trap_table
    hcall
    li t0, 77              # must survive the bounce (iret restores it)
    mfcr a1, ptbr          # privileged in ring 1: #GP
    li t1, 77
    bne t0, t1, bad
    la a1, shutdown_args
    li a2, 101
    sw a2, 4(a1)
    j finish
bad:
    la a1, shutdown_args
    li a2, 102
    sw a2, 4(a1)
finish:
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
1:  j 1b

gp_handler:
    la t1, seen
    lw t2, BOUNCE_FRAME_VECTOR(sp)
    sw t2, 0(t1)
    lw t2, BOUNCE_FRAME_PC(sp)
    sw t2, 4(t1)
    addi t2, t2, 4         # skip the faulting instruction
    sw t2, BOUNCE_FRAME_PC(sp)
    addi sp, sp, BOUNCE_FRAME_T0
    li t0, __HYPERVISOR_iret
    hcall

    .data
    .balign 4
traps:
    .byte TRAP_VEC_GENERAL_PROTECTION, 1
    .half 0
    .word gp_handler
    .word 0, 0
shutdown_args:
    .word SHUTDOWN_poweroff, 0
    .global seen
seen:
    .word 0, 0
"""


def _symbol(dom, host, name):
    from paravisor.domain.guest_access import read_u32
    return read_u32(host.hv.memory, dom.vcpus[0].cpu, name)


def test_a_privileged_instruction_bounces_gp_to_the_handler_and_iret_resumes(host):
    dom = host.guest(GP_GUEST)
    host.hv.unpause(dom)
    host.hv.run(max_ns=10**8)
    assert dom.shutdown_reason == ShutdownReason.POWEROFF
    assert dom.shutdown_code == 101          # t0 restored by iret, execution resumed


def test_no_handler_crashes_only_that_domain(host):
    faulty = host.guest(PRELUDE + "_start:\n    mtcr ptbr, a0\n", name="faulty")
    other = host.guest(PRELUDE + """
_start:
    la a1, args
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
    .data
args: .word SHUTDOWN_poweroff, 7
""", name="other")
    host.hv.unpause(faulty)
    host.hv.unpause(other)
    host.hv.run(max_ns=10**8)
    assert faulty.shutdown_reason == ShutdownReason.CRASH
    assert "GENERAL_PROTECTION" in faulty.crash_message
    assert "mtcr ptbr, a0" in faulty.crash_message
    assert other.shutdown_reason == ShutdownReason.POWEROFF and other.shutdown_code == 7
    dump = "\n".join(line for _, line in host.console.lines)
    assert "pc=" in dump and "a0=" in dump


def test_a_fault_while_bouncing_crashes_the_domain(host):
    # sp points at the read-only page tables: the bounce frame cannot be written.
    dom = host.guest(PRELUDE + """
_start:
    la a0, traps
    li t0, __HYPERVISOR_set_trap_table
    hcall
    li t1, 0x1000
    mv sp, t1              # page 0 is unmapped
    break
    .data
traps:
    .byte TRAP_VEC_BREAKPOINT, 1
    .half 0
    .word _start
    .word 0, 0
""")
    host.hv.unpause(dom)
    host.hv.run(max_ns=10**8)
    assert dom.shutdown_reason == ShutdownReason.CRASH
    assert "bouncing" in dom.crash_message


def test_break_from_ring_1_reports_the_next_pc(host):
    dom = host.guest(PRELUDE + """
_start:
    la a0, traps
    li t0, __HYPERVISOR_set_trap_table
    hcall
brk:
    break
    li a0, SCHEDOP_shutdown
    la a1, args
    li t0, __HYPERVISOR_sched_op
    hcall
handler:
    lw t1, BOUNCE_FRAME_PC(sp)
    la t2, brk
    sub a2, t1, t2          # 4: the trap's pc is after `break`
    la a1, args
    sw a2, 4(a1)
    addi sp, sp, BOUNCE_FRAME_T0
    li t0, __HYPERVISOR_iret
    hcall
    .data
traps:
    .byte TRAP_VEC_BREAKPOINT, 1
    .half 0
    .word handler
    .word 0, 0
args: .word SHUTDOWN_poweroff, 0
""")
    host.hv.unpause(dom)
    host.hv.run(max_ns=10**8)
    assert dom.shutdown_reason == ShutdownReason.POWEROFF
    assert dom.shutdown_code == 4
    assert Vector.BREAKPOINT == 3
