# sum.s: add up an array of words in .data, store the total in `result`, halt.
#
#   paravisor as examples/sum.s -o sum.o
#   paravisor ld sum.o -o sum.elf
#   paravisor objdump -d sum.elf
#
# After it halts, `result` holds 1 + 2 + ... + 10 = 55 and a0 holds it too.

        .data
        .align  2                       # 2**2 = 4-byte aligned words
numbers:
        .word   1, 2, 3, 4, 5, 6, 7, 8, 9, 10
numbers_end:
        .global result
result: .word   0

# Defined after the array, so `li a1, COUNT` below knows the value and needs one word.
        .equ    COUNT, (numbers_end - numbers) / 4

        .elfnote "Xen", 6, "paravisor-sum"     # XEN_ELFNOTE_GUEST_OS

        .text
        .global _start
        .type   _start, @function
_start:
        la      sp, stack_top           # the stack grows down from here
        la      a0, numbers
        li      a1, COUNT
        call    sum_words
        la      t0, result
        sw      a0, 0(t0)
        halt
        .size   _start, . - _start

# sum_words(a0 = address of the first word, a1 = number of words) -> a0 = their sum
        .type   sum_words, @function
sum_words:
        push    s0
        li      s0, 0                   # running total
1:      beqz    a1, 2f
        lw      t1, 0(a0)
        add     s0, s0, t1
        addi    a0, a0, 4
        addi    a1, a1, -1
        j       1b
2:      mv      a0, s0
        pop     s0
        ret
        .size   sum_words, . - sum_words

        .bss
        .balign 16
stack:  .space  256
stack_top:
