"""What docs/toolchain.md and docs/cc.md say about the guest runtimes and about where
`.include` and `#include` look, checked by running `paravisor run`, `as` and `cc`.

- toolchain.md, "Writing a guest kernel": its kernel runs; a fault prints the default
  trap table's message in the form shown.
- cc.md, "The runtime": crt0 installs no trap table (the hypervisor crashes the domain,
  an unfinished line is lost); `extern char _start[]` is the image base.
- toolchain.md, "Where `.include` looks" and cc.md, "Where `#include` looks".
"""

import re
from pathlib import Path

import pytest

from paravisor.cli import main

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN_DOC = (ROOT / "docs" / "toolchain.md").read_text(encoding="utf-8")
RUNTIME_SECTION = TOOLCHAIN_DOC.split("## Writing a guest kernel")[1].split("\n## ")[0]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_guest(capsys, path, *options: str) -> tuple[int, str, str]:
    return run_cli(capsys, "run", path, "--max-seconds", "1", *options)


def first_block(text: str, language: str) -> str:
    return re.search(rf"```{language}\n(.*?)\n```", text, re.S).group(1)


# --- the assembly runtime ----------------------------------------------------------------

@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_the_kernel_in_the_runtime_section_runs(tmp_path, capsys, engine):
    kernel = tmp_path / "kernel.s"
    kernel.write_text(first_block(RUNTIME_SECTION, "asm") + "\n")
    assert run_guest(capsys, kernel, "--engine", engine)[:2] == (0, "hello\n")


def test_a_fault_prints_the_default_trap_message_shown(tmp_path, capsys):
    kernel = tmp_path / "null.s"
    kernel.write_text('        .include "runtime.s"\n        .text\n        .global kmain\n'
                      "kmain:  lw    a0, 0(zero)\n        ret\n")
    status, out, _ = run_guest(capsys, kernel)
    shown = first_block(RUNTIME_SECTION.split("**Traps.**")[1], "").splitlines()
    assert status == 1
    pattern = re.escape(shown[0]).replace("pc\\ 0x00010024", r"pc\ 0x[0-9a-f]{8}")
    assert re.fullmatch(pattern, out.splitlines()[0])
    assert out.splitlines()[1:] == shown[1:]


def test_kmain_gets_start_info_and_virt_to_mfn_counts_from_the_image_base(tmp_path, capsys):
    kernel = tmp_path / "k.s"
    kernel.write_text(
        '        .include "runtime.s"\n        .text\n        .global kmain\n'
        "kmain:  addi  sp, sp, -8\n        sw    ra, 4(sp)\n"
        "        la    t1, start_info_ptr\n        lw    t1, 0(t1)\n"
        "        bne   a0, t1, 1f\n"                        # a0 is start_info
        "        la    a0, _text\n        call  virt_to_mfn\n"
        "        la    t1, start_info_ptr\n        lw    t1, 0(t1)\n"
        "        lw    t1, START_INFO_MFN_LIST(t1)\n        lw    t1, 0(t1)\n"
        "        sub   a0, a0, t1\n"                        # mfn_list[0] backs _text
        "        j     2f\n1:      li    a0, 9\n"
        "2:      lw    ra, 4(sp)\n        addi  sp, sp, 8\n        ret\n")
    assert run_guest(capsys, kernel)[0] == 0


# --- crt0 ----------------------------------------------------------------------------------

def test_crt0_installs_no_trap_table_and_an_unfinished_line_is_lost(tmp_path, capsys):
    prog = tmp_path / "null.c"
    prog.write_text('#include <stdio.h>\nint main(void)\n{\n    printf("flushed\\n");\n'
                    '    printf("pending");\n    return *(volatile int *)0;\n}\n')
    status, out, err = run_guest(capsys, prog)
    assert (status, out) == (1, "flushed\n")
    assert "(XEN)" in err and "(no handler registered)" in err


def test_crt0s_entry_is_the_image_base(tmp_path, capsys):
    prog = tmp_path / "base.c"
    prog.write_text("#include <pv32.h>\nextern char _start[];\n"
                    "int main(void) { return (unsigned)_start == 0x10000 ? 0 : 1; }\n")
    assert run_guest(capsys, prog)[0] == 0


