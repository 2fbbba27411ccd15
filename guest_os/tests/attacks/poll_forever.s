# poll_forever.s (F2): SCHEDOP_poll with no ports and no timeout: the vCPU waits for
# nothing, forever.  The guest cannot observe its own containment; the host must see
# that every vCPU is blocked with no timer pending and end the run at once (`paravisor
# run` says "guest blocked forever"), not spin or jump time.  If the poll ever returns
# the kernel reports check 1.

        .include "runtime.s"
        .include "timer_helpers.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        li    a0, 0
        li    a1, 0
        li    a2, 0
        li    a3, 0
        call  poll_ports
        li    a0, 1                   # woke from a wait for nothing
        la    a1, name
        call  attack_report
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .rodata
name:   .asciz "poll_forever"
