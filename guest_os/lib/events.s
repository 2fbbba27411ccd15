# events.s: event channels on the guest side (Xen's 2-level ABI, docs/abi.md 5.4 and 6).
#
#   events_init() -> 0/-errno      register hypervisor_callback as the event callback
#   bind_evtchn(port, handler)     handler(port, frame) runs for each event on port
#   bind_virq(virq) -> port/-errno            EVTCHNOP_bind_virq on vCPU 0
#   evtchn_alloc_unbound(remote_dom) -> port/-errno
#   evtchn_bind_interdomain(remote_dom, remote_port) -> local port/-errno
#   notify_remote_via_evtchn(port) -> 0/-errno   EVTCHNOP_send
#   unmask_evtchn(port) -> 0/-errno  EVTCHNOP_unmask (the hypervisor re-checks pending)
#   mask_evtchn(port)               set the port's mask bit in shared_info
#   local_irq_disable() / local_irq_enable()  vcpu_info.evtchn_upcall_mask, our "IF"
#   force_evtchn_callback()         any hypercall: its return delivers a pending upcall
#
# The upcall (hypervisor_callback) is entered with events masked and sp at a bounce
# frame.  It saves the caller-saved registers (t0 is in the frame), clears
# evtchn_upcall_pending, swaps evtchn_pending_sel with 0, and for every set word bit
# scans evtchn_pending & ~evtchn_mask, clearing each pending bit atomically before
# calling that port's handler; then it restores and returns with HYPERVISOR_iret, which
# also restores the event mask saved in the frame.  Everything here is for vCPU 0.

        .equ UPCALL_SAVE, 40          # ra, a0..a5, t1, t2 (+ pad): keeps sp 8-aligned

        .text

        .global events_init
# long events_init(void): register the event callback; -ENODEV without shared_info.
events_init:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, 1f
        la    a0, hypervisor_callback
        li    a1, 0                   # no failsafe callback
        li    t0, __HYPERVISOR_set_callbacks
        hcall
        ret
1:      li    a0, -ENODEV
        ret

        .global hypervisor_callback
hypervisor_callback:
        addi  sp, sp, -UPCALL_SAVE
        sw    ra, 0(sp)
        sw    a0, 4(sp)
        sw    a1, 8(sp)
        sw    a2, 12(sp)
        sw    a3, 16(sp)
        sw    a4, 20(sp)
        sw    a5, 24(sp)
        sw    t1, 28(sp)
        sw    t2, 32(sp)
        addi  a0, sp, UPCALL_SAVE     # the bounce frame
        call  evtchn_do_upcall
        lw    ra, 0(sp)
        lw    a0, 4(sp)
        lw    a1, 8(sp)
        lw    a2, 12(sp)
        lw    a3, 16(sp)
        lw    a4, 20(sp)
        lw    a5, 24(sp)
        lw    t1, 28(sp)
        lw    t2, 32(sp)
        addi  sp, sp, UPCALL_SAVE + BOUNCE_FRAME_T0   # sp at the iret part of the frame
        li    t0, __HYPERVISOR_iret
        hcall                         # restores t0, pc, sp, ring and the event mask

        .global evtchn_do_upcall
# void evtchn_do_upcall(bounce_frame *frame): handle every pending, unmasked port.
evtchn_do_upcall:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        sw    s1, 4(sp)
        sw    s2, 0(sp)
        mv    s2, a0
        la    s0, HYPERVISOR_shared_info
        lw    s0, 0(s0)
        beqz  s0, 2f
        sb    zero, SHARED_INFO_VCPU_INFO + VCPU_INFO_EVTCHN_UPCALL_PENDING(s0)
        fence                         # clear upcall_pending before taking the selector
        addi  t1, s0, SHARED_INFO_VCPU_INFO + VCPU_INFO_EVTCHN_PENDING_SEL
        amoswap s1, zero, (t1)        # s1: words with newly pending ports
1:      beqz  s1, 2f
        mv    a0, s1
        call  lowest_bit
        li    t1, 1
        sll   t1, t1, a0
        sub   t1, zero, t1
        addi  t1, t1, -1              # ~(1 << word)
        and   s1, s1, t1
        mv    a1, s2
        call  evtchn_do_word
        j     1b
2:      lw    s2, 0(sp)
        lw    s1, 4(sp)
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

