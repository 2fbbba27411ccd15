# faulty.s: a guest that misbehaves on purpose, to show containment: the hypervisor
# refuses or bounces what it does, and only this domain ends (crashed).  The command
# line picks the misdeed:
#
#   priv     (default) a privileged instruction in ring 1: `mtcr tvec, ...`, installing
#            a trap vector the bare-metal way -> #GP, reported by the default trap table
#   ptwrite  a store into its own L2 page table, which is mapped read-only at
#            start_info.pt_base -> #PF (error PF_PROT|PF_WRITE)
#   foreign  mmu_update mapping a frame it does not own -> refused with an errno; the
#            kernel prints it and goes on to `ptwrite`
#
# Every path ends in SHUTDOWN_crash, with the trap printed by traps.s.

        .include "runtime.s"

        .text
        .global kmain
# int kmain(start_info *si): never returns.
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        addi  s0, a0, START_INFO_CMD_LINE
        mv    a0, s0
        la    a1, cmd_ptwrite
        call  strcmp
        beqz  a0, do_ptwrite
        mv    a0, s0
        la    a1, cmd_foreign
        call  strcmp
        beqz  a0, do_foreign
        lbu   t1, 0(s0)
        beqz  t1, do_priv             # the default
        mv    a0, s0
        la    a1, cmd_priv
        call  strcmp
        beqz  a0, do_priv
        la    a0, msg_unknown
        call  print_str
        mv    a0, s0
        call  print_line
        # fall through to the default

do_priv:
        la    a0, msg_priv
        call  print_line
        la    a0, trap_default
        mtcr  tvec, a0                # privileged: ring 1 gets #GP
        la    a0, msg_survived
        call  print_line
        call  crash

do_ptwrite:
        la    a0, msg_ptwrite
        call  print_str
        la    t1, start_info_ptr
        lw    t1, 0(t1)
        lw    s0, START_INFO_PT_BASE(t1)
        mv    a0, s0
        call  print_hex
        li    a0, '\n'
        call  print_char
        sw    zero, 0(s0)             # the L2 table is mapped read-only: #PF
        la    a0, msg_survived
        call  print_line
        call  crash

do_foreign:
        call  foreign_frame
        mv    s0, a0
        la    a0, msg_foreign
        call  print_str
        mv    a0, s0
        call  print_hex
        li    a0, '\n'
        call  print_char
        mv    a0, s0
        call  map_frame_at_window
        bnez  a0, 1f
        la    a0, msg_survived
        call  print_line
        call  crash
1:      mv    s0, a0
        la    a0, msg_refused
        call  print_str
        mv    a0, s0
        call  print_signed
        la    a0, msg_next
        call  print_line
        j     do_ptwrite

# u32 foreign_frame(void): the lowest machine frame that is not one of our pages (not in
# mfn_list) and not our shared_info: someone else's, or nobody's.
foreign_frame:
        la    t1, start_info_ptr
        lw    t1, 0(t1)
        lw    a1, START_INFO_MFN_LIST(t1)
        lw    a2, START_INFO_NR_PAGES(t1)
        lw    a3, START_INFO_SHARED_INFO(t1)
        srli  a3, a3, PAGE_SHIFT
        li    a0, 0                   # candidate
1:      beq   a0, a3, 4f              # shared_info is shared with us: not foreign
        li    t1, 0
2:      beq   t1, a2, 5f              # not in mfn_list: found
        slli  t2, t1, 2
        add   t2, t2, a1
        lw    t2, 0(t2)
        beq   t2, a0, 4f
        addi  t1, t1, 1
        j     2b
4:      addi  a0, a0, 1
        j     1b
5:      ret

# long map_frame_at_window(u32 mfn): mmu_update the L1 entry of `window` to map mfn
# writable; 0 or -errno.  The entry's machine address comes from walking our own
# (read-only) tables: L2 at pt_base, its entry for window names the L1 frame.
map_frame_at_window:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        slli  a0, a0, PAGE_SHIFT
        ori   a0, a0, PTE_P | PTE_W
        sw    a0, MMU_UPDATE_VAL(sp)
        la    t1, start_info_ptr
        lw    t1, 0(t1)
        lw    t1, START_INFO_PT_BASE(t1)
        la    a1, window
        srli  t2, a1, 22
        slli  t2, t2, 2
        add   t1, t1, t2
        lw    t1, 0(t1)               # the L2 entry
        srli  t1, t1, PAGE_SHIFT
        slli  t1, t1, PAGE_SHIFT      # machine address of the L1 table
        srli  t2, a1, PAGE_SHIFT
        andi  t2, t2, ENTRIES_PER_TABLE - 1
        slli  t2, t2, 2
        add   t1, t1, t2              # | MMU_NORMAL_PT_UPDATE, which is 0
        sw    t1, MMU_UPDATE_PTR(sp)
        mv    a0, sp
        li    a1, 1
        li    a2, 0                   # no success count wanted
        li    a3, DOMID_SELF
        call  HYPERVISOR_mmu_update
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .rodata
cmd_priv:      .asciz "priv"
cmd_ptwrite:   .asciz "ptwrite"
cmd_foreign:   .asciz "foreign"
msg_unknown:   .asciz "faulty: unknown command line (try priv, ptwrite or foreign): "
msg_priv:      .asciz "faulty: executing a privileged instruction (mtcr tvec) in ring 1"
msg_ptwrite:   .asciz "faulty: writing to my own page table at "
msg_foreign:   .asciz "faulty: mapping machine frame I do not own: "
msg_refused:   .asciz "faulty: mmu_update refused it: error "
msg_next:      .asciz "; trying the page table instead"
msg_survived:  .asciz "faulty: that should not have worked!"

        .bss
        .balign 4096
window:        .space 4096            # where the foreign frame would appear

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "faulty"
