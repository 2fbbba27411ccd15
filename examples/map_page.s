# map_page.s: map one more page after boot (docs/hypervisor.md, "Mapping one more page").
#
#   $ paravisor run examples/map_page.s
#
# The first free virtual page is the one just above the bootstrap page tables; the first
# free frame is the one behind pseudo-physical page k = (pt_base - image base) / 4096,
# the page after the boot stack.  The kernel maps that frame writable with
# update_va_mapping, then a second time, read-only, one page higher with mmu_update
# (writing the L1 entry by its machine address), and checks that both show one frame.

        .include "runtime.s"

        .text
        .global kmain
# int kmain(start_info *si): 0 when both mappings work, else the failing step (1..3).
kmain:
        addi  sp, sp, -24
        sw    ra, 20(sp)
        sw    s0, 16(sp)
        sw    s1, 12(sp)
        sw    s2, 8(sp)
        mv    s0, a0                  # s0 = start_info
        # The free virtual page: pt_base + nr_pt_frames pages.
        lw    t1, START_INFO_PT_BASE(s0)
        lw    t2, START_INFO_NR_PT_FRAMES(s0)
        slli  t2, t2, PAGE_SHIFT
        add   s1, t1, t2              # s1 = va
        # The free frame: mfn_list[k], k = (pt_base - _text) >> PAGE_SHIFT.
        la    t2, _text
        sub   t1, t1, t2
        srli  t1, t1, PAGE_SHIFT
        slli  t1, t1, 2
        lw    t2, START_INFO_MFN_LIST(s0)
        add   t2, t2, t1
        lw    s2, 0(t2)               # s2 = mfn
        # 1. update_va_mapping(va, mfn << 12 | P | W, UVMF_INVLPG | UVMF_LOCAL)
        mv    a0, s1
        slli  a1, s2, PAGE_SHIFT
        ori   a1, a1, PTE_P | PTE_W
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        li    t1, 1
        bnez  a0, fail
        li    t1, 0x600d
        sw    t1, 0(s1)               # the new page is ours to use
        # 2. mmu_update: the L1 entry of va + 4096 gets mfn << 12 | P (read-only).  The
        # L2 is mapped read-only at pt_base; its entry for va names the L1's frame.
        addi  a0, s1, PAGE_SIZE
        srli  t1, a0, 22              # L2 index
        slli  t1, t1, 2
        lw    t2, START_INFO_PT_BASE(s0)
        add   t2, t2, t1
        lw    t2, 0(t2)               # the L2 entry
        srli  t2, t2, PAGE_SHIFT
        slli  t2, t2, PAGE_SHIFT      # the L1's machine address
        srli  t1, a0, PAGE_SHIFT
        andi  t1, t1, 0x3ff           # L1 index
        slli  t1, t1, 2
        add   t2, t2, t1              # ptr: the entry's machine address (| MMU_NORMAL_PT_UPDATE)
        la    a0, request
        sw    t2, MMU_UPDATE_PTR(a0)
        slli  t1, s2, PAGE_SHIFT
        ori   t1, t1, PTE_P
        sw    t1, MMU_UPDATE_VAL(a0)
        li    a1, 1                   # one request
        li    a2, 0                   # no success count
        li    a3, DOMID_SELF
        call  HYPERVISOR_mmu_update
        li    t1, 2
        bnez  a0, fail
        # 3. Both pages show the same frame.
        lw    t1, 0(s1)
        lw    t2, PAGE_SIZE(s1)
        li    a0, 3
        bne   t1, t2, done
        la    a0, msg_mapped
        call  print_str
        mv    a0, s2
        call  print_hex
        la    a0, msg_at
        call  print_str
        mv    a0, s1
        call  print_hex
        la    a0, msg_alias
        call  print_str
        addi  a0, s1, PAGE_SIZE
        call  print_hex
        li    a0, '\n'
        call  print_char
        li    a0, 0
        j     done
fail:   mv    s2, t1                  # the step that failed; a0 = -errno
        mv    s1, a0
        la    a0, msg_failed
        call  print_str
        mv    a0, s1
        call  print_signed
        li    a0, '\n'
        call  print_char
        mv    a0, s2
done:   lw    s2, 8(sp)
        lw    s1, 12(sp)
        lw    s0, 16(sp)
        lw    ra, 20(sp)
        addi  sp, sp, 24
        ret

        .rodata
msg_mapped:  .asciz "mapped frame "
msg_at:      .asciz " at "
msg_alias:   .asciz ", read-only alias at "
msg_failed:  .asciz "map_page: hypercall failed: "

        .data
        .balign 4
request:     .space MMU_UPDATE_SIZE   # one struct mmu_update {ptr, val}
