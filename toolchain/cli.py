"""`paravisor as`, `paravisor ld`, `paravisor objdump`: the toolchain's commands."""

from __future__ import annotations

import argparse
import os
import sys

from paravisor.errors import UserError
from paravisor.toolchain.asm import assemble_file
from paravisor.toolchain.ld import DEFAULT_BASE, DEFAULT_ENTRY, link
from paravisor.toolchain.objdump import objdump


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("as", help="assemble a PV32 source file into an ELF object")
    p.add_argument("source", help="assembly source (.s)")
    p.add_argument("-o", dest="output", help="object file to write (default: SOURCE.o)")
    p.set_defaults(func=run_as)

    p = subparsers.add_parser("ld", help="link PV32 objects into an ELF image")
    p.add_argument("objects", nargs="+", metavar="OBJECT", help="objects, in link order")
    p.add_argument("-o", dest="output", default="a.out", help="image to write (a.out)")
    p.add_argument("--base", type=_address, default=DEFAULT_BASE,
                   help=f"load address of the first segment ({DEFAULT_BASE:#x})")
    p.add_argument("--entry", default=DEFAULT_ENTRY, help=f"entry symbol ({DEFAULT_ENTRY})")
    p.set_defaults(func=run_ld)

    # -h means section headers here, as in binutils' objdump; help is --help only.
    p = subparsers.add_parser("objdump", help="show a PV32 object or image", add_help=False)
    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("file")
    p.add_argument("-d", dest="disassemble", action="store_true", help="disassemble code")
    p.add_argument("-h", dest="headers", action="store_true", help="section headers")
    p.add_argument("-t", dest="symbols", action="store_true", help="symbol table")
    p.add_argument("-r", dest="relocations", action="store_true", help="relocations")
    p.set_defaults(func=run_objdump)


def _address(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"not a 32-bit address: {text}")
    return value


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None


def _write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err}") from None


def run_as(args: argparse.Namespace) -> int:
    output = args.output or os.path.splitext(args.source)[0] + ".o"
    _write(output, assemble_file(args.source))
    return 0


def run_ld(args: argparse.Namespace) -> int:
    objects = [(path, _read(path)) for path in args.objects]
    _write(args.output, link(objects, args.base, args.entry))
    return 0


def run_objdump(args: argparse.Namespace) -> int:
    if not (args.disassemble or args.headers or args.symbols or args.relocations):
        raise UserError("say what to show: -d, -h, -t and/or -r")
    text = objdump(_read(args.file), args.file, disassemble_code=args.disassemble,
                   headers=args.headers, symbols=args.symbols,
                   relocations=args.relocations)
    sys.stdout.write(text)
    return 0
