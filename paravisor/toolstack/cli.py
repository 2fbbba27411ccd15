"""`paravisor launch` and `paravisor run`."""

from __future__ import annotations

import argparse

from paravisor.sched import SCHEDULERS
from paravisor.toolstack.launch import launch, run_kernel


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "launch", help="boot the hypervisor, dom0 and the guests a dom0.cfg lists",
        description="Boot a paravisor host from an xl-style host config and show every "
                    "domain's console until all guests have ended.  Given a guest's own "
                    "config (no `guests`), run that guest on a default host, as `xl "
                    "create` would.  Exit status: 0 every guest powered off with code 0, "
                    "1 a guest failed, 2 bad input, 124 --max-seconds reached, 130 "
                    "interrupted.",
        epilog="KEY=VALUE settings after the config are read as if they were its last "
               "lines (xl create's rule): KEY=VALUE replaces, KEY+=VALUE appends to a "
               "string or list.  NAME:KEY=VALUE applies to the config of domain NAME "
               "(a guest of the host).  VALUE is xl syntax; a bare word is a string "
               "(sched=rr).  Relative paths in them are taken from the current "
               "directory.")
    p.add_argument("config", help="the host config (dom0.cfg), or one guest's config")
    p.add_argument("overrides", nargs="*", metavar="[NAME:]KEY=VALUE",
                   help="settings laid over the config's (see below)")
    p.add_argument("--engine", choices=("interp", "jit"),
                   help="execution engine (default: the config's `engine`)")
    p.add_argument("--log-dir", help="also write each domain's console to DIR/NAME.log")
    p.add_argument("--max-seconds", type=float,
                   help="stop after this much virtual time, a guard for runaway guests "
                        "(exit status 124)")
    p.add_argument("--colour", "--color", dest="colour", choices=("auto", "always", "never"),
                   default="auto", help="colour domain names (default: when a terminal)")
    p.add_argument("--sched", choices=SCHEDULERS,
                   help="scheduler (default: the config's `sched`, else credit)")
    p.add_argument("--trace", metavar="FILE.json",
                   help="write the run's timeline as Chrome trace-event JSON "
                        "(see `paravisor trace summary`)")
    p.add_argument("--realtime", action="store_true",
                   help="one host thread per pCPU, guest code in parallel (JIT); runs are "
                        "NOT deterministic (the default mode is)")
    p.set_defaults(func=_launch)

    r = subparsers.add_parser(
        "run", help="run one guest kernel with its console on stdout",
        description="Run one PV guest kernel (an ELF image, or an assembly or C source "
                    "built on the fly); the exit status is the guest's shutdown code, 1 "
                    "if it crashed, 2 for bad input, 124 when --max-seconds ends it, "
                    "130 when interrupted.")
    r.add_argument("kernel", help="guest image or .s source")
    r.add_argument("--memory", type=int, default=16, help="guest memory in MiB (default 16)")
    r.add_argument("--engine", choices=("interp", "jit"), default="jit",
                   help="execution engine (default: jit; interp is the reference)")
    r.add_argument("--max-seconds", type=float,
                   help="stop after this much virtual time (exit status 124)")
    r.add_argument("--cmdline", default="", help="the guest's command line (start_info)")
    r.add_argument("--sched", choices=SCHEDULERS, default="credit",
                   help="scheduler (default: credit)")
    r.add_argument("--realtime", action="store_true",
                   help="one host thread per pCPU, guest code in parallel (JIT); runs are "
                        "NOT deterministic (the default mode is)")
    r.set_defaults(func=_run)


def _launch(args: argparse.Namespace) -> int:
    colour = {"auto": None, "always": True, "never": False}[args.colour]
    return launch(args.config, overrides=args.overrides, engine=args.engine,
                  log_dir=args.log_dir,
                  max_seconds=args.max_seconds, colour=colour, sched=args.sched,
                  trace=args.trace, realtime=args.realtime)


def _run(args: argparse.Namespace) -> int:
    if args.memory < 1:
        from paravisor.errors import UserError
        raise UserError("--memory must be at least 1 MiB")
    return run_kernel(args.kernel, memory_mib=args.memory, engine=args.engine,
                      max_seconds=args.max_seconds, cmdline=args.cmdline,
                      sched=args.sched, realtime=args.realtime)
