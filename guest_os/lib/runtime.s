# runtime.s: the whole PV32 guest runtime, for kernels to `.include "runtime.s"` as the
# first thing they do (start.s's code must open the image; see there).  It provides
# _start (which calls the kernel's `int kmain(start_info *si)`), hypercall wrappers,
# console output, the default trap table, event channels and time.  The assembler
# finds these files from anywhere: guest_os/lib is a system include directory.

        .include "paravisor.inc"
        .include "start.s"
        .include "hypercall.s"
        .include "string.s"
        .include "console.s"
        .include "traps.s"
        .include "events.s"
        .include "time.s"
