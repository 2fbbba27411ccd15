"""`paravisor isa`: print the instruction table, for a quick reference at the terminal."""

from __future__ import annotations

import argparse

from paravisor.isa.table import INSTRUCTIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("isa", help="list the PV32 instructions")
    p.add_argument("mnemonic", nargs="?", help="show one instruction only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = [i for i in INSTRUCTIONS if args.mnemonic in (None, i.mnemonic)]
    if not rows:
        print(f"no instruction named {args.mnemonic!r}")
        return 1
    for i in rows:
        operands = f"{i.mnemonic} {i.syntax}".strip()
        print(f"{i.opcode:#04x}  {i.fmt}  {i.privilege.name.lower():10}  "
              f"{operands:24} {i.semantics}")
    return 0
