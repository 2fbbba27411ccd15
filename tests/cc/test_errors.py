"""Bad programs get a clear error at file:line:col with the line and a caret (never a
traceback, never wrong code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paravisor.errors import UserError
from paravisor.testing.toolchain import run_cli
from paravisor.toolchain.cc import CompileError, compile_c

CASES = [
    ("int main(void) { float f = 1; return 0; }", 1, 18, "floating point"),
    ("int main(void) { double d; return 0; }", 1, 18, "floating point"),
    ("int f(int n) { int a[n]; return 0; }", 1, 22, "variable-length"),
    ("int main(void) { return y; }", 1, 25, "'y' undeclared"),
    ("int main(void) {\n  return 1 +;\n}", 2, 12, "syntax error"),
    ("struct s { int a : 33; };", 1, 20, "width of bit-field 'a'"),
    ("struct s { int a : 3; } v; int *p = &v.a;", 1, 38, "address of a bit-field"),
    ("int main(void) { long long x = 1; return x + 1; }", 1, 42, "64-bit"),
    ("int f(int a);\nint main(void) { return f(1, 2); }", 2, 25, "expects 1 argument"),
    ("int main(void) { int *p = 5; return 0; }", 1, 27, "pointer from an integer"),
    ("int main(void) { break; }", 1, 18, "not within a loop"),
    ("int main(void) { switch (1) { case 1: case 1: ; } return 0; }", 1, 39, "duplicate case"),
    ("int main(void) { goto nowhere; }", 1, 5, "label 'nowhere'"),
    ("int main(void) { int x; x(); return 0; }", 1, 25, "not a function"),
    ("struct s; int main(void) { struct s v; return 0; }", 1, 37, "incomplete type"),
    ("int main(void) { struct { int a; } s; return s.b; }", 1, 48, "no member named 'b'"),
    ("_Static_assert(sizeof(int) == 8, \"ints are 8\");", 1, 1, "ints are 8"),
    ("#error stop here\n", 1, 1, "#error stop here"),
    ("#include <nonexistent.h>\n", 1, 1, "nonexistent.h"),
    ("int x = 4294967296;", 1, 9, "needs 64 bits"),
    ("int main(void) { return 1.5; }", 1, 25, "floating point"),
    ("int a[2] = {1, 2, 3};", 1, 19, "excess elements"),
    ("int main(void) { int x; return x(1); }", 1, 32, "not a function"),
]


@pytest.mark.parametrize("source, line, col, message", CASES,
                         ids=[c[3] for c in CASES])
def test_error_position_and_message(source: str, line: int, col: int, message: str,
                                    tmp_path: Path) -> None:
    path = tmp_path / "bad.c"
    path.write_text(source)
    with pytest.raises(CompileError) as info:
        compile_c(source, str(path))
    err = info.value
    assert message in err.message
    assert (err.line, err.col) == (line, col)
    rendered = str(err)
    assert rendered.startswith(f"{err.path}:{line}:{col}: error: ")
    lines = rendered.splitlines()
    assert lines[1].strip() == source.splitlines()[line - 1].strip()
    assert lines[2].index("^") - lines[1].index(lines[1].strip()[0]) == col - 1 - (
        len(source.splitlines()[line - 1]) - len(source.splitlines()[line - 1].lstrip()))


def test_cli_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.c"
    path.write_text("int main(void) {\n    return missing;\n}\n")
    status, out, err = run_cli(["cc", str(path), "-o", str(tmp_path / "a.elf")])
    assert status == 2 and out == ""
    assert "bad.c:2:12: error: 'missing' undeclared" in err
    assert "Traceback" not in err
    status, _, err = run_cli(["run", str(path)])
    assert status == 2 and "'missing' undeclared" in err


def test_errors_are_user_errors() -> None:
    assert issubclass(CompileError, UserError)
