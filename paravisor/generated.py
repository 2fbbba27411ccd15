"""Files generated from Python (the ABI headers, ring.h): one driver for every generator.

A generator supplies `expected_files(root) -> {path: text}` (raising UserError when
`root` is not a checkout) and a default root; `generator_main` gives it the command line
every generator has: write the stale files, or with --check only list them (exit 1), so
a test and CI can catch a header that was edited by hand or not regenerated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from paravisor.errors import UserError


def stale_files(files: dict[Path, str]) -> list[Path]:
    """The paths in `files` (from expected_files) whose contents differ."""
    return [path for path, text in files.items()
            if not path.is_file() or path.read_text() != text]


def generator_main(command: str, description: str,
                   expected_files: Callable[[Path], dict[Path, str]], default_root: Path,
                   argv: list[str] | None, out: Callable[[str], None]) -> int:
    """Run one generator's command line: 0 done (or nothing stale), 1 stale (--check),
    2 error (said on stderr)."""
    parser = argparse.ArgumentParser(prog=command, description=description)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a generated file is stale instead of writing it")
    parser.add_argument("--root", type=Path, default=default_root,
                        help="the checkout to work in (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        files = expected_files(args.root)
        stale = stale_files(files)
        if args.check:
            for path in stale:
                out(f"stale: {path} (run `{command}`)")
            return 1 if stale else 0
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
            out(f"wrote {path}")
        return 0
    except (UserError, OSError) as err:
        print(f"{command}: {err}", file=sys.stderr)
        return 2
