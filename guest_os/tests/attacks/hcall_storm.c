/* hcall_storm.c: free hypercall work (issue 11, F3; docs/security.md).
 *
 * The attack: hypercall work used to cost nothing in virtual time, only the guest's own
 * instructions did.  One multicall of mmuext_op batches full of TLB flushes kept a pCPU
 * busy on the host for as long as the guest liked while its clock stood still, and the
 * domains next to it starved.  The defence charges every call, entry, table and byte
 * to the caller and preempts long calls with Xen-style continuations (docs/abi.md,
 * "What a hypercall costs").
 *
 * Without a command line this kernel checks that the defence holds and that the
 * continuations are invisible in the results:
 *   1. a multicall of NR_BATCHES mmuext_op batches (one with a bad command part-way)
 *      returns 0, every `result` and every success count exact;
 *   2. that work took virtual time: at least BATCH_ENTRY_NS per flush, on the clock and
 *      in the vCPU's own running time;
 *   3. the batch really was preempted: a preempted call's continuation is written over
 *      its multicall entry (count | MMU_UPDATE_PREEMPTED), as in Xen;
 *   4. a long mmu_update failing part-way reports -EINVAL and the exact success count;
 *   5. forged continuations are checked like fresh calls: a refused op inside a
 *      "resumed" mmuext_op is still refused, a "resumed" call with nothing left and a
 *      memory_op starting past its last extent are -EINVAL.
 * It prints "hcall_storm: CONTAINED" and returns 0, or returns the failed check.
 *
 * With the command line "storm" it attacks forever (the end-to-end starvation test),
 * with "storm N" for N rounds (benchmarks/hcost.py): each round is one multicall of
 * STORM_BATCHES such batches, 65536 flushes issued for a few thousand guest
 * instructions, and it prints its running time after each. */
#include <events.h>
#include <hypercalls.h>
#include <pv32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_BATCHES 16
#define OPS_PER_BATCH 1024
#define STORM_BATCHES 64            /* storm mode: each batch is ops[b % NR_BATCHES] */
#define BAD_BATCH 5                 /* this batch has an unknown command ... */
#define BAD_OP 700                  /* ... at this index */
#define BATCH_ENTRY_NS 1000         /* paravisor/hypercalls/cost.py */
#define NR_UPDATES 12000
#define BAD_UPDATE 9000
#define DONE_MARKER 0xDEADu

static mmuext_op_t ops[NR_BATCHES][OPS_PER_BATCH];
static multicall_entry_t calls[STORM_BATCHES];
static unsigned done[STORM_BATCHES];
static mmu_update_t updates[NR_UPDATES];

static unsigned running_us(void)
{
    vcpu_runstate_info_t info;
    const uint32_t *words = (const uint32_t *)&info.time[RUNSTATE_running];

    if (HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &info) != 0)
        return 0;
    return words[0] / 1000u + words[1] * 4294967u;     /* ns -> us, the high word too */
}

static unsigned elapsed_us(stime_t from, stime_t to)
{
    unsigned high = to.hi - from.hi - (to.lo < from.lo);   /* borrow from the high word */

    return (to.lo - from.lo) / 1000u + high * 4294967u;
}

/* The flush batches: a few instructions per flush, written once. */
static void build_ops(int with_bad_op)
{
    static const unsigned flushes[3] = {MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_ALL,
                                        MMUEXT_INVLPG_LOCAL};
    unsigned b, i;

    for (b = 0; b < NR_BATCHES; b++)
        for (i = 0; i < OPS_PER_BATCH; i++) {
            ops[b][i].cmd = flushes[(b + i) % 3];
            ops[b][i].arg1 = 0x10000;
            ops[b][i].arg2 = 0;
        }
    if (with_bad_op)
        ops[BAD_BATCH][BAD_OP].cmd = 0x777;
}

/* A multicall of `nr` batches, results reset: a handful of instructions per batch (a
   continuation may have rewritten an entry's arguments). */
static void build_calls(unsigned nr)
{
    unsigned b;

    for (b = 0; b < nr; b++) {
        done[b] = DONE_MARKER;
        memset(&calls[b], 0, sizeof(calls[b]));
        calls[b].op = __HYPERVISOR_mmuext_op;
        calls[b].result = DONE_MARKER;
        calls[b].args[0] = (uint32_t)ops[b % NR_BATCHES];
        calls[b].args[1] = OPS_PER_BATCH;
        calls[b].args[2] = (uint32_t)&done[b];
        calls[b].args[3] = DOMID_SELF;
    }
}

static int storm_results_exact(void)
{
    unsigned b;

    for (b = 0; b < NR_BATCHES; b++) {
        long want_result = b == BAD_BATCH ? -ENOSYS : 0;
        unsigned want_done = b == BAD_BATCH ? BAD_OP : OPS_PER_BATCH;
        if ((long)(int32_t)calls[b].result != want_result || done[b] != want_done) {
            printf("hcall_storm: batch %u: result %d done %u\n", b, (int)calls[b].result,
                   done[b]);
            return 0;
        }
    }
    return 1;
}

