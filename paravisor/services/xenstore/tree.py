"""The XenStore tree: paths, nodes, permissions (docs/misc/xenstore.txt).

Paths are "/"-separated and absolute once canonicalised; a domain may also give a path
relative to its home, /local/domain/<domid>.  The characters allowed are ASCII letters,
digits and "-/_@"; doubled or trailing slashes (except the root "/") and the empty path
are forbidden; "@..." names only special watches (@introduceDomain, @releaseDomain).

A node holds a byte value, a permission list and the names of its children.  The
permission list's *first* entry names the owner, who always has full access, and its
right is the default for every domain not listed after it; dom0 (the privileged
control domain) may do anything.  Nodes are immutable: a change replaces the node and
gives it a fresh generation number, which is how transactions detect conflicts.

The `Tree` is a flat map from canonical path to node; the operations that keep parents
and children consistent live in store.py.  Ownership: the hypervisor loop (single
threaded); a transaction works on its own copy (`Tree.copy`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from enum import Flag

from paravisor.abi import XSD_ERRORS, XenstoreMisc

ROOT = "/"
ABS_PATH_MAX = int(XenstoreMisc.XENSTORE_ABS_PATH_MAX)
REL_PATH_MAX = int(XenstoreMisc.XENSTORE_REL_PATH_MAX)
SPECIAL_WATCHES = ("@introduceDomain", "@releaseDomain")
_VALID_PATH = re.compile(r"[A-Za-z0-9\-/_@]+")
DOMID_MAX = 0xFFFF


class XenStoreError(Exception):
    """An operation failed; `errno` is the name an XS_ERROR reply carries (xs_wire.h)."""

    def __init__(self, errno: str, why: str = "") -> None:
        if errno not in XSD_ERRORS:
            raise ValueError(f"{errno} is not a XenStore error name")
        super().__init__(f"{errno}: {why}" if why else errno)
        self.errno = errno


# --- paths -------------------------------------------------------------------------------

def domain_path(domid: int) -> str:
    """A domain's home, the base of its relative paths (XS_GET_DOMAIN_PATH)."""
    return f"/local/domain/{domid}"


def canonicalise(path: str, domid: int, privileged: bool = False) -> str:
    """The absolute form of `path` given by domain `domid`; EINVAL if it is malformed.

    A relative path is taken from the caller's home.  An unprivileged caller's path may
    not exceed its home by more than XENSTORE_REL_PATH_MAX bytes (xenstored's rule)."""
    if not path or not _VALID_PATH.fullmatch(path):
        raise XenStoreError("EINVAL", f"bad characters in path {path[:64]!r}")
    if path.startswith("@"):
        raise XenStoreError("EINVAL", "special paths name watches only")
    full = path if path.startswith("/") else f"{domain_path(domid)}/{path}"
    if full != ROOT and (full.endswith("/") or "//" in full):
        raise XenStoreError("EINVAL", "doubled or trailing slash")
    if len(full) > ABS_PATH_MAX:
        raise XenStoreError("EINVAL", f"path longer than {ABS_PATH_MAX} bytes")
    if not privileged and len(full) > len(domain_path(domid)) + 1 + REL_PATH_MAX:
        raise XenStoreError("EINVAL", f"path more than {REL_PATH_MAX} bytes below home")
    return full


def canonicalise_watch(path: str, domid: int, privileged: bool = False) -> str:
    """Like `canonicalise`, but also accepts the special "@..." watch names."""
    if path.startswith("@"):
        if not _VALID_PATH.fullmatch(path) or "/" in path or len(path) > ABS_PATH_MAX:
            raise XenStoreError("EINVAL", f"bad special watch {path[:64]!r}")
        return path
    return canonicalise(path, domid, privileged)


def parent_of(path: str) -> str:
    """The parent of a canonical, non-root path."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def basename(path: str) -> str:
    return path.rsplit("/", 1)[1]


def join(parent: str, name: str) -> str:
    return f"/{name}" if parent == ROOT else f"{parent}/{name}"


def is_child(path: str, ancestor: str) -> bool:
    """xenstore.txt's "child": `path` equals `ancestor` or lies below it."""
    if ancestor == ROOT:
        return path.startswith("/")
    return path == ancestor or path.startswith(ancestor + "/")


