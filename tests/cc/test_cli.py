"""`paravisor cc` end to end: -S, -c, linking, -D and -I, -O0, and `paravisor run
prog.c` with main's result as the exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from paravisor.testing.toolchain import run_cli
from paravisor.toolchain.elf import ET_EXEC, ET_REL, read_elf

PROGRAM = """#include <stdio.h>
#include "config.h"
int main(void)
{
    printf("%s %d\\n", GREETING, TIMES);
    return TIMES;
}
"""


def _write_program(tmp_path: Path) -> Path:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "config.h").write_text('#define GREETING "hi"\n')
    src = tmp_path / "prog.c"
    src.write_text(PROGRAM)
    return src


def test_compile_link_and_run(tmp_path: Path) -> None:
    src = _write_program(tmp_path)
    elf = tmp_path / "prog.elf"
    status, out, err = run_cli(["cc", str(src), "-I", str(tmp_path / "inc"), "-D", "TIMES=7",
                                "-o", str(elf)])
    assert (status, out, err) == (0, "", "")
    assert read_elf(elf.read_bytes(), str(elf)).type == ET_EXEC
    from paravisor.testing.cc import run_image
    assert run_image(str(elf)) == (7, "hi 7\n")


def test_assembly_and_object_outputs(tmp_path: Path) -> None:
    src = _write_program(tmp_path)
    flags = ["-I", str(tmp_path / "inc"), "-D", "TIMES"]
    assert run_cli(["cc", "-S", str(src), *flags])[0] == 0
    text = (tmp_path / "prog.s").read_text()
    assert "main:" in text and "call  printf" in text
    assert run_cli(["cc", "-c", "-O0", str(src), *flags])[0] == 0
    obj = read_elf((tmp_path / "prog.o").read_bytes(), "prog.o")
    assert obj.type == ET_REL


def test_run_builds_c_sources(tmp_path: Path, capsys) -> None:
    src = tmp_path / "seven.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("seven"); return 7; }\n')
    from paravisor.cli import main
    assert main(["run", str(src)]) == 7
    assert capsys.readouterr().out == "seven\n"


def test_bad_flags_are_user_errors(tmp_path: Path) -> None:
    src = _write_program(tmp_path)
    status, _, err = run_cli(["cc", str(src), "-D", "1BAD"])
    assert status == 2 and "not a macro name" in err
    status, _, err = run_cli(["cc", str(tmp_path / "prog.txt")])
    assert status == 2 and "expected a .c or .s file" in err
    status, _, err = run_cli(["cc", str(tmp_path / "missing.c")])
    assert status == 2 and "cannot read" in err


# Frames beyond the 16-bit load/store offsets.  A guest starts on a 16 KiB boot stack, so
# the program runs the big frames on a stack of its own (on_stack, in assembly).
ON_STACK = """
        .text
        .global on_stack
# int on_stack(char *top, int (*fn)(int), int arg): fn(arg) run with sp = top
on_stack:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, sp
        srli  a0, a0, 3
        slli  sp, a0, 3               # 8-aligned
        mv    t1, a1
        mv    a0, a2
        jalr  ra, 0(t1)
        mv    sp, s0
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret
"""
BIG_FRAMES = """#include <stdarg.h>
#include <stdio.h>

int on_stack(char *top, int (*fn)(int), int arg);
static int stack[64 * 1024];

/* 8 arguments: the last two come on the stack, above a 40 000-byte frame */
static int eight(int a, int b, int c, int d, int e, int f, int g, int h)
{
    volatile char pad[40000];
    pad[0] = (char)g;
    pad[39999] = (char)h;
    return a + b + c + d + e + f + pad[0] + pad[39999];
}

/* variadic: its register-save area is at the top of a 50 000-byte frame */
static int sum(int n, ...)
{
    char pad[50000];
    int total = 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        total += va_arg(ap, int);
    va_end(ap);
    pad[49999] = (char)total;
    return pad[49999];
}

static int deep(int seed)
{
    int far[20000];               /* 80 000 bytes, with locals above and below it */
    int *p = &far[19999];
    int kept = seed * 3;          /* lives across calls */
    for (int i = 0; i < 20000; i++)
        far[i] = i ^ seed;
    int r = eight(1, 2, 3, 4, 5, 6, 7, 8) + sum(4, 10, 20, 30, 40);
    printf("%d %d %d %d %d\\n", far[0], far[19999], *p, r, kept);
    return far[19999] - (19999 ^ seed) + r + kept;
}

int main(void)
{
    return on_stack((char *)(stack + 64 * 1024), deep, 5);
}
"""


@pytest.mark.parametrize("opt", ["-O0", "-O1"])
def test_frames_beyond_the_load_store_offsets_compile_and_run(tmp_path: Path, opt: str,
                                                              capsys) -> None:
    (tmp_path / "frames.c").write_text(BIG_FRAMES)
    (tmp_path / "on_stack.s").write_text(ON_STACK)
    elf = tmp_path / "frames.elf"
    from paravisor.cli import main
    assert main(["cc", opt, str(tmp_path / "frames.c"), str(tmp_path / "on_stack.s"),
                 "-o", str(elf)]) == 0
    assert main(["run", str(elf), "--engine", "interp"]) == 136 + 15
    assert capsys.readouterr() == ("5 19994 19994 136 15\n", "")
