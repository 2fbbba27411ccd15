/* map_page.c: examples/map_page.s in C, plus a page in a new 4 MiB region
 * (docs/hypervisor.md, "Mapping one more page").
 *
 *   $ paravisor run examples/map_page.c
 *
 * 1. update_va_mapping: the first free frame, writable, at the first free virtual page;
 * 2. mmu_update: the same frame read-only one page higher, by writing its L1 entry;
 * 3. check that both pages show one frame;
 * 4. a new 4 MiB region at NEW_REGION: a free frame becomes its L1 table (pinned, then
 *    hooked into the L2 with mmu_update), and update_va_mapping maps the frame there too.
 * Exit status 0, or the step that failed (1..4). */
#include <stdio.h>
#include <pv32.h>
#include <hypercalls.h>

#define NEW_REGION 0x40000000u            /* no L1 table covers it after boot */

extern char _start[];                  /* crt0's entry opens the image: its base address */

/* The machine address of the L1 entry that maps `va` (va's region must have an L1). */
static uint32_t l1_entry_maddr(const uint32_t *l2, uint32_t va)
{
    uint32_t l1 = l2[va >> 22] & ~(uint32_t)(PAGE_SIZE - 1);
    return l1 + 4 * ((va >> PAGE_SHIFT) & 0x3ff);
}

/* The L2's own frame: the L2 is mapped read-only at pt_base, followed by the L1s of the
 * regions in use, in address order; the L1 of pt_base's region maps the L2. */
static uint32_t l2_mfn(const start_info_t *si)
{
    const uint32_t *l2 = (const uint32_t *)si->pt_base;
    uint32_t region = si->pt_base >> 22, rank = 0, i;
    const uint32_t *l1;

    for (i = 0; i < region; i++)
        if (l2[i] & PTE_P)
            rank++;
    l1 = (const uint32_t *)(si->pt_base + (1 + rank) * PAGE_SIZE);
    return l1[(si->pt_base >> PAGE_SHIFT) & 0x3ff] >> PAGE_SHIFT;
}

static long set_entry(uint32_t maddr, uint32_t val)
{
    struct mmu_update req;

    req.ptr = maddr | MMU_NORMAL_PT_UPDATE;
    req.val = val;
    return HYPERVISOR_mmu_update(&req, 1, 0, DOMID_SELF);
}

int main(void)
{
    const start_info_t *si = __start_info;
    const uint32_t *mfn_list = (const uint32_t *)si->mfn_list;
    const uint32_t *l2 = (const uint32_t *)si->pt_base;
    uint32_t va = si->pt_base + si->nr_pt_frames * PAGE_SIZE;      /* first free page */
    uint32_t pfn = (si->pt_base - (uint32_t)_start) >> PAGE_SHIFT;  /* first free pfn */
    uint32_t mfn = mfn_list[pfn];
    uint32_t alias = va + PAGE_SIZE;
    long rc;

    /* 1. update_va_mapping: the 32-bit PTE travels in a register. */
    rc = HYPERVISOR_update_va_mapping(va, mfn << PAGE_SHIFT | PTE_P | PTE_W,
                                      UVMF_INVLPG | UVMF_LOCAL);
    if (rc != 0) {
        printf("update_va_mapping: %ld\n", rc);
        return 1;
    }
    *(volatile uint32_t *)va = 0x600d;

    /* 2. mmu_update: write the L1 entry of `alias` by its machine address. */
    rc = set_entry(l1_entry_maddr(l2, alias), mfn << PAGE_SHIFT | PTE_P);
    if (rc != 0) {
        printf("mmu_update: %ld\n", rc);
        return 2;
    }

    /* 3. Both pages show the same frame. */
    if (*(volatile uint32_t *)alias != 0x600d)
        return 3;
    printf("mapped frame %#010x at %#010x, read-only alias at %#010x\n", mfn, va, alias);

    /* 4. A new region: the next free frame (zeroed, never mapped) becomes an L1 table. */
    uint32_t l1_mfn = mfn_list[pfn + 1];
    struct mmuext_op pin;
    pin.cmd = MMUEXT_PIN_L1_TABLE;
    pin.arg1 = l1_mfn;
    pin.arg2 = 0;
    rc = HYPERVISOR_mmuext_op(&pin, 1, 0, DOMID_SELF);
    if (rc == 0)
        rc = set_entry((l2_mfn(si) << PAGE_SHIFT) + 4 * (NEW_REGION >> 22),
                       l1_mfn << PAGE_SHIFT | PTE_P | PTE_W | PTE_U);
    if (rc == 0)
        rc = HYPERVISOR_update_va_mapping(NEW_REGION, mfn << PAGE_SHIFT | PTE_P | PTE_W,
                                          UVMF_INVLPG | UVMF_LOCAL);
    if (rc != 0 || *(volatile uint32_t *)NEW_REGION != 0x600d) {
        printf("new region: %ld\n", rc);
        return 4;
    }
    printf("new L1 table %#010x maps the frame at %#010x too\n", l1_mfn, NEW_REGION);
    return 0;
}
