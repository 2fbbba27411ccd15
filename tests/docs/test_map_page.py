"""docs/hypervisor.md, "After boot: free memory, and mapping one more page", kept true.

The examples it shows (examples/map_page.s and .c) run on both engines and print what
the page says; its excerpts are still the examples' text; and the layout it describes
(its table for hello.s, which pfns back what, which frames are free) is what the
builder makes.
"""

import re
from pathlib import Path

import pytest

from paravisor.cli import main
from paravisor.hypervisor import Hypervisor
from paravisor.hypervisor.builder import build_domain
from paravisor.isa.mmu import Access, walk
from paravisor.isa.semantics import GuestFault
from paravisor.isa.table import CR, PAGE_SIZE, PTE_P
from paravisor.mm.bootstrap import table_frames
from paravisor.mm.frametable import PageType
from paravisor.toolstack.domains import guest_os_dir, kernel_image

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "hypervisor.md").read_text(encoding="utf-8")
SECTION = DOC.split("## After boot: free memory, and mapping one more page")[1].split("\n## ")[0]
EXAMPLES = ROOT / "examples"
RUN_MIB = 16                      # `paravisor run`'s default memory
PAGE_TABLE_RESERVE = 16           # the builder's frames set aside for its tables


def fenced_blocks(text: str) -> list[tuple[str, str, str]]:
    """(the line before the fence, language, body) of every fenced block in `text`."""
    blocks, body, opened = [], None, ("", "")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("```"):
            if body is not None:
                body.append(line)
        elif body is None:
            body, opened = [], (lines[i - 1] if i else "", line[3:])
        else:
            blocks.append((*opened, "\n".join(body)))
            body = None
    return blocks


def fenced_after(marker: str) -> list[str]:
    """The bodies of the section's fenced blocks right after a `marker` line."""
    return [body for before, _, body in fenced_blocks(SECTION) if before == marker]


def doc_output(command: str) -> list[str]:
    """The lines the page shows a command printing (a block starting `$ command`)."""
    for _, _, body in fenced_blocks(SECTION):
        lines = body.splitlines()
        if lines and lines[0] == f"$ {command}":
            shown = lines[1:]
            if "$ echo $?" in shown:
                shown = shown[:shown.index("$ echo $?")]
            return shown
    raise AssertionError(f"docs/hypervisor.md shows no output of `{command}`")


