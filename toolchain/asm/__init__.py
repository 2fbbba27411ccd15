"""The PV32 assembler: `assemble(text, path)` turns assembly source into an ELF32
relocatable object (docs/toolchain.md describes the language).

Split by concern: lexer (tokens), expr (expressions and values), parser (statements,
.include), instructions (operand templates, pseudo-instructions, immediates),
directives, assembler (the two passes), objfile (the ELF object).
"""

from __future__ import annotations

from paravisor.errors import UserError
from paravisor.toolchain.asm.assembler import Assembler, AssemblyFailed
from paravisor.toolchain.asm.objfile import build_object
from paravisor.toolchain.elf import write_elf

__all__ = ["AssemblyFailed", "assemble", "assemble_file"]


def assemble(text: str, path: str) -> bytes:
    """Assemble `text` (the contents of `path`, which names it in messages and anchors
    relative `.include`s) into ELF object bytes.  Raises AssemblyFailed (a SourceError
    listing every error found) on bad input."""
    asm = Assembler(text, path)
    asm.run()
    return write_elf(build_object(asm))


def assemble_file(path: str) -> bytes:
    """Read and assemble the file at `path`; an unreadable file is a UserError."""
    return assemble(read_source(path), path)


def read_source(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path} is not UTF-8 text: {err.reason} at byte {err.start}") from None
