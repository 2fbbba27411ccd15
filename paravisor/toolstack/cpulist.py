"""xl's CPULIST notation for hard affinity: `"all"`, `"0-3,5"`, `"all,^7"`, `"0-7,^2-3"`.

Items are separated by commas; an item is `all`, a CPU `N`, a range `N-M`, or any of
those after `^`, which removes CPUs instead of adding them.  Items apply left to right,
as xl applies them.  xl's NUMA forms (`node:N`, `nodes:N-M`) have no meaning on
paravisor's single-node host and are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A CPU number this large is certainly a typo; the host's real count is only known at
# launch time, where `CpuList.resolve` drops CPUs the host does not have.
MAX_CPU_NUMBER = 4095

_ITEM = re.compile(r"(\^?)(?:(all)|([0-9]+)(?:-([0-9]+))?)")


class CpuListError(ValueError):
    """A malformed CPULIST; the message says what is wrong with which item."""


@dataclass(frozen=True)
class CpuList:
    """A parsed CPULIST: `steps` is the list of (remove, all, first, last) in order.

    Equality is structural (same items in the same order); `str()` gives text that
    `parse_cpulist` turns back into an equal CpuList.
    """

    steps: tuple[tuple[bool, bool, int, int], ...]

    def resolve(self, nr_pcpus: int) -> frozenset[int]:
        """The CPUs this list allows on a host with `nr_pcpus` CPUs (may be empty)."""
        cpus: set[int] = set()
        for remove, everything, first, last in self.steps:
            chosen = range(nr_pcpus) if everything else range(first, last + 1)
            if remove:
                cpus.difference_update(chosen)
            else:
                cpus.update(chosen)
        return frozenset(cpu for cpu in cpus if cpu < nr_pcpus)

    def __str__(self) -> str:
        items = []
        for remove, everything, first, last in self.steps:
            body = "all" if everything else (str(first) if first == last
                                             else f"{first}-{last}")
            items.append(("^" if remove else "") + body)
        return ",".join(items)


def parse_cpulist(text: str) -> CpuList:
    """Parse CPULIST text (see the module doc).  Raises CpuListError if malformed."""
    if not text.strip():
        raise CpuListError("empty CPU list (write \"all\" for no pinning)")
    steps = []
    for raw in text.split(","):
        item = raw.strip()
        if item.startswith(("node:", "nodes:", "^node:", "^nodes:")):
            raise CpuListError(f"'{item}': NUMA node lists are not supported "
                               f"(paravisor hosts have one node)")
        match = _ITEM.fullmatch(item)
        if match is None:
            raise CpuListError(f"'{item}' is not a CPU list item (expected N, N-M, "
                               f"all, or one of them after ^)")
        remove, everything, first, last = match.groups()
        if everything:
            steps.append((bool(remove), True, 0, 0))
            continue
        last = last if last is not None else first
        # Check the size before int(): Python refuses to convert very long digit strings.
        if max(len(first.lstrip("0")), len(last.lstrip("0"))) > len(str(MAX_CPU_NUMBER)) \
                or max(int(first), int(last)) > MAX_CPU_NUMBER:
            raise CpuListError(f"'{item}': CPU numbers go up to {MAX_CPU_NUMBER}")
        low, high = int(first), int(last)
        if low > high:
            raise CpuListError(f"'{item}': range runs backwards")
        steps.append((bool(remove), False, low, high))
    return CpuList(tuple(steps))
