# singleshot_huge.s (F2): VCPUOP_set_singleshot_timer with timeout_abs_ns = 2^64 - 1.
# Xen reads it as s_time_t: negative, in the past, so the timer fires at once; with
# VCPU_SSHOTTMR_future too (Xen compares the raw u64 with NOW(), finds it not in the
# past, and arms the negative time).  Before the fix the hypervisor armed it as it was
# and a vCPU waiting for it made virtual time jump to 2^64 - 1.
# Contained: both fire at once; a STIME_MAX timer replaced by a 1 ms one fires at 1 ms;
# system_time stays a few ms after boot.

        .include "runtime.s"
        .include "timer_helpers.s"

        .equ SHORT_NS, 1000000        # 1 ms
        .equ SOON_NS, 50000000        # 50 ms

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
        li    s0, 2                   # 2^64 - 1, no flags
        li    a0, ALL_ONES
        li    a1, ALL_ONES
        li    a2, 0
        call  singleshot
        bnez  a0, done
        li    s0, 3
        call  wait_sane
        bnez  a0, done
        li    s0, 4                   # 2^64 - 1, VCPU_SSHOTTMR_future
        li    a0, ALL_ONES
        li    a1, ALL_ONES
        li    a2, VCPU_SSHOTTMR_future
        call  singleshot
        bnez  a0, done
        li    s0, 5
        call  wait_sane
        bnez  a0, done
        li    s0, 6                   # STIME_MAX, then 1 ms: the second one wins
        li    a0, ALL_ONES
        li    a1, STIME_MAX_HI
        li    a2, 0
        call  singleshot
        bnez  a0, done
        li    a0, SOON_NS
        call  ns_after
        sw    a0, 0(sp)
        sw    a1, 4(sp)
        li    a0, SHORT_NS
        call  ns_after
        li    a2, 0
        call  singleshot
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

# long wait_sane(void): wait for VIRQ_TIMER on s1; 0 if system_time is still sane.
wait_sane:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        mv    a0, s1
        call  wait_port
        bnez  a0, 1f
        li    a0, 0
        li    a1, SANE_HI
        call  clock_before
        beqz  a0, 1f
        li    a0, 0
        j     2f
1:      li    a0, 1
2:      lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "singleshot_huge"
