# poll_far_future.s (F2): SCHEDOP_poll with no ports and the farthest timeout Xen can
# represent, STIME_MAX = 2^63 - 1 ns (292 years), with nothing else to run.  The host
# jumps virtual time straight to it, which must cost a bounded number of steps: before
# the fix the credit scheduler's accounting caught up one 30 ms period at a time (~3 x
# 10^11 steps, the host hung).  Run it with a time limit past STIME_MAX to see the guest
# wake; under the usual limit the run must simply stop there, quickly.
# Contained: the poll returns 0 no earlier than the timeout, and system_time is just
# past STIME_MAX (it did not wrap).

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
        li    s0, 2
        li    a0, 0
        li    a1, 0
        li    a2, ALL_ONES
        li    a3, STIME_MAX_HI
        call  poll_ports
        bnez  a0, done
        li    s0, 3                   # not woken early
        li    a0, ALL_ONES
        li    a1, STIME_MAX_HI
        call  clock_before
        bnez  a0, done
        li    s0, 4                   # within 4 s past the end of time: no wrap
        li    a0, 0
        li    a1, STIME_MAX_HI + 2
        call  clock_before
        beqz  a0, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  attack_report
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .rodata
name:   .asciz "poll_far_future"
