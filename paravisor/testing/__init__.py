"""Reusable test support, public (docs/design.md, 'Conventions' 17):

- programs, strategies, jit_programs: PV32 programs and page tables built from the ISA
  table, and random ones, for testing engines;
- toolchain, cc, cmodel: assembling snippets and running the CLI; building and running C
  guests; a model of C's integer semantics with random C expressions, for `paravisor cc`;
- host, guests: a small hypervisor with guests built from assembly, and hypercalls
  driven straight through dispatch with arguments in the guest's own memory;
- grant_harness, blkfront, netfront, toolstack: domains that grant, map and copy;
  frontends written in Python, and a device-test toolstack, driving the real backends;
- sched_harness: CPU-bound scheduling scenarios without interpreting guest code."""
