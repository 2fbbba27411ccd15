/* A C guest kernel's view of the machine: start_info from the builder, the generated
   ABI header, hypercall wrappers, atomics and inline assembly. */
#include <hypercalls.h>
#include <pv32.h>
#include <stdio.h>
#include <string.h>

static unsigned counter = 10;

int main(void)
{
    start_info_t *si = __start_info;
    printf("magic ok: %d\n", strncmp(si->magic, START_INFO_MAGIC, strlen(START_INFO_MAGIC)) == 0);
    printf("pages: %d\n", si->nr_pages > 0);
    static const char direct[] = "direct console write\n";
    long rc = HYPERVISOR_console_io(CONSOLEIO_write, sizeof direct - 1, direct);
    printf("console_io: %ld\n", rc);
    printf("bad hypercall: %ld\n", (long)__hcall(63, 1, 2));
    unsigned old = __cas(&counter, 10, 20);
    unsigned failed = __cas(&counter, 10, 30);
    printf("cas: %u %u %u\n", old, failed, counter);
    old = __amoadd(&counter, 5);
    printf("amoadd: %u %u\n", old, counter);
    old = __amoswap(&counter, 1);
    printf("amoswap: %u %u\n", old, counter);
    __fence();
    int x = 0;
    __asm__("li a0, 7\n nop");
    printf("sizeof(struct start_info) ok: %d\n", sizeof(struct start_info) > 1024);
    return x;
}
