# ticker.s: timer events.  Binds VIRQ_TIMER, arms a one-shot timer every TICK_NS of
# virtual time with set_timer_op, blocks between ticks (SCHEDOP_block), and prints
#
#   tick 1 at 10000000 ns
#
# per tick; after N ticks (5, or the number on the command line) it powers off.
# Deadlines are kept exact (previous deadline + TICK_NS), so the ticks do not drift
# however long the handler takes.

        .include "runtime.s"

        .equ TICK_NS, 10000000        # 10 ms of virtual time
        .equ DEFAULT_TICKS, 5

        .text
        .global kmain
# int kmain(start_info *si): 0 after the last tick; 1 if events could not be set up.
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        addi  a0, a0, START_INFO_CMD_LINE
        call  parse_uint
        bgt   a0, zero, 1f
        li    a0, DEFAULT_TICKS       # no (or no valid) count on the command line
1:      la    t1, ticks_wanted
        sw    a0, 0(t1)
        call  ticker_setup
        bnez  a0, 3f
        call  local_irq_disable
2:      la    t1, ticks_seen          # check and block with events masked: block
        lw    t2, 0(t1)               # unmasks atomically, so no tick slips between
        la    t1, ticks_wanted
        lw    t1, 0(t1)
        bgeu  t2, t1, 4f
        call  HYPERVISOR_block        # the upcall runs when we are woken
        call  local_irq_disable
        j     2b
3:      la    a0, msg_setup_failed
        call  print_line
        li    a0, 1
        j     5f
4:      la    a0, msg_done
        call  print_line
        li    a0, 0
5:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# long ticker_setup(void): event callback, VIRQ_TIMER bound and unmasked, first
# deadline armed; 0 or -errno.
ticker_setup:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        call  events_init
        bnez  a0, 1f
        li    a0, VIRQ_TIMER
        call  bind_virq
        blt   a0, zero, 1f
        sw    a0, 0(sp)
        la    a1, timer_handler
        call  bind_evtchn
        lw    a0, 0(sp)
        call  unmask_evtchn
        bnez  a0, 1f
        li    a0, TICK_NS
        call  ns_after
        la    t1, next_deadline
        sw    a0, 0(t1)
        sw    a1, 4(t1)
        call  HYPERVISOR_set_timer_op
1:      lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void timer_handler(u32 port, bounce_frame *frame): one tick.
timer_handler:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        la    s0, ticks_seen
        lw    t1, 0(s0)
        addi  t1, t1, 1
        sw    t1, 0(s0)
        la    a0, msg_tick
        call  print_str
        lw    a0, 0(s0)
        call  print_dec
        la    a0, msg_at
        call  print_str
        call  monotonic_clock
        call  print_u64
        la    a0, msg_ns
        call  print_line
        lw    t1, 0(s0)               # re-arm unless that was the last tick
        la    t2, ticks_wanted
        lw    t2, 0(t2)
        bgeu  t1, t2, 1f
        la    t1, next_deadline
        lw    a0, 0(t1)
        lw    a1, 4(t1)
        li    t2, TICK_NS
        add   t2, a0, t2
        sltu  a2, t2, a0
        add   a1, a1, a2
        mv    a0, t2
        sw    a0, 0(t1)
        sw    a1, 4(t1)
        call  HYPERVISOR_set_timer_op
1:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
msg_tick:          .asciz "tick "
msg_at:            .asciz " at "
msg_ns:            .asciz " ns"
msg_done:          .asciz "ticker: done"
msg_setup_failed:  .asciz "ticker: cannot set up the timer event"

        .data
        .balign 8
next_deadline:     .word 0, 0         # absolute ns, low word first
ticks_wanted:      .word 0
ticks_seen:        .word 0

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "ticker"
