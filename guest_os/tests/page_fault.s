# page_fault.s (XTF-style): a load from an unmapped page raises #PF (error 0: not
# present, a read, from ring 1) with the address in the bounce frame and in
# vcpu_info.arch.cr2; the handler maps the page back (update_va_mapping) and returns
# to the same pc, and the retried load reads what was stored there before.

        .include "runtime.s"
        .include "xtf.s"

        .equ MAGIC, 0x600d

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        li    s0, 1
        la    t1, HYPERVISOR_shared_info
        lw    t1, 0(t1)
        beqz  t1, done                # cr2 lives in shared_info
        li    a0, TRAP_VEC_PAGE_FAULT
        la    a1, on_pf
        call  xtf_install_hook
        li    s0, 2
        bnez  a0, done
        la    s1, probe
        li    t1, MAGIC
        sw    t1, 64(s1)
        mv    a0, s1                  # unmap it
        li    a1, 0
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        li    s0, 3
        bnez  a0, done
faulting:
        lw    s2, 64(s1)
        li    s0, 4
        la    t1, pf_count
        lw    t1, 0(t1)
        li    t2, 1
        bne   t1, t2, done
        li    s0, 5
        la    t1, pf_pc
        lw    t1, 0(t1)
        la    t2, faulting
        bne   t1, t2, done
        li    s0, 6
        la    t1, pf_error
        lw    t1, 0(t1)
        bnez  t1, done
        li    s0, 7
        la    t1, pf_addr
        lw    t1, 0(t1)
        addi  t2, s1, 64
        bne   t1, t2, done
        li    s0, 8
        la    t1, pf_cr2
        lw    t1, 0(t1)
        bne   t1, t2, done
        li    s0, 9
        li    t1, MAGIC
        bne   s2, t1, done
        li    s0, 0
done:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void on_pf(bounce_frame *frame): record the fault, map `probe` back, retry.
on_pf:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    t1, pf_count
        lw    t2, 0(t1)
        addi  t2, t2, 1
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_PC(a0)
        la    t1, pf_pc
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_ERROR_CODE(a0)
        la    t1, pf_error
        sw    t2, 0(t1)
        lw    t2, BOUNCE_FRAME_FAULT_ADDR(a0)
        la    t1, pf_addr
        sw    t2, 0(t1)
        la    t1, HYPERVISOR_shared_info   # read cr2 first thing, as the ABI says
        lw    t1, 0(t1)
        lw    t2, SHARED_INFO_VCPU_INFO + VCPU_INFO_ARCH_CR2(t1)
        la    t1, pf_cr2
        sw    t2, 0(t1)
        la    a0, probe
        call  virt_to_mfn
        slli  a1, a0, PAGE_SHIFT
        ori   a1, a1, PTE_P | PTE_W
        la    a0, probe
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
name:   .asciz "page_fault"
        .data
        .balign 4
pf_count: .word 0
pf_pc:    .word 0
pf_error: .word 0xffffffff
pf_addr:  .word 0
pf_cr2:   .word 0
        .bss
        .balign 4096
probe:  .space 4096
