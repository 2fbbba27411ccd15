"""The XenStore database: operations, transactions, watches and quotas.

Every operation acts for a `Client` (a domain's ring connection, or a Python handle of
a dom0 service) and checks that client's rights on the nodes it touches (tree.py).
Errors are raised as XenStoreError with xs_wire.h's names.

Transactions are optimistic, as in xenstored: TRANSACTION_START snapshots the tree, the
transaction reads and writes its copy and remembers the generation of every node it
looked at; TRANSACTION_END commits only if none of those nodes changed in the meantime
(else EAGAIN, and the client retries), then applies its changes and fires their
watches.  Watches fire on the changed node and everything above it; a recursive
removal also fires the watches set below the removed node (with their own path).  A
watcher hears only of nodes it may read.

Ownership: the hypervisor loop; nothing here runs concurrently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from paravisor.services.xenstore.tree import (
    ROOT,
    SPECIAL_WATCHES,
    Access,
    Node,
    Perm,
    Perms,
    Tree,
    XenStoreError,
    access_for,
    ancestors,
    basename,
    canonicalise,
    canonicalise_watch,
    domain_path,
    is_child,
    parent_of,
)

ABSENT = -1                                  # the generation we record for a missing node
TX_ID_MASK = 0xFFFF_FFFF


@dataclass(frozen=True)
class Quota:
    """Per-domain limits (xenstored's defaults); dom0 is exempt."""
    nodes_per_domain: int = 1000
    entry_size: int = 2048                   # bytes of one node's value
    watches_per_domain: int = 128
    transactions_per_domain: int = 10
    perms_per_node: int = 5


class Client:
    """One connection to the store.  `on_watch_event(epath, token)` delivers a
    WATCH_EVENT to it; it must not call back into the store synchronously."""

    def __init__(self, domid: int, privileged: bool,
                 on_watch_event: Callable[[str, str], None]) -> None:
        self.domid, self.privileged = domid, privileged
        self.on_watch_event = on_watch_event
        self.transactions: dict[int, Transaction] = {}
        self.next_tx_id = 1

    def __repr__(self) -> str:
        return f"<xenstore client dom{self.domid}>"


@dataclass
class Watch:
    client: Client
    path: str            # canonical path, or a special "@..." name
    token: str
    relative: bool       # given relative to the client's home: report events relative


@dataclass(frozen=True)
class Change:
    """One committed modification: fires the watches on `path` and above (and, for a
    removal, below).  `perms` decides who may hear of it (before removal for rm)."""
    path: str
    perms: Perms
    removed: bool = False


@dataclass
class Transaction:
    client: Client
    tx_id: int
    tree: Tree
    seen: dict[str, int] = field(default_factory=dict)     # path -> generation at first look
    modified: set[str] = field(default_factory=set)
    changes: list[Change] = field(default_factory=list)


class _View:
    """The tree an operation works on (the store's, or a transaction's copy), recording
    what a transaction looked at and changed."""

    def __init__(self, store: XenStore, tx: Transaction | None) -> None:
        self.store, self.tx = store, tx
        self.tree = tx.tree if tx is not None else store.tree

    def get(self, path: str) -> Node | None:
        node = self.tree.get(path)
        if self.tx is not None:
            self.tx.seen.setdefault(path, node.generation if node is not None else ABSENT)
        return node

    def put(self, path: str, node: Node) -> None:
        self.get(path)
        self.tree.put(path, replace(node, generation=self.tree.next_generation()))
        if self.tx is not None:
            self.tx.modified.add(path)

    def delete(self, path: str) -> None:
        self.get(path)
        self.tree.delete(path)
        if self.tx is not None:
            self.tx.modified.add(path)

    def changed(self, change: Change) -> None:
        if self.tx is not None:
            self.tx.changes.append(change)
        else:
            self.store.fire(change)


class XenStore:
    def __init__(self, quota: Quota | None = None) -> None:
        self.tree = Tree()
        self.quota = quota or Quota()
        self.watches: list[Watch] = []

    # --- helpers ------------------------------------------------------------------------

    def _view(self, client: Client, tx_id: int) -> _View:
        if tx_id == 0:
            return _View(self, None)
        tx = client.transactions.get(tx_id)
        if tx is None:
            raise XenStoreError("ENOENT", f"no transaction {tx_id}")
        return _View(self, tx)

    def _path(self, client: Client, path: str) -> str:
        return canonicalise(path, client.domid, client.privileged)

    @staticmethod
    def _node(view: _View, client: Client, path: str, want: Access) -> Node:
        node = view.get(path)
        if node is None:
            raise XenStoreError("ENOENT", path)
        if not access_for(node.perms, client.domid, client.privileged) & want:
            raise XenStoreError("EACCES", path)
        return node

    def _check_value(self, client: Client, value: bytes) -> None:
        if not client.privileged and len(value) > self.quota.entry_size:
            raise XenStoreError("ENOSPC", f"value over {self.quota.entry_size} bytes")

    def _create(self, view: _View, client: Client, path: str, value: bytes) -> None:
        """Create `path` (absent) and its missing parents, which get empty values.  Each
        inherits the nearest existing ancestor's permissions; an unprivileged creator
        owns what it creates.  Needs write access to that ancestor."""
        missing = [path]
        for above in ancestors(path):
            parent = view.get(above)
            if parent is not None:
                break
            missing.append(above)
        if not access_for(parent.perms, client.domid, client.privileged) & Access.WRITE:
            raise XenStoreError("EACCES", above)
        perms = parent.perms
        if not client.privileged:
            perms = (Perm(client.domid, perms[0].access), *perms[1:])
            if view.tree.owned[client.domid] + len(missing) > self.quota.nodes_per_domain:
                raise XenStoreError("ENOSPC", f"domain {client.domid} owns too many nodes")
        for new in reversed(missing):
            view.put(new, Node(value if new == path else b"", perms))
            up = parent_of(new)
            holder = view.get(up)
            view.put(up, replace(holder, children=(*holder.children, basename(new))))

    # --- reads --------------------------------------------------------------------------

    def read(self, client: Client, tx_id: int, path: str) -> bytes:
        """A node's value (XS_READ): ENOENT, or EACCES without read access."""
        view = self._view(client, tx_id)
        return self._node(view, client, self._path(client, path), Access.READ).value

    def directory(self, client: Client, tx_id: int, path: str) -> list[str]:
        """The names of a node's children, in creation order (XS_DIRECTORY)."""
        view = self._view(client, tx_id)
        return list(self._node(view, client, self._path(client, path), Access.READ).children)

    def get_perms(self, client: Client, tx_id: int, path: str) -> Perms:
        """A node's permission list, owner first (XS_GET_PERMS)."""
        view = self._view(client, tx_id)
        return self._node(view, client, self._path(client, path), Access.READ).perms

    # --- writes -------------------------------------------------------------------------

    def write(self, client: Client, tx_id: int, path: str, value: bytes) -> None:
        """Store `value` at `path`, creating missing parents (XS_WRITE)."""
        view, path = self._view(client, tx_id), self._path(client, path)
        self._check_value(client, value)
        node = view.get(path)
        if node is None:
            self._create(view, client, path, value)
        else:
            if not access_for(node.perms, client.domid, client.privileged) & Access.WRITE:
                raise XenStoreError("EACCES", path)
            view.put(path, replace(node, value=value))
        view.changed(Change(path, view.tree.get(path).perms))

    def mkdir(self, client: Client, tx_id: int, path: str) -> None:
        """Make sure `path` exists; an existing node keeps its value (XS_MKDIR)."""
        view, path = self._view(client, tx_id), self._path(client, path)
        node = view.get(path)
        if node is not None:
            self._node(view, client, path, Access.WRITE)
            return
        self._create(view, client, path, b"")
        view.changed(Change(path, view.tree.get(path).perms))

    def rm(self, client: Client, tx_id: int, path: str) -> None:
        """Remove `path` and everything below it; no error if it is already gone but
        its parent exists (XS_RM)."""
        view, path = self._view(client, tx_id), self._path(client, path)
        if path == ROOT:
            raise XenStoreError("EINVAL", "the root cannot be removed")
        if view.get(path) is None:
            if view.get(parent_of(path)) is None:
                raise XenStoreError("ENOENT", parent_of(path))
            return
        node = self._node(view, client, path, Access.WRITE)
        self._remove(view, path)
        view.changed(Change(path, node.perms, removed=True))

    @staticmethod
    def _remove(view: _View, path: str) -> None:
        for victim in view.tree.subtree(path):
            view.delete(victim)
        up = parent_of(path)
        holder = view.get(up)
        name = basename(path)
        view.put(up, replace(holder, children=tuple(c for c in holder.children if c != name)))

    def set_perms(self, client: Client, tx_id: int, path: str, perms: Perms) -> None:
        """Replace a node's permissions: the owner (or dom0) only, and only dom0 may
        give the node to another owner (XS_SET_PERMS)."""
        view, path = self._view(client, tx_id), self._path(client, path)
        if not perms:
            raise XenStoreError("EINVAL", "an empty permission list")
        node = self._node(view, client, path, Access.OWNER)
        if not client.privileged:
            if perms[0].domid != node.owner:
                raise XenStoreError("EPERM", "only dom0 changes a node's owner")
            if len(perms) > self.quota.perms_per_node:
                raise XenStoreError("ENOSPC", f"more than {self.quota.perms_per_node} perms")
        view.put(path, replace(node, perms=tuple(perms)))
        view.changed(Change(path, tuple(perms)))

    # --- transactions ---------------------------------------------------------------------

    def transaction_start(self, client: Client) -> int:
        if not client.privileged and \
                len(client.transactions) >= self.quota.transactions_per_domain:
            raise XenStoreError("ENOSPC", "too many open transactions")
        tx_id = client.next_tx_id
        while tx_id == 0 or tx_id in client.transactions:
            tx_id = (tx_id + 1) & TX_ID_MASK
        client.next_tx_id = (tx_id + 1) & TX_ID_MASK
        client.transactions[tx_id] = Transaction(client, tx_id, self.tree.copy())
        return tx_id

    def transaction_end(self, client: Client, tx_id: int, commit: bool) -> None:
        """Abort, or commit: EAGAIN if a node the transaction used changed since."""
        tx = client.transactions.pop(tx_id, None)
        if tx is None:
            raise XenStoreError("ENOENT", f"no transaction {tx_id}")
        if not commit:
            return
        for path, generation in tx.seen.items():
            node = self.tree.get(path)
            if (node.generation if node is not None else ABSENT) != generation:
                raise XenStoreError("EAGAIN", f"{path} changed during the transaction")
        self._check_commit_quota(tx)
        for path in tx.modified:
            node = tx.tree.get(path)
            if node is None:
                self.tree.delete(path)
            else:
                self.tree.put(path, replace(node, generation=self.tree.next_generation()))
        for change in tx.changes:
            self.fire(change)

    def _check_commit_quota(self, tx: Transaction) -> None:
        """Transactions count their nodes against their copy; check the sum again."""
        delta: dict[int, int] = {}
        for path in tx.modified:
            old, new = self.tree.get(path), tx.tree.get(path)
            if old is not None:
                delta[old.owner] = delta.get(old.owner, 0) - 1
            if new is not None:
                delta[new.owner] = delta.get(new.owner, 0) + 1
        for domid, more in delta.items():
            if domid != 0 and more > 0 and \
                    self.tree.owned[domid] + more > self.quota.nodes_per_domain:
                raise XenStoreError("ENOSPC", f"domain {domid} would own too many nodes")

    # --- watches --------------------------------------------------------------------------

    def watch(self, client: Client, path: str, token: str) -> Watch:
        """Add a watch and fire it once straight away, as xenstored does (XS_WATCH)."""
        full = canonicalise_watch(path, client.domid, client.privileged)
        if any(w.client is client and w.path == full and w.token == token
               for w in self.watches):
            raise XenStoreError("EEXIST", f"already watching {path} with that token")
        if not client.privileged and sum(
                1 for w in self.watches if w.client.domid == client.domid) \
                >= self.quota.watches_per_domain:
            raise XenStoreError("E2BIG", "too many watches")
        watch = Watch(client, full, token, relative=not path.startswith(("/", "@")))
        self.watches.append(watch)
        client.on_watch_event(path, token)
        return watch

    def unwatch(self, client: Client, path: str, token: str) -> None:
        full = canonicalise_watch(path, client.domid, client.privileged)
        for i, w in enumerate(self.watches):
            if w.client is client and w.path == full and w.token == token:
                del self.watches[i]
                return
        raise XenStoreError("ENOENT", f"no watch on {path} with that token")

    def fire(self, change: Change) -> None:
        """Deliver `change` to every matching watch whose client may read the node."""
        for w in list(self.watches):
            if w.path.startswith("@"):
                continue
            if is_child(change.path, w.path):
                epath = change.path
            elif change.removed and is_child(w.path, change.path):
                epath = w.path
            else:
                continue
            if access_for(change.perms, w.client.domid, w.client.privileged) & Access.READ:
                w.client.on_watch_event(self._report(w, epath), w.token)

    @staticmethod
    def _report(watch: Watch, epath: str) -> str:
        if not watch.relative:
            return epath
        return epath[len(domain_path(watch.client.domid)) + 1:]

    def fire_special(self, name: str) -> None:
        """@introduceDomain / @releaseDomain: heard by the control domain only (their
        nodes are owned by dom0 with no access for others)."""
        if name not in SPECIAL_WATCHES:
            raise ValueError(f"{name} is not a special watch")
        for w in list(self.watches):
            if w.path == name and w.client.privileged:
                w.client.on_watch_event(name, w.token)

    # --- clients and domains --------------------------------------------------------------

    def reset_watches(self, client: Client) -> None:
        """Drop the client's watches and transactions (XS_RESET_WATCHES)."""
        self.watches = [w for w in self.watches if w.client is not client]
        client.transactions.clear()

    close = reset_watches

    def domain_gone(self, domid: int) -> None:
        """A domain died: remove its home and every node it owns, and forget it in the
        permission lists of the rest (so a later domain with its number inherits
        nothing)."""
        view = _View(self, None)
        home = domain_path(domid)
        tops = [home] if self.tree.get(home) is not None else []
        for path, node in sorted(self.tree.nodes.items()):
            if node.owner == domid and path != ROOT and not any(is_child(path, t) for t in tops):
                tops.append(path)
        for top in tops:
            node = self.tree.get(top)
            if node is not None:
                self._remove(view, top)
                view.changed(Change(top, node.perms, removed=True))
        for path, node in list(self.tree.nodes.items()):
            kept = tuple(p for i, p in enumerate(node.perms) if i == 0 or p.domid != domid)
            if kept != node.perms:
                view.put(path, replace(node, perms=kept))

