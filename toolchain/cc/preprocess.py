"""The C preprocessor: pcpp (a C99 preprocessor from PyPI) with our include path and
our error reporting.  The output keeps `#line` markers with absolute paths, so the
parser's coordinates, and our error messages, name the original file and line."""

from __future__ import annotations

import io
import os

from pcpp import Action, OutputDirective, Preprocessor

from paravisor.errors import SourceError

from .sources import Sources


def system_include_dirs() -> list[str]:
    """The freestanding libc headers, the split-driver library's headers, the network
    stack's headers, then the generated ABI header's folder."""
    import paravisor.guest_os as pkg
    root = os.path.dirname(os.path.abspath(pkg.__file__))
    return [os.path.join(root, "libc", "include"), os.path.join(root, "drivers", "include"),
            os.path.join(root, "net", "include"), os.path.join(root, "include")]


class _Preprocessor(Preprocessor):
    """pcpp with errors collected (as SourceErrors) instead of printed."""

    def __init__(self, sources: Sources) -> None:
        super().__init__()
        self.sources = sources
        self.errors: list[SourceError] = []
        self.line_directive = "#line"

    def on_error(self, file: str, line: int, msg: str) -> None:
        self.errors.append(self.sources.error(file or "<input>", line, 1, msg))
        self.return_code += 1

    def on_file_open(self, is_system_include: bool, includepath: str):
        handle = super().on_file_open(is_system_include, includepath)
        self.sources.remember(os.path.abspath(includepath))
        return handle

    def on_include_not_found(self, is_malformed, is_system_include, curdir, includepath):
        where = self.lastdirective
        msg = (f"malformed #include {includepath}" if is_malformed
               else f"cannot find include file {includepath}")
        self.errors.append(self.sources.error(where.source, where.lineno, 1, msg))
        raise OutputDirective(Action.IgnoreAndRemove)

    def on_directive_unknown(self, directive, toks, ifpassthru, precedingtoks):
        if directive.value == "error":
            text = "".join(t.value for t in toks).strip()
            self.errors.append(self.sources.error(directive.source, directive.lineno, 1,
                                                  f"#error {text}"))
            return True
        if directive.value == "warning":
            return True
        if directive.value == "pragma":
            return True                 # no pragma changes our code generation
        return super().on_directive_unknown(directive, toks, ifpassthru, precedingtoks)


def preprocess(text: str, path: str, sources: Sources, include_dirs: list[str] = (),
               defines: list[tuple[str, str]] = ()) -> str:
    """Preprocess `text` (the contents of `path`).  -I folders come before the system
    ones; `defines` are (NAME, VALUE) pairs as for -D.  Raises SourceError on the first
    preprocessor error (#error, a missing include, a malformed directive)."""
    pp = _Preprocessor(sources)
    for folder in [*include_dirs, *system_include_dirs()]:
        pp.add_path(os.path.abspath(folder))
    pp.rewrite_paths = []           # keep absolute paths in #line markers
    pp.define("__PV32__ 1")
    pp.define("__paravisor_cc__ 1")
    pp.define("__STDC__ 1")
    pp.define("__STDC_VERSION__ 199901L")
    pp.define("__STDC_HOSTED__ 0")
    pp.define("__ILP32__ 1")
    for name, value in defines:
        pp.define(f"{name} {value}")
    abspath = os.path.abspath(path)
    sources.remember(abspath, text)
    try:
        pp.parse(text, abspath)
        out = io.StringIO()
        pp.write(out)
    except SourceError:
        raise
    except Exception as err:           # pcpp raises bare exceptions on some bad input
        if pp.errors:
            raise pp.errors[0] from None
        raise sources.error(abspath, 1, 1, f"preprocessor failed: {err}") from None
    if pp.errors:
        raise pp.errors[0]
    return out.getvalue()
