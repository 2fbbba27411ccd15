"""The runtime's printf family against the host C library's snprintf (through
ctypes), on the documented conversions, flags, widths and precisions."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paravisor.testing.cc import run_c

LIBC_PATH = ctypes.util.find_library("c")
libc = ctypes.CDLL(LIBC_PATH) if LIBC_PATH else None

INT_CONVERSIONS = "diuxXo"


@st.composite
def specs(draw) -> tuple[str, str, int | str]:
    """(format spec, C argument text, Python value)."""
    conversion = draw(st.sampled_from(list(INT_CONVERSIONS) + ["c", "s"]))
    flags = "".join(draw(st.lists(st.sampled_from("-+ 0#"), max_size=3, unique=True)))
    if conversion in "cs":
        flags = flags.replace("0", "").replace("#", "").replace("+", "").replace(" ", "")
    width = draw(st.one_of(st.just(""), st.integers(0, 12).map(str)))
    precision = "" if conversion == "c" else draw(
        st.one_of(st.just(""), st.integers(0, 10).map(lambda p: f".{p}")))
    length = draw(st.sampled_from(["", "l"])) if conversion in INT_CONVERSIONS else ""
    spec = f"%{flags}{width}{precision}{length}{conversion}"
    if conversion == "s":
        text = draw(st.text(alphabet="abcXYZ 019", max_size=8))
        return spec, f'"{text}"', text
    if conversion == "c":
        ch = draw(st.sampled_from("azAZ09!~"))
        return spec, f"'{ch}'", ch
    value = draw(st.integers(-2**31, 2**31 - 1) if conversion in "di"
                 else st.integers(0, 2**32 - 1))
    return spec, (f"{value}u" if value >= 0 else f"(-{-value - 1} - 1)"), value


def host_format(spec: str, value: int | str) -> str:
    buf = ctypes.create_string_buffer(256)
    conversion = spec[-1]
    if conversion == "s":
        arg = ctypes.c_char_p(value.encode())
    elif conversion == "c":
        arg = ctypes.c_int(ord(value))
    elif "l" in spec:
        arg = ctypes.c_long(value) if conversion in "di" else ctypes.c_ulong(value)
    else:
        arg = ctypes.c_int(value) if conversion in "di" else ctypes.c_uint(value)
    libc.snprintf(buf, 256, spec.encode(), arg)
    return buf.value.decode()


@pytest.mark.skipif(libc is None, reason="no host C library")
@settings(max_examples=15)
@given(st.lists(specs(), min_size=1, max_size=12))
def test_printf_matches_host(cases) -> None:
    lines = [f'    printf("[{spec}]\\n", {arg});' for spec, arg, _ in cases]
    source = "#include <stdio.h>\nint main(void)\n{\n" + "\n".join(lines) + "\n}\n"
    expected = "".join(f"[{host_format(spec, value)}]\n" for spec, _, value in cases)
    assert run_c(source) == (0, expected)


def test_snprintf_truncates_and_counts() -> None:
    source = r"""
#include <stdio.h>
int main(void)
{
    char buf[6];
    int n = snprintf(buf, sizeof buf, "%d-%s", 12345, "abc");
    printf("%s|%d|%d\n", buf, n, snprintf(0, 0, "%x", 255));
    return n;
}
"""
    assert run_c(source) == (9, "12345|9|2\n")
