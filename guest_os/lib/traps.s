# traps.s: the default trap table.
#
# trap_init() registers `default_trap_table` with set_trap_table: every ISA vector goes
# to `trap_default`, which prints the bounce frame (docs/abi.md section 5.8) as
#
#   *** trap #GP (vector 13): error 0x00000000, fault address 0x00000000, pc 0x00010044
#
# and then crashes the domain with SCHEDOP_shutdown(SHUTDOWN_crash), so a student sees
# what went wrong instead of a silent end.  A kernel that wants to handle a vector
# itself registers its own table (same layout: trap_info entries ending with address 0).

        .text

        .global trap_init
# long trap_init(void): install default_trap_table; 0 or -errno.
trap_init:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    a0, default_trap_table
        call  HYPERVISOR_set_trap_table
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global trap_default
# The handler of every vector in default_trap_table: entered with sp at the bounce
# frame; never returns.
trap_default:
        mv    s0, sp                  # the frame (no need to preserve anything: we crash)
        la    a0, msg_trap
        call  print_str
        lw    a0, BOUNCE_FRAME_VECTOR(s0)
        call  trap_name
        call  print_str
        la    a0, msg_vector
        call  print_str
        lw    a0, BOUNCE_FRAME_VECTOR(s0)
        call  print_dec
        la    a0, msg_error
        call  print_str
        lw    a0, BOUNCE_FRAME_ERROR_CODE(s0)
        call  print_hex
        la    a0, msg_addr
        call  print_str
        lw    a0, BOUNCE_FRAME_FAULT_ADDR(s0)
        call  print_hex
        la    a0, msg_pc
        call  print_str
        lw    a0, BOUNCE_FRAME_PC(s0)
        call  print_hex
        li    a0, '\n'
        call  print_char
        la    a0, msg_crashing
        call  print_line
        call  crash

        .global trap_name
# const char *trap_name(u32 vector): "#GP", "#PF", ... or "?" for an unknown vector.
trap_name:
        la    a1, trap_names
1:      lw    t1, 0(a1)
        beqz  t1, 2f                  # end of the list: unknown
        lw    t2, 4(a1)
        beq   t2, a0, 3f
        addi  a1, a1, 8
        j     1b
2:      la    a0, name_unknown
        ret
3:      mv    a0, t1
        ret

        .rodata
msg_trap:      .asciz "*** trap "
msg_vector:    .asciz " (vector "
msg_error:     .asciz "): error "
msg_addr:      .asciz ", fault address "
msg_pc:        .asciz ", pc "
msg_crashing:  .asciz "*** unhandled trap: crashing the domain"
name_de:       .asciz "#DE"
name_bp:       .asciz "#BP"
name_ud:       .asciz "#UD"
name_gp:       .asciz "#GP"
name_pf:       .asciz "#PF"
name_ac:       .asciz "#AC"
name_syscall:  .asciz "syscall"
name_unknown:  .asciz "?"

        .balign 4
trap_names:                           # {name, vector} pairs, ending with a NULL name
        .word name_de, TRAP_VEC_DIVIDE_ERROR
        .word name_bp, TRAP_VEC_BREAKPOINT
        .word name_ud, TRAP_VEC_INVALID_OPCODE
        .word name_gp, TRAP_VEC_GENERAL_PROTECTION
        .word name_pf, TRAP_VEC_PAGE_FAULT
        .word name_ac, TRAP_VEC_ALIGNMENT_CHECK
        .word name_syscall, TRAP_VEC_SYSCALL
        .word 0, 0

        .global default_trap_table
default_trap_table:                   # trap_info {vector, flags, pad, address}
        # flags = the highest ring that may raise the vector itself (TI_DPL_MASK):
        # 1 for faults, 3 for break and syscall, as x86 kernels gate int3 and int 0x80.
        .byte TRAP_VEC_DIVIDE_ERROR, 1
        .half 0
        .word trap_default
        .byte TRAP_VEC_BREAKPOINT, 3
        .half 0
        .word trap_default
        .byte TRAP_VEC_INVALID_OPCODE, 1
        .half 0
        .word trap_default
        .byte TRAP_VEC_GENERAL_PROTECTION, 1
        .half 0
        .word trap_default
        .byte TRAP_VEC_PAGE_FAULT, 1
        .half 0
        .word trap_default
        .byte TRAP_VEC_ALIGNMENT_CHECK, 1
        .half 0
        .word trap_default
        .byte TRAP_VEC_SYSCALL, 3
        .half 0
        .word trap_default
        .word 0, 0                    # terminator: address 0
