"""XenStore transactions: optimistic, EAGAIN on conflict (xenstore.txt "Transactions").

The stateful test keeps a model (path -> value) of the committed store.  Transactions
record every operation's outcome; when one commits, replaying its operations on the
model at that moment must give the same outcomes (it behaved as if it ran atomically
at commit time) and the store must equal the model afterwards.  An EAGAIN is only
allowed when something was committed since the transaction started.
"""

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from paravisor.services.xenstore.client import XsHandle
from paravisor.services.xenstore.store import Client, Quota, XenStore
from paravisor.services.xenstore.tree import XenStoreError

PATHS = ("/a", "/a/b", "/a/c", "/d", "/d/e")


class ValueModel:
    """The committed store as path -> value (dom0's view: no permissions)."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {"/": b""}

    @staticmethod
    def parent(path: str) -> str:
        return path.rsplit("/", 1)[0] or "/"

    def read(self, path: str) -> bytes:
        if path not in self.values:
            raise XenStoreError("ENOENT")
        return self.values[path]

    def directory(self, path: str) -> list[str]:
        self.read(path)
        return sorted(p.rsplit("/", 1)[1] for p in self.values
                      if p != "/" and self.parent(p) == path)

    def write(self, path: str, value: bytes) -> None:
        self.values[path] = value
        while (path := self.parent(path)) not in self.values:
            self.values[path] = b""

    def rm(self, path: str) -> None:
        if path not in self.values:
            if self.parent(path) not in self.values:
                raise XenStoreError("ENOENT")
            return
        for p in [p for p in self.values if p == path or p.startswith(path + "/")]:
            del self.values[p]


def _run(fn, *args):
    try:
        result = fn(*args)
    except XenStoreError as err:
        return ("error", err.errno)
    return ("ok", sorted(result) if isinstance(result, list) else result)


class TransactionMachine(RuleBasedStateMachine):
    transactions = Bundle("transactions")

    def __init__(self) -> None:
        super().__init__()
        self.store, self.model = XenStore(), ValueModel()
        self.clients = [Client(0, True, lambda p, t: None) for _ in range(2)]
        self.commits = 0
        self.logs: dict[tuple[int, int], tuple[int, list]] = {}

    def _apply(self, client: Client, tx_id: int, op: str, path: str, value: bytes):
        args = (path, value) if op == "write" else (path,)
        return _run(getattr(self.store, op), client, tx_id, *args)

    @rule(op=st.sampled_from(("write", "rm")), path=st.sampled_from(PATHS),
          value=st.binary(max_size=2))
    def direct(self, op, path, value):
        got = self._apply(self.clients[0], 0, op, path, value)
        want = _run(getattr(self.model, op), *((path, value) if op == "write" else (path,)))
        assert got == want
        if got[0] == "ok":
            self.commits += 1

    @rule(target=transactions, who=st.integers(0, 1))
    def start(self, who):
        tx_id = self.store.transaction_start(self.clients[who])
        self.logs[(who, tx_id)] = (self.commits, [])
        return (who, tx_id)

    @rule(tx=transactions, op=st.sampled_from(("write", "rm", "read", "directory")),
          path=st.sampled_from(PATHS), value=st.binary(max_size=2))
    def in_transaction(self, tx, op, path, value):
        who, tx_id = tx
        if tx not in self.logs:
            return                                  # already ended
        outcome = self._apply(self.clients[who], tx_id, op, path, value)
        self.logs[tx][1].append((op, path, value, outcome))

    @rule(tx=consumes(transactions), commit=st.booleans())
    def end(self, tx, commit):
        who, tx_id = tx
        started, log = self.logs.pop(tx)
        result = _run(self.store.transaction_end, self.clients[who], tx_id, commit)
        if not commit:
            assert result == ("ok", None)
            return
        if result == ("error", "EAGAIN"):
            assert self.commits > started, "EAGAIN with nothing committed meanwhile"
            return
        assert result == ("ok", None)
        for op, path, value, outcome in log:
            replay = _run(getattr(self.model, op), *((path, value) if op == "write"
                                                    else (path,)))
            assert replay == outcome, (op, path, "differs when replayed at commit")
        if any(op in ("write", "rm") and outcome[0] == "ok" for op, _, _, outcome in log):
            self.commits += 1

    @invariant()
    def store_equals_model(self):
        assert {p: n.value for p, n in self.store.tree.nodes.items()} == self.model.values


TestTransactionsSerialise = TransactionMachine.TestCase


def test_two_transactions_writing_one_node_the_second_gets_eagain():
    h = XsHandle(XenStore())
    h.write("/n", "0")
    t1, t2 = h.transaction_start(), h.transaction_start()
    h.write("/n", "1", t1)
    h.write("/n", "2", t2)
    assert h.transaction_end(t1)
    assert not h.transaction_end(t2)
    assert h.read("/n") == b"1"


def test_transactions_on_disjoint_nodes_both_commit():
    h = XsHandle(XenStore())
    h.write("/x", "")
    h.write("/y", "")
    t1, t2 = h.transaction_start(), h.transaction_start()
    h.write("/x/k", "1", t1)
    h.write("/y/k", "2", t2)
    assert h.transaction_end(t1) and h.transaction_end(t2)
    assert (h.read("/x/k"), h.read("/y/k")) == (b"1", b"2")


def test_a_transaction_sees_its_snapshot_and_its_own_writes():
    h = XsHandle(XenStore())
    h.write("/k", "old")
    tx = h.transaction_start()
    h.write("/k", "new")                       # outside: not seen inside
    assert h.read("/k", tx) == b"old"
    h.write("/mine", "1", tx)
    assert h.read("/mine", tx) == b"1"
    assert not h.exists("/mine")               # not visible until committed
    assert not h.transaction_end(tx)           # it read /k, which changed: EAGAIN


def test_watches_fire_only_when_a_transaction_commits():
    h = XsHandle(XenStore())
    events = []
    h.watch("/w", "tok", lambda p, t: events.append(p))
    events.clear()
    tx = h.transaction_start()
    h.write("/w/a", "1", tx)
    assert events == []
    assert h.transaction_end(tx)
    assert events == ["/w/a"]


def test_aborting_discards_and_unknown_transactions_are_enoent():
    store = XenStore()
    h = XsHandle(store)
    tx = h.transaction_start()
    h.write("/gone", "1", tx)
    assert h.transaction_end(tx, commit=False)
    assert not h.exists("/gone")
    with pytest.raises(XenStoreError, match="ENOENT"):
        h.read("/", tx)


def test_a_domain_may_hold_only_its_quota_of_transactions():
    store = XenStore(Quota(transactions_per_domain=2))
    guest = Client(5, False, lambda p, t: None)
    store.transaction_start(guest)
    store.transaction_start(guest)
    with pytest.raises(XenStoreError, match="ENOSPC"):
        store.transaction_start(guest)
