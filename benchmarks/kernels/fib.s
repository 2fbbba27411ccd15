# Recursive fibonacci(20) = 6765, repeated a0 times; a0 = fib(20).
        .text
        .global _start
_start:
        la      sp, stack_top
        mv      s0, a0
        li      s1, 0
rep:    beqz    s0, done
        li      a0, 20
        call    fib
        mv      s1, a0
        addi    s0, s0, -1
        j       rep
done:   mv      a0, s1
        halt

# fib(a0) -> a0
fib:    li      t0, 2
        bltu    a0, t0, 1f
        push    ra
        push    s2
        push    s3
        mv      s2, a0
        addi    a0, a0, -1
        call    fib
        mv      s3, a0
        addi    a0, s2, -2
        call    fib
        add     a0, a0, s3
        pop     s3
        pop     s2
        pop     ra
1:      ret

        .bss
        .balign 16
stack:  .space  4096
stack_top:
