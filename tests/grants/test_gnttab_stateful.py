"""A stateful model test of grant tables across three domains (dom0 and two domUs).

Random grants (entries written into the granter's table frame as a guest would), guest-style
revocation, host and service maps, unmaps (and repeated unmaps), copies both ways,
decrease_reservation of granted frames and domain destruction run against a model.  After
every step: no live mapping without a grant the model allowed, no writable host entry or
service write through a read-only grant, no mapped frame freed, copies change exactly the
bytes they name, and paravisor.mm.invariants.verify holds."""

from dataclasses import dataclass

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from paravisor.abi import Gntmap, Gntst, GnttabMisc, Gtf
from paravisor.grants import GrantError, map_grant
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_W, pte_frame
from paravisor.mm.invariants import verify
from paravisor.mm.reservation import decrease_reservation
from paravisor.testing.grant_harness import GrantWorld

NR_REFS = 4
FRAMES_PER_DOMAIN = 3
DOMAINS = st.integers(0, 2)


@dataclass
class Entry:
    grantee: int          # index of the grantee domain
    frame: int
    readonly: bool


@dataclass
class Live:
    mapper: int
    granter: int
    ref: int
    frame: int
    writable: bool
    handle: int
    va: int | None = None            # host mappings
    service: object = None           # service mappings


