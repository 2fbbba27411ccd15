# enosys.s (XTF-style): an unknown hypercall number, or an unknown sub-operation of a
# known one, returns -ENOSYS and changes nothing else.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    s0, 1
        li    t0, 99                  # beyond every hypercall number
        li    s1, 0x1234              # a preserved register, to check hcall left it
        hcall
        li    t1, -ENOSYS
        bne   a0, t1, done
        li    s0, 2
        li    t1, 0x1234
        bne   s1, t1, done
        li    s0, 3
        li    t0, 0x7fffffff
        hcall
        li    t1, -ENOSYS
        bne   a0, t1, done
        li    s0, 4
        li    t0, __HYPERVISOR_arch_0
        hcall
        li    t1, -ENOSYS
        bne   a0, t1, done
        li    s0, 5
        li    a0, 99                  # no such SCHEDOP
        li    a1, 0
        call  HYPERVISOR_sched_op
        li    t1, -ENOSYS
        bne   a0, t1, done
        li    s0, 6
        li    a0, 99                  # no such EVTCHNOP
        li    a1, 0
        call  HYPERVISOR_event_channel_op
        li    t1, -ENOSYS
        bne   a0, t1, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "enosys"
