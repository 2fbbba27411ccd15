# console_io.s (XTF-style): console_io writes what it is given and returns 0; a
# zero-length write is fine; a buffer the guest cannot read is -EFAULT; an unknown
# command is -ENOSYS.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    s0, 1                   # check number
        la    a0, msg
        li    a1, msg_end - msg
        call  console_write
        bnez  a0, fail
        li    s0, 2
        la    a0, msg
        li    a1, 0
        call  console_write
        bnez  a0, fail
        li    s0, 3
        li    a0, 8                   # page 0 is never mapped
        li    a1, 4
        call  console_write
        li    t1, -EFAULT
        bne   a0, t1, fail
        li    s0, 4
        li    a0, 99                  # no such CONSOLEIO command
        li    a1, 1
        la    a2, msg
        call  HYPERVISOR_console_io
        li    t1, -ENOSYS
        bne   a0, t1, fail
        li    s0, 0
fail:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "console_io"
msg:    .ascii "console_io: written with CONSOLEIO_write\n"
msg_end:
