# timer_helpers.s: what the timer attacks (F2: a guest hangs or crashes the host through
# its timers) share.  Include it after runtime.s.  Every helper works on vCPU 0 with
# event upcalls masked (as at boot): a timer's VIRQ_TIMER is waited for by polling its
# port, so no event callback is needed.
#
#   attack_report(code, name) -> code   prints "NAME: CONTAINED" (code 0) or
#                                       "NAME: BREACHED (check N)"
#   poll_ports(ports, nr, lo, hi) -> rc SCHEDOP_poll {ports, nr_ports, timeout = hi:lo}
#   wait_port(port) -> rc               poll `port` alone with no timeout, then clear its
#                                       pending bit
#   port_pending(port) -> 0/1
#   clock_before(lo, hi) -> 0/1         whether system_time < hi:lo (unsigned 64-bit)
#   singleshot(lo, hi, flags) -> rc     VCPUOP_set_singleshot_timer on vCPU 0
#   periodic(lo, hi) -> rc              VCPUOP_set_periodic_timer on vCPU 0, period hi:lo
#
# Time values the attacks use (Xen's s_time_t is a signed 64-bit count of ns):
        .equ STIME_MAX_HI, 0x7FFFFFFF  # STIME_MAX = 2^63 - 1: the end of time
        .equ STIME_DELTA_MAX_HI, 0x3FFFFFFF   # STIME_DELTA_MAX = 2^62 - 1
        .equ ALL_ONES, 0xFFFFFFFF      # low word of both, and both words of 2^64 - 1
        .equ SANE_HI, 1                # "sane" right after boot: below 2^32 ns (4.3 s)

        .text
        .global attack_report
attack_report:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        mv    s0, a0
        mv    a0, a1
        call  print_str
        bnez  s0, 1f
        la    a0, msg_contained
        call  print_line
        j     2f
1:      la    a0, msg_breached
        call  print_str
        mv    a0, s0
        call  print_dec
        la    a0, msg_close
        call  print_line
2:      mv    a0, s0
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global poll_ports
poll_ports:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        sw    a0, SCHED_POLL_PORTS(sp)
        sw    a1, SCHED_POLL_NR_PORTS(sp)
        sw    a2, SCHED_POLL_TIMEOUT(sp)
        sw    a3, SCHED_POLL_TIMEOUT + 4(sp)
        li    a0, SCHEDOP_poll
        mv    a1, sp
        call  HYPERVISOR_sched_op
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

        .global wait_port
wait_port:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    a0, 0(sp)               # ports[0]
        mv    a0, sp
        li    a1, 1
        li    a2, 0
        li    a3, 0
        call  poll_ports
        sw    a0, 4(sp)
        lw    a0, 0(sp)
        call  pending_word            # a0 = &evtchn_pending[port / 32], a1 = its bit
        call  atomic_clear_bits
        lw    a0, 4(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global port_pending
port_pending:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        call  pending_word
        lw    t1, 0(a0)
        and   t1, t1, a1
        sltu  a0, zero, t1
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# (a0 = the address of port a0's word in shared_info.evtchn_pending, a1 = its bit)
pending_word:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        srli  t2, a0, 5
        slli  t2, t2, 2
        add   t1, t1, t2
        andi  a0, a0, 31
        li    a1, 1
        sll   a1, a1, a0
        addi  a0, t1, SHARED_INFO_EVTCHN_PENDING
        ret

        .global clock_before
clock_before:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    a0, 0(sp)
        sw    a1, 4(sp)
        call  monotonic_clock         # a0 = low word, a1 = high word
        lw    t1, 0(sp)
        lw    t2, 4(sp)
        bltu  a1, t2, 1f
        bne   a1, t2, 2f
        bltu  a0, t1, 1f
2:      li    a0, 0
        j     3f
1:      li    a0, 1
3:      lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global singleshot
singleshot:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        sw    a0, VCPU_SET_SINGLESHOT_TIMER_TIMEOUT_ABS_NS(sp)
        sw    a1, VCPU_SET_SINGLESHOT_TIMER_TIMEOUT_ABS_NS + 4(sp)
        sw    a2, VCPU_SET_SINGLESHOT_TIMER_FLAGS(sp)
        sw    zero, VCPU_SET_SINGLESHOT_TIMER_FLAGS + 4(sp)
        li    a0, VCPUOP_set_singleshot_timer
        li    a1, 0
        mv    a2, sp
        call  HYPERVISOR_vcpu_op
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

        .global periodic
periodic:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    a0, VCPU_SET_PERIODIC_TIMER_PERIOD_NS(sp)
        sw    a1, VCPU_SET_PERIODIC_TIMER_PERIOD_NS + 4(sp)
        li    a0, VCPUOP_set_periodic_timer
        li    a1, 0
        mv    a2, sp
        call  HYPERVISOR_vcpu_op
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .rodata
msg_contained:  .asciz ": CONTAINED"
msg_breached:   .asciz ": BREACHED (check "
msg_close:      .asciz ")"
