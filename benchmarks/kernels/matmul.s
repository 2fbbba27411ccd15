# C = A * B for 24x24 word matrices, A[i][j] = i + j, B[i][j] = i - j, repeated a0
# times; a0 = the sum of C's elements (mod 2**32).
        .equ    N, 24
        .text
        .global _start
_start:
        mv      s0, a0
        la      s1, mat_a
        la      s2, mat_b
        li      t1, 0                   # i
        li      t2, N
init_i: li      a1, 0                   # j
init_j: mul     a2, t1, t2
        add     a2, a2, a1
        slli    a2, a2, 2               # byte offset of [i][j]
        add     a3, t1, a1
        add     a4, s1, a2
        sw      a3, 0(a4)
        sub     a3, t1, a1
        add     a4, s2, a2
        sw      a3, 0(a4)
        addi    a1, a1, 1
        bltu    a1, t2, init_j
        addi    t1, t1, 1
        bltu    t1, t2, init_i
rep:    beqz    s0, done
        li      s3, 0                   # checksum
        li      t1, 0                   # i
row:    li      a1, 0                   # j
col:    li      a5, 0                   # sum
        li      t0, 0                   # k
        mul     a2, t1, t2
        slli    a2, a2, 2
        add     a2, a2, s1              # &A[i][0]
        slli    a3, a1, 2
        add     a3, a3, s2              # &B[0][j]
dot:    lw      a4, 0(a2)
        lw      a0, 0(a3)
        mul     a4, a4, a0
        add     a5, a5, a4
        addi    a2, a2, 4
        addi    a3, a3, 4 * N
        addi    t0, t0, 1
        bltu    t0, t2, dot
        la      a4, mat_c               # C[i][j] = sum
        mul     a0, t1, t2
        add     a0, a0, a1
        slli    a0, a0, 2
        add     a4, a4, a0
        sw      a5, 0(a4)
        add     s3, s3, a5
        addi    a1, a1, 1
        bltu    a1, t2, col
        addi    t1, t1, 1
        bltu    t1, t2, row
        addi    s0, s0, -1
        j       rep
done:   mv      a0, s3
        halt

        .bss
        .balign 4
mat_a:  .space  4 * N * N
mat_b:  .space  4 * N * N
mat_c:  .space  4 * N * N
