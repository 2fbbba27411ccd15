# count_main.s: count the bytes of a string with `strlen` from count_lib.s,
# showing a call across objects (R_PV32_JUMP20) and a global read from the
# other object (R_PV32_HI20 / R_PV32_LO12).
#
#   paravisor as examples/count_main.s -o main.o
#   paravisor as examples/count_lib.s -o lib.o
#   paravisor ld main.o lib.o -o count.elf --base 0x40000

        .text
        .global _start
_start:
        la      sp, stack_top
        la      a0, greeting            # defined in count_lib.s
        call    strlen                  # so is strlen
        la      t0, length
        sw      a0, 0(t0)
        halt

        .data
length: .word   0

        .bss
        .balign 16
        .space  128
stack_top:
