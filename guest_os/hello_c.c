/* hello_c.c: guest_os/hello.s in C, built by `paravisor cc` with its freestanding libc.
 *
 *   $ paravisor run guest_os/hello_c.c --cmdline "C"
 *   Hello from C
 *   ...
 *
 * printf writes through console_io; returning from main powers the domain off with
 * main's value as the exit code (SCHEDOP_shutdown), which `paravisor run` reports. */
#include <stdio.h>
#include <pv32.h>

int main(void)
{
    const start_info_t *si = __start_info;
    const char *greeting = si->cmd_line[0] ? (const char *)si->cmd_line : "a PV32 guest";

    printf("Hello from %s\n", greeting);
    printf("I have %u pages of memory\n", si->nr_pages);
    printf("start_info at %p, page tables at %#010x\n", (void *)si, si->pt_base);
    printf("Goodbye.\n");
    return 0;
}
