# string.s: the few C-library string functions the guest kernels need.
#
#   strlen(s) -> length     strcmp(a, b) -> <0 / 0 / >0 (unsigned bytes)
#   parse_uint(s) -> value, or -1 unless s is a non-empty run of decimal digits
#   memset(dst, byte, len) -> dst

        .text

        .global strlen
# u32 strlen(const char *s)
strlen:
        mv    a1, a0
1:      lbu   t1, 0(a1)
        beqz  t1, 2f
        addi  a1, a1, 1
        j     1b
2:      sub   a0, a1, a0
        ret

        .global strcmp
# int strcmp(const char *a, const char *b)
strcmp:
1:      lbu   t1, 0(a0)
        lbu   t2, 0(a1)
        bne   t1, t2, 2f
        beqz  t1, 2f
        addi  a0, a0, 1
        addi  a1, a1, 1
        j     1b
2:      sub   a0, t1, t2
        ret

        .global parse_uint
# i32 parse_uint(const char *s): the decimal number s spells (at most 9 digits, so it
# cannot overflow), or -1 if s is empty or holds anything but digits.
parse_uint:
        li    a1, 0                   # value
        li    a2, 0                   # digits seen
        li    a3, 10
1:      lbu   t1, 0(a0)
        beqz  t1, 2f
        addi  t1, t1, -'0'
        bgeu  t1, a3, 3f              # not a digit (unsigned compare also catches < '0')
        mul   a1, a1, a3
        add   a1, a1, t1
        addi  a2, a2, 1
        addi  a0, a0, 1
        li    t2, 9
        bgt   a2, t2, 3f
        j     1b
2:      beqz  a2, 3f
        mv    a0, a1
        ret
3:      li    a0, -1
        ret

        .global memset
# void *memset(void *dst, int byte, u32 len)
memset:
        mv    t1, a0
1:      beqz  a2, 2f
        sb    a1, 0(t1)
        addi  t1, t1, 1
        addi  a2, a2, -1
        j     1b
2:      ret