# void evtchn_do_word(u32 word, bounce_frame *frame): the ports of one selector word.
evtchn_do_word:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        sw    s0, 16(sp)
        sw    s1, 12(sp)
        sw    s2, 8(sp)
        sw    s3, 4(sp)
        mv    s0, a0
        mv    s1, a1
        la    s3, HYPERVISOR_shared_info
        lw    s3, 0(s3)
        slli  t1, s0, 2
        add   s3, s3, t1              # s3: shared_info + 4 * word
        lw    s2, SHARED_INFO_EVTCHN_PENDING(s3)
        lw    t1, SHARED_INFO_EVTCHN_MASK(s3)
        sub   t1, zero, t1
        addi  t1, t1, -1
        and   s2, s2, t1              # s2: pending & ~mask
1:      beqz  s2, 2f
        mv    a0, s2
        call  lowest_bit
        li    a1, 1
        sll   a1, a1, a0
        xor   s2, s2, a1              # this bit is being handled
        slli  t1, s0, 5
        add   t1, t1, a0
        sw    t1, 0(sp)               # the port, across the call below
        addi  a0, s3, SHARED_INFO_EVTCHN_PENDING
        call  atomic_clear_bits       # clear pending before handling: a new send re-sets it
        lw    a0, 0(sp)
        mv    a1, s1
        call  evtchn_dispatch
        j     1b
2:      lw    s3, 4(sp)
        lw    s2, 8(sp)
        lw    s1, 12(sp)
        lw    s0, 16(sp)
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

# void evtchn_dispatch(u32 port, bounce_frame *frame): call the port's handler.  An
# event on a port with no handler is only counted in `evtchn_unbound_events`, as Linux
# drops events for unbound IRQs: dom0 gets one for each console channel the console
# daemon binds (Xen marks a freshly bound interdomain port pending).
evtchn_dispatch:
        la    t1, evtchn_handlers
        slli  t2, a0, 2
        add   t1, t1, t2
        lw    t1, 0(t1)
        beqz  t1, 1f
        jr    t1                      # tail call: handler(port, frame) returns to our caller
1:      la    t1, evtchn_unbound_events
        lw    t2, 0(t1)
        addi  t2, t2, 1
        sw    t2, 0(t1)
        ret

        .global lowest_bit
# u32 lowest_bit(u32 x): the index of x's lowest set bit (x != 0).
lowest_bit:
        sub   t1, zero, a0
        and   t1, a0, t1              # isolate the lowest set bit
        li    a0, 0
1:      srli  t1, t1, 1
        beqz  t1, 2f
        addi  a0, a0, 1
        j     1b
2:      ret

        .global atomic_clear_bits, atomic_set_bits
# void atomic_clear_bits(u32 *word, u32 bits): *word &= ~bits, atomically (cas loop).
atomic_clear_bits:
        sub   a2, zero, a1
        addi  a2, a2, -1              # ~bits
1:      lw    t1, 0(a0)
        and   t2, t1, a2
        mv    a3, t1
        cas   a3, t2, (a0)
        bne   a3, t1, 1b              # someone changed the word meanwhile: retry
        ret

# void atomic_set_bits(u32 *word, u32 bits): *word |= bits, atomically.
atomic_set_bits:
1:      lw    t1, 0(a0)
        or    t2, t1, a1
        mv    a3, t1
        cas   a3, t2, (a0)
        bne   a3, t1, 1b
        ret

        .global bind_evtchn
# void bind_evtchn(u32 port, void (*handler)(u32 port, bounce_frame *frame))
bind_evtchn:
        li    t1, NR_EVENT_CHANNELS
        bgeu  a0, t1, 1f
        la    t1, evtchn_handlers
        slli  t2, a0, 2
        add   t1, t1, t2
        sw    a1, 0(t1)
1:      ret

        .global bind_virq
# long bind_virq(u32 virq): a new port for virq on vCPU 0, or -errno.
bind_virq:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    a0, EVTCHN_BIND_VIRQ_VIRQ(sp)
        sw    zero, EVTCHN_BIND_VIRQ_VCPU(sp)
        li    a0, EVTCHNOP_bind_virq
        mv    a1, sp
        call  HYPERVISOR_event_channel_op
        bnez  a0, 1f
        lw    a0, EVTCHN_BIND_VIRQ_PORT(sp)
