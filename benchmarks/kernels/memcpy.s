# Copy 256 KiB (64 pages) word by word from src to dst, repeated a0 times (the source
# changes each time); a0 = the sum of the last words copied on each repetition.
        .equ    LEN, 256 * 1024
        .text
        .global _start
_start:
        mv      s0, a0
        li      s3, 0
        la      s1, src
        la      s2, dst
        li      t2, LEN
rep:    beqz    s0, done
        sw      s0, 0(s1)               # make every repetition's data different
        li      t1, 0
copy:   add     a2, s1, t1
        lw      a3, 0(a2)
        lw      a4, 4(a2)
        add     a2, s2, t1
        sw      a3, 0(a2)
        sw      a4, 4(a2)
        addi    t1, t1, 8
        bltu    t1, t2, copy
        lw      a3, 0(s2)
        add     s3, s3, a3
        addi    s0, s0, -1
        j       rep
done:   mv      a0, s3
        halt

        .bss
        .balign 4096
src:    .space  LEN
dst:    .space  LEN
