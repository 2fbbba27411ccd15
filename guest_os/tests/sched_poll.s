# sched_poll.s (XTF-style): SCHEDOP_poll on a port nobody signals, with a timeout 1 ms
# ahead, returns 0 once the timeout has passed; polling a port that is already pending
# returns at once.

        .include "runtime.s"
        .include "xtf.s"

        .equ DELAY_NS, 1000000

        .text
        .global kmain
kmain:
        addi  sp, sp, -32
        sw    ra, 28(sp)
        li    s0, 1
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, done                # we need the clock
        li    s0, 2
        li    a0, DOMID_SELF
        call  evtchn_alloc_unbound    # a quiet port of our own
        ble   a0, zero, done
        sw    a0, 16(sp)              # ports[0]
        li    a0, DELAY_NS
        call  ns_after
        sw    a0, SCHED_POLL_TIMEOUT(sp)
        sw    a1, SCHED_POLL_TIMEOUT + 4(sp)
        addi  t1, sp, 16
        sw    t1, SCHED_POLL_PORTS(sp)
        li    t1, 1
        sw    t1, SCHED_POLL_NR_PORTS(sp)
        li    s0, 3
        li    a0, SCHEDOP_poll
        mv    a1, sp
        call  HYPERVISOR_sched_op
        bnez  a0, done
        li    s0, 4
        call  monotonic_clock
        lw    t1, SCHED_POLL_TIMEOUT(sp)
        bltu  a0, t1, done            # woke before the timeout
        li    s0, 5                   # a port that is pending: no sleep at all
        li    a0, DOMID_SELF
        lw    a1, 16(sp)
        call  evtchn_bind_interdomain # the new local port starts pending
        ble   a0, zero, done
        sw    a0, 16(sp)
        sw    zero, SCHED_POLL_TIMEOUT(sp)
        sw    zero, SCHED_POLL_TIMEOUT + 4(sp)
        li    a0, SCHEDOP_poll
        mv    a1, sp
        call  HYPERVISOR_sched_op
        bnez  a0, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 28(sp)
        addi  sp, sp, 32
        ret

        .rodata
name:   .asciz "sched_poll"
