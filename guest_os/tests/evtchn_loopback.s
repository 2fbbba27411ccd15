# evtchn_loopback.s (XTF-style): an interdomain channel to ourselves.  alloc_unbound
# (remote DOMID_SELF) gives port A, bind_interdomain to (DOMID_SELF, A) gives port B,
# which Xen sets pending at once; sending on B raises A and sending on A raises B,
# each delivered through the event upcall to the handler bound to that port.

        .include "runtime.s"
        .include "xtf.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    s0, 1
        call  events_init
        bnez  a0, done
        li    s0, 2
        li    a0, DOMID_SELF
        call  evtchn_alloc_unbound
        ble   a0, zero, done
        mv    s1, a0                  # A
        li    s0, 3
        li    a0, DOMID_SELF
        mv    a1, s1
        call  evtchn_bind_interdomain
        ble   a0, zero, done
        mv    s2, a0                  # B
        li    s0, 4
        beq   s1, s2, done
        mv    a0, s1
        la    a1, on_a
        call  bind_evtchn
        mv    a0, s2
        la    a1, on_b
        call  bind_evtchn
        mv    a0, s1
        call  unmask_evtchn
        mv    a0, s2
        call  unmask_evtchn           # B is pending: delivered on the way back
        call  local_irq_enable
        li    s0, 5
        la    t1, count_b
        lw    t1, 0(t1)
        li    t2, 1
        bne   t1, t2, done
        li    s0, 6
        mv    a0, s2                  # B -> A
        call  notify_remote_via_evtchn
        bnez  a0, done
        li    s0, 7
        la    t1, count_a
        lw    t1, 0(t1)
        li    t2, 1
        bne   t1, t2, done
        li    s0, 8
        mv    a0, s1                  # A -> B
        call  notify_remote_via_evtchn
        bnez  a0, done
        li    s0, 9
        la    t1, count_b
        lw    t1, 0(t1)
        li    t2, 2
        bne   t1, t2, done
        li    s0, 10                  # and the handlers saw their own ports
        la    t1, port_a
        lw    t1, 0(t1)
        bne   t1, s1, done
        la    t1, port_b
        lw    t1, 0(t1)
        bne   t1, s2, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

on_a:   la    t1, count_a
        la    t2, port_a
        j     count_event
on_b:   la    t1, count_b
        la    t2, port_b
# count_event(port in a0, counter in t1, port slot in t2)
count_event:
        sw    a0, 0(t2)
        lw    t2, 0(t1)
        addi  t2, t2, 1
        sw    t2, 0(t1)
        ret

        .rodata
name:   .asciz "evtchn_loopback"
        .data
        .balign 4
count_a: .word 0
count_b: .word 0
port_a:  .word 0
port_b:  .word 0
