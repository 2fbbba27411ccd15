/* gnttab.c: grant table v1 for C guests (gnttab.h). */
#include <gnttab.h>
#include <hypercalls.h>
#include <pv32.h>
#include <string.h>

extern char _start[];                        /* crt0 is linked first: the image base */
extern char __drivers_gnttab_pages[];
extern char __drivers_page_pool[];

static grant_entry_v1_t *table;
/* The free list: next_free[ref] is the ref after `ref`; 0 ends it (0 is reserved). */
static grant_ref_t next_free[GNTTAB_NR_ENTRIES];
static grant_ref_t free_head;
static unsigned char granted[GNTTAB_NR_ENTRIES];
static unsigned char page_used[ALLOC_PAGE_POOL];

static long map_frames(const uint32_t *frames)
{
    unsigned int i;
    long rc;

    for (i = 0; i < GNTTAB_NR_FRAMES; i++) {
        rc = HYPERVISOR_update_va_mapping(
            (unsigned long)(__drivers_gnttab_pages + i * PAGE_SIZE),
            (frames[i] << PAGE_SHIFT) | PTE_P | PTE_W, UVMF_INVLPG | UVMF_LOCAL);
        if (rc)
            return rc;
    }
    return 0;
}

long gnttab_init(void)
{
    gnttab_setup_table_t setup;
    uint32_t frames[GNTTAB_NR_FRAMES];
    grant_ref_t ref;
    long rc;

    if (table)
        return 0;
    setup.dom = DOMID_SELF;
    setup.nr_frames = GNTTAB_NR_FRAMES;
    setup.status = 0;
    setup.frame_list = (uint32_t)frames;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &setup, 1);
    if (rc)
        return rc;
    if (setup.status != GNTST_okay)
        return -EIO;
    rc = map_frames(frames);
    if (rc)
        return rc;
    table = (grant_entry_v1_t *)__drivers_gnttab_pages;
    free_head = 0;
    for (ref = GNTTAB_NR_ENTRIES - 1; ref >= GNTTAB_NR_RESERVED_ENTRIES; ref--) {
        next_free[ref] = free_head;
        free_head = ref;
    }
    return 0;
}

long gnttab_grant_access(domid_t domid, uint32_t mfn, int readonly)
{
    grant_ref_t ref;
    long rc = gnttab_init();

    if (rc)
        return rc;
    if (free_head == 0)
        return -ENOSPC;
    ref = free_head;
    free_head = next_free[ref];
    granted[ref] = 1;
    table[ref].frame = mfn;
    table[ref].domid = domid;
    __fence();                               /* frame and domid before the flags */
    table[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    return ref;
}

long gnttab_end_access(grant_ref_t ref)
{
    uint32_t *word, old;

    if (!table || ref >= GNTTAB_NR_ENTRIES || !granted[ref])
        return -EINVAL;
    /* flags and domid share the first word: a CAS of that word to 0 fails if the
       hypervisor set GTF_reading/GTF_writing in between. */
    word = (uint32_t *)&table[ref];
    do {
        old = *(volatile uint32_t *)word;
        if (old & (GTF_reading | GTF_writing))
            return -EBUSY;
    } while (__cas(word, old, 0) != old);
    granted[ref] = 0;
    next_free[ref] = free_head;
    free_head = ref;
    return 0;
}

long gnttab_query_flags(grant_ref_t ref)
{
    if (!table || ref >= GNTTAB_NR_ENTRIES)
        return -EINVAL;
    return *(volatile uint16_t *)&table[ref].flags;
}

uint32_t virt_to_mfn(const void *va)
{
    const uint32_t *p2m = (const uint32_t *)__start_info->mfn_list;

    return p2m[((uint32_t)va - (uint32_t)_start) >> PAGE_SHIFT];
}

void *alloc_page(void)
{
    unsigned int i;
    char *page;

    for (i = 0; i < ALLOC_PAGE_POOL; i++) {
        if (!page_used[i]) {
            page_used[i] = 1;
            page = __drivers_page_pool + i * PAGE_SIZE;
            memset(page, 0, PAGE_SIZE);
            return page;
        }
    }
    return NULL;
}

void free_page(void *page)
{
    uint32_t offset = (uint32_t)page - (uint32_t)__drivers_page_pool;

    if ((uint32_t)page >= (uint32_t)__drivers_page_pool && offset % PAGE_SIZE == 0 &&
        offset / PAGE_SIZE < ALLOC_PAGE_POOL)
        page_used[offset / PAGE_SIZE] = 0;
}
