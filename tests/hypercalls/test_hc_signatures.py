"""The dispatch table against the ABI's signatures (paravisor/abi/signatures.py): the
hypercalls the ABI calls implemented are exactly those with a handler, each handler
names as many arguments as its signature, and docs/abi.md's status column says so.
That every -errno a call returns is declared is checked in every test of this folder
(conftest.py, errnos_are_declared); the last test here adds random calls, from dom0
and from a domU, each argument drawn by what its signature says it is."""

import inspect
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paravisor.abi import (
    DOMID_SELF,
    MMU_UPDATE_PREEMPTED,
    SIGNATURES,
    XEN_DOMCTL_INTERFACE_VERSION,
    XEN_SYSCTL_INTERFACE_VERSION,
    Hypercall,
    signature,
)
from paravisor.abi.headers import DOC_END, DOC_PATH, HYPERCALL_TABLE_BEGIN
from paravisor.domain.traps import BounceError
from paravisor.hypercalls.dispatch import TABLE
from paravisor.isa.table import HYPERCALL_ARG_REGS, PAGE_SIZE
from paravisor.mm.invariants import verify
from paravisor.testing.guests import SCRATCH_PAGES, SCRATCH_SYMBOL, api_guest
from paravisor.testing.host import Host
from paravisor.testing.strategies import interesting_words

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ("hv", "vcpu")      # what every handler takes before the argument registers


def named_arguments(handler) -> tuple[list[str], bool]:
    """The positional parameters after hv and vcpu, and whether it takes *rest."""
    params = list(inspect.signature(handler).parameters.values())
    assert [p.name for p in params[:2]] == list(CONTEXT), handler.__name__
    positional = [p for p in params[2:] if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    rest = any(p.kind is p.VAR_POSITIONAL for p in params)
    return [p.name for p in positional], rest


def test_implemented_means_there_is_a_handler():
    implemented = {call for call, sig in SIGNATURES.items() if sig.implemented}
    assert set(TABLE) == implemented
    for number in TABLE:
        assert signature(number).implemented, Hypercall(number).name


def test_every_handler_takes_its_signatures_arguments_and_all_six_registers():
    for number, handler in TABLE.items():
        sig = signature(number)
        names, rest = named_arguments(handler)
        assert len(names) == sig.arity, (
            f"{handler.__name__} names {names}, the ABI declares "
            f"{[a.name for a in sig.args]}")
        # dispatch passes every argument register; a handler swallows the ones it
        # does not use with *_
        assert rest or len(names) == len(HYPERCALL_ARG_REGS), handler.__name__


def test_the_docs_status_column_agrees_with_the_dispatch_table():
    text = (ROOT / DOC_PATH).read_text()
    begin = text.index(HYPERCALL_TABLE_BEGIN)
    region = text[begin:text.index(DOC_END, begin)]
    rows = re.findall(r"^\| (\d+) \| (\w+) \|.*\| ([a-z ]+) \|$", region, re.M)
    assert {int(nr) for nr, _name, _status in rows} == set(SIGNATURES)
    for nr, name, status in rows:
        assert Hypercall(int(nr)).name == name
        assert status == ("implemented" if int(nr) in TABLE else "not implemented"), name


# --- the errnos a call returns ------------------------------------------------------------

NO_SUCH_DOMAIN = 99
UNKNOWN_NUMBERS = [64, 0xFFFF_FFFF]


def scratch_pointers(guest) -> st.SearchStrategy[int]:
    """Word-aligned addresses in the scratch area (the same in every api_guest)."""
    scratch = guest.symbols[SCRATCH_SYMBOL]
    return st.integers(0, SCRATCH_PAGES * PAGE_SIZE // 4 - 1).map(lambda i: scratch + 4 * i)


def words(guest, dom0) -> st.SearchStrategy[int]:
    """A word a handler takes seriously, as an argument or a field of a structure:
    sub-operations and counts, domids, interface versions, pointers into scratch (the
    same address in both domains), unmapped addresses, frames, entry addresses."""
    scratch = guest.symbols[SCRATCH_SYMBOL]
    small = st.integers(0, 12)
    return st.one_of(
        small, small,
        st.sampled_from([DOMID_SELF, 0, guest.dom.domid, NO_SUCH_DOMAIN,
                         XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION,
                         8, 0xFFFF_F000, MMU_UPDATE_PREEMPTED | 1,
                         guest.l1_entry_maddr(scratch), dom0.l1_entry_maddr(scratch)]),
        st.sampled_from(sorted(guest.dom.mem.pages) + sorted(dom0.dom.mem.pages)),
        scratch_pointers(guest),
        interesting_words)


def arguments(number: int, guest, dom0) -> st.SearchStrategy[tuple[int, ...]]:
    """Six argument words, each drawn by what the signature says the register holds
    (a pointer, a sub-operation, a domid, a count), with some chance of anything."""
    anything = words(guest, dom0)
    domids = st.sampled_from([DOMID_SELF, 0, guest.dom.domid, NO_SUCH_DOMAIN])
    kinds = []
    for arg in signature(number).args if number in set(Hypercall) else ():
        if arg.c_type.endswith("*"):
            kinds.append(scratch_pointers(guest))
        elif arg.c_type == "domid_t":
            kinds.append(domids)
        elif arg.name in ("cmd", "count", "vcpuid"):
            kinds.append(st.integers(0, 12))
        else:
            kinds.append(anything)
    kinds += [anything] * (len(HYPERCALL_ARG_REGS) - len(kinds))
    return st.tuples(*(st.one_of(kind, kind, kind, anything) for kind in kinds))


def make_call(caller, number: int, args: tuple[int, ...]) -> None:
    """Make the call as `caller` (the errno check is the autouse fixture's)."""
    try:
        caller.call(number, *args)
    except BounceError as err:          # iret on a garbage frame: the domain crashes
        caller.hv.crash(caller.dom, str(err))


@given(data=st.data())
def test_random_calls_return_only_declared_errnos(data):
    host = Host(host_mib=4)
    dom0 = api_guest(host, name="dom0", privileged=True, domid=0)
    guest = api_guest(host, name="domu")
    guest.dom.mem.max_pages += 16       # room for a reservation call to succeed
    pattern = data.draw(st.lists(words(guest, dom0), min_size=64, max_size=64))
    fill = b"".join(w.to_bytes(4, "little") for w in pattern)
    size = SCRATCH_PAGES * PAGE_SIZE
    for dom in (dom0, guest):
        dom.write(dom.symbols[SCRATCH_SYMBOL], (fill * (size // len(fill) + 1))[:size])
    numbers = st.one_of(st.sampled_from(sorted(TABLE)), st.sampled_from(list(Hypercall)),
                        st.sampled_from(UNKNOWN_NUMBERS))
    for _ in range(data.draw(st.integers(1, 10))):
        caller = data.draw(st.sampled_from([dom0, guest]))
        if not caller.dom.can_run:
            continue
        number = int(data.draw(numbers))
        args = data.draw(arguments(number, guest, dom0))
        make_call(caller, number, args)
    verify(host.hv.mm)
