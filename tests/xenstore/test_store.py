"""XenStore tree and store semantics, case by case (docs/misc/xenstore.txt)."""

import pytest

from paravisor.services.xenstore.client import XsHandle
from paravisor.services.xenstore.store import Client, Quota, XenStore
from paravisor.services.xenstore.tree import (
    XenStoreError,
    canonicalise,
    canonicalise_watch,
    parse_perms,
)


def _store(quota: Quota | None = None):
    store = XenStore(quota)
    dom0 = XsHandle(store)
    for d in (1, 2):
        dom0.mkdir(f"/local/domain/{d}")
        dom0.set_perms(f"/local/domain/{d}", [f"n{d}"])
    return store, dom0, XsHandle(store, 1, privileged=False), XsHandle(store, 2,
                                                                         privileged=False)


def _errno(fn, *args) -> str:
    with pytest.raises(XenStoreError) as info:
        fn(*args)
    return info.value.errno


# --- paths (xenstore.txt: "Paths are /-separated ...") ------------------------------------

@pytest.mark.parametrize("path, domid, full", [
    ("/", 0, "/"), ("/a/b", 3, "/a/b"), ("x", 3, "/local/domain/3/x"),
    ("device/vbd/51712", 7, "/local/domain/7/device/vbd/51712"),
    ("a-b_c@d", 1, "/local/domain/1/a-b_c@d"),
])
def test_paths_are_canonicalised(path, domid, full):
    assert canonicalise(path, domid) == full


@pytest.mark.parametrize("path", ["", "/a//b", "/a/", "a b", "/a\0b", "/é", "@x",
                                  "/" + "a" * 3072])
def test_malformed_paths_are_einval(path):
    assert _errno(canonicalise, path, 1) == "EINVAL"


def test_a_domain_may_reach_at_most_rel_path_max_below_home():
    deep = "a/" * 1024 + "b"                     # 2049 bytes below home
    assert _errno(canonicalise, deep, 1) == "EINVAL"
    assert canonicalise(deep, 0, privileged=True).endswith("/b")


def test_special_watch_names_are_only_for_watches():
    assert canonicalise_watch("@releaseDomain", 1) == "@releaseDomain"
    assert _errno(canonicalise_watch, "@a/b", 1) == "EINVAL"


@pytest.mark.parametrize("text", ["x1", "r", "r-1", "r70000", "rb", ""])
def test_bad_permission_strings_are_einval(text):
    assert _errno(parse_perms, [text]) == "EINVAL"


# --- permissions --------------------------------------------------------------------------

def test_the_owner_has_full_access_and_others_the_default():
    _, dom0, d1, d2 = _store()
    d1.write("x", "v")
    assert _errno(d2.read, "/local/domain/1/x") == "EACCES"
    d1.set_perms("x", ["r1"])                     # default for others: read
    assert d2.read("/local/domain/1/x") == b"v"
    assert _errno(d2.write, "/local/domain/1/x", "w") == "EACCES"
    d1.set_perms("x", ["n1", "b2"])               # dom2 listed: both
    d2.write("/local/domain/1/x", "w")
    assert d1.read("x") == b"w"


def test_a_domain_owns_what_it_creates_under_a_node_it_may_write():
    _, dom0, d1, d2 = _store()
    dom0.write("/shared", "")
    dom0.set_perms("/shared", ["n0", "w1"])
    d1.write("/shared/k/v", "1")
    assert d1.get_perms("/shared/k") == ["n1", "w1"]
    assert dom0.get_perms("/shared/k/v") == ["n1", "w1"]
    assert _errno(d2.write, "/shared/other", "1") == "EACCES"


def test_only_dom0_changes_the_owner():
    _, dom0, d1, _ = _store()
    d1.write("x", "v")
    assert _errno(d1.set_perms, "x", ["n2"]) == "EPERM"
    dom0.set_perms("/local/domain/1/x", ["n2"])
    assert _errno(d1.read, "x") == "EACCES"       # no longer its node


def test_set_perms_needs_ownership():
    _, dom0, d1, d2 = _store()
    d1.write("x", "v")
    d1.set_perms("x", ["n1", "b2"])
    assert _errno(d2.set_perms, "/local/domain/1/x", ["n1"]) == "EACCES"


# --- operations ---------------------------------------------------------------------------

def test_write_creates_parents_and_rm_removes_the_subtree():
    _, dom0, _, _ = _store()
    dom0.write("/p/q/r", "leaf")
    assert dom0.read("/p/q") == b""
    assert dom0.directory("/p") == ["q"]
    dom0.rm("/p")
    assert not dom0.exists("/p/q/r")
    dom0.rm("/p")                                 # already gone, parent exists: fine
    assert _errno(dom0.rm, "/p/q") == "ENOENT"    # parent gone too
    assert _errno(dom0.rm, "/") == "EINVAL"


def test_mkdir_keeps_an_existing_value():
    _, dom0, _, _ = _store()
    dom0.write("/m", "keep")
    dom0.mkdir("/m")
    assert dom0.read("/m") == b"keep"


def test_values_are_binary():
    _, dom0, _, _ = _store()
    dom0.write("/bin", b"\0\xff\0")
    assert dom0.read("/bin") == b"\0\xff\0"


# --- watches ------------------------------------------------------------------------------

def _recorder(handle, path, token="tok"):
    events = []
    handle.watch(path, token, lambda p, t: events.append((p, t)))
    return events


def test_a_new_watch_fires_once_then_on_changes_at_or_below_it():
    _, dom0, _, _ = _store()
    events = _recorder(dom0, "/w")
    assert events == [("/w", "tok")]
    dom0.write("/w/a/b", "1")
    dom0.write("/other", "1")
    assert events == [("/w", "tok"), ("/w/a/b", "tok")]


def test_removing_a_parent_fires_watches_below_with_their_own_path():
    _, dom0, _, _ = _store()
    dom0.write("/r/s/t", "1")
    events = _recorder(dom0, "/r/s/t")
    events.clear()
    dom0.rm("/r")
    assert events == [("/r/s/t", "tok")]


def test_relative_watches_report_relative_paths():
    _, _, d1, _ = _store()
    events = _recorder(d1, "data")
    d1.write("data/x", "1")
    assert events == [("data", "tok"), ("data/x", "tok")]


def test_watchers_hear_only_of_nodes_they_may_read():
    _, dom0, d1, d2 = _store()
    d2_events = _recorder(d2, "/local/domain/1")
    d1.write("secret", "1")
    d1.write("public", "1")
    d1.set_perms("public", ["r1"])
    assert d2_events == [("/local/domain/1", "tok"), ("/local/domain/1/public", "tok")]


def test_duplicate_watch_is_eexist_and_unknown_unwatch_enoent():
    _, dom0, _, _ = _store()
    events = []
    record = lambda p, t: events.append(p)      # noqa: E731
    dom0.watch("/w", "tok", record)
    assert _errno(dom0.watch, "/w", "tok", record) == "EEXIST"
    with pytest.raises(ValueError):
        dom0.watch("/v", "tok", lambda p, t: None)   # a token names one callback
    assert _errno(dom0.unwatch, "/w", "other") == "ENOENT"
    dom0.unwatch("/w", "tok")
    dom0.write("/w", "after")
    assert events == ["/w"]                          # only the initial firing


def test_special_watches_reach_dom0_only():
    store, dom0, d1, _ = _store()
    mine = _recorder(dom0, "@releaseDomain")
    theirs = _recorder(d1, "@releaseDomain")
    store.fire_special("@releaseDomain")
    assert mine == [("@releaseDomain", "tok")] * 2
    assert theirs == [("@releaseDomain", "tok")]  # only the initial firing


def test_a_watch_callback_may_use_the_store():
    _, dom0, _, _ = _store()
    seen = []

    def copy(path, token):
        seen.append(path)
        if path == "/src/k":
            dom0.write("/dst", dom0.read(path))   # re-entrant use: delivered afterwards
    dom0.watch("/src", "t", copy)
    dom0.write("/src/k", "v")
    assert dom0.read("/dst") == b"v" and seen == ["/src", "/src/k"]


# --- quotas -------------------------------------------------------------------------------

def test_node_quota():
    _, _, d1, _ = _store(Quota(nodes_per_domain=3))
    d1.write("a/b", "1")                          # /local/domain/1 is its own: a, b -> 3
    assert _errno(d1.write, "c", "1") == "ENOSPC"


def test_entry_size_quota():
    _, dom0, d1, _ = _store(Quota(entry_size=8))
    assert _errno(d1.write, "x", "123456789") == "ENOSPC"
    dom0.write("/big", "123456789")               # dom0 is exempt


def test_watch_quota():
    _, _, d1, _ = _store(Quota(watches_per_domain=2))
    _recorder(d1, "a", "t1")
    _recorder(d1, "b", "t2")
    assert _errno(d1.watch, "c", "t3", lambda p, t: None) == "E2BIG"


def test_perms_per_node_quota():
    _, _, d1, _ = _store(Quota(perms_per_node=2))
    d1.write("x", "1")
    assert _errno(d1.set_perms, "x", ["n1", "r2", "r3"]) == "ENOSPC"


# --- domain death -------------------------------------------------------------------------

def test_a_dead_domains_nodes_and_permissions_are_forgotten():
    store, dom0, d1, _ = _store()
    d1.write("x", "1")
    dom0.write("/shared", "")
    dom0.set_perms("/shared", ["n0", "w1"])
    d1.write("/shared/mine", "1")
    dom0.write("/kept", "")
    dom0.set_perms("/kept", ["n0", "r1"])
    store.domain_gone(1)
    assert not dom0.exists("/local/domain/1")
    assert not dom0.exists("/shared/mine")
    assert dom0.get_perms("/kept") == ["n0"]
    assert store.tree.owned[1] == 0


def test_clients_are_independent_objects():
    store = XenStore()
    a, b = Client(0, True, lambda p, t: None), Client(0, True, lambda p, t: None)
    tx = store.transaction_start(a)
    assert _errno(store.read, b, tx, "/") == "ENOENT"
