# Bitwise CRC-32 (IEEE, reflected) of a 4 KiB buffer holding (7 * i) & 0xff, repeated
# a0 times; a0 = the CRC.
        .equ    LEN, 4096
        .text
        .global _start
_start:
        mv      s0, a0
        la      t0, buffer
        li      t1, 0
fill:   li      a1, 7
        mul     a1, a1, t1
        add     a2, t0, t1
        sb      a1, 0(a2)
        addi    t1, t1, 1
        li      a2, LEN
        bltu    t1, a2, fill
        li      s2, 0xEDB88320
rep:    beqz    s0, done
        li      s1, -1                  # crc
        li      t1, 0
byte:   add     a2, t0, t1
        lbu     a2, 0(a2)
        xor     s1, s1, a2
        li      a3, 8
bit:    andi    a4, s1, 1
        neg     a4, a4                  # all ones if the low bit was set
        and     a4, a4, s2
        srli    s1, s1, 1
        xor     s1, s1, a4
        addi    a3, a3, -1
        bnez    a3, bit
        addi    t1, t1, 1
        li      a2, LEN
        bltu    t1, a2, byte
        addi    s0, s0, -1
        j       rep
done:   not     a0, s1
        halt

        .bss
buffer: .space  LEN
