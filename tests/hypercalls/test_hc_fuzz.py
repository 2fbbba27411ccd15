"""Fuzzing the hypercall interface from an unprivileged domain.

1. Random hypercall numbers (0..63 and a few huge) with random argument registers --
   pointers into the guest's own scratch memory (filled with random bytes, so every
   structure a call reads is random too), its own and other domains' frame numbers,
   DOMID_SELF, and arbitrary words -- through dispatch on a strict hypervisor, where any
   Python exception fails the test.  Afterwards the frame-table invariants hold and
   dom0's memory is byte for byte what it was.
2. A guest executing random instruction words (hcall with random registers among them):
   the run ends with the guest shut down, crashed or still running, never an exception.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from paravisor.abi import DOMID_SELF
from paravisor.domain import Domain
from paravisor.domain.traps import BounceError
from paravisor.hypercalls import dispatch
from paravisor.isa.table import HYPERCALL_ARG_REGS, HYPERCALL_NR_REG, PAGE_SIZE, encode
from paravisor.mm.invariants import verify
from paravisor.testing.guests import SCRATCH_PAGES, api_guest, load_guest
from paravisor.testing.host import Host
from paravisor.testing.programs import assemble
from paravisor.testing.strategies import interesting_words, straight_line_instruction

HOST_MIB = 4
HUGE_NUMBERS = [64, 255, 0x7FFF_FFFF, 0xFFFF_FFFF]


def memory_of(hv, dom: Domain) -> dict[int, bytes]:
    return {mfn: hv.memory.read_frame(mfn) for mfn in sorted(dom.mem.pages)}


def argument(draw, guest, dom0) -> int:
    """One argument register: mostly something a handler will take seriously."""
    scratch = guest.symbols["scratch"]
    kind = draw(st.integers(0, 5))
    if kind <= 1:   # a pointer into scratch, anywhere in it
        return scratch + draw(st.integers(0, SCRATCH_PAGES * PAGE_SIZE - 1)) // 4 * 4
    if kind == 2:   # a frame: our own, dom0's, or past the end of memory
        frames = sorted(guest.dom.mem.pages) + sorted(dom0.mem.pages) + [10**6]
        mfn = draw(st.sampled_from(frames))
        return (mfn << 12) | draw(st.integers(0, 0xFFF)) if draw(st.booleans()) else mfn
    if kind == 3:
        return draw(st.sampled_from([DOMID_SELF, 0, 1, 2, 0x7FF2]))
    if kind == 4:
        return draw(st.integers(0, 40))
    return draw(interesting_words)


def make_call(hv, vcpu, number: int, args: tuple[int, ...]) -> None:
    """What the hypervisor loop does for an `hcall`, minus running the guest: a fault
    while bouncing (iret on a garbage frame) crashes the domain, nothing else may raise."""
    regs = vcpu.cpu.regs
    regs[HYPERCALL_NR_REG] = number
    for reg, value in zip(HYPERCALL_ARG_REGS, args, strict=True):
        regs[reg] = value
    try:
        dispatch.hypercall(hv, vcpu)
    except BounceError as err:
        hv.crash(vcpu.domain, str(err))


@settings(max_examples=40)
@given(data=st.data())
def test_random_hypercalls_from_a_domu(data):
    host = Host(host_mib=HOST_MIB)
    dom0 = api_guest(host, name="dom0", privileged=True, domid=0).dom
    guest = api_guest(host, name="fuzz")
    guest.dom.mem.max_pages += 16       # room for increase_reservation to succeed
    pattern = data.draw(st.binary(min_size=1, max_size=256))
    size = SCRATCH_PAGES * PAGE_SIZE
    guest.write(guest.symbols["scratch"], (pattern * (size // len(pattern) + 1))[:size])
    before = memory_of(host.hv, dom0)
    for _ in range(data.draw(st.integers(1, 8))):
        if not guest.dom.can_run:
            break
        number = data.draw(st.one_of(st.integers(0, 63), st.sampled_from(HUGE_NUMBERS)))
        args = tuple(argument(data.draw, guest, dom0) for _ in HYPERCALL_ARG_REGS)
        make_call(host.hv, guest.vcpu, number, args)
    verify(host.hv.mm)
    assert memory_of(host.hv, dom0) == before
    assert host.hv.lookup(0) is dom0 and not dom0.is_shutdown


HCALL = encode("hcall")


@st.composite
def random_words(draw) -> list[int]:
    """Instruction words: valid ALU/load/store ones, hcall, and arbitrary words."""
    words = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            words.append(HCALL)
        elif kind == 1:
            words.append(draw(st.integers(0, 0xFFFF_FFFF)))
        else:
            words.extend(assemble([draw(straight_line_instruction())]))
    return words


@settings(max_examples=25)
@given(words=random_words(), regs=st.lists(interesting_words, min_size=6, max_size=6))
def test_a_guest_running_random_words_never_raises(words, regs):
    host = Host(host_mib=HOST_MIB)
    dom0 = load_guest(host, name="dom0", privileged=True, domid=0).dom   # stays paused
    before = memory_of(host.hv, dom0)
    body = "\n".join(f"    .word {w:#x}" for w in words)
    guest = load_guest(host, f"    .text\n    .global _start\n_start:\n{body}\n    j _start\n",
                       name="random")
    for reg, value in zip(HYPERCALL_ARG_REGS, regs, strict=True):
        guest.vcpu.cpu.regs[reg] = value
    guest.vcpu.cpu.regs[15] = guest.vcpu.cpu.regs[2]   # straight-line code addresses r15
    host.hv.unpause(guest.dom)
    why = host.hv.run(max_ns=200_000, until=lambda: guest.dom.is_shutdown)
    assert why in ("until", "time", "idle", "deadlock")
    verify(host.hv.mm)
    assert memory_of(host.hv, dom0) == before
