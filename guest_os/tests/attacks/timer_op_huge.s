# timer_op_huge.s (F2): set_timer_op with deadlines no clock should produce.  Xen's
# do_set_timer_op takes a negative timeout (bit 63 set), or one 2^50 ns (~13 days) or
# more ahead, for a guest's wrapped clock and fires the timer in 100 ms instead.  Before
# the fix the hypervisor armed 2^64 - 1 as it was, and a vCPU waiting for it made
# virtual time jump there (the host hung, or system_time overflowed).
# Contained: each huge deadline fires VIRQ_TIMER after 100 ms, a few ms after boot; a
# huge deadline replaced by a 1 ms one fires at 1 ms.

        .include "runtime.s"
        .include "timer_helpers.s"

        .equ HUGE_DELAY_NS, 100000000 # Xen's stand-in for a huge timeout: 100 ms
        .equ SHORT_NS, 1000000        # 1 ms
        .equ PAST_2_POW_50_HI, 0x40001   # 2^50 + 2^32 ns, as a high word

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
        mv    s1, a0                  # s1: our VIRQ_TIMER port
        li    s0, 2                   # 2^64 - 1 (negative as s_time_t)
        li    a0, HUGE_DELAY_NS
        call  ns_after
        sw    a0, 0(sp)               # not before now + 100 ms
        sw    a1, 4(sp)
        li    a0, ALL_ONES
        li    a1, ALL_ONES
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        li    s0, 3
        call  wait_fired_after_100ms
        bnez  a0, done
        li    s0, 4                   # now + 2^50 + 2^32: too far ahead to be meant
        li    a0, HUGE_DELAY_NS
        call  ns_after
        sw    a0, 0(sp)
        sw    a1, 4(sp)
        call  monotonic_clock
        li    t1, PAST_2_POW_50_HI
        add   a1, a1, t1
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        li    s0, 5
        call  wait_fired_after_100ms
        bnez  a0, done
        li    s0, 6                   # STIME_MAX, then 1 ms: the second one wins
        li    a0, ALL_ONES
        li    a1, STIME_MAX_HI
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        li    a0, HUGE_DELAY_NS / 2
        call  ns_after
        sw    a0, 0(sp)               # it must fire well before this
        sw    a1, 4(sp)
        li    a0, SHORT_NS
        call  ns_after
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        li    s0, 7
        mv    a0, s1
        call  wait_port
        bnez  a0, done
        li    s0, 8
        lw    a0, 0(sp)
        lw    a1, 4(sp)
        call  clock_before
        beqz  a0, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  attack_report
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

# long wait_fired_after_100ms(void): wait for VIRQ_TIMER on s1; 0 if it came no earlier
# than the time at 0(sp) of the caller and system_time is still sane, else 1.
wait_fired_after_100ms:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        mv    a0, s1
        call  wait_port
        bnez  a0, 1f
        lw    a0, 8(sp)
        lw    a1, 12(sp)
        call  clock_before
        bnez  a0, 1f                  # fired early
        li    a0, 0
        li    a1, SANE_HI
        call  clock_before
        beqz  a0, 1f                  # virtual time ran away
        li    a0, 0
        j     2f
1:      li    a0, 1
2:      lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "timer_op_huge"
