/* gnttab.h: granting our pages to other domains, grant table v1
   (guest_os/drivers/gnttab.c; docs/io.md "Grant tables, v1").

   Refs below GNTTAB_NR_RESERVED_ENTRIES (8) are reserved as in Xen; the rest are
   handed out from a free list.  A page is shared by gnttab_grant_access and revoked by
   gnttab_end_access, which fails with -EBUSY while the other domain still has it
   mapped (GTF_reading / GTF_writing), so the page must not be reused until it succeeds. */
#ifndef DRIVERS_GNTTAB_H
#define DRIVERS_GNTTAB_H

#include <paravisor.h>

#define GNTTAB_NR_FRAMES 4                       /* frames set up by gnttab_init */
#define GNTTAB_NR_ENTRIES (GNTTAB_NR_FRAMES * (PAGE_SIZE / 8))
#define ALLOC_PAGE_POOL 48                       /* pages alloc_page can hand out */

/* GNTTABOP_setup_table for GNTTAB_NR_FRAMES frames and map them: 0 or -errno.  Later
   calls return 0 at once.  The other gnttab calls call it themselves. */
long gnttab_init(void);
/* Let `domid` map frame `mfn` (read-only if `readonly`): the ref, or -ENOSPC when
   every ref is in use, or gnttab_init's error. */
long gnttab_grant_access(domid_t domid, uint32_t mfn, int readonly);
/* Revoke `ref` and free it: 0, -EBUSY while it is mapped (still granted; try again
   later), -EINVAL for a ref we did not grant. */
long gnttab_end_access(grant_ref_t ref);
/* The flags word of `ref`'s entry (GTF_*), or -EINVAL: for tests and diagnostics. */
long gnttab_query_flags(grant_ref_t ref);

/* The machine frame behind `va`, any address in the initial region (the image with its
   .bss, start_info, the p2m, the boot stack): pseudo-physical page n of that region
   starts at the image base (crt0's _start) + n pages and is frame mfn_list[n]. */
uint32_t virt_to_mfn(const void *va);

/* A zeroed, page-aligned page from a static pool of ALLOC_PAGE_POOL, or NULL. */
void *alloc_page(void);
/* Give a page from alloc_page back (ignored for anything else). */
void free_page(void *page);

#endif /* DRIVERS_GNTTAB_H */
