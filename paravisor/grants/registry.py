"""The per-hypervisor registry of grant tables and maptracks, and domain teardown.

The Hypervisor constructs its one GrantTables (`hv.grants`) with itself.  A domain's own
table is created on its first grant operation.  When a domain is destroyed,
Hypervisor._relinquish calls, in this order and once each:

1. `release_mappings_of(domid)`: the mappings it holds of other domains' grants go
   (L1 entry, grant-map record, pin), while its page tables are still validated;
2. mm.reservation.relinquish: its own memory;
3. `retire_table(domid)`: its table frames are freed and the table is dead.  Pins other
   domains hold on its grants survive (the frames stay allocated, owned by the dying
   domain, until the last is unmapped: mm keeps the dying domain registered until then),
   and the dead table stays here until its last pin goes (`forget_if_unused`).

Ownership: one GrantTables per Hypervisor, touched by the hypervisor loop only (under
--realtime, with the hypervisor lock held).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paravisor.abi import DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES
from paravisor.grants.table import (
    INITIAL_GRANT_FRAMES,
    MAPTRACK_PER_FRAME,
    GrantTable,
    free_table_frames,
    grow_table,
)

if TYPE_CHECKING:
    from paravisor.domain import Domain
    from paravisor.hypervisor import Hypervisor

HANDLE_LIMIT = 1 << 32


class GrantTables:
    """Every domain's grant table (by domid) and maptrack (mapper domid -> handle ->
    paravisor.grants.mapping.Mapping)."""

    def __init__(self, hv: Hypervisor) -> None:
        self.hv = hv
        self.tables: dict[int, GrantTable] = {}
        self.maptracks: dict[int, dict[int, object]] = {}
        self._next_handle: dict[int, int] = {}

    def maptrack_limit(self, dom: Domain) -> int:
        """How many mappings `dom` may hold at once (its table's limit if it has one)."""
        table = self.tables.get(dom.domid)
        if table is not None:
            return table.max_maptrack
        frames = getattr(dom.config, "max_maptrack_frames", DEFAULT_MAX_MAPTRACK_FRAMES)
        return frames * MAPTRACK_PER_FRAME

    def table_of(self, dom: Domain) -> GrantTable:
        """`dom`'s grant table, created with INITIAL_GRANT_FRAMES frames on first use; its
        limits come from dom.config (xl.cfg max_grant_frames / max_maptrack_frames)."""
        table = self.tables.get(dom.domid)
        if table is None or (table.dead and not dom.dying):   # a new domain, reused id
            config = dom.config
            max_frames = getattr(config, "max_grant_frames", DEFAULT_MAX_GRANT_FRAMES)
            maptrack = getattr(config, "max_maptrack_frames", DEFAULT_MAX_MAPTRACK_FRAMES)
            table = GrantTable(dom.domid, max_frames, maptrack * MAPTRACK_PER_FRAME)
            self.tables[dom.domid] = table
            grow_table(self.hv, table, min(INITIAL_GRANT_FRAMES, max_frames))
        return table

    def lookup(self, domid: int) -> GrantTable | None:
        """The table of a live domain (created if it has none yet), or None."""
        dom = self.hv.lookup(domid)
        return None if dom is None else self.table_of(dom)

    def maptrack_of(self, domid: int) -> dict[int, object]:
        return self.maptracks.setdefault(domid, {})

    def mapping_of(self, mapper: int, handle: int) -> object | None:
        """The live mapping `mapper` holds under `handle`, or None."""
        return self.maptracks.get(mapper, {}).get(handle)

    def track(self, mapping) -> int:
        """Record a mapping in its mapper's maptrack; its new, never reused handle."""
        handle = self._next_handle.get(mapping.mapper, 0)
        track = self.maptrack_of(mapping.mapper)
        while handle in track:                 # only after 2**32 maps: skip live ones
            handle = (handle + 1) % HANDLE_LIMIT
        self._next_handle[mapping.mapper] = (handle + 1) % HANDLE_LIMIT
        track[handle] = mapping
        return handle

    def forget_if_unused(self, table: GrantTable) -> None:
        """Drop a dead domain's table from the registry once its last pin is gone."""
        if table.dead and not table.active and self.tables.get(table.domid) is table:
            del self.tables[table.domid]

    def release_mappings_of(self, domid: int) -> None:
        """Teardown step 1: a destroyed domain's mappings of other domains' grants go."""
        from paravisor.grants.mapping import release_mapping  # it imports this module
        for handle, mapping in sorted(self.maptrack_of(domid).items()):
            release_mapping(self.hv, handle, mapping)
        del self.maptracks[domid]
        self._next_handle.pop(domid, None)

    def retire_table(self, domid: int) -> None:
        """Teardown step 3 (after the domain's memory is relinquished): free its table
        frames; the table is dead, and forgotten once no other domain pins its grants."""
        table = self.tables.get(domid)
        if table is not None and not table.dead:
            free_table_frames(self.hv, table)
            self.forget_if_unused(table)
