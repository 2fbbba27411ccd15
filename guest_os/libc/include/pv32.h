/* pv32.h: the machine from C.  These are compiler builtins of paravisor cc:
     long __hcall(nr, a0, ..., a5)       hcall: t0 = nr, a0..a5, result in a0
     unsigned __cas(p, expected, new)    atomic compare-and-swap; returns the old *p
     unsigned __amoadd(p, v)             atomic *p += v; returns the old *p
     unsigned __amoswap(p, v)            atomic exchange; returns the old *p
     void __fence(void)                  orders earlier memory accesses before later
     __asm__("text")                     verbatim assembly (no operands)
   The start_info page the builder handed us: */
#ifndef _PV32_H
#define _PV32_H
#include <paravisor.h>
extern start_info_t *__start_info;
#endif
