"""Helpers for toolchain tests (and for other tests that need a PV32 object or image):
assemble a snippet and look at one section, run the `paravisor` CLI and capture it."""

from __future__ import annotations

import contextlib
import io

from paravisor.toolchain.asm import assemble
from paravisor.toolchain.elf import ElfFile, read_elf


def assemble_elf(source: str, path: str = "test.s") -> ElfFile:
    """Assemble `source` and parse the object back."""
    return read_elf(assemble(source, path), path)


def section_bytes(source: str, name: str = ".text") -> bytes:
    """The contents of section `name` after assembling `source` (b"" if absent)."""
    sec = assemble_elf(source).section(name)
    return sec.data if sec is not None else b""


def text_words(source: str) -> list[int]:
    """The instruction words of `source`'s .text section."""
    data = section_bytes(source)
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run `paravisor ARGV...` in-process: (exit status, stdout, stderr).  argparse's
    own exits (bad flags) are caught and returned like any other status."""
    from paravisor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, out.getvalue(), err.getvalue()
