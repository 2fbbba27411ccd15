"""The `paravisor` command: one entry point, one sub-command per tool.

Each command module exposes `register(subparsers)`, which adds its sub-parser and sets
`func` to a function taking the parsed arguments and returning an exit status.  A
sub-parser with an `overrides` positional (launch's KEY=VALUE settings) also gets the
ones written after an option.

Exit statuses (docs/hypervisor.md, "Exit statuses"): 0 success, 1 a guest failed, 2 bad
input (a UserError, or a command line argparse refuses; `paravisor` alone prints the
help and exits 2, as a missing command is a usage error), 124 a time limit, 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys

from paravisor.errors import STATUS_BAD_INPUT, STATUS_INTERRUPTED, UserError

COMMAND_MODULES = (
    "paravisor.isa.cli",
    "paravisor.toolchain.cli",
    "paravisor.toolchain.cc.cli",
    "paravisor.toolstack.cli",
    "paravisor.trace.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paravisor",
        description="A Xen-style paravirtualizing hypervisor for the PV32 ISA, "
                    "with its toolchain.",
        epilog="Exit status: 0 success, 1 a guest failed, 2 bad input, 124 time limit "
               "(--max-seconds), 130 interrupted.  `paravisor COMMAND -h` describes a "
               "command.")
    parser.add_argument("--version", action="version", version=f"paravisor {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def version() -> str:
    """The installed package's version (its metadata), as `--version` prints it."""
    try:
        return importlib.metadata.version("paravisor")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return STATUS_BAD_INPUT
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
        return STATUS_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
