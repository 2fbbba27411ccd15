# xtf.s: helpers for XTF-style guest tests (guest_os/tests/*.s), after Xen's Test
# Framework: each test kernel checks one behaviour and powers off with exit code 0 for
# success or the number of the check that failed.  Include it after runtime.s.
#
#   xtf_report(code, name) -> code   prints "NAME: SUCCESS" or "NAME: FAILURE (check N)"
#   xtf_install_hook(vector, hook) -> 0/-errno
#       registers a trap table that is the default one plus `vector`, whose bounces
#       call hook(bounce_frame *frame) as an ordinary function (every register but t0,
#       pc and sp is saved around it; the hook may change frame->pc, or anything else
#       in the frame, before the return with HYPERVISOR_iret).

        .equ XTF_SAVE, 40             # ra, a0..a5, t1, t2 (+ pad); the hook keeps s0..s3

        .text
        .global xtf_report
xtf_report:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        mv    s0, a0
        mv    a0, a1
        call  print_str
        bnez  s0, 1f
        la    a0, msg_xtf_success
        call  print_line
        j     2f
1:      la    a0, msg_xtf_failure
        call  print_str
        mv    a0, s0
        call  print_dec
        la    a0, msg_xtf_close
        call  print_line
2:      mv    a0, s0
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global xtf_install_hook
xtf_install_hook:
        la    t1, xtf_hook
        sw    a1, 0(t1)
        la    t1, default_trap_table  # copy the default entries, up to the terminator
        la    t2, xtf_trap_table
1:      lw    a2, TRAP_INFO_ADDRESS(t1)
        beqz  a2, 2f
        lw    a3, 0(t1)
        sw    a3, 0(t2)
        sw    a2, TRAP_INFO_ADDRESS(t2)
        addi  t1, t1, TRAP_INFO_SIZE
        addi  t2, t2, TRAP_INFO_SIZE
        j     1b
2:      sb    a0, TRAP_INFO_VECTOR(t2) # then ours: a later entry for a vector wins
        li    a3, 3
        sb    a3, TRAP_INFO_FLAGS(t2)
        sh    zero, TRAP_INFO_PAD(t2)
        la    a3, xtf_trap_entry
        sw    a3, TRAP_INFO_ADDRESS(t2)
        sw    zero, TRAP_INFO_SIZE(t2)
        sw    zero, TRAP_INFO_SIZE + TRAP_INFO_ADDRESS(t2)
        la    a0, xtf_trap_table
        j     HYPERVISOR_set_trap_table

# The trap_info address of a hooked vector: sp is at the bounce frame.
xtf_trap_entry:
        addi  sp, sp, -XTF_SAVE
        sw    ra, 0(sp)
        sw    a0, 4(sp)
        sw    a1, 8(sp)
        sw    a2, 12(sp)
        sw    a3, 16(sp)
        sw    a4, 20(sp)
        sw    a5, 24(sp)
        sw    t1, 28(sp)
        sw    t2, 32(sp)
        addi  a0, sp, XTF_SAVE
        la    t1, xtf_hook
        lw    t1, 0(t1)
        jalr  ra, 0(t1)
        lw    ra, 0(sp)
        lw    a0, 4(sp)
        lw    a1, 8(sp)
        lw    a2, 12(sp)
        lw    a3, 16(sp)
        lw    a4, 20(sp)
        lw    a5, 24(sp)
        lw    t1, 28(sp)
        lw    t2, 32(sp)
        addi  sp, sp, XTF_SAVE + BOUNCE_FRAME_T0
        li    t0, __HYPERVISOR_iret
        hcall

        .rodata
msg_xtf_success:  .asciz ": SUCCESS"
msg_xtf_failure:  .asciz ": FAILURE (check "
msg_xtf_close:    .asciz ")"

        .data
        .balign 4
xtf_hook:         .word 0

        .bss
        .balign 8
xtf_trap_table:   .space TRAP_INFO_SIZE * 16
