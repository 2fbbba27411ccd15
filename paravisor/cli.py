"""The `paravisor` command: one entry point, one sub-command per tool.

Each command module exposes `register(subparsers)`, which adds its sub-parser and sets
`func` to a function taking the parsed arguments and returning an exit status.  A
sub-parser with an `overrides` positional (launch's KEY=VALUE settings) also gets the
ones written after an option.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from paravisor.errors import UserError

COMMAND_MODULES = (
    "paravisor.isa.cli",
    "paravisor.toolchain.cli",
    "paravisor.toolchain.cc.cli",
    "paravisor.toolstack.cli",
    "paravisor.trace_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paravisor",
        description="A Xen-style paravirtualizing hypervisor for the PV32 ISA, "
                    "with its toolchain.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(arg.startswith("-") for arg in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"paravisor {args.command}: {err}", file=sys.stderr)
        return err.status
    except KeyboardInterrupt:
        print(f"paravisor {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
