"""`paravisor as / ld / objdump` end to end, and property (b): whatever bytes they are
given, they exit with a clean error (status != 0, message on stderr, no traceback)."""

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paravisor.testing.toolchain import run_cli
from paravisor.toolchain.ld import build_image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_sum_example_assembles_links_and_disassembles(tmp_path):
    obj, image = tmp_path / "sum.o", tmp_path / "sum.elf"
    assert run_cli(["as", str(EXAMPLES / "sum.s"), "-o", str(obj)]) == (0, "", "")
    assert run_cli(["ld", str(obj), "-o", str(image)]) == (0, "", "")
    status, out, err = run_cli(["objdump", "-d", "-t", str(image)])
    assert status == 0 and err == ""
    assert "00010000 <_start>:" in out and "<sum_words>:" in out
    assert "jal ra, 0x" in out and "<sum_words>" in out.split("jal ra, ")[1].splitlines()[0]
    assert "lw t1, 0(a0)" in out and "halt" in out
    assert image.read_bytes() == build_image([str(EXAMPLES / "sum.s")])


def test_two_object_example_and_object_listings(tmp_path):
    objs = []
    for name in ("count_main", "count_lib"):
        objs.append(str(tmp_path / f"{name}.o"))
        assert run_cli(["as", str(EXAMPLES / f"{name}.s"), "-o", objs[-1]])[0] == 0
    status, out, _ = run_cli(["objdump", "-r", "-d", "-h", objs[0]])
    assert status == 0
    assert "R_PV32_JUMP20    strlen+0x0" in out and "R_PV32_HI20      greeting+0x0" in out
    image = str(tmp_path / "count.elf")
    assert run_cli(["ld", *objs, "-o", image, "--base", "0x40000"])[0] == 0
    status, out, _ = run_cli(["objdump", "-h", "-t", image])
    assert ".rodata" in out and "00041000" in out and " g       .text" in out


def test_as_writes_next_to_the_source_by_default(tmp_path):
    src = tmp_path / "p.s"
    src.write_text("nop\n")
    assert run_cli(["as", str(src)])[0] == 0
    assert (tmp_path / "p.o").exists()


def test_cli_errors_are_one_clean_message(tmp_path):
    bad = tmp_path / "bad.s"
    bad.write_text("nop\nfrob a0\n")
    status, out, err = run_cli(["as", str(bad), "-o", str(tmp_path / "bad.o")])
    assert status != 0 and out == ""
    assert f"{bad}:2:1: error: unknown mnemonic 'frob'" in err and "Traceback" not in err
    status, _, err = run_cli(["ld", str(tmp_path / "none.o")])
    assert status != 0 and "cannot read" in err
    status, _, err = run_cli(["objdump", str(bad)])
    assert status != 0 and "-d, -h, -t" in err
    status, _, err = run_cli(["ld", "x.o", "--base", "zz"])
    assert status != 0 and "not a number" in err


def _fuzz_inputs():
    obj = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "sum.s")
    valid_image = build_image([obj])
    from paravisor.toolchain.asm import assemble_file
    valid_object = assemble_file(obj)

    def mutate(data, edits):
        out = bytearray(data)
        for pos, value in edits:
            out[pos % len(out)] = value
        return bytes(out)

    edits = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                     max_size=8)
    return st.one_of(
        st.binary(max_size=300),
        st.builds(mutate, st.sampled_from([valid_image, valid_object]), edits),
        st.builds(lambda d, n: d[:n], st.sampled_from([valid_image, valid_object]),
                  st.integers(0, 400)))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_fuzz_inputs())
def test_random_and_mutated_files_never_crash_ld_or_objdump(tmp_path, data):
    path = tmp_path / "input.o"
    path.write_bytes(data)
    for argv in (["ld", str(path), "-o", str(tmp_path / "out.elf")],
                 ["objdump", "-d", "-h", "-t", "-r", str(path)]):
        status, _, err = run_cli(argv)
        assert "Traceback" not in err
        if status != 0:
            assert err.startswith(f"paravisor {argv[0]}: "), err
