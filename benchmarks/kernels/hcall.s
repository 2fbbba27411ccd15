# A hypercall-heavy loop: 1000 firmware calls (number 2: -ENOSYS) with a little work
# between them, repeated a0 times; a0 = the sum of the results (mod 2**32).
        .text
        .global _start
_start:
        mv      s0, a0
        li      s1, 0
rep:    beqz    s0, done
        li      s2, 1000
call:   li      t0, 2
        hcall                           # leaves the engine every time
        add     s1, s1, a0
        xori    a1, s1, 0x55
        add     s1, s1, a1
        addi    s2, s2, -1
        bnez    s2, call
        addi    s0, s0, -1
        j       rep
done:   mv      a0, s1
        halt
