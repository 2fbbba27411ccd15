# divide_error.s (XTF-style): divu by zero raises #DE at the divide (a fault: the
# destination keeps its old value); the handler skips it.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    a0, TRAP_VEC_DIVIDE_ERROR
        la    a1, on_de
        call  xtf_install_hook
        li    s0, 1
        bnez  a0, done
        li    s1, 77
        li    a1, 0
faulting:
        divu  s1, s1, a1
        li    s0, 2
        la    t1, de_pc
        lw    t1, 0(t1)
        la    t2, faulting
        bne   t1, t2, done
        li    s0, 3
        li    t1, 77                  # the faulting divide wrote nothing
        bne   s1, t1, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

on_de:
        lw    t2, BOUNCE_FRAME_VECTOR(a0)
        li    t1, TRAP_VEC_DIVIDE_ERROR
        bne   t1, t2, 1f
        lw    t2, BOUNCE_FRAME_PC(a0)
        la    t1, de_pc
        sw    t2, 0(t1)
        addi  t2, t2, 4
        sw    t2, BOUNCE_FRAME_PC(a0)
1:      ret

        .rodata
name:   .asciz "divide_error"
        .data
        .balign 4
de_pc:  .word 0
