"""The `paravisor` command: one entry point, one sub-command per tool.

Each command module exposes `register(subparsers)`, which adds its sub-parser and sets
`func` to a function taking the parsed arguments and returning an exit status.  A
sub-parser with an `overrides` positional (launch's KEY=VALUE settings) also gets the
ones written after an option.

Exit statuses (docs/hypervisor.md, "Exit statuses"): 0 success, 1 a guest failed, 2 bad
input (a UserError, or a command line argparse refuses; `paravisor` alone prints the
help and exits 2, as a missing command is a usage error), 124 a time limit, 130
interrupted (Ctrl-C).

Ctrl-C: the first one stops the command (a KeyboardInterrupt, which `launch` turns into
its orderly end: every domain destroyed, how each ended printed, status 130); later ones
are ignored until the process exits, so that end is never cut short.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import signal
import sys
import threading

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
    previous = _interrupt_once_installed()
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"paravisor {args.command}: {err}", file=sys.stderr)
        return err.status
    except KeyboardInterrupt:
        print(f"paravisor {args.command}: interrupted", file=sys.stderr)
        return STATUS_INTERRUPTED
    finally:
        if previous is not None and signal.getsignal(signal.SIGINT) is _interrupt_once:
            signal.signal(signal.SIGINT, previous)     # never interrupted: as it was


def _interrupt_once_installed() -> object:
    """Make the first Ctrl-C the only one (see the module doc), where Ctrl-C has Python's
    default meaning (a KeyboardInterrupt: not where a caller ignores it or handles it
    itself, and only in the main thread, where handlers run); the handler replaced, or
    None."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        return None
    return signal.signal(signal.SIGINT, _interrupt_once)


def _interrupt_once(signum: int, frame: object) -> None:
    """SIGINT: ignore every later one, and stop the command."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