1:      lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global evtchn_alloc_unbound
# long evtchn_alloc_unbound(domid_t remote_dom): a new unbound port of ours that
# remote_dom may bind, or -errno.
evtchn_alloc_unbound:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        li    t1, DOMID_SELF
        sh    t1, EVTCHN_ALLOC_UNBOUND_DOM(sp)
        sh    a0, EVTCHN_ALLOC_UNBOUND_REMOTE_DOM(sp)
        sw    zero, EVTCHN_ALLOC_UNBOUND_PORT(sp)
        li    a0, EVTCHNOP_alloc_unbound
        mv    a1, sp
        call  HYPERVISOR_event_channel_op
        bnez  a0, 1f
        lw    a0, EVTCHN_ALLOC_UNBOUND_PORT(sp)
1:      lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global evtchn_bind_interdomain
# long evtchn_bind_interdomain(domid_t remote_dom, u32 remote_port): the local port
# connected to remote_port, or -errno.  Xen sets the new local port pending.
evtchn_bind_interdomain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    a0, EVTCHN_BIND_INTERDOMAIN_REMOTE_DOM(sp)    # u16 field; upper half is padding
        sh    zero, EVTCHN_BIND_INTERDOMAIN_REMOTE_DOM + 2(sp)
        sw    a1, EVTCHN_BIND_INTERDOMAIN_REMOTE_PORT(sp)
        li    a0, EVTCHNOP_bind_interdomain
        mv    a1, sp
        call  HYPERVISOR_event_channel_op
        bnez  a0, 1f
        lw    a0, EVTCHN_BIND_INTERDOMAIN_LOCAL_PORT(sp)
1:      lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global notify_remote_via_evtchn
# long notify_remote_via_evtchn(u32 port): EVTCHNOP_send.
notify_remote_via_evtchn:
        li    t1, EVTCHNOP_send
        j     evtchn_port_op

        .global unmask_evtchn
# long unmask_evtchn(u32 port): EVTCHNOP_unmask; a pending port is delivered at once.
unmask_evtchn:
        li    t1, EVTCHNOP_unmask
        # fall through

# long evtchn_port_op(u32 port, cmd in t1): an EVTCHNOP whose argument is just {port}.
evtchn_port_op:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a0, 0(sp)
        mv    a0, t1
        mv    a1, sp
        call  HYPERVISOR_event_channel_op
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global mask_evtchn
# void mask_evtchn(u32 port): set the port's bit in shared_info.evtchn_mask.
mask_evtchn:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, 1f
        srli  t2, a0, 5
        slli  t2, t2, 2
        add   t1, t1, t2
        andi  a0, a0, 31
        li    a1, 1
        sll   a1, a1, a0
        addi  a0, t1, SHARED_INFO_EVTCHN_MASK
        j     atomic_set_bits
1:      ret

        .global local_irq_disable, local_irq_enable, force_evtchn_callback
# void local_irq_disable(void): mask event upcalls for this vCPU.
local_irq_disable:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, 1f
        li    t2, 1
        sb    t2, SHARED_INFO_VCPU_INFO + VCPU_INFO_EVTCHN_UPCALL_MASK(t1)
        fence
1:      ret

# void local_irq_enable(void): unmask upcalls; an upcall that became pending while we
# were masked is delivered now (Mini-OS's force_evtchn_callback), not at some later
# hypercall.
local_irq_enable:
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, 1f
        sb    zero, SHARED_INFO_VCPU_INFO + VCPU_INFO_EVTCHN_UPCALL_MASK(t1)
        fence                         # unmask before checking pending
        lbu   t2, SHARED_INFO_VCPU_INFO + VCPU_INFO_EVTCHN_UPCALL_PENDING(t1)
        bnez  t2, force_evtchn_callback
1:      ret

# void force_evtchn_callback(void): a cheap hypercall (xen_version); the hypervisor
# makes any due upcall on the way back into the guest.
force_evtchn_callback:
        li    a0, XENVER_version
        li    a1, 0
        li    t0, __HYPERVISOR_xen_version
        hcall
        ret

        .data
        .balign 4
        .global evtchn_unbound_events
evtchn_unbound_events:                # events that arrived on ports without a handler
        .word 0

        .bss
        .balign 4
        .global evtchn_handlers
evtchn_handlers:                      # port -> handler(port, frame), 0 if none
        .space 4 * NR_EVENT_CHANNELS
