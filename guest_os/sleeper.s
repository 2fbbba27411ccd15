# sleeper.s: an I/O-like guest.  It sleeps on a timer (SCHEDOP_poll with no ports and an
# absolute timeout, i.e. blocks until a deadline), wakes, does a little work (about
# 20 us), and sleeps again, every PERIOD_NS; after the number of wakes on its command
# line (default 50) it reports how late it ran after each deadline and powers off:
#
#   sleeper: 50 wakes, one every 10 ms
#   sleeper: ran late by 3 us on average, 12 us at worst
#
# Lateness is the wake-to-run latency as the guest sees it: the time of its first
# instruction after the wake minus the deadline.  Under the credit scheduler a waking
# sleeper is boosted and preempts CPU-bound spinners; under round-robin it waits its
# turn behind them.  Deadlines are kept exact (previous + PERIOD_NS), so work and
# lateness do not make it drift.

        .include "runtime.s"

        .equ PERIOD_NS, 10000000      # 10 ms
        .equ WORK_LOOPS, 1000         # ~2 instructions each: ~20 us of work
        .equ DEFAULT_WAKES, 50
        .equ FRAME, 32                # sched_poll at 0(sp), saved registers above

        .text
        .global kmain
# int kmain(start_info *si): 0 after the last wake, 1 if a poll failed.
kmain:
        addi  sp, sp, -FRAME
        sw    ra, 28(sp)
        sw    s0, 24(sp)
        sw    s1, 20(sp)
        sw    s2, 16(sp)
        addi  a0, a0, START_INFO_CMD_LINE
        call  parse_uint
        bgt   a0, zero, 1f
        li    a0, DEFAULT_WAKES
1:      mv    s0, a0                  # wakes left
        mv    s1, a0                  # wakes wanted
        la    a0, msg_wakes
        call  print_str
        mv    a0, s1
        call  print_dec
        la    a0, msg_every
        call  print_line
        call  monotonic_clock
        mv    s2, a0                  # deadline (low word; high word in `deadline_hi`)
        la    t1, deadline_hi
        sw    a1, 0(t1)
2:      call  sleep_until_next        # a0 = 0, or -errno
        bnez  a0, 4f
        call  record_lateness
        li    t1, WORK_LOOPS          # the "work" a wake brings
3:      addi  t1, t1, -1
        bnez  t1, 3b
        addi  s0, s0, -1
        bnez  s0, 2b
        call  report
        li    a0, 0
        j     5f
4:      la    a0, msg_poll_failed
        call  print_line
        li    a0, 1
5:      lw    s2, 16(sp)
        lw    s1, 20(sp)
        lw    s0, 24(sp)
        lw    ra, 28(sp)
        addi  sp, sp, FRAME
        ret

# long sleep_until_next(void): advance the deadline (s2 and deadline_hi) by PERIOD_NS
# and block until it (SCHEDOP_poll, no ports).  Uses the caller's sched_poll at 0(sp).
sleep_until_next:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    t1, PERIOD_NS
        add   t2, s2, t1
        sltu  t1, t2, s2              # carry into the high word
        mv    s2, t2
        la    a2, deadline_hi
        lw    t2, 0(a2)
        add   t2, t2, t1
        sw    t2, 0(a2)
        addi  a1, sp, 8               # the caller's frame: its sched_poll
        sw    zero, SCHED_POLL_PORTS(a1)
        sw    zero, SCHED_POLL_NR_PORTS(a1)
        sw    s2, SCHED_POLL_TIMEOUT(a1)
        sw    t2, SCHED_POLL_TIMEOUT + 4(a1)
        li    a0, SCHEDOP_poll
        call  HYPERVISOR_sched_op
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void record_lateness(void): add now - deadline (s2) to the total; keep the worst.
record_lateness:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        call  monotonic_clock
        sub   a0, a0, s2              # lateness in ns (fits: far below 4 s)
        la    t1, late_total
        lw    t2, 0(t1)
        add   t2, t2, a0
        sw    t2, 0(t1)
        la    t1, late_max
        lw    t2, 0(t1)
        bgeu  t2, a0, 1f
        sw    a0, 0(t1)
1:      lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void report(void): "sleeper: ran late by A us on average, M us at worst" (s1 wakes).
report:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    a0, msg_late
        call  print_str
        la    t1, late_total
        lw    a0, 0(t1)
        li    t1, 1000
        divu  a0, a0, t1
        divu  a0, a0, s1
        call  print_dec
        la    a0, msg_average
        call  print_str
        la    t1, late_max
        lw    a0, 0(t1)
        li    t1, 1000
        divu  a0, a0, t1
        call  print_dec
        la    a0, msg_worst
        call  print_line
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
msg_wakes:         .asciz "sleeper: "
msg_every:         .asciz " wakes, one every 10 ms"
msg_late:          .asciz "sleeper: ran late by "
msg_average:       .asciz " us on average, "
msg_worst:         .asciz " us at worst"
msg_poll_failed:   .asciz "sleeper: SCHEDOP_poll failed"

        .data
        .balign 4
deadline_hi:       .word 0
late_total:        .word 0            # ns, summed over the wakes
late_max:          .word 0            # ns

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "sleeper"
