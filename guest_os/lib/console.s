# console.s: text output for guest kernels.
#
# Everything goes through HYPERVISOR_console_io(CONSOLEIO_write), which the hypervisor
# shows at once on the domain's console; xencons_write also offers the PV console ring
# (io/console.h) that the console daemon in dom0 drains.
#
#   console_write(buf, len)   print_str(s)   print_char(c)   print_line(s) (adds "\n")
#   print_dec(u32)   print_signed(i32)   print_hex(u32) ("0x" + 8 digits)
#   print_u64(lo, hi) (decimal)   xencons_write(buf, len) -> bytes queued or -errno

        .text

        .global console_write
# long console_write(const char *buf, u32 len)
console_write:
        mv    a2, a0
        li    a0, CONSOLEIO_write
        # a1 is already len
        li    t0, __HYPERVISOR_console_io
        hcall
        ret

        .global print_str
# void print_str(const char *s): write the NUL-terminated string s.
print_str:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, a0
        call  strlen
        mv    a1, a0
        mv    a0, s0
        call  console_write
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global print_line
# void print_line(const char *s): print_str(s) then a newline.
print_line:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        call  print_str
        li    a0, '\n'
        call  print_char
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global print_char
# void print_char(char c)
print_char:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sb    a0, 0(sp)
        mv    a0, sp
        li    a1, 1
        call  console_write
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global print_dec
# void print_dec(u32 value): unsigned decimal, no padding.
print_dec:
        addi  sp, sp, -16             # 10 digits at most, built from the end of the buffer
        sw    ra, 12(sp)
        addi  a2, sp, 11              # a2: one past the last digit
        mv    a1, a2
        li    t1, 10
1:      remu  t2, a0, t1
        divu  a0, a0, t1
        addi  t2, t2, '0'
        addi  a1, a1, -1
        sb    t2, 0(a1)
        bnez  a0, 1b
        sub   t2, a2, a1              # digit count
        mv    a0, a1
        mv    a1, t2
        call  console_write
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global print_signed
# void print_signed(i32 value): decimal with a leading '-' when negative (errnos).
print_signed:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, a0
        bge   s0, zero, 1f
        li    a0, '-'
        call  print_char
        neg   s0, s0
1:      mv    a0, s0
        call  print_dec
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .global print_hex
# void print_hex(u32 value): "0x" and exactly 8 lower-case hex digits.
print_hex:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        li    t1, '0'
        sb    t1, 0(sp)
        li    t1, 'x'
        sb    t1, 1(sp)
        addi  a1, sp, 9               # last digit goes at 9(sp)
        addi  a2, sp, 1
1:      andi  t1, a0, 0xf
        la    t2, hex_digits
        add   t2, t2, t1
        lbu   t1, 0(t2)
        sb    t1, 0(a1)
        srli  a0, a0, 4
        addi  a1, a1, -1
        bne   a1, a2, 1b
        mv    a0, sp
        li    a1, 10
        call  console_write
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

        .global print_u64
# void print_u64(u32 lo, u32 hi): the 64-bit value hi:lo in decimal (system times).
# Long division by 10 over four 16-bit limbs keeps every partial value below 2^20.
print_u64:
        addi  sp, sp, -40             # 20 digits at most, from 32(sp) down
        sw    ra, 36(sp)
        addi  a5, sp, 32              # one past the last digit
        mv    a4, a5
        li    t1, 10
1:      srli  a2, a1, 16              # limbs: a2 = hi[31:16], a3 = hi[15:0] ...
        remu  t2, a2, t1
        divu  a2, a2, t1
        slli  a3, a1, 16
        srli  a3, a3, 16
        slli  t2, t2, 16
        or    a3, a3, t2
        remu  t2, a3, t1
        divu  a3, a3, t1
        slli  a2, a2, 16
        or    a1, a2, a3              # hi = hi / 10, remainder in t2
        srli  a2, a0, 16
        slli  t2, t2, 16
        or    a2, a2, t2
        remu  t2, a2, t1
        divu  a2, a2, t1
        slli  a3, a0, 16
        srli  a3, a3, 16
        slli  t2, t2, 16
        or    a3, a3, t2
        remu  t2, a3, t1
        divu  a3, a3, t1
        slli  a2, a2, 16
        or    a0, a2, a3              # lo = lo / 10 (with the carry from hi)
        addi  t2, t2, '0'
        addi  a4, a4, -1
        sb    t2, 0(a4)
        or    t2, a0, a1
        bnez  t2, 1b
        sub   a1, a5, a4
        mv    a0, a4
        call  console_write
        lw    ra, 36(sp)
        addi  sp, sp, 40
        ret

        .global xencons_write
# long xencons_write(const char *buf, u32 len): queue bytes on the PV console ring and
# notify the console daemon.  Returns the number of bytes queued (fewer than len when
# the ring is full), or -ENODEV when the ring is not mapped (console_init failed).
xencons_write:
        la    t1, xencons_ring
        lw    t1, 0(t1)
        beqz  t1, 3f
        lw    a2, XENCONS_INTERFACE_OUT_CONS(t1)
        lw    a3, XENCONS_INTERFACE_OUT_PROD(t1)
        fence                         # read out_cons before reusing ring space
        li    a4, 0                   # bytes queued
1:      beq   a4, a1, 2f
        sub   t2, a3, a2
        li    a5, XENCONS_OUT_SIZE
        bgeu  t2, a5, 2f              # full
        add   t2, a0, a4
        lbu   t2, 0(t2)
        andi  a5, a3, XENCONS_OUT_SIZE - 1
        add   a5, a5, t1
        sb    t2, XENCONS_INTERFACE_OUT(a5)
        addi  a3, a3, 1
        addi  a4, a4, 1
        j     1b
2:      fence                         # the bytes before the index that publishes them
        sw    a3, XENCONS_INTERFACE_OUT_PROD(t1)
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a4, 0(sp)
        la    a0, start_info_ptr
        lw    a0, 0(a0)
        lw    a0, START_INFO_CONSOLE_DOMU_EVTCHN(a0)
        call  notify_remote_via_evtchn
        lw    a0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret
3:      li    a0, -ENODEV
        ret

        .global console_init
# long console_init(void): map the PV console ring (start_info.console.domU.mfn) at
# xencons_page with update_va_mapping; 0 or -errno.  dom0 has no ring (-ENODEV).
console_init:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    a0, start_info_ptr
        lw    a0, 0(a0)
        lw    a1, START_INFO_CONSOLE_DOMU_MFN(a0)
        lw    t1, START_INFO_FLAGS(a0)
        andi  t1, t1, SIF_INITDOMAIN
        bnez  t1, 1f
        beqz  a1, 1f
        slli  a1, a1, PAGE_SHIFT
        ori   a1, a1, PTE_P | PTE_W
        la    a0, xencons_page
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        bnez  a0, 2f
        la    t1, xencons_ring
        la    t2, xencons_page
        sw    t2, 0(t1)
        j     2f
1:      li    a0, -ENODEV
2:      lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
hex_digits:
        .ascii "0123456789abcdef"

        .data
        .balign 4
        .global xencons_ring
xencons_ring:                         # va of the mapped xencons_interface, or 0
        .word 0

        .bss
        .balign 4096
xencons_page:
        .space 4096
