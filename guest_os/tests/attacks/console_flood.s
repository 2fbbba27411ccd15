# console_flood.s: a guest that tries to exhaust the host's memory through its console.
# It floods console_io with 4 MiB (2 MiB of short lines, then 2 MiB of one endless line),
# then pushes 192 KiB through its PV console ring (96 KiB of lines, 96 KiB without a
# newline), waiting a millisecond whenever the ring is full.
#
# Contained means: every console_io write still returns 0 (over budget the hypervisor
# drops, it does not fail); every ring byte is taken by the console daemon (nothing is
# lost) but no faster than its budget of 60 KiB per 200 ms of virtual time lets it, so
# the ring flood lasts at least THROTTLED_NS.  The host side checks the rest: what
# reaches the console is bounded and the host exits normally.  Exit code: 0, or the
# number of the check that failed.

        .include "runtime.s"

        .equ IO_CHUNK, 65536            # CONSOLEIO_MAX_WRITE: the most one call may write
        .equ IO_WRITES, 32              # per pattern: 2 MiB
        .equ RING_BYTES, 98304          # per pattern: 96 KiB through the ring
        .equ NAP_NS, 1000000            # 1 ms: the wait when the ring is full
        .equ DRAIN_NAPS, 1000           # how long to wait for the daemon to empty the ring
        .equ THROTTLED_NS, 400000000    # 192 KiB at 60 KiB per 200 ms takes >= 600 ms
        .equ QUIET_NS, 250000000        # a console_io period of silence before the verdict

        .text
        .global kmain
kmain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        sw    s1, 4(sp)
        li    s0, 1                   # a clock and a quiet port to nap on
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, report
        li    a0, DOMID_SELF
        call  evtchn_alloc_unbound
        ble   a0, zero, report
        la    t1, quiet_port
        sw    a0, 0(t1)
        li    s0, 2                   # console_io: a newline every 80 bytes
        la    a0, io_buf
        li    a1, IO_CHUNK
        li    a2, 80
        call  fill
        li    a0, IO_WRITES
        call  io_flood
        bnez  a0, report
        li    s0, 3                   # console_io: one endless line
        la    a0, io_buf
        li    a1, IO_CHUNK
        li    a2, 0
        call  fill
        li    a0, IO_WRITES
        call  io_flood
        bnez  a0, report
        li    s0, 4
        call  console_init
        bnez  a0, report
        call  monotonic_clock
        mv    s1, a0                  # low word: the flood lasts well under 4 s
        li    s0, 5                   # the ring: a newline every 64 bytes
        la    a0, ring_buf
        li    a1, XENCONS_OUT_SIZE
        li    a2, 64
        call  fill
        la    a0, ring_buf
        li    a1, RING_BYTES
        call  ring_push
        bnez  a0, report
        li    s0, 6                   # the ring: one endless line
        la    a0, ring_buf
        li    a1, XENCONS_OUT_SIZE
        li    a2, 0
        call  fill
        la    a0, ring_buf
        li    a1, RING_BYTES
        call  ring_push
        bnez  a0, report
        li    s0, 7                   # the daemon took every byte: nothing was lost
        call  ring_wait_empty
        bnez  a0, report
        li    s0, 8                   # ... and no faster than its budget allows
        call  monotonic_clock
        sub   a0, a0, s1
        li    t1, THROTTLED_NS
        bltu  a0, t1, report
        li    s0, 0
report: li    a0, QUIET_NS
        call  nap
        li    a0, '\n'                # the ring flood left a line open
        call  print_char
        la    a0, name
        call  print_str
        bnez  s0, 1f
        la    a0, msg_contained
        call  print_line
        j     2f
1:      la    a0, msg_breach
        call  print_str
        mv    a0, s0
        call  print_dec
        la    a0, msg_close
        call  print_line
2:      mv    a0, s0
        lw    s1, 4(sp)
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

# void fill(char *buf, u32 len, u32 every): letters, with a newline as every `every`th
# byte (never when every is 0).
fill:
        li    t1, 0                   # index
        li    t2, 0                   # column
1:      beq   t1, a1, 3f
        add   a3, a0, t1
        addi  t1, t1, 1
        beqz  a2, 2f
        addi  t2, t2, 1
        bne   t2, a2, 2f
        li    a5, '\n'
        sb    a5, 0(a3)
        li    t2, 0
        j     1b
2:      andi  a5, t1, 15
        addi  a5, a5, 'a'
        sb    a5, 0(a3)
        j     1b
3:      ret

# long io_flood(u32 writes): that many console_io writes of io_buf; 0, or the first
# non-zero result.
io_flood:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, a0
1:      li    a0, 0
        beqz  s0, 2f
        la    a0, io_buf
        li    a1, IO_CHUNK
        call  console_write
        bnez  a0, 2f
        addi  s0, s0, -1
        j     1b
2:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# long ring_push(const char *buf, u32 total): queue `total` bytes from buf (a ring's
# worth at a time) on the console ring, napping while it is full; 0 or -errno.
ring_push:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        sw    s1, 4(sp)
        mv    s0, a0
        mv    s1, a1
1:      li    a0, 0
        beqz  s1, 3f
        mv    a0, s0
        mv    a1, s1
        li    t1, XENCONS_OUT_SIZE
        bgeu  t1, a1, 2f
        mv    a1, t1
2:      call  xencons_write
        blt   a0, zero, 3f
        sub   s1, s1, a0
        bnez  a0, 1b
        li    a0, NAP_NS              # full: the daemon has not drained it yet
        call  nap
        j     1b
3:      lw    s1, 4(sp)
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

# long ring_wait_empty(void): 0 once out_cons has caught up with out_prod, -1 if it
# has not after DRAIN_NAPS naps.
ring_wait_empty:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        li    s0, DRAIN_NAPS
1:      la    t1, xencons_ring
        lw    t1, 0(t1)
        lw    t2, XENCONS_INTERFACE_OUT_CONS(t1)
        lw    t1, XENCONS_INTERFACE_OUT_PROD(t1)
        li    a0, 0
        beq   t1, t2, 2f
        li    a0, -1
        beqz  s0, 2f
        addi  s0, s0, -1
        li    a0, NAP_NS
        call  nap
        j     1b
2:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# long nap(u32 ns): SCHEDOP_poll on our quiet port with a timeout `ns` from now.
nap:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        call  ns_after
        sw    a0, SCHED_POLL_TIMEOUT(sp)
        sw    a1, SCHED_POLL_TIMEOUT + 4(sp)
        la    t1, quiet_port
        sw    t1, SCHED_POLL_PORTS(sp)
        li    t1, 1
        sw    t1, SCHED_POLL_NR_PORTS(sp)
        li    a0, SCHEDOP_poll
        mv    a1, sp
        call  HYPERVISOR_sched_op
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

        .rodata
name:           .asciz "console_flood"
msg_contained:  .asciz ": CONTAINED"
msg_breach:     .asciz ": BREACHED (check "
msg_close:      .asciz ")"

        .data
        .balign 4
quiet_port:     .word 0

        .bss
        .balign 4
io_buf:         .space IO_CHUNK
ring_buf:       .space XENCONS_OUT_SIZE