class GrantMachine(RuleBasedStateMachine):
    @initialize()
    def boot(self):
        self.world = GrantWorld(nr_guests=2)
        self.doms = [self.world.dom0, *self.world.guests]
        self.alive = [True, True, True]
        self.frames = [[self.world.fresh_frame(g) for _ in range(FRAMES_PER_DOMAIN)]
                       for g in self.doms]
        self.entries: dict[tuple[int, int], Entry] = {}
        self.live: list[Live] = []
        self.retired: list[Live] = []

    # --- the model's answers --------------------------------------------------------

    def pins(self, granter, ref):
        return [m for m in self.live if (m.granter, m.ref) == (granter, ref)]

    def may_map(self, mapper, granter, ref, writable):
        entry = self.entries.get((granter, ref))
        if not self.alive[granter] or entry is None or entry.grantee != mapper:
            return False
        if writable and entry.readonly:
            return False
        pinned = self.pins(granter, ref)
        frame = pinned[0].frame if pinned else entry.frame
        return frame in self.frames[granter]

    def frame_for(self, granter, ref):
        pinned = self.pins(granter, ref)
        return pinned[0].frame if pinned else self.entries[(granter, ref)].frame

    # --- guest-side steps -------------------------------------------------------------

    @rule(granter=DOMAINS, grantee=DOMAINS, ref=st.integers(0, NR_REFS - 1),
          which=st.integers(0, FRAMES_PER_DOMAIN - 1), readonly=st.booleans())
    def grant(self, granter, grantee, ref, which, readonly):
        if not (self.alive[granter] and self.alive[grantee]) or self.pins(granter, ref):
            return                        # a guest reuses a ref only after end-access
        if (granter, ref) in self.entries or which >= len(self.frames[granter]):
            return
        frame = self.frames[granter][which]
        self.world.grant(self.doms[granter], self.doms[grantee], frame, ref, readonly)
        self.entries[(granter, ref)] = Entry(grantee, frame, readonly)

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def end_access(self, data):
        pinned = sorted({(m.granter, m.ref) for m in self.live})
        choices = pinned if pinned and data.draw(st.booleans()) else sorted(self.entries)
        granter, ref = data.draw(st.sampled_from(choices))
        if not self.alive[granter]:
            return
        revoked = self.world.end_access(self.doms[granter], ref)
        assert revoked == (not self.pins(granter, ref))
        event(f"end_access revoked={revoked}")
        if revoked:
            del self.entries[(granter, ref)]

    @rule(data=st.data())
    def decrease_reservation(self, data):
        """Mostly a mapped frame (must be refused), sometimes any frame."""
        mapped = sorted({(m.granter, m.frame) for m in self.live if self.alive[m.granter]})
        owned = sorted((g, f) for g in range(3) if self.alive[g] for f in self.frames[g])
        if mapped and data.draw(st.integers(0, 3)):
            choices = mapped
        elif owned and not data.draw(st.integers(0, 3)):
            choices = owned
        else:
            return
        granter, frame = data.draw(st.sampled_from(choices))
        mem = self.doms[granter].dom.mem
        done = decrease_reservation(self.world.hv.mm, mem, [frame])
        assert done == (0 if any(m.frame == frame for m in self.live) else 1)
        event(f"decrease_reservation done={done}")
        if done:
            self.frames[granter].remove(frame)

    @precondition(lambda self: self.live)        # destroy with mappings around
    @rule(victim=st.integers(1, 2))
    def destroy(self, victim):
        if not self.alive[victim]:
            return
        self.world.hv.destroy(self.doms[victim].dom)
        self.alive[victim] = False
        self.retired += [m for m in self.live if m.mapper == victim]
        self.live = [m for m in self.live if m.mapper != victim]

    # --- mapping ----------------------------------------------------------------------

    def target(self, data):
        """(mapper, granter, ref): mostly a live entry and its grantee, sometimes anything
        (so refusals are exercised too)."""
        if self.entries and data.draw(st.integers(0, 4), label="use an entry"):
            granter, ref = data.draw(st.sampled_from(sorted(self.entries)))
            mapper = self.entries[(granter, ref)].grantee
            if not data.draw(st.integers(0, 5), label="right mapper"):
                mapper = data.draw(DOMAINS)
            return mapper, granter, ref
        return data.draw(DOMAINS), data.draw(DOMAINS), data.draw(st.integers(0, NR_REFS))

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), writable=st.booleans(), service=st.booleans())
    def map(self, data, writable, service):
        mapper, granter, ref = self.target(data)
        if not self.alive[mapper]:
            return
        expected = self.may_map(mapper, granter, ref, writable)
        event(f"map {'service' if service else 'host'} allowed={expected}")
        frame = self.frame_for(granter, ref) if expected else None
        if service:
            self._map_service(mapper, granter, ref, writable, expected, frame)
        else:
            self._map_host(mapper, granter, ref, writable, expected, frame)

    def _map_service(self, mapper, granter, ref, writable, expected, frame):
        try:
            mapping = map_grant(self.world.hv, self.doms[mapper].dom,
                                self.doms[granter].dom.domid, ref, readonly=not writable)
        except GrantError:
            assert not expected
            return
        assert expected and mapping.mapping.frame == frame
        self.live.append(Live(mapper, granter, ref, frame, writable, mapping.handle,
                              service=mapping))

    def _map_host(self, mapper, granter, ref, writable, expected, frame):
        guest = self.doms[mapper]
        va = self.world.free_va(guest)
        flags = Gntmap.GNTMAP_host_map | (0 if writable else Gntmap.GNTMAP_readonly)
        status, handle = self.world.map(guest, self.doms[granter].dom.domid, ref, va, flags)
        assert (status == Gntst.GNTST_okay) == expected
        if expected:
            self.live.append(Live(mapper, granter, ref, frame, writable, handle, va=va))
        else:
            assert not self.world.l1_entry(guest, va) & PTE_P

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def unmap(self, data):
        mapping = data.draw(st.sampled_from(self.live))
        self.live.remove(mapping)
        self.retired.append(mapping)
        if mapping.service is not None:
            mapping.service.unmap()
            return
        guest = self.doms[mapping.mapper]
        assert self.world.unmap(guest, mapping.va, mapping.handle) == Gntst.GNTST_okay
        assert not self.world.l1_entry(guest, mapping.va) & PTE_P

    @precondition(lambda self: self.retired)
    @rule(data=st.data())
    def unmap_again(self, data):
        """XSA-224: a retired handle never releases anything again."""
        mapping = data.draw(st.sampled_from(self.retired))
        if not self.alive[mapping.mapper]:
            return
        counts = [(p.count, p.type_count) for p in self.world.hv.mm.frames]
        if mapping.service is not None:
            mapping.service.unmap()
        else:
            status = self.world.unmap(self.doms[mapping.mapper], mapping.va, mapping.handle)
            assert status == Gntst.GNTST_bad_handle
        assert [(p.count, p.type_count) for p in self.world.hv.mm.frames] == counts

    @precondition(lambda self: any(m.service is not None for m in self.live))
    @rule(data=st.data(), value=st.binary(min_size=1, max_size=8))
    def service_write(self, data, value):
        mapping = data.draw(st.sampled_from([m for m in self.live if m.service]))
        try:
            mapping.service.write(0, value)
        except GrantError:
            assert not mapping.writable
            return
        assert mapping.writable
        assert self.world.hv.memory.read(mapping.frame << PAGE_SHIFT, len(value)) == value

    # --- copy ---------------------------------------------------------------------------

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), to_grant=st.booleans(), offset=st.integers(0, PAGE_SIZE),
          length=st.integers(0, 64), pattern=st.integers(1, 255))
    def copy(self, data, to_grant, offset, length, pattern):
        caller, granter, ref = self.target(data)
        if not self.alive[caller] or not self.frames[caller]:
            return
        own = self.frames[caller][0]
        expected = self.may_map(caller, granter, ref, writable=to_grant)
        in_page = offset + length <= PAGE_SIZE
        target = self.frame_for(granter, ref) if expected else None
        self.world.hv.memory.write(own << PAGE_SHIFT, bytes([pattern]) * PAGE_SIZE)
        grant_side = {"ref": ref, "domid": self.doms[granter].dom.domid, "offset": offset}
        own_side = {"gmfn": own, "domid": 0x7FF0, "offset": offset}
        source, dest = (own_side, grant_side) if to_grant else (grant_side, own_side)
        flags = GnttabMisc.GNTCOPY_dest_gref if to_grant else GnttabMisc.GNTCOPY_source_gref
        dst_frame = target if to_grant else own
        before = self.world.frame_bytes(dst_frame) if dst_frame is not None else None
        src_bytes = self.world.frame_bytes(own if to_grant else target) if expected else None
        status = self.world.copy(self.doms[caller], source, dest, length, flags)
        if not in_page:
            assert status == Gntst.GNTST_bad_copy_arg
            return
        assert (status == Gntst.GNTST_okay) == expected
        event(f"copy ok={expected}")
        if expected:
            after = self.world.frame_bytes(dst_frame)
            want = before[:offset] + src_bytes[offset:offset + length] \
                + before[offset + length:]
            assert after == want

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def mm_is_sound(self):
        if hasattr(self, "world"):
            verify(self.world.hv.mm)

    @invariant()
    def mappings_match_the_model(self):
        if not hasattr(self, "world"):
            return
        mm = self.world.hv.mm
        for m in self.live:
            assert not mm.is_free(m.frame)
            assert mm.frames[m.frame].owner == self.doms[m.granter].dom.domid
            if m.va is not None:
                pte = self.world.l1_entry(self.doms[m.mapper], m.va)
                assert pte & PTE_P and pte_frame(pte) == m.frame
                assert bool(pte & PTE_W) == m.writable
        for (granter, ref), _entry in self.entries.items():
            if not self.alive[granter]:
                continue
            flags = self.world.flags(self.doms[granter], ref)
            pins = self.pins(granter, ref)
            assert bool(flags & Gtf.GTF_reading) == bool(pins)
            assert bool(flags & Gtf.GTF_writing) == any(p.writable for p in pins)


TestGrantMachine = GrantMachine.TestCase
TestGrantMachine.settings = settings(stateful_step_count=40)
