# crt0.s: start of day for C programs built by `paravisor cc` (docs/cc.md).
#
# The builder enters here in ring 1 with a0 = start_info's virtual address and sp =
# the top of the boot stack (docs/abi.md section 3).  _start keeps start_info in
# `__start_info` (for C: `extern start_info_t *__start_info;`), calls
# `int main(int argc, char **argv)` with argc = 0 and argv = NULL, and passes main's
# result to exit(), which powers the domain off with it as the exit code.
# This object is linked first, so its .text opens the image.

        .include "paravisor.inc"

        .text
        .global _start
_start:
        la    t1, __start_info
        sw    a0, 0(t1)
        andi  t1, sp, 7               # keep sp 8-aligned, as the calling convention says
        sub   sp, sp, t1
        li    a0, 0
        li    a1, 0
        call  main
        call  exit                    # exit(main's result): never returns

        .data
        .balign 4
        .global __start_info
__start_info:
        .word 0

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "paravisor-cc"
