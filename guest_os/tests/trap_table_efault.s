# trap_table_efault.s (XTF-style): set_trap_table with a pointer the guest cannot read
# fails with -EFAULT and leaves the registered table as it was (a break still reaches
# our handler).

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
        li    s0, 2
        li    a0, 8                   # page 0 is never mapped
        call  HYPERVISOR_set_trap_table
        li    t1, -EFAULT
        bne   a0, t1, done
        li    s0, 3
        li    a0, 0xfffffff8          # nor is the top of the address space
        call  HYPERVISOR_set_trap_table
        li    t1, -EFAULT
        bne   a0, t1, done
        li    s0, 4
        break                         # still ours?
        la    t1, bp_count
        lw    t1, 0(t1)
        li    t2, 1
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
        ret

        .rodata
name:   .asciz "trap_table_efault"
        .data
        .balign 4
bp_count: .word 0
