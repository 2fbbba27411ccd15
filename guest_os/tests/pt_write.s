# pt_write.s (XTF-style): the guest's page tables are mapped read-only, so a store to
# the L2 table at start_info.pt_base raises #PF with error PF_PROT|PF_WRITE and fault
# address = that entry, and the table is unchanged.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        lw    s1, START_INFO_PT_BASE(a0)
        addi  s1, s1, 4 * 100         # some L2 entry
        li    a0, TRAP_VEC_PAGE_FAULT
        la    a1, on_pf
        call  xtf_install_hook
        li    s0, 1
        bnez  a0, done
        lw    s2, 0(s1)               # reading is allowed
        li    t1, PTE_P | PTE_W | 0x7000
faulting:
        sw    t1, 0(s1)
        li    s0, 2
        la    t1, pf_pc
        lw    t1, 0(t1)
        la    t2, faulting
        bne   t1, t2, done
        li    s0, 3
        la    t1, pf_error
        lw    t1, 0(t1)
        li    t2, PF_PROT | PF_WRITE
        bne   t1, t2, done
        li    s0, 4
        la    t1, pf_addr
        lw    t1, 0(t1)
        bne   t1, s1, done
        li    s0, 5
        lw    t1, 0(s1)
        bne   t1, s2, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

on_pf:
        lw    t2, BOUNCE_FRAME_PC(a0)
        la    t1, pf_pc
        sw    t2, 0(t1)
        addi  t2, t2, 4               # skip the store
        sw    t2, BOUNCE_FRAME_PC(a0)
        lw    t2, BOUNCE_FRAME_ERROR_CODE(a0)
        la    t1, pf_error
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_FAULT_ADDR(a0)
        la    t1, pf_addr
        sw    t2, 0(t1)
        ret

        .rodata
name:   .asciz "pt_write"
        .data
        .balign 4
pf_pc:    .word 0
pf_error: .word 0
pf_addr:  .word 0
