# runtime_lib.s: exercises the runtime's formatting and parsing on edge values, one
# result per line, for tests/guests to compare with Python's own formatting:
#   print_u64: 0, 2^32 - 1, 2^32, 10^19, 2^64 - 1
#   print_dec: 0, 4294967295    print_hex: 0, 0xdeadbeef    print_signed: -38, 7
#   parse_uint: "0", "123456789", "" (-1), "12a" (-1), "1234567890" (-1: too long)
#   strcmp: sign of ("abc", "abd"), ("abc", "abc"), ("b", "a")

        .include "runtime.s"

        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    s0, u64_values
1:      lw    a0, 0(s0)
        lw    a1, 4(s0)
        call  print_u64
        call  newline
        addi  s0, s0, 8
        la    t1, u64_end
        bne   s0, t1, 1b
        li    a0, 0
        call  print_dec
        call  newline
        li    a0, -1
        call  print_dec
        call  newline
        li    a0, 0
        call  print_hex
        call  newline
        li    a0, 0xdeadbeef
        call  print_hex
        call  newline
        li    a0, -38
        call  print_signed
        call  newline
        li    a0, 7
        call  print_signed
        call  newline
        la    s0, parse_inputs
2:      lw    a0, 0(s0)
        beqz  a0, 3f
        call  parse_uint
        call  print_signed
        call  newline
        addi  s0, s0, 4
        j     2b
3:      la    s0, strcmp_inputs
4:      lw    a0, 0(s0)
        beqz  a0, 5f
        lw    a1, 4(s0)
        call  strcmp
        slt   s1, zero, a0            # sign: 1, 0 or -1
        slt   a0, a0, zero
        sub   a0, s1, a0
        call  print_signed
        call  newline
        addi  s0, s0, 8
        j     4b
5:      li    a0, 0
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

newline:
        li    a0, '\n'
        j     print_char

        .rodata
s_zero:   .asciz "0"
s_nine:   .asciz "123456789"
s_empty:  .asciz ""
s_bad:    .asciz "12a"
s_long:   .asciz "1234567890"
s_abc:    .asciz "abc"
s_abd:    .asciz "abd"
s_a:      .asciz "a"
s_b:      .asciz "b"
        .balign 4
u64_values:                           # {lo, hi}
        .word 0, 0
        .word 0xffffffff, 0
        .word 0, 1
        .word 0x89e80000, 0x8ac72304  # 10^19
        .word 0xffffffff, 0xffffffff
u64_end:
parse_inputs:
        .word s_zero, s_nine, s_empty, s_bad, s_long, 0
strcmp_inputs:
        .word s_abc, s_abd, s_abc, s_abc, s_b, s_a, 0