def ancestors(path: str) -> list[str]:
    """The proper ancestors of a canonical path, nearest first, ending with "/"."""
    out = []
    while path != ROOT:
        path = parent_of(path)
        out.append(path)
    return out


# --- permissions -------------------------------------------------------------------------

class Access(Flag):
    NONE = 0
    READ = 1
    WRITE = 2
    OWNER = 4


_LETTER_ACCESS = {"n": Access.NONE, "r": Access.READ, "w": Access.WRITE,
                  "b": Access.READ | Access.WRITE}
_ACCESS_LETTER = {v: k for k, v in _LETTER_ACCESS.items()}


@dataclass(frozen=True)
class Perm:
    """One entry of a permission list: `domid` gets `access` (READ/WRITE, not OWNER)."""
    domid: int
    access: Access

    def __str__(self) -> str:
        return f"{_ACCESS_LETTER[self.access]}{self.domid}"

    @classmethod
    def parse(cls, text: str) -> Perm:
        """"r3", "w0", "b12", "n1"; EINVAL for anything else."""
        if len(text) < 2 or text[0] not in _LETTER_ACCESS or not text[1:].isdigit() \
                or not text[1:].isascii():
            raise XenStoreError("EINVAL", f"bad permission {text[:16]!r}")
        domid = int(text[1:])
        if domid > DOMID_MAX:
            raise XenStoreError("EINVAL", f"domid {domid} out of range")
        return cls(domid, _LETTER_ACCESS[text[0]])


Perms = tuple[Perm, ...]


def parse_perms(texts: list[str]) -> Perms:
    if not texts:
        raise XenStoreError("EINVAL", "an empty permission list")
    return tuple(Perm.parse(t) for t in texts)


def format_perms(perms: Perms) -> list[str]:
    return [str(p) for p in perms]


def access_for(perms: Perms, domid: int, privileged: bool) -> Access:
    """What domain `domid` may do to a node with `perms` (xenstored's perm_for_conn):
    the control domain and the owner everything, a listed domain its entry (the first
    that names it), anyone else the owner entry's default."""
    if privileged or perms[0].domid == domid:
        return Access.READ | Access.WRITE | Access.OWNER
    for entry in perms[1:]:
        if entry.domid == domid:
            return entry.access
    return perms[0].access


# --- nodes and the tree ------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    value: bytes
    perms: Perms
    children: tuple[str, ...] = ()     # leaf names, in creation order
    generation: int = 0                # when it last changed (Tree.next_generation)

    @property
    def owner(self) -> int:
        return self.perms[0].domid


class Tree:
    """Canonical path -> Node, and how many nodes each domain owns (for quotas).

    `put`/`delete` are raw: callers keep parents' children lists consistent."""

    def __init__(self, root_perms: Perms = (Perm(0, Access.NONE),)) -> None:
        self.nodes: dict[str, Node] = {ROOT: Node(b"", root_perms)}
        self.owned: Counter[int] = Counter({root_perms[0].domid: 1})
        self.generation = 0

    def copy(self) -> Tree:
        """An independent snapshot (nodes are immutable, so sharing them is safe)."""
        twin = Tree.__new__(Tree)
        twin.nodes, twin.owned = dict(self.nodes), Counter(self.owned)
        twin.generation = self.generation
        return twin

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    def put(self, path: str, node: Node) -> None:
        old = self.nodes.get(path)
        if old is not None:
            self.owned[old.owner] -= 1
        self.owned[node.owner] += 1
        self.nodes[path] = node

    def delete(self, path: str) -> None:
        old = self.nodes.pop(path, None)
        if old is not None:
            self.owned[old.owner] -= 1

    def subtree(self, path: str) -> list[str]:
        """`path` and all its descendants, parents before children."""
        out, stack = [], [path]
        while stack:
            current = stack.pop()
            node = self.nodes.get(current)
            if node is None:
                continue
            out.append(current)
            stack.extend(join(current, name) for name in reversed(node.children))
        return out
