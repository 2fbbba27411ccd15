# gp_priv.s (XTF-style): a privileged instruction in ring 1 bounces #GP (error code 0)
# to the registered handler with pc = the faulting instruction, which did not retire;
# the handler skips it and execution resumes after it.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    a0, TRAP_VEC_GENERAL_PROTECTION
        la    a1, on_gp
        call  xtf_install_hook
        li    s0, 1
        bnez  a0, done
        li    a0, 0x1234
faulting:
        mtcr  ptbr, a0                # ring 0 only
        li    s0, 2
        la    t1, gp_count
        lw    t1, 0(t1)
        li    t2, 1
        bne   t1, t2, done
        li    s0, 3
        la    t1, gp_pc
        lw    t1, 0(t1)
        la    t2, faulting
        bne   t1, t2, done
        li    s0, 4
        la    t1, gp_error
        lw    t1, 0(t1)
        bnez  t1, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void on_gp(bounce_frame *frame): record it, skip the instruction.
on_gp:
        la    t1, gp_count
        lw    t2, 0(t1)
        addi  t2, t2, 1
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_PC(a0)
        la    t1, gp_pc
        sw    t2, 0(t1)
        addi  t2, t2, 4
        sw    t2, BOUNCE_FRAME_PC(a0)
        lw    t2, BOUNCE_FRAME_ERROR_CODE(a0)
        la    t1, gp_error
        sw    t2, 0(t1)
        ret

        .rodata
name:   .asciz "gp_priv"
        .data
        .balign 4
gp_count: .word 0
gp_pc:    .word 0
gp_error: .word 0xffffffff
