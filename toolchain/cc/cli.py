"""`paravisor cc`: compile C (and assemble .s) into PV32 objects or a guest image."""

from __future__ import annotations

import argparse
import os

from paravisor.errors import UserError
from paravisor.toolchain.asm import read_source
from paravisor.toolchain.ld import DEFAULT_BASE

from .driver import build_program, compile_c, compile_object


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cc", help="compile C programs into PV32 guest images",
        description="Compile C99 (integer types, no floating point) for PV32.  Without -c "
                    "or -S the sources are linked with crt0 and the freestanding libc "
                    "(guest_os/libc) into an image that `paravisor run` runs: main's "
                    "result is the exit status.  See docs/cc.md.")
    p.add_argument("sources", nargs="+", metavar="FILE", help=".c or .s sources")
    p.add_argument("-c", dest="compile_only", action="store_true",
                   help="compile and assemble to objects (FILE.o), do not link")
    p.add_argument("-S", dest="assembly", action="store_true",
                   help="compile to assembly (FILE.s), do not assemble")
    p.add_argument("-O", dest="opt", default="1", choices=("0", "1"), metavar="LEVEL",
                   help="optimization: -O0 (every value on the stack) or -O1 (registers, "
                        "the default)")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                   help="add DIR to the #include search path")
    p.add_argument("-D", dest="defines", action="append", default=[],
                   metavar="NAME[=VALUE]", help="define a macro")
    p.add_argument("-o", dest="output", help="output file (a.elf for an image)")
    p.set_defaults(func=run_cc)


def _defines(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, _, value = item.partition("=")
        if not name.isidentifier():
            raise UserError(f"-D {item}: not a macro name")
        out.append((name, value or "1"))
    return out


def _write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err}") from None


def run_cc(args: argparse.Namespace) -> int:
    opt = int(args.opt)
    defines = _defines(args.defines)
    for path in args.sources:
        if not path.endswith((".c", ".s", ".S")):
            raise UserError(f"{path}: expected a .c or .s file")
    if (args.compile_only or args.assembly) and args.output and len(args.sources) > 1:
        raise UserError("-o with -c or -S takes a single source file")
    if args.assembly:
        for path in args.sources:
            if not path.endswith(".c"):
                raise UserError(f"{path}: -S needs C sources")
            text = compile_c(read_source(path), path, opt=opt,
                             include_dirs=args.include_dirs, defines=defines)
            _write(args.output or os.path.splitext(path)[0] + ".s", text.encode())
        return 0
    if args.compile_only:
        for path in args.sources:
            obj = compile_object(path, opt=opt, include_dirs=args.include_dirs,
                                 defines=defines)
            _write(args.output or os.path.splitext(path)[0] + ".o", obj)
        return 0
    image = build_program(args.sources, opt=opt, include_dirs=args.include_dirs,
                          defines=defines, base=DEFAULT_BASE)
    _write(args.output or "a.elf", image)
    return 0