# --- the examples ------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["interp", "jit"])
@pytest.mark.parametrize("example", ["map_page.s", "map_page.c"])
def test_the_examples_run_and_print_what_the_page_shows(example, engine, capsys):
    capsys.readouterr()
    status = main(["run", str(EXAMPLES / example), "--engine", engine, "--max-seconds", "5"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0, out
    assert out == doc_output(f"paravisor run examples/{example}"), (
        "the example's output changed: update docs/hypervisor.md")


@pytest.mark.parametrize("example", ["map_page.s", "map_page.c"])
def test_the_excerpts_are_the_examples_text(example):
    source = (EXAMPLES / example).read_text(encoding="utf-8")
    excerpts = fenced_after(f"<!-- excerpt: examples/{example} -->")
    assert excerpts, f"no excerpt of examples/{example} in the section"
    for excerpt in excerpts:
        assert excerpt + "\n" in source, (
            f"docs/hypervisor.md quotes lines that are not in examples/{example}:\n{excerpt}")


# --- the layout --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hello():
    """hello.s built as `paravisor run` builds it, on a host where another domain took
    frames first, so that machine frame numbers differ from pfns."""
    hv = Hypervisor(RUN_MIB * 2 + 8)
    first = hv.create_domain("first")
    build_domain(hv, first, kernel_image(str(Path(guest_os_dir()) / "hello.s"), 4), 4)
    dom = hv.create_domain("hello")
    image = kernel_image(str(Path(guest_os_dir()) / "hello.s"), RUN_MIB)
    layout = build_domain(hv, dom, image, RUN_MIB)
    return hv, dom, image, layout


def _mapped_frame(hv, dom, va: int) -> int | None:
    try:
        maddr, _, _ = walk(hv.memory, dom.vcpus[0].cpu.cr[CR.PTBR], va, Access.READ, False, 0)
    except GuestFault:
        return None
    return maddr >> 12


def _table_rows() -> list[tuple[int, str, str]]:
    """(virtual address, pages, pfn) of each row of the page's layout table."""
    rows = []
    for line in SECTION.splitlines():
        m = re.match(r"\| `(0x[0-9a-f]{8})` \| ?(\d*) ?\|.*\| ([-0-9]+) \|$", line)
        if m:
            rows.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return rows


def test_the_table_for_hello_is_what_the_builder_makes(hello):
    hv, dom, image, layout = hello
    base = min(vaddr for vaddr, _, _, _ in image.segments)
    image_pages = (layout.start_info - base) // PAGE_SIZE
    nr_pages = RUN_MIB * 256
    nr_pt = len(table_frames(hv.mm, dom.vcpus[0].cpu.cr[CR.PTBR] >> 12))
    stack = layout.stack_top - 4 * PAGE_SIZE
    pfn = image_pages + 3 + layout.p2m_pages
    tables = nr_pages - PAGE_TABLE_RESERVE

    def span(first: int, count: int) -> str:
        return str(first) if count == 1 else f"{first}-{first + count - 1}"

    assert _table_rows() == [
        (0, "1", "-"),
        (PAGE_SIZE, str(base // PAGE_SIZE - 1), "-"),
        (base, str(image_pages), span(0, image_pages)),
        (layout.start_info, "1", str(image_pages)),
        (layout.console, "1", str(image_pages + 1)),
        (layout.xenstore, "1", str(image_pages + 2)),
        (layout.p2m, str(layout.p2m_pages), span(image_pages + 3, layout.p2m_pages)),
        (stack, "4", span(pfn, 4)),
        (layout.page_tables, str(nr_pt), span(tables, nr_pt)),
        (layout.page_tables + nr_pt * PAGE_SIZE, "", "-"),
    ], "the layout changed: update the table in docs/hypervisor.md"


def test_pfns_back_the_initial_region_in_order_and_the_tables_sit_at_the_reserve(hello):
    hv, dom, image, layout = hello
    base = min(vaddr for vaddr, _, _, _ in image.segments)
    p2m = dom.mem.p2m
    k = (layout.page_tables - base) // PAGE_SIZE
    for n in range(k):
        assert _mapped_frame(hv, dom, base + n * PAGE_SIZE) == p2m[n]
    frames = table_frames(hv.mm, dom.vcpus[0].cpu.cr[CR.PTBR] >> 12)
    start = len(p2m) - PAGE_TABLE_RESERVE
    assert frames == p2m[start:start + len(frames)]
    for n, mfn in enumerate(frames):     # mapped read-only, in order, from pt_base
        assert _mapped_frame(hv, dom, layout.page_tables + n * PAGE_SIZE) == mfn


def test_every_other_frame_is_free_and_the_first_free_page_has_an_l1(hello):
    hv, dom, image, layout = hello
    base = min(vaddr for vaddr, _, _, _ in image.segments)
    p2m = dom.mem.p2m
    k = (layout.page_tables - base) // PAGE_SIZE
    frames = set(table_frames(hv.mm, dom.vcpus[0].cpu.cr[CR.PTBR] >> 12))
    free = [mfn for mfn in p2m[k:] if mfn not in frames]
    assert len(free) == len(p2m) - k - len(frames)
    for mfn in free:
        page = hv.mm.frames[mfn]
        assert (page.owner, page.count, page.type) == (dom.domid, 1, PageType.NONE)
        assert hv.memory.data[mfn * PAGE_SIZE:(mfn + 1) * PAGE_SIZE] == bytes(PAGE_SIZE)
    first_free = layout.page_tables + len(frames) * PAGE_SIZE
    assert _mapped_frame(hv, dom, first_free) is None
    assert _mapped_frame(hv, dom, 0) is None
    l2 = dom.vcpus[0].cpu.cr[CR.PTBR]
    assert hv.memory.read32(l2 + 4 * (first_free >> 22)) & PTE_P
