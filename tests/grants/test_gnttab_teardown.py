"""Destroying domains that grant to, and map from, each other: every mapping, pin, hold,
grant-map record and frame is released exactly once, whichever goes first, and the frame
table stays consistent at every step (paravisor/grants/registry.py, "domain teardown")."""

from collections import Counter

import pytest

from paravisor.abi import Gntmap, Gntst
from paravisor.grants import map_grant
from paravisor.grants import mapping as grant_mapping
from paravisor.grants.registry import GrantTables
from paravisor.mm.frametable import PageType
from paravisor.mm.invariants import verify
from paravisor.mm.pv_mmu import pin_table
from paravisor.services.foreign import ForeignPage
from paravisor.testing.grant_harness import GrantWorld

RO = Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_readonly


class Releases:
    """Every release the teardown does, counted: mapping objects, teardown steps per
    domid, frames freed."""

    def __init__(self, world, monkeypatch) -> None:
        self.mappings: Counter[int] = Counter()
        self.steps: Counter[tuple[str, int]] = Counter()
        self.freed: Counter[int] = Counter()
        release = grant_mapping.release_mapping

        def counting_release(hv, handle, mapping):
            self.mappings[id(mapping)] += 1
            release(hv, handle, mapping)
        monkeypatch.setattr(grant_mapping, "release_mapping", counting_release)
        for step in ("release_mappings_of", "retire_table"):
            original = getattr(GrantTables, step)

            def counting_step(registry, domid, _step=step, _original=original):
                self.steps[(_step, domid)] += 1
                _original(registry, domid)
            monkeypatch.setattr(GrantTables, step, counting_step)
        world.hv.mm.free_listeners.append(lambda mfn: self.freed.update([mfn]))


def entangle(world):
    """a and b grant each other a frame and map each other's grant (b writable, a
    read-only); dom0 maps a grant of each as a service and b's frame as a foreign page;
    each pins an L1 of its own.  Returns dom0's handles (to unmap at the end) and, per
    guest, (the va its grant is mapped at by the other, its granted frame)."""
    a, b = world.guests
    fa, fb = world.fresh_frame(a), world.fresh_frame(b)
    world.hv.memory.write(fa << 12, b"from a")
    world.hv.memory.write(fb << 12, b"from b")
    va_b, va_a = world.free_va(b), world.free_va(a)
    status_b, _ = world.map(b, a, world.grant(a, b, fa), va_b)
    status_a, _ = world.map(a, b, world.grant(b, a, fb, readonly=True), va_a, RO)
    assert status_a == status_b == Gntst.GNTST_okay
    services = [map_grant(world.hv, world.dom0.dom, guest.dom.domid,
                          world.grant(guest, world.dom0, frame, ref=9))
                for guest, frame in ((a, fa), (b, fb))]
    services.append(ForeignPage(world.hv, world.dom0.dom, b.dom, fb, holder="test"))
    for guest in (a, b):
        assert pin_table(world.hv.mm, guest.dom.mem, world.fresh_frame(guest),
                         PageType.L1_TABLE) == 0
    verify(world.hv.mm)
    return services, [(va_b, fa), (va_a, fb)]


@pytest.mark.parametrize("first", [0, 1])
def test_destroying_entangled_domains_releases_everything_once(monkeypatch, first):
    world = GrantWorld()
    services, granted = entangle(world)
    releases = Releases(world, monkeypatch)
    doomed = [world.guests[first], world.guests[1 - first]]
    domids = [guest.dom.domid for guest in doomed]
    frames = set().union(*(guest.dom.mem.pages for guest in doomed))
    frames |= {guest.dom.shared_info_mfn for guest in doomed}
    frames |= {mfn for guest in doomed for mfn in world.hv.grants.tables[guest.dom.domid].frames}

    world.hv.destroy(doomed[0].dom)
    verify(world.hv.mm)
    # The survivor still maps the dead domain's frame, which it keeps alive.
    va, frame = granted[first]
    assert world.l1_entry(doomed[1], va) >> 12 == frame
    assert world.hv.mm.frames[frame].owner == domids[0]
    assert services[first].read(0, 6) == (b"from a", b"from b")[first]
    world.hv.destroy(doomed[1].dom)
    world.hv.destroy(doomed[1].dom)                    # a second destroy does nothing
    verify(world.hv.mm)
    for service in services:
        service.unmap()
        service.unmap()                                # idempotent: released once
    verify(world.hv.mm)

    assert set(releases.mappings.values()) == {1} and len(releases.mappings) == 4
    assert releases.steps == Counter({(step, domid): 1 for domid in domids
                                      for step in ("release_mappings_of", "retire_table")})
    assert set(releases.freed.values()) == {1}
    assert frames <= set(releases.freed)               # shared_info and grant frames too
    mm = world.hv.mm
    assert all(mm.is_free(mfn) for mfn in frames)
    assert not mm.holds and not mm.grant_maps
    assert not set(domids) & (set(mm.domains) | set(world.hv.grants.tables)
                              | set(world.hv.grants.maptracks))
