"""The corpus (tests/cc/corpus/*.c): each program's console output must equal its
.out file (made with the host's gcc where the program is portable), at -O1 and -O0,
and on both engines; the exit status is main's result."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paravisor.testing.cc import build_c, run_image

CORPUS = Path(__file__).parent / "corpus"
PROGRAMS = sorted(CORPUS.glob("*.c"))


def _expected_status(source: str) -> int:
    """`return N;` as main's last statement in the corpus file names the status."""
    found = re.findall(r"return ([^;]+);\n}\s*$", source)
    if found and found[-1].strip().isdigit():
        return int(found[-1])
    return -1                                    # computed: not checked here


@pytest.mark.parametrize("opt", [1, 0])
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_corpus_output(program: Path, opt: int, tmp_path: Path) -> None:
    source = program.read_text()
    elf = build_c(source, opt=opt, name=program.name, folder=str(tmp_path))
    status, output = run_image(elf)
    assert output == program.with_suffix(".out").read_text()
    expected = _expected_status(source)
    if expected >= 0:
        assert status == expected


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_corpus_on_the_jit(program: Path, tmp_path: Path) -> None:
    elf = build_c(program.read_text(), name=program.name, folder=str(tmp_path))
    assert run_image(elf, engine="jit") == run_image(elf, engine="interp")


def test_sieve_exit_status_is_mains_result(tmp_path: Path) -> None:
    source = (CORPUS / "sieve.c").read_text()
    status, output = run_image(build_c(source, folder=str(tmp_path)))
    count = int(output.split()[0])
    assert count == 303 and status == count % 256
