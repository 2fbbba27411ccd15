# periodic_huge.s (F2): VCPUOP_set_periodic_timer with the longest period Xen accepts,
# STIME_DELTA_MAX = 2^62 - 1 ns (146 years); longer ones are -EINVAL.  Waiting for the
# first tick jumps virtual time 146 years, which must cost a bounded number of steps
# (before the fix the credit accounting caught up one 30 ms period at a time: the host
# hung).  The second tick would fall past STIME_MAX, where no timer is armed, so the
# guest waits for it with STIME_MAX as its poll timeout.  Run it with a time limit past
# STIME_MAX.
# Contained: the periods past STIME_DELTA_MAX are refused; the first tick comes no
# earlier than 2^62 - 1 ns; the poll ends at STIME_MAX without a tick; system_time is
# just past STIME_MAX (it did not wrap).

        .include "runtime.s"
        .include "timer_helpers.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        li    s0, 1
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, done
        li    a0, VIRQ_TIMER
        call  bind_virq
        ble   a0, zero, done
        mv    s1, a0
        sw    a0, 0(sp)               # ports[0] for the last poll
        li    s0, 2                   # 2^62: one past STIME_DELTA_MAX
        li    a0, 0
        li    a1, STIME_DELTA_MAX_HI + 1
        call  periodic
        li    t1, -EINVAL
        bne   a0, t1, done
        li    s0, 3                   # 2^64 - 1
        li    a0, ALL_ONES
        li    a1, ALL_ONES
        call  periodic
        li    t1, -EINVAL
        bne   a0, t1, done
        li    s0, 4                   # STIME_DELTA_MAX
        li    a0, ALL_ONES
        li    a1, STIME_DELTA_MAX_HI
        call  periodic
        bnez  a0, done
        li    s0, 5
        mv    a0, s1
        call  wait_port
        bnez  a0, done
        li    s0, 6                   # the first tick, not early
        li    a0, ALL_ONES
        li    a1, STIME_DELTA_MAX_HI
        call  clock_before
        bnez  a0, done
        li    s0, 7                   # the next tick lies past the end of time
        addi  a0, sp, 0
        li    a1, 1
        li    a2, ALL_ONES
        li    a3, STIME_MAX_HI
        call  poll_ports
        bnez  a0, done
        li    s0, 8
        mv    a0, s1
        call  port_pending
        bnez  a0, done
        li    s0, 9                   # woke at STIME_MAX, without wrapping
        li    a0, ALL_ONES
        li    a1, STIME_MAX_HI
        call  clock_before
        bnez  a0, done
        li    a0, 0
        li    a1, STIME_MAX_HI + 2
        call  clock_before
        beqz  a0, done
        li    s0, 10
        li    a0, VCPUOP_stop_periodic_timer
        li    a1, 0
        li    a2, 0
        call  HYPERVISOR_vcpu_op
        bnez  a0, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  attack_report
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .rodata
name:   .asciz "periodic_huge"
