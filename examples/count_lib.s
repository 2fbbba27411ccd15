# count_lib.s: strlen and the string it is tried on (see count_main.s).

        .rodata
        .global greeting
greeting:
        .asciz  "Hello from PV32!\n"

        .text
        .global strlen
# strlen(a0 = address of a NUL-terminated string) -> a0 = its length in bytes
strlen:
        mv      t0, a0
1:      lbu     t1, 0(t0)
        beqz    t1, 2f
        addi    t0, t0, 1
        j       1b
2:      sub     a0, t0, a0
        ret
