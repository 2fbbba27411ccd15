"""XsHandle: the store's Python API for dom0's own services (libxenstore's xs_handle).

The toolstack and the backends run in dom0 (docs/design.md, 'Fixed decisions' 6), so
they call the store directly instead of through a ring, with dom0's identity and
rights.  Failures raise XenStoreError (its `errno` is xs_wire.h's name).

Watch callbacks `callback(path, token)` run once the store has finished the change that
fired them; a callback may use the store, and a handle's callbacks never nest (events
raised meanwhile are queued and delivered in order).  Given `defer` (as
XenStoreDaemon.handle() does), they run later from the hypervisor loop instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from paravisor.services.xenstore.store import Client, XenStore
from paravisor.services.xenstore.tree import (
    Perm,
    Perms,
    XenStoreError,
    format_perms,
    parse_perms,
)

WatchCallback = Callable[[str, str], None]


class XsHandle:
    def __init__(self, store: XenStore, domid: int = 0, *, privileged: bool = True,
                 defer: Callable[[Callable[[int], None], int], None] | None = None) -> None:
        self.store = store
        self.client = Client(domid, privileged, self._on_event)
        self.callbacks: dict[str, WatchCallback] = {}           # token -> callback
        self.watched: dict[str, set[str]] = {}                   # token -> paths
        self.pending: deque[tuple[str, str]] = deque()
        self._defer = defer
        self._scheduled = False
        self._delivering = False

    # --- data -----------------------------------------------------------------------------

    def read(self, path: str, tx: int = 0) -> bytes:
        return self.store.read(self.client, tx, path)

    def read_str(self, path: str, tx: int = 0) -> str:
        return self.read(path, tx).decode(errors="replace")

    def exists(self, path: str, tx: int = 0) -> bool:
        try:
            self.read(path, tx)
        except XenStoreError as err:
            if err.errno == "ENOENT":
                return False
            raise
        return True

    def write(self, path: str, value: bytes | str | int, tx: int = 0) -> None:
        data = value if isinstance(value, bytes) else str(value).encode()
        self.store.write(self.client, tx, path, data)

    def mkdir(self, path: str, tx: int = 0) -> None:
        self.store.mkdir(self.client, tx, path)

    def rm(self, path: str, tx: int = 0) -> None:
        self.store.rm(self.client, tx, path)

    def directory(self, path: str, tx: int = 0) -> list[str]:
        return self.store.directory(self.client, tx, path)

    def get_perms(self, path: str, tx: int = 0) -> list[str]:
        return format_perms(self.store.get_perms(self.client, tx, path))

    def set_perms(self, path: str, perms: list[str] | Perms, tx: int = 0) -> None:
        """`perms` as strings ("n0", "r3") or Perm entries; the first is the owner."""
        parsed = tuple(perms) if perms and isinstance(perms[0], Perm) else parse_perms(
            list(perms))
        self.store.set_perms(self.client, tx, path, parsed)

    # --- transactions ---------------------------------------------------------------------

    def transaction_start(self) -> int:
        return self.store.transaction_start(self.client)

    def transaction_end(self, tx: int, commit: bool = True) -> bool:
        """Commit (or abort) `tx`; False when it must be retried (EAGAIN)."""
        try:
            self.store.transaction_end(self.client, tx, commit)
        except XenStoreError as err:
            if err.errno == "EAGAIN":
                return False
            raise
        return True

    # --- watches --------------------------------------------------------------------------

    def watch(self, path: str, token: str, callback: WatchCallback) -> None:
        """Call `callback(path, token)` for every change at or below `path` (and once
        now, as xenstored fires a new watch straight away).  As in libxenstore the token
        tells watches apart: one token may watch several paths, with one callback."""
        if self.callbacks.get(token, callback) is not callback:
            raise ValueError(f"token {token!r} already belongs to another callback")
        self.callbacks[token] = callback
        try:
            self.store.watch(self.client, path, token)
        except XenStoreError:
            if not self.watched.get(token):
                del self.callbacks[token]
            raise
        self.watched.setdefault(token, set()).add(path)

    def unwatch(self, path: str, token: str) -> None:
        self.store.unwatch(self.client, path, token)
        paths = self.watched.get(token, set())
        paths.discard(path)
        if not paths:
            self.watched.pop(token, None)
            self.callbacks.pop(token, None)

    def close(self) -> None:
        self.store.close(self.client)
        self.callbacks.clear()
        self.watched.clear()
        self.pending.clear()

    # --- internals ------------------------------------------------------------------------

    def _on_event(self, path: str, token: str) -> None:
        self.pending.append((path, token))
        if self._defer is None:
            self._run_callbacks()
        elif not self._scheduled:
            self._scheduled = True
            self._defer(self._deferred, 0)

    def _deferred(self, _arg: int) -> None:
        self._scheduled = False
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        if self._delivering:
            return          # a callback's own store calls: the outer loop delivers
        self._delivering = True
        try:
            while self.pending:
                path, token = self.pending.popleft()
                callback = self.callbacks.get(token)
                if callback is not None:
                    callback(path, token)
        finally:
            self._delivering = False

