# spinner.s: a CPU-bound guest, for watching the scheduler share CPU time.  It spins for
# the number of milliseconds of virtual time on its command line (0 or none: forever),
# counting loops, then prints how many it managed and powers off:
#
#   spinner: spinning for 300 ms of virtual time
#   spinner: 1234567 loops
#
# The loop count is proportional to the CPU time the domain got, so spinners with
# different weights (cpu_weight) or caps (cap) print different counts.  It never blocks
# or yields: whatever CPU it is not given, the scheduler took from it.

        .include "runtime.s"

        .equ NS_PER_MS, 1000000

        .text
        .global kmain
# int kmain(start_info *si): 0 when the time is up (never, for "0").
kmain:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        sw    s0, 16(sp)
        sw    s1, 12(sp)
        sw    s2, 8(sp)
        sw    s3, 4(sp)
        addi  a0, a0, START_INFO_CMD_LINE
        call  parse_uint
        bge   a0, zero, 1f
        li    a0, 0                   # no valid number: forever
1:      mv    s1, a0
        la    a0, msg_spinning
        call  print_str
        mv    a0, s1
        call  print_dec
        la    a0, msg_ms
        call  print_line
        li    t1, NS_PER_MS
        mul   a0, s1, t1
        call  ns_after                # a0:a1 = the deadline
        mv    s2, a0
        mv    s3, a1
        li    s0, 0
2:      addi  s0, s0, 1               # one loop: count, read the clock, compare
        beqz  s1, 2b                  # "0": spin forever
        call  monotonic_clock
        bltu  a1, s3, 2b              # high word below the deadline's: not yet
        bne   a1, s3, 3f
        bltu  a0, s2, 2b
3:      la    a0, msg_loops
        call  print_str
        mv    a0, s0
        call  print_dec
        la    a0, msg_loops_tail
        call  print_line
        li    a0, 0
        lw    s3, 4(sp)
        lw    s2, 8(sp)
        lw    s1, 12(sp)
        lw    s0, 16(sp)
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

        .rodata
msg_spinning:      .asciz "spinner: spinning for "
msg_ms:            .asciz " ms of virtual time"
msg_loops:         .asciz "spinner: "
msg_loops_tail:    .asciz " loops"

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "spinner"
