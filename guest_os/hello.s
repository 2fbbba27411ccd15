# hello.s: the smallest useful PV32 guest.  It greets (with its command line, if it was
# given one: start_info has no domain name), says where it lives, and powers off with
# exit code 0.
#
#   $ paravisor run guest_os/hello.s --cmdline "from hello"
#   Hello from hello
#   ...

        .include "runtime.s"

        .text
        .global kmain
# int kmain(start_info *si)
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, a0
        la    a0, msg_hello
        call  print_str
        addi  a0, s0, START_INFO_CMD_LINE
        lbu   t1, 0(a0)
        bnez  t1, 1f
        la    a0, msg_world           # no command line: a fixed greeting
1:      call  print_line
        la    a0, msg_pages
        call  print_str
        lw    a0, START_INFO_NR_PAGES(s0)
        call  print_dec
        la    a0, msg_pages_tail
        call  print_line
        la    a0, msg_start_info
        call  print_str
        mv    a0, s0
        call  print_hex
        la    a0, msg_pt_base
        call  print_str
        lw    a0, START_INFO_PT_BASE(s0)
        call  print_hex
        li    a0, '\n'
        call  print_char
        la    a0, msg_bye
        call  print_line
        li    a0, 0                   # exit code 0: powered off cleanly
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
msg_hello:       .asciz "Hello from "
msg_world:       .asciz "a PV32 guest"
msg_pages:       .asciz "I have "
msg_pages_tail:  .asciz " pages of memory"
msg_start_info:  .asciz "start_info at "
msg_pt_base:     .asciz ", page tables at "
msg_bye:         .asciz "Goodbye."

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "hello"
