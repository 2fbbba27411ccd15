# console_ring.s (XTF-style): bytes written to the PV console ring (start_info.console
# .domU) and announced on its event channel reach the domain's console through the
# console daemon in dom0.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    s0, 1
        call  console_init
        bnez  a0, done
        li    s0, 2
        la    a0, msg
        li    a1, msg_end - msg
        call  xencons_write
        li    t1, msg_end - msg
        bne   a0, t1, done
        li    s0, 3                   # the daemon took everything: out_cons caught up
        la    t1, xencons_ring
        lw    t1, 0(t1)
        lw    t2, XENCONS_INTERFACE_OUT_CONS(t1)
        lw    t1, XENCONS_INTERFACE_OUT_PROD(t1)
        bne   t1, t2, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "console_ring"
msg:    .ascii "console_ring: through the PV console ring\n"
msg_end:
