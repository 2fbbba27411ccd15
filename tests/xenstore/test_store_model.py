"""XenStore permissions and watches against a simple model (docs/misc/xenstore.txt).

The model is a plain dict of path -> (value, permission strings); children are found by
scanning, rights by reading the permission strings the way xenstore.txt states them
(dom0 may do anything; the first entry is the owner, with full access, and its letter
the default for unlisted domains).  Three clients (dom0, dom1, dom2) issue random
operations on a small pool of paths; every result (value or error name) and every
watch event must match.  Domains die and come back, which removes what they owned.
"""

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from paravisor.services.xenstore.store import Client, XenStore
from paravisor.services.xenstore.tree import XenStoreError, format_perms, parse_perms

DOMAINS = (0, 1, 2)
POOL = ("/a", "/a/b", "/a/b/c", "/a/d", "/local/domain/1", "/local/domain/1/x",
        "/local/domain/1/x/y", "/local/domain/2/z", "/local/domain/2/z/w", "/local")
TOKENS = ("t1", "t2")
perm_text = st.builds(lambda letter, domid: f"{letter}{domid}",
                      st.sampled_from("nrwb"), st.sampled_from(DOMAINS))


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _under(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top + "/")


class Model:
    def __init__(self) -> None:
        self.nodes: dict[str, tuple[bytes, tuple[str, ...]]] = {"/": (b"", ("n0",))}
        self.watches: list[tuple[int, str, str]] = []
        self.events: dict[int, list[tuple[str, str]]] = defaultdict(list)

    @staticmethod
    def allowed(perms: tuple[str, ...], domid: int, want: str) -> bool:
        if domid == 0 or int(perms[0][1:]) == domid:
            return True
        letter = next((p[0] for p in perms[1:] if int(p[1:]) == domid), perms[0][0])
        return letter == "b" or letter == want

    def children(self, path: str) -> list[str]:
        return sorted(p.rsplit("/", 1)[1] for p in self.nodes if p != "/" and
                      _parent(p) == path)

    def directory(self, domid: int, path: str) -> list[str]:
        self.need(path, domid, "r")
        return self.children(path)

    def need(self, path: str, domid: int, want: str) -> tuple[bytes, tuple[str, ...]]:
        if path not in self.nodes:
            raise XenStoreError("ENOENT")
        if not self.allowed(self.nodes[path][1], domid, want):
            raise XenStoreError("EACCES")
        return self.nodes[path]

    def fire(self, path: str, perms: tuple[str, ...], removed: bool = False) -> None:
        for domid, wpath, token in self.watches:
            if _under(path, wpath):
                epath = path
            elif removed and _under(wpath, path):
                epath = wpath
            else:
                continue
            if self.allowed(perms, domid, "r"):
                self.events[domid].append((epath, token))

    def create(self, path: str, domid: int, value: bytes) -> None:
        top = path
        while top not in self.nodes:
            top = _parent(top)
        if not self.allowed(self.nodes[top][1], domid, "w"):
            raise XenStoreError("EACCES")
        perms = self.nodes[top][1]
        if domid != 0:
            perms = (f"{perms[0][0]}{domid}", *perms[1:])
        new = path
        while new not in self.nodes:
            self.nodes[new] = (value if new == path else b"", perms)
            new = _parent(new)

    def write(self, domid: int, path: str, value: bytes) -> None:
        if path in self.nodes:
            self.nodes[path] = (value, self.need(path, domid, "w")[1])
        else:
            self.create(path, domid, value)
        self.fire(path, self.nodes[path][1])

    def mkdir(self, domid: int, path: str) -> None:
        if path in self.nodes:
            self.need(path, domid, "w")
            return
        self.create(path, domid, b"")
        self.fire(path, self.nodes[path][1])

    def rm(self, domid: int, path: str) -> None:
        if path not in self.nodes:
            if _parent(path) not in self.nodes:
                raise XenStoreError("ENOENT")
            return
        perms = self.need(path, domid, "w")[1]
        self.remove(path)
        self.fire(path, perms, removed=True)

    def remove(self, path: str) -> None:
        for p in [p for p in self.nodes if _under(p, path)]:
            del self.nodes[p]

    def set_perms(self, domid: int, path: str, perms: tuple[str, ...]) -> None:
        if path not in self.nodes:
            raise XenStoreError("ENOENT")
        value, old = self.nodes[path]
        if domid != 0 and int(old[0][1:]) != domid:
            raise XenStoreError("EACCES")
        if domid != 0 and perms[0][1:] != old[0][1:]:
            raise XenStoreError("EPERM")
        self.nodes[path] = (value, perms)
        self.fire(path, perms)

    def watch(self, domid: int, path: str, token: str) -> None:
        if (domid, path, token) in self.watches:
            raise XenStoreError("EEXIST")
        self.watches.append((domid, path, token))
        self.events[domid].append((path, token))

    def unwatch(self, domid: int, path: str, token: str) -> None:
        if (domid, path, token) not in self.watches:
            raise XenStoreError("ENOENT")
        self.watches.remove((domid, path, token))

    def domain_gone(self, domid: int) -> None:
        self.watches = [w for w in self.watches if w[0] != domid]
        home = f"/local/domain/{domid}"
        tops = [home] if home in self.nodes else []
        tops += sorted(p for p, (_, perms) in self.nodes.items()
                       if p != "/" and int(perms[0][1:]) == domid)
        for top in tops:
            if top in self.nodes:
                perms = self.nodes[top][1]
                self.remove(top)
                self.fire(top, perms, removed=True)
        for path, (value, perms) in self.nodes.items():
            self.nodes[path] = (value, perms[:1] + tuple(
                p for p in perms[1:] if int(p[1:]) != domid))


def _outcome(fn, *args):
    try:
        result = fn(*args)
    except XenStoreError as err:
        return ("error", err.errno)
    return ("ok", result)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store, self.model = XenStore(), Model()
        self.seen: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.clients = {d: self._client(d) for d in DOMAINS}
        for d in DOMAINS:
            self._make_home(d)

    def _client(self, domid: int) -> Client:
        return Client(domid, domid == 0, lambda p, t: self.seen[domid].append((p, t)))

    def _make_home(self, domid: int) -> None:
        home = f"/local/domain/{domid}"
        self.both("mkdir", 0, home)
        self.both("set_perms", 0, home, (f"n{domid}",))

    def both(self, op: str, domid: int, *args) -> None:
        client = self.clients[domid]
        real_args = [parse_perms(list(a)) if isinstance(a, tuple) else a for a in args]
        if op in ("watch", "unwatch"):
            got = _outcome(getattr(self.store, op), client, *real_args)
        else:
            got = _outcome(getattr(self.store, op), client, 0, *real_args)
        want = _outcome(getattr(self.model, op), domid, *args)
        assert got[0] == want[0] and (got[0] == "ok" or got[1] == want[1]), \
            (op, domid, args, got, want)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL), value=st.binary(max_size=4))
    def write(self, d, path, value):
        self.both("write", d, path, value)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL))
    def mkdir(self, d, path):
        self.both("mkdir", d, path)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL))
    def rm(self, d, path):
        self.both("rm", d, path)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL),
          perms=st.lists(perm_text, min_size=1, max_size=3))
    def set_perms(self, d, path, perms):
        self.both("set_perms", d, path, tuple(perms))

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL))
    def read_directory_perms(self, d, path):
        client = self.clients[d]
        for op, model_op in (("read", lambda: self.model.need(path, d, "r")[0]),
                             ("directory", lambda: self.model.directory(d, path)),
                             ("get_perms", lambda: list(self.model.need(path, d, "r")[1]))):
            got = _outcome(getattr(self.store, op), client, 0, path)
            want = _outcome(model_op)
            if got[0] == "ok" and op == "directory":
                got = ("ok", sorted(got[1]))
            if got[0] == "ok" and op == "get_perms":
                got = ("ok", format_perms(got[1]))
            assert got == want, (op, d, path)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL), token=st.sampled_from(TOKENS))
    def watch(self, d, path, token):
        self.both("watch", d, path, token)

    @rule(d=st.sampled_from(DOMAINS), path=st.sampled_from(POOL), token=st.sampled_from(TOKENS))
    def unwatch(self, d, path, token):
        self.both("unwatch", d, path, token)

    @rule(d=st.sampled_from((1, 2)))
    def domain_dies_and_returns(self, d):
        self.store.close(self.clients[d])
        self.store.domain_gone(d)
        self.model.domain_gone(d)
        self.clients[d] = self._client(d)
        self._make_home(d)

    @invariant()
    def same_tree_and_events(self):
        real = {p: (n.value, tuple(format_perms(n.perms))) for p, n in
                self.store.tree.nodes.items()}
        assert real == self.model.nodes
        for d in DOMAINS:
            assert sorted(self.seen[d]) == sorted(self.model.events[d]), d
        for path, node in self.store.tree.nodes.items():
            assert sorted(node.children) == self.model.children(path)
        owned = {d: sum(1 for n in self.store.tree.nodes.values() if n.owner == d)
                 for d in DOMAINS}
        assert all(self.store.tree.owned[d] == owned[d] for d in DOMAINS)


TestStoreAgainstModel = StoreMachine.TestCase
