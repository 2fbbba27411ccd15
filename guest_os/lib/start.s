# start.s: the entry point every PV32 kernel built on this runtime shares.
#
# Start of day (docs/abi.md section 3): a0 = the virtual address of start_info, sp = the
# top of the boot stack, ring 1, events masked, no trap table.  _start
#   1. keeps start_info's address in `start_info_ptr`;
#   2. installs the default trap table (traps.s), so any fault prints a clear message;
#   3. maps shared_info (start_info.shared_info is its *machine* address) over the
#      page-aligned `shared_info_page` in .bss with update_va_mapping, as Mini-OS does,
#      and publishes its virtual address in `HYPERVISOR_shared_info` (0 if that failed:
#      the kernel then runs without events);
#   4. calls `int kmain(start_info *si)` (kmain may use s0..s3 without saving them:
#      _start keeps nothing there);
#   5. powers the domain off with kmain's result as the exit code (SCHEDOP_shutdown
#      {SHUTDOWN_poweroff, code}: `paravisor run` returns it as its exit status).
# .bss needs no zeroing: the builder hands a domain freshly zeroed frames and copies
# only the image's file bytes into them.
#
# This file's .text must come first in the image: kernels include runtime.s before any
# code of their own, so `_text` (the image base, pseudo-physical page 0) is _start.

        .text
        .global _start, _text
_text:
_start:
        la    t1, start_info_ptr
        sw    a0, 0(t1)
        call  trap_init
        call  map_shared_info
        la    a0, start_info_ptr
        lw    a0, 0(a0)
        call  kmain
        mv    a1, a0
        li    a0, SHUTDOWN_poweroff
        call  HYPERVISOR_shutdown
        call  crash                   # the hypervisor refused to power us off

        .global map_shared_info
# long map_shared_info(void): map shared_info at shared_info_page; 0 or -errno (the
# error is also printed).
map_shared_info:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        la    a0, start_info_ptr
        lw    a0, 0(a0)
        lw    a1, START_INFO_SHARED_INFO(a0)
        ori   a1, a1, PTE_P | PTE_W
        la    a0, shared_info_page
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        mv    s0, a0
        bnez  s0, 1f
        la    t1, HYPERVISOR_shared_info
        la    t2, shared_info_page
        sw    t2, 0(t1)
        j     2f
1:      la    a0, msg_no_shared_info
        call  print_str
        mv    a0, s0
        call  print_signed
        la    a0, msg_events_off
        call  print_line
2:      mv    a0, s0
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global virt_to_mfn
# u32 virt_to_mfn(void *va): the machine frame behind `va`, for any address in the
# initial region (image, start_info, p2m, stack ...): pseudo-physical page n of that
# region starts at _text + n * PAGE_SIZE and is frame mfn_list[n].
virt_to_mfn:
        la    t1, _text
        sub   a0, a0, t1
        srli  a0, a0, PAGE_SHIFT
        slli  a0, a0, 2
        la    t1, start_info_ptr
        lw    t1, 0(t1)
        lw    t1, START_INFO_MFN_LIST(t1)
        add   t1, t1, a0
        lw    a0, 0(t1)
        ret

        .rodata
msg_no_shared_info:
        .asciz "start: cannot map shared_info: error "
msg_events_off:
        .asciz "; running without events"

        .data
        .balign 4
        .global start_info_ptr, HYPERVISOR_shared_info
start_info_ptr:                       # start_info's virtual address (a0 at boot)
        .word 0
HYPERVISOR_shared_info:               # shared_info's virtual address, 0 if unmapped
        .word 0

        .bss
        .balign 4096
        .global shared_info_page
shared_info_page:
        .space 4096
