"""Archive semantics for library objects (`link(..., libraries=...)`): a library object
is linked only when it defines a symbol something already linked still needs, repeated
until nothing changes; and `paravisor cc` programs get the driver library that way."""

import pytest

from paravisor.toolchain.asm import assemble
from paravisor.toolchain.cc import build_program
from paravisor.toolchain.elf import read_elf
from paravisor.toolchain.ld import LinkError, link
from paravisor.toolchain.objdump import symbol_addresses


def obj(name: str, source: str) -> tuple[str, bytes]:
    return name, assemble(source, name.replace(".o", ".s"))


def symbols(image: bytes) -> set[str]:
    return set(symbol_addresses(read_elf(image, "image")))


MAIN = obj("main.o", ".global _start\n_start: call first\nhalt\n")
FIRST = obj("first.o", ".global first\nfirst: call second\nret\n")       # needs second
SECOND = obj("second.o", ".global second\nsecond: ret\n")
UNUSED = obj("unused.o", ".global unused\nunused: ret\n.data\n.space 4096\n")
CLASH = obj("clash.o", ".global first, extra\nfirst: ret\nextra: ret\n")


def test_only_needed_library_objects_are_linked_transitively():
    # second.o comes before first.o, which needs it: the scan repeats until stable
    image = link([MAIN], libraries=[SECOND, UNUSED, FIRST])
    names = symbols(image)
    assert {"_start", "first", "second"} <= names
    assert "unused" not in names


def test_an_unused_library_adds_nothing_to_the_image():
    alone = link([obj("m.o", ".global _start\n_start: halt\n")])
    with_lib = link([obj("m.o", ".global _start\n_start: halt\n")],
                    libraries=[UNUSED, SECOND])
    assert with_lib == alone


def test_objects_win_over_libraries_and_the_first_definer_is_taken():
    own = obj("own.o", ".global first\nfirst: ret\n")
    names = symbols(link([MAIN, own], libraries=[FIRST, SECOND]))
    assert "second" not in names           # first.o was not needed: own.o defines first
    # of two library objects defining `first`, the first in order is pulled in
    assert "extra" in symbols(link([MAIN], libraries=[CLASH, FIRST, SECOND]))


def test_a_symbol_no_library_defines_is_still_undefined():
    needy = obj("needy.o", ".global first\nfirst: call nowhere\nret\n")
    with pytest.raises(LinkError, match="'nowhere', referenced from needy.o"):
        link([MAIN], libraries=[needy])


def test_the_entry_point_may_come_from_a_library():
    start = obj("start.o", ".global _start\n_start: halt\n")
    assert "_start" in symbols(link([UNUSED], libraries=[start]))


def test_c_programs_get_the_drivers_only_when_they_use_them(tmp_path):
    plain = tmp_path / "plain.c"
    plain.write_text("int main(void) { return 0; }\n")
    user = tmp_path / "user.c"
    user.write_text("#include <events.h>\nint main(void) { return clock_now().lo != 0; }\n")
    plain_names = symbols(build_program([str(plain)]))
    user_names = symbols(build_program([str(user)]))
    assert "clock_now" not in plain_names and "__drivers_shared_info_page" not in plain_names
    assert {"clock_now", "events_init", "__drivers_shared_info_page"} <= user_names
    assert "blkfront_init" not in user_names and "xenbus_read" not in user_names
