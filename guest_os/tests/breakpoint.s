# breakpoint.s (XTF-style): `break` is a trap: #BP arrives with pc = the instruction
# after it, so the handler returns without adjusting anything.

        .include "runtime.s"
        .include "xtf.s"

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
        break
after_break:
        li    s0, 2
        la    t1, bp_count
        lw    t1, 0(t1)
        li    t2, 1
        bne   t1, t2, done
        li    s0, 3
        la    t1, bp_pc
        lw    t1, 0(t1)
        la    t2, after_break
        bne   t1, t2, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

on_bp:
        la    t1, bp_count
        lw    t2, 0(t1)
        addi  t2, t2, 1
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_PC(a0)
        la    t1, bp_pc
        sw    t2, 0(t1)
        ret

        .rodata
name:   .asciz "breakpoint"
        .data
        .balign 4
bp_count: .word 0
bp_pc:    .word 0
