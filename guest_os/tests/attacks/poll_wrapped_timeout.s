# poll_wrapped_timeout.s (F2): SCHEDOP_poll with no ports and a timeout near 2^64 ns.
# Xen reads the u64 timeout as its signed s_time_t, so a value with bit 63 set lies in
# the past and the poll returns at once.  Before the fix, virtual time jumped to the
# deadline: the credit scheduler's accounting caught up one 30 ms period at a time
# (~10^11 steps: the host hung) and under round robin system_time overflowed 64 bits.
# Contained: both polls return 0 at once and system_time stays a few ms after boot.

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
        beqz  t1, done                # we need the clock
        li    s0, 2                   # timeout 2^64 - 1
        li    a0, 0
        li    a1, 0
        li    a2, ALL_ONES
        li    a3, ALL_ONES
        call  poll_ports
        bnez  a0, done
        li    s0, 3                   # ... and virtual time did not move
        li    a0, 0
        li    a1, SANE_HI
        call  clock_before
        beqz  a0, done
        li    s0, 4                   # timeout 2^63: the first value with bit 63 set
        li    a0, 0
        li    a1, 0
        li    a2, 0
        li    a3, 0x80000000
        call  poll_ports
        bnez  a0, done
        li    s0, 5
        li    a0, 0
        li    a1, SANE_HI
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
name:   .asciz "poll_wrapped_timeout"
