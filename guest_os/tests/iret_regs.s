# iret_regs.s (XTF-style): HYPERVISOR_iret restores t0 and sp from the bounce frame,
# whatever the handler did to them (it leaves t0 = __HYPERVISOR_iret and sp at the
# frame).

        .include "runtime.s"
        .include "xtf.s"

        .equ MAGIC_T0, 0x5a5a

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    a0, TRAP_VEC_BREAKPOINT
        la    a1, on_bp
        call  xtf_install_hook
        li    s0, 1
        bnez  a0, done
        mv    s1, sp
        li    t0, MAGIC_T0
        break
        li    s0, 2
        li    t1, MAGIC_T0
        bne   t0, t1, done
        li    s0, 3
        bne   sp, s1, done
        li    s0, 4                   # the handler really saw our t0 in the frame
        la    t1, seen_t0
        lw    t1, 0(t1)
        li    t2, MAGIC_T0
        bne   t1, t2, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

on_bp:
        lw    t2, BOUNCE_FRAME_T0(a0)
        la    t1, seen_t0
        sw    t2, 0(t1)
        li    t0, 0                   # clobbered on purpose: iret must restore it
        ret

        .rodata
name:   .asciz "iret_regs"
        .data
        .balign 4
seen_t0: .word 0
