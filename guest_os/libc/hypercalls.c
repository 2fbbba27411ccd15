/* hypercalls.c: one C wrapper per hypercall; the definitions are generated into
   guest_os/include/hypercalls.h from the ABI (paravisor/abi/signatures.py). */
#define HYPERCALLS_IMPLEMENTATION
#include <hypercalls.h>
