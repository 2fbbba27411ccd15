# hcall_regs.s (XTF-style): `hcall` keeps the registers docs/abi.md section 2 promises
# to keep -- t0 (still the hypercall number), ra, sp, t1, t2 and s0..s3; only a0..a5
# may change -- for a call that completes at once, one that fails, one that yields the
# pCPU, an unknown number, and long mmuext_op and multicall batches that the hypervisor
# preempts and continues.  A batch is preempted when the caller's time is up (docs/abi.md
# section 5.9); alone on its pCPU the guest has a long slice, so a single-shot timer due
# 100 us into the batch ends its time, and checks 4 and 5 see from a1 that the call was
# continued.  The failing check's number is the exit code.

        .include "runtime.s"
        .include "xtf.s"

        .equ FLUSHES, 1024            # mmuext_op entries: ~1 ms of hypervisor work
        .equ CALLS, 512               # multicall entries: ~1 ms too
        .equ XEN_VERSION, 0x40014     # what XENVER_version answers: 4.20
        .equ NO_SUCH_HYPERCALL, 99
        .equ TIME_UP_NS, 100000       # the timer that ends the batch's time

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    a1, saved_sp
        sw    sp, 0(a1)
        call  fill_batches
        jal   a5, set_kept

        li    a1, 1                   # 1: a call that completes at once
        la    a2, check
        sw    a1, 0(a2)
        li    a0, XENVER_version
        li    a1, 0
        li    t0, __HYPERVISOR_xen_version
        hcall
        li    a1, XEN_VERSION
        bne   a0, a1, fail
        li    a1, __HYPERVISOR_xen_version
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a1, 2                   # 2: a call that fails (an unknown sub-operation)
        la    a2, check
        sw    a1, 0(a2)
        li    a0, 99
        li    a1, 0
        li    t0, __HYPERVISOR_event_channel_op
        hcall
        li    a1, -ENOSYS
        bne   a0, a1, fail
        li    a1, __HYPERVISOR_event_channel_op
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a1, 3                   # 3: a call after which the vCPU is scheduled again
        la    a2, check
        sw    a1, 0(a2)
        li    a0, SCHEDOP_yield
        li    a1, 0
        li    t0, __HYPERVISOR_sched_op
        hcall
        bnez  a0, fail
        li    a1, __HYPERVISOR_sched_op
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a1, 4                   # 4: a batch preempted and continued
        la    a2, check
        sw    a1, 0(a2)
        call  time_up_soon
        jal   a5, set_kept
        la    a0, flushes
        li    a1, FLUSHES
        la    a2, flushes_done
        li    a3, DOMID_SELF
        li    t0, __HYPERVISOR_mmuext_op
        hcall
        bnez  a0, fail
        li    a2, MMU_UPDATE_PREEMPTED
        and   a2, a1, a2
        beqz  a2, fail                # a1 is the count of the last part, marked
        la    a2, flushes_done
        lw    a2, 0(a2)
        li    a3, FLUSHES
        bne   a2, a3, fail
        li    a1, __HYPERVISOR_mmuext_op
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a1, 5                   # 5: a multicall preempted and continued
        la    a2, check
        sw    a1, 0(a2)
        call  time_up_soon
        jal   a5, set_kept
        la    a0, calls
        li    a1, CALLS
        li    t0, __HYPERVISOR_multicall
        hcall
        bnez  a0, fail
        li    a2, CALLS
        beq   a1, a2, fail            # a1 is the count of the last part
        la    a2, calls + (CALLS - 1) * MULTICALL_ENTRY_SIZE
        lw    a2, MULTICALL_ENTRY_RESULT(a2)
        li    a3, XEN_VERSION
        bne   a2, a3, fail
        li    a1, __HYPERVISOR_multicall
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a1, 6                   # 6: a number that is no hypercall
        la    a2, check
        sw    a1, 0(a2)
        li    t0, NO_SUCH_HYPERCALL
        hcall
        li    a1, -ENOSYS
        bne   a0, a1, fail
        li    a1, NO_SUCH_HYPERCALL
        bne   t0, a1, fail
        jal   a5, check_kept

        li    a0, 0
        j     done
fail:   la    a0, check
        lw    a0, 0(a0)
done:   la    a1, saved_sp
        lw    sp, 0(a1)
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# Jumped to with `jal a5`: a value of its own in every register hcall keeps but sp.
set_kept:
        li    ra, 0x1a1a0001
        li    t1, 0x1a1a000a
        li    t2, 0x1a1a000b
        li    s0, 0x1a1a000c
        li    s1, 0x1a1a000d
        li    s2, 0x1a1a000e
        li    s3, 0x1a1a000f
        jr    a5

# Jumped to with `jal a5`: fail unless every register hcall keeps has its value.
check_kept:
        li    a1, 0x1a1a0001
        bne   ra, a1, fail
        li    a1, 0x1a1a000a
        bne   t1, a1, fail
        li    a1, 0x1a1a000b
        bne   t2, a1, fail
        li    a1, 0x1a1a000c
        bne   s0, a1, fail
        li    a1, 0x1a1a000d
        bne   s1, a1, fail
        li    a1, 0x1a1a000e
        bne   s2, a1, fail
        li    a1, 0x1a1a000f
        bne   s3, a1, fail
        la    a1, saved_sp
        lw    a1, 0(a1)
        bne   sp, a1, fail
        jr    a5

# Arm the single-shot timer TIME_UP_NS from now (VIRQ_TIMER is bound to no port: the
# event goes nowhere, but the batch running when it is due is preempted).
time_up_soon:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    a0, TIME_UP_NS
        call  ns_after
        call  HYPERVISOR_set_timer_op
        bnez  a0, fail
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# FLUSHES MMUEXT_TLB_FLUSH_LOCAL ops, and CALLS multicall entries of xen_version.
fill_batches:
        la    a0, flushes
        li    a1, FLUSHES
        li    a2, MMUEXT_TLB_FLUSH_LOCAL
1:      sw    a2, MMUEXT_OP_CMD(a0)
        addi  a0, a0, MMUEXT_OP_SIZE
        addi  a1, a1, -1
        bnez  a1, 1b
        la    a0, calls
        li    a1, CALLS
        li    a2, __HYPERVISOR_xen_version
2:      sw    a2, MULTICALL_ENTRY_OP(a0)
        addi  a0, a0, MULTICALL_ENTRY_SIZE
        addi  a1, a1, -1
        bnez  a1, 2b
        ret

        .rodata
name:   .asciz "hcall_regs"
        .data
        .balign 4
check:  .word 0
saved_sp: .word 0
flushes_done: .word 0
        .bss
        .balign 8
flushes: .space FLUSHES * MMUEXT_OP_SIZE
calls:  .space CALLS * MULTICALL_ENTRY_SIZE