# --- .include ------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path, monkeypatch):
    """src/ holds the sources, cwd/ is the current directory, inc/ an extra folder."""
    for name in ("src", "cwd", "inc"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def assemble(capsys, source: Path, text: str) -> tuple[int, str]:
    source.write_text(text)
    status, _, err = run_cli(capsys, "as", source, "-o", source.with_suffix(".o"))
    return status, err


def test_include_looks_next_to_the_including_file_then_in_the_runtime(tree, capsys):
    (tree / "src" / "defs.inc").write_text(".equ MINE, 1\n")
    status, err = assemble(capsys, tree / "src" / "k.s",
                           '.include "defs.inc"\n.include "paravisor.inc"\n'
                           '.include "xtf.s"\n.include "lib/console.s"\n'
                           '.include "drivers/pages.s"\n'
                           '.data\n.space MINE + PAGE_SHIFT\n')   # .space needs them defined
    assert status == 0, err


def test_a_local_file_shadows_the_runtimes(tree, capsys):
    (tree / "src" / "paravisor.inc").write_text(".equ ONLY_HERE, 1\n")
    status, err = assemble(capsys, tree / "src" / "k.s",
                           '.include "paravisor.inc"\n.data\n.space ONLY_HERE\n')
    assert status == 0, err
    status, err = assemble(capsys, tree / "src" / "k.s",
                           '.include "paravisor.inc"\n.data\n.space PAGE_SHIFT\n')
    assert status == 2 and "PAGE_SHIFT" in err     # the runtime's paravisor.inc is not read


def test_include_never_looks_in_the_current_directory(tree, capsys):
    (tree / "cwd" / "here.inc").write_text(".equ HERE, 1\n")
    status, err = assemble(capsys, tree / "src" / "k.s", '.include "here.inc"\n')
    assert status == 2
    assert "cannot include here.inc: No such file or directory" in err


def test_as_has_no_dash_i_and_ccs_does_not_reach_s_files(tree, capsys):
    (tree / "inc" / "defs.inc").write_text(".equ X, 1\n")
    source = tree / "src" / "k.s"
    source.write_text('.include "defs.inc"\n')
    with pytest.raises(SystemExit):
        run_cli(capsys, "as", "-I", tree / "inc", source)
    status, _, err = run_cli(capsys, "cc", "-c", "-I", tree / "inc", source,
                             "-o", tree / "k.o")
    assert status == 2 and "cannot include defs.inc" in err


# --- #include ------------------------------------------------------------------------------

def compile_c(capsys, text: str, *flags) -> tuple[int, str]:
    """Compile src/p.c (from cwd/) and run it: (exit status or 100 + cc's, stderr)."""
    source = Path("../src/p.c")
    source.write_text(text)
    status, _, err = run_cli(capsys, "cc", *flags, source, "-o", "p.elf")
    if status:
        return 100 + status, err
    return run_guest(capsys, "p.elf")[0], err


def test_quoted_includes_look_next_to_the_source_first(tree, capsys):
    (tree / "src" / "v.h").write_text("#define V 1\n")
    (tree / "inc" / "v.h").write_text("#define V 2\n")
    assert compile_c(capsys, '#include "v.h"\nint main(void) { return V; }\n',
                     "-I", "../inc")[0] == 1


def test_angle_includes_skip_the_sources_folder(tree, capsys):
    (tree / "src" / "v.h").write_text("#define V 1\n")
    status, err = compile_c(capsys, "#include <v.h>\nint main(void) { return V; }\n")
    assert status == 102 and "cannot find include file v.h" in err
    (tree / "inc" / "v.h").write_text("#define V 2\n")
    assert compile_c(capsys, "#include <v.h>\nint main(void) { return V; }\n",
                     "-I", "../inc")[0] == 2


def test_dash_i_is_relative_to_cwd_in_order_and_before_the_system_folders(tree, capsys):
    (tree / "src" / "a").mkdir()
    (tree / "src" / "a" / "v.h").write_text("#define V 3\n")
    (tree / "inc" / "v.h").write_text("#define V 4\n")
    program = "#include <v.h>\nint main(void) { return V; }\n"
    assert compile_c(capsys, program, "-I", "../src/a", "-I", "../inc")[0] == 3
    assert compile_c(capsys, program, "-I", "../inc", "-I", "../src/a")[0] == 4
    (tree / "inc" / "stdio.h").write_text("#define MINE 5\n")
    assert compile_c(capsys, "#include <stdio.h>\nint main(void) { return MINE; }\n",
                     "-I", "../inc")[0] == 5


def test_the_current_directory_only_with_dash_i_dot(tree, capsys):
    (tree / "cwd" / "v.h").write_text("#define V 6\n")
    program = '#include "v.h"\nint main(void) { return V; }\n'
    assert compile_c(capsys, program)[0] == 102
    assert compile_c(capsys, program, "-I", ".")[0] == 6


def test_a_headers_quoted_include_looks_next_to_the_header(tree, capsys):
    (tree / "inc" / "outer.h").write_text('#include "inner.h"\n')
    (tree / "inc" / "inner.h").write_text("#define V 7\n")
    assert compile_c(capsys, "#include <outer.h>\nint main(void) { return V; }\n",
                     "-I", "../inc")[0] == 7


def test_the_system_folders_hold_libc_drivers_net_and_the_abi(tree, capsys):
    program = ("#include <stdio.h>\n#include <pv32.h>\n#include <events.h>\n"
               "#include <netstack.h>\n#include <byteorder.h>\n#include <paravisor.h>\n"
               '#include "hypercalls.h"\nint main(void) { return PAGE_SHIFT; }\n')
    assert compile_c(capsys, program)[0] == 12
