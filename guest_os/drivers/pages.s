# pages.s: page-aligned pages for the split-driver library (guest_os/drivers/).
# paravisor cc cannot align C objects to a page, so the pages that are mapped over
# (shared_info, the grant table frames) or granted to other domains (the page pool)
# are reserved here, in .bss.  The builder hands a domain zeroed frames, so they
# start zeroed; each is backed by the frame mfn_list names for its pseudo-physical page
# until update_va_mapping points it elsewhere.

        .include "paravisor.inc"

        .bss
        .balign 4096
        .global __drivers_shared_info_page
__drivers_shared_info_page:           # shared_info is mapped here (events.c)
        .space 4096
        .global __drivers_gnttab_pages
__drivers_gnttab_pages:               # the grant table frames (gnttab.c)
        .space 4096 * 4
        .global __drivers_page_pool
__drivers_page_pool:                  # alloc_page()'s pool (gnttab.c)
        .space 4096 * 48
