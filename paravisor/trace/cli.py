"""`paravisor trace summary FILE.json`: what a timeline says, per domain."""

from __future__ import annotations

import argparse

from paravisor.trace.summary import format_summary, load_trace, summarise


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "trace", help="read a timeline written by `paravisor launch --trace`",
        description="Tools for the Chrome trace-event files `paravisor launch --trace` "
                    "writes (open them in Perfetto to see them).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    s = actions.add_parser(
        "summary", help="per-domain CPU share, wait time and wake-to-run latency",
        description="Print each domain's CPU time and share, time spent runnable but "
                    "waiting, and wake-to-run latency (median and worst).")
    s.add_argument("file", help="the trace (FILE.json)")
    s.set_defaults(func=_summary)


def _summary(args: argparse.Namespace) -> int:
    print(format_summary(summarise(load_trace(args.file))))
    return 0