static int some_entry_continued(void)
{
    unsigned b;

    for (b = 0; b < NR_BATCHES; b++)
        if (calls[b].args[1] & MMU_UPDATE_PREEMPTED)
            return 1;
    return 0;
}

/* 1-3: the storm, exact and paid for. */
static int check_storm(void)
{
    /* every flush but those after the bad op costs at least BATCH_ENTRY_NS */
    unsigned owed = (NR_BATCHES - 1) * OPS_PER_BATCH * (BATCH_ENTRY_NS / 1000);
    unsigned ran_before, ran, took;
    stime_t before, after;

    build_ops(1);
    build_calls(NR_BATCHES);
    ran_before = running_us();
    before = clock_now();
    if (HYPERVISOR_multicall(calls, NR_BATCHES) != 0 || !storm_results_exact())
        return 1;
    after = clock_now();
    took = elapsed_us(before, after);
    ran = running_us() - ran_before;
    printf("hcall_storm: %u flushes took %u us of virtual time (%u us running)\n",
           NR_BATCHES * OPS_PER_BATCH, took, ran);
    if (took < owed || ran < owed)
        return 2;
    if (!some_entry_continued())
        return 3;
    return 0;
}

/* 4: a long mmu_update that fails part-way: m2p updates of our own frames (each sets
   the value it already has), one naming a frame that does not exist. */
static int check_mmu_update(void)
{
    const uint32_t *p2m = (const uint32_t *)__start_info->mfn_list;
    unsigned nr_pages = __start_info->nr_pages, i, count = DONE_MARKER;
    long rc;

    for (i = 0; i < NR_UPDATES; i++) {
        unsigned pfn = i % nr_pages;
        updates[i].ptr = (p2m[pfn] << 12) | MMU_MACHPHYS_UPDATE;
        updates[i].val = pfn;
    }
    updates[BAD_UPDATE].ptr = 0xFFFFF000u | MMU_MACHPHYS_UPDATE;
    rc = HYPERVISOR_mmu_update(updates, NR_UPDATES, &count, DOMID_SELF);
    if (rc != -EINVAL || count != BAD_UPDATE) {
        printf("hcall_storm: mmu_update: %ld, %u done\n", rc, count);
        return 4;
    }
    return 0;
}

/* 5: continuation state is the guest's to forge, and buys it nothing. */
static int check_forged_continuations(void)
{
    static mmuext_op_t forged[3];
    static xen_memory_reservation_t reservation;
    static uint32_t extents[3];
    unsigned count = 100;

    forged[0].cmd = MMUEXT_TLB_FLUSH_LOCAL;
    forged[1].cmd = MMUEXT_PIN_L1_TABLE;      /* a frame that does not exist */
    forged[1].arg1 = 0xFFFFF;
    forged[2].cmd = MMUEXT_TLB_FLUSH_LOCAL;
    if (HYPERVISOR_mmuext_op(forged, 3 | MMU_UPDATE_PREEMPTED, &count, DOMID_SELF) != -EINVAL
        || count != 101)
        return 5;
    if (HYPERVISOR_mmuext_op(forged, MMU_UPDATE_PREEMPTED, &count, DOMID_SELF) != -EINVAL)
        return 5;
    reservation.extent_start = (uint32_t)extents;
    reservation.nr_extents = 3;
    reservation.domid = DOMID_SELF;
    if (HYPERVISOR_memory_op(XENMEM_decrease_reservation | (5u << MEMOP_EXTENT_SHIFT),
                             &reservation) != -EINVAL)
        return 5;
    return 0;
}

/* `rounds` of the storm (0: forever). */
static int storm(unsigned rounds)
{
    unsigned round;

    build_ops(0);
    for (round = 1; rounds == 0 || round <= rounds; round++) {
        build_calls(STORM_BATCHES);
        if (HYPERVISOR_multicall(calls, STORM_BATCHES) != 0)
            return 1;
        printf("hcall_storm: round %u: %u flushes, running %u us\n", round,
               STORM_BATCHES * OPS_PER_BATCH, running_us());
    }
    return 0;
}

int main(void)
{
    const char *cmdline = (const char *)__start_info->cmd_line;
    int failed;

    if (!events_init())
        return 9;
    if (strncmp(cmdline, "storm", 5) == 0)
        return storm(strtoul(cmdline + 5, NULL, 10));
    failed = check_storm();
    if (!failed)
        failed = check_mmu_update();
    if (!failed)
        failed = check_forged_continuations();
    if (failed)
        return failed;
    printf("hcall_storm: CONTAINED\n");
    return 0;
}
