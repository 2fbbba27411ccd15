# Sieve of Eratosthenes below N, repeated a0 times; a0 = the number of primes (1028).
        .equ    N, 8192
        .text
        .global _start
_start:
        mv      s0, a0                  # repetitions left
        li      s1, 0
        la      t0, flags
        li      t2, N
rep:    beqz    s0, done
        li      t1, 0
        li      a1, 1
init:   add     a2, t0, t1              # flags[i] = 1 for every i
        sb      a1, 0(a2)
        addi    t1, t1, 1
        bltu    t1, t2, init
        li      t1, 2
outer:  mul     a2, t1, t1              # i*i
        bgeu    a2, t2, count
        add     a3, t0, t1
        lbu     a3, 0(a3)
        beqz    a3, next
inner:  add     a3, t0, a2              # cross out i*i, i*i + i, ...
        sb      zero, 0(a3)
        add     a2, a2, t1
        bltu    a2, t2, inner
next:   addi    t1, t1, 1
        j       outer
count:  li      t1, 2
        li      s1, 0
cloop:  add     a3, t0, t1
        lbu     a3, 0(a3)
        add     s1, s1, a3
        addi    t1, t1, 1
        bltu    t1, t2, cloop
        addi    s0, s0, -1
        j       rep
done:   mv      a0, s1
        halt

        .bss
flags:  .space  N
