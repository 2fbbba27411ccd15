/* pt_remap.c: a kernel that keeps remapping its own pages, as a guest kernel's mmap,
 * fork and exec paths do (benchmarks/hcost.py; tests/mm/test_mm_flushes.py).
 *
 * WINDOW pages of its .bss form a window; page i holds the number i + 1 in its first
 * word.  Each round is one mmu_update batch of WINDOW requests that points window page
 * i at frame (i + round) % WINDOW -- a rotation, so every frame stays mapped exactly once
 * -- followed by a read of the first word of every page through the new mappings, which
 * must see that frame's number.  The window shares its L1 table with the kernel's code,
 * so the vCPU has always walked the table the batch writes: each batch is a page-table
 * change that its TLB must see.
 *
 * Command line: the number of rounds (default 64).
 * Prints "pt_remap: R rounds of W remaps, checksum C" and returns 0, or the number of
 * the check that failed (1: an mmu_update refused, 2: a read saw the wrong frame). */
#include <hypercalls.h>
#include <pv32.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE_SIZE 4096u
#define WINDOW 16u
#define ENTRIES_PER_TABLE 1024u
#define LEAF_FLAGS (PTE_P | PTE_W | PTE_A | PTE_D)

uint32_t virt_to_mfn(const void *va);          /* guest_os/lib/start.s */

static char space[(WINDOW + 1) * PAGE_SIZE];   /* the window, page-aligned inside */
static uint32_t frames[WINDOW];                /* the window's frames, in order */
static uint32_t entries[WINDOW];               /* machine address of each page's PTE */
static struct mmu_update batch[WINDOW];

static volatile uint32_t *page(unsigned i)
{
    uint32_t base = ((uint32_t)space + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

    return (volatile uint32_t *)(base + i * PAGE_SIZE);
}

/* The machine address of the L1 entry mapping `va`: the L2 is readable at pt_base. */
static uint32_t l1_entry(uint32_t va)
{
    const uint32_t *l2 = (const uint32_t *)__start_info->pt_base;
    uint32_t l1_mfn = l2[va >> 22] >> PTE_FRAME_SHIFT;

    return (l1_mfn << PTE_FRAME_SHIFT) + 4 * ((va >> 12) % ENTRIES_PER_TABLE);
}

static int remap(unsigned round)
{
    unsigned i;

    for (i = 0; i < WINDOW; i++) {
        batch[i].ptr = entries[i] | MMU_NORMAL_PT_UPDATE;
        batch[i].val = (frames[(i + round) % WINDOW] << PTE_FRAME_SHIFT) | LEAF_FLAGS;
    }
    return HYPERVISOR_mmu_update(batch, WINDOW, NULL, DOMID_SELF) == 0;
}

int main(void)
{
    unsigned rounds = strtoul((const char *)__start_info->cmd_line, NULL, 10);
    unsigned round, i, checksum = 0;

    if (rounds == 0)
        rounds = 64;
    for (i = 0; i < WINDOW; i++) {
        *page(i) = i + 1;
        frames[i] = virt_to_mfn((void *)page(i));
        entries[i] = l1_entry((uint32_t)page(i));
    }
    for (round = 1; round <= rounds; round++) {
        if (!remap(round))
            return 1;
        for (i = 0; i < WINDOW; i++) {
            uint32_t seen = *page(i);
            if (seen != (i + round) % WINDOW + 1)
                return 2;
            checksum = checksum * 31 + seen;
        }
    }
    printf("pt_remap: %u rounds of %u remaps, checksum %u\n", rounds, WINDOW, checksum);
    return 0;
}
