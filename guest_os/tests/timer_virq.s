# timer_virq.s (XTF-style): set_timer_op(now + 1 ms) makes VIRQ_TIMER arrive, not
# before the deadline, while the vCPU blocks; set_timer_op(0) cancels a timer.

        .include "runtime.s"
        .include "xtf.s"

        .equ DELAY_NS, 1000000

        .text
        .global kmain
kmain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        li    s0, 1
        call  events_init
        bnez  a0, done
        li    s0, 2
        li    a0, VIRQ_TIMER
        call  bind_virq
        ble   a0, zero, done
        mv    s1, a0
        la    a1, on_timer
        call  bind_evtchn
        mv    a0, s1
        call  unmask_evtchn
        li    s0, 3
        li    a0, DELAY_NS
        call  ns_after
        sw    a0, 0(sp)               # the deadline, low word (the test is < 4 s)
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        call  local_irq_disable
1:      la    t1, fired               # block until the handler ran
        lw    t1, 0(t1)
        bnez  t1, 2f
        call  HYPERVISOR_block
        call  local_irq_disable
        j     1b
2:      call  local_irq_enable
        li    s0, 4
        la    t1, fired_at
        lw    t1, 0(t1)
        lw    t2, 0(sp)
        bltu  t1, t2, done            # it fired early
        li    s0, 5
        li    a0, 0                   # cancelling is fine too
        li    a1, 0
        call  HYPERVISOR_set_timer_op
        bnez  a0, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

on_timer:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        call  monotonic_clock
        la    t1, fired_at
        sw    a0, 0(t1)
        la    t1, fired
        li    t2, 1
        sw    t2, 0(t1)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "timer_virq"
        .data
        .balign 4
fired:    .word 0
fired_at: .word 0
