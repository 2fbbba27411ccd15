# hypercall.s: one wrapper function per hypercall the guest kernels use.
#
# Each follows the calling convention (docs/isa.md section 2): the hypercall's arguments
# are the function's arguments, in a0..a5, and its result comes back in a0 (0 or a
# positive value on success, -errno on failure).  The wrapper only loads the number
# into t0 and executes hcall, so a0..a5 pass straight through (docs/abi.md section 2).
# Like a C call, a wrapper clobbers a0..a5 and t0.

        .text

        .global HYPERVISOR_set_trap_table
# long HYPERVISOR_set_trap_table(const trap_info *table)
HYPERVISOR_set_trap_table:
        li    t0, __HYPERVISOR_set_trap_table
        hcall
        ret

        .global HYPERVISOR_mmu_update
# long HYPERVISOR_mmu_update(const mmu_update *reqs, u32 count, u32 *success_count,
#                            domid_t foreigndom)
HYPERVISOR_mmu_update:
        li    t0, __HYPERVISOR_mmu_update
        hcall
        ret

        .global HYPERVISOR_set_callbacks
# long HYPERVISOR_set_callbacks(void *event_address, void *failsafe_address)
HYPERVISOR_set_callbacks:
        li    t0, __HYPERVISOR_set_callbacks
        hcall
        ret

        .global HYPERVISOR_memory_op
# long HYPERVISOR_memory_op(u32 cmd, void *arg)
HYPERVISOR_memory_op:
        li    t0, __HYPERVISOR_memory_op
        hcall
        ret

        .global HYPERVISOR_update_va_mapping
# long HYPERVISOR_update_va_mapping(u32 va, u32 pte, u32 flags)
HYPERVISOR_update_va_mapping:
        li    t0, __HYPERVISOR_update_va_mapping
        hcall
        ret

        .global HYPERVISOR_set_timer_op
# long HYPERVISOR_set_timer_op(u32 timeout_lo, u32 timeout_hi): absolute ns; 0 cancels
HYPERVISOR_set_timer_op:
        li    t0, __HYPERVISOR_set_timer_op
        hcall
        ret

        .global HYPERVISOR_xen_version
# long HYPERVISOR_xen_version(u32 cmd, void *arg)
HYPERVISOR_xen_version:
        li    t0, __HYPERVISOR_xen_version
        hcall
        ret

        .global HYPERVISOR_console_io
# long HYPERVISOR_console_io(u32 cmd, u32 count, const char *buffer)
HYPERVISOR_console_io:
        li    t0, __HYPERVISOR_console_io
        hcall
        ret

        .global HYPERVISOR_vcpu_op
# long HYPERVISOR_vcpu_op(u32 cmd, u32 vcpuid, void *arg)
HYPERVISOR_vcpu_op:
        li    t0, __HYPERVISOR_vcpu_op
        hcall
        ret

        .global HYPERVISOR_mmuext_op
# long HYPERVISOR_mmuext_op(const mmuext_op *ops, u32 count, u32 *success_count,
#                           domid_t foreigndom)
HYPERVISOR_mmuext_op:
        li    t0, __HYPERVISOR_mmuext_op
        hcall
        ret

        .global HYPERVISOR_sched_op
# long HYPERVISOR_sched_op(u32 cmd, void *arg)
HYPERVISOR_sched_op:
        li    t0, __HYPERVISOR_sched_op
        hcall
        ret

        .global HYPERVISOR_event_channel_op
# long HYPERVISOR_event_channel_op(u32 cmd, void *arg)
HYPERVISOR_event_channel_op:
        li    t0, __HYPERVISOR_event_channel_op
        hcall
        ret

        .global HYPERVISOR_sysctl
# long HYPERVISOR_sysctl(xen_sysctl *op)   (dom0 only)
HYPERVISOR_sysctl:
        li    t0, __HYPERVISOR_sysctl
        hcall
        ret

        .global HYPERVISOR_domctl
# long HYPERVISOR_domctl(xen_domctl *op)   (dom0 only)
HYPERVISOR_domctl:
        li    t0, __HYPERVISOR_domctl
        hcall
        ret

# --- sched_op conveniences --------------------------------------------------------------

        .global HYPERVISOR_shutdown
# long HYPERVISOR_shutdown(u32 reason, u32 code): SCHEDOP_shutdown with a sched_shutdown
# {reason, code} built on the stack.  Returns only if the hypervisor refused (-errno).
HYPERVISOR_shutdown:
        addi  sp, sp, -8
        sw    a0, SCHED_SHUTDOWN_REASON(sp)
        sw    a1, SCHED_SHUTDOWN_CODE(sp)
        li    a0, SCHEDOP_shutdown
        mv    a1, sp
        li    t0, __HYPERVISOR_sched_op
        hcall
        addi  sp, sp, 8
        ret

        .global HYPERVISOR_block
# long HYPERVISOR_block(void): SCHEDOP_block; the hypervisor unmasks events first.
HYPERVISOR_block:
        li    a0, SCHEDOP_block
        li    a1, 0
        li    t0, __HYPERVISOR_sched_op
        hcall
        ret

        .global HYPERVISOR_yield
# long HYPERVISOR_yield(void): SCHEDOP_yield.
HYPERVISOR_yield:
        li    a0, SCHEDOP_yield
        li    a1, 0
        li    t0, __HYPERVISOR_sched_op
        hcall
        ret

        .global crash
# void crash(void): SCHEDOP_shutdown(SHUTDOWN_crash); never returns.
crash:
        li    a0, SHUTDOWN_crash
        li    a1, 0
        call  HYPERVISOR_shutdown
1:      j     1b                      # unreachable unless the hypervisor refused
