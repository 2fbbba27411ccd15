# time.s: reading virtual time (docs/abi.md section 4).
#
#   monotonic_clock() -> a0 = low word, a1 = high word of vcpu_info[0].time.system_time
#     (ns since the domain booted; 0 if shared_info is not mapped).
#   ns_after(delta_ns) -> a0:a1 = monotonic_clock() + delta_ns (64-bit add).
# The hypervisor updates the time record with Xen's version protocol: version is odd
# while it writes, so a reader retries until it sees the same even version twice.

        .text

        .global monotonic_clock
monotonic_clock:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, 2f
        addi  t1, t1, SHARED_INFO_VCPU_INFO + VCPU_INFO_TIME
1:      lw    t2, VCPU_TIME_INFO_VERSION(t1)
        andi  a2, t2, 1
        bnez  a2, 1b                  # an update is in progress
        fence
        lw    a0, VCPU_TIME_INFO_SYSTEM_TIME(t1)
        lw    a1, VCPU_TIME_INFO_SYSTEM_TIME + 4(t1)
        fence
        lw    a2, VCPU_TIME_INFO_VERSION(t1)
        bne   a2, t2, 1b
        ret
2:      li    a0, 0
        li    a1, 0
        ret

        .global ns_after
ns_after:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a0, 0(sp)
        call  monotonic_clock
        lw    t1, 0(sp)
        add   t2, a0, t1
        sltu  t1, t2, a0              # carry out of the low word
        add   a1, a1, t1
        mv    a0, t2
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret
