"""`paravisor cc` end to end: -S, -c, linking, -D and -I, -O0, and `paravisor run
prog.c` with main's result as the exit status."""

from __future__ import annotations

from pathlib import Path

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
