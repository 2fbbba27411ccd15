"""Grant tables, v1 (Xen's xen/common/grant_table.c model), the hypervisor side.

- table: the entry layout, the per-domain table frames, active entries, the guest-side
  grant / end-access helpers (write_entry, end_foreign_access) and the flags CAS.
- pins: validate an entry and pin its frame (references, GTF_reading/GTF_writing).
- registry: the per-hypervisor registry of tables and maptracks (hv.grants); domain
  teardown.
- mapping: map_grant_ref / unmap_grant_ref and the dom0-service API (map_grant).
- copy: GNTTABOP_copy.
"""

from paravisor.grants.copy import gnttab_copy
from paravisor.grants.mapping import (
    GrantError,
    GrantMapping,
    map_grant,
    map_grant_ref,
    unmap_grant_ref,
)
from paravisor.grants.registry import GrantTables
from paravisor.grants.table import (
    GRANT_ENTRIES_PER_FRAME,
    ActiveEntry,
    EntryCopy,
    GrantTable,
    end_foreign_access,
    read_entry,
    write_entry,
)

__all__ = [
    "GRANT_ENTRIES_PER_FRAME", "ActiveEntry", "EntryCopy", "GrantError", "GrantMapping",
    "GrantTable", "GrantTables", "end_foreign_access", "gnttab_copy", "map_grant",
    "map_grant_ref", "read_entry", "unmap_grant_ref", "write_entry",
]
