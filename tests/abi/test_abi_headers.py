"""The generated headers: committed copies are fresh, the .inc is `.equ` lines only,
the .h compiles and its static assertions hold, and --check catches drift."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paravisor import abi
from paravisor.abi import c_wrappers, headers
from paravisor.generated import stale_files

ROOT = Path(__file__).resolve().parents[2]   # the checkout these tests live in
INC = ROOT / headers.INC_PATH
H = ROOT / headers.H_PATH
EQU = re.compile(r"\.equ ([A-Za-z_][A-Za-z0-9_]*), (-?(?:0x[0-9A-F]+|[0-9]+))")


def test_committed_files_equal_a_fresh_generation():
    stale = stale_files(headers.expected_files(ROOT))
    assert not stale, f"run `{headers.COMMAND}`: stale {stale}"


def parse_inc(text: str) -> dict[str, int]:
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        match = EQU.fullmatch(line)
        assert match, f"line {number} is not `.equ NAME, VALUE`: {line!r}"
        name, value = match.groups()
        assert name not in values, f"{name} defined twice (line {number})"
        values[name] = int(value, 0)
    return values


def test_inc_holds_only_unique_equ_lines_with_the_abi_values():
    text = INC.read_text()
    assert text.startswith("# paravisor.inc") and headers.BANNER in text.splitlines()[0]
    values = parse_inc(text)
    assert values["__HYPERVISOR_console_io"] == 18
    assert values["SCHEDOP_block"] == 1
    assert values["EFAULT"] == 14
    assert values["GNTST_permission_denied"] == -8
    assert values["VIRQ_DOM_EXC"] == 3
    assert values["START_INFO_NR_PAGES"] == abi.START_INFO.offset("nr_pages")
    assert values["START_INFO_CONSOLE_DOMU_EVTCHN"] == 56
    assert values["VCPU_INFO_TIME_SYSTEM_TIME"] == 48
    assert values["SHARED_INFO_EVTCHN_PENDING"] == 2048
    assert values["BOUNCE_FRAME_T0"] == 16
    assert values["VCPU_INFO_SIZE"] == 64
    assert values["BLKIF_REQUEST_SIZE"] == 112
    assert values["XEN_DOMCTL_INTERFACE_VERSION"] == 0x18
    assert values["XEN_DOMCTL_INTERFACE_VERSION_OFFSET"] == 4
    assert values["NETIF_TX_REQUEST_SIZE_OFFSET"] == 10
    assert values["START_INFO_CONSOLE_DOMU_SIZE"] == 8


def test_every_struct_member_has_an_offset_symbol():
    values = parse_inc(INC.read_text())
    for struct in abi.STRUCTS:
        for name, offset in headers.flat_offsets(struct):
            assert values[name] == offset


def _cc() -> str:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler on this host")
    return cc


def _target_flags(cc: str, tmp_path: Path) -> list[str]:
    """["-m32"] if the compiler can build freestanding i386 code here, else []."""
    probe = tmp_path / "probe.c"
    probe.write_text("#include <stdint.h>\nuint64_t x;\n")
    result = subprocess.run([cc, "-m32", "-ffreestanding", "-fsyntax-only", str(probe)],
                            capture_output=True)
    return ["-m32"] if result.returncode == 0 else []


def _compile(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    """Compile `body` after #include "paravisor.h", freestanding like a guest kernel,
    for i386 when the compiler can (where u64 alignment differs from ours)."""
    cc = _cc()
    source = tmp_path / "check.c"
    source.write_text(f'#include "paravisor.h"\n{body}\n')
    command = [cc, *_target_flags(cc, tmp_path), "-fsyntax-only", "-std=c99",
               "-ffreestanding", "-Wall", "-Wextra", "-Werror", "-I", str(H.parent),
               str(source)]
    return subprocess.run(command, capture_output=True, text=True)


def test_header_compiles_and_its_static_asserts_hold(tmp_path):
    result = _compile(tmp_path, "int main(void) { return sizeof(struct shared_info) > 4096; }")
    assert result.returncode == 0, result.stderr


def test_a_false_layout_claim_fails_to_compile(tmp_path):
    # Guards the test above: the compiler really evaluates sizes from this header.
    result = _compile(tmp_path, '_Static_assert(sizeof(struct vcpu_info) == 63, "no");')
    assert result.returncode != 0


def test_inc_assembles_with_the_toolchain():
    from paravisor.toolchain import asm
    source = (f'.include "{INC.name}"\n.text\n'
              "li t0, __HYPERVISOR_sched_op\nli a0, SCHEDOP_shutdown\n"
              "lw a1, START_INFO_NR_PAGES(a0)\nli a2, GNTST_permission_denied\n")
    assert asm.assemble(source, str(INC.parent / "check.s"))


def make_checkout(tmp_path: Path) -> Path:
    for rel in (headers.INC_PATH, headers.H_PATH, c_wrappers.H_PATH, headers.DOC_PATH):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_check_reports_drift_and_generation_repairs_it(tmp_path):
    root = make_checkout(tmp_path)
    messages = []
    assert headers.main(["--check", "--root", str(root)], out=messages.append) == 0
    (root / headers.H_PATH).write_text("/* edited by hand */\n")
    (root / headers.INC_PATH).unlink()
    assert headers.main(["--check", "--root", str(root)], out=messages.append) == 1
    assert sorted(m.split()[1] for m in messages) == sorted(
        [str(root / headers.H_PATH), str(root / headers.INC_PATH)])
    assert headers.main(["--root", str(root)], out=messages.append) == 0
    assert (root / headers.H_PATH).read_text() == H.read_text()
    assert headers.main(["--check", "--root", str(root)], out=messages.append) == 0


def test_doc_listing_is_spliced_between_the_markers(tmp_path):
    root = make_checkout(tmp_path)
    doc = root / headers.DOC_PATH
    text = doc.read_text()
    begin = text.index(headers.DOC_BEGIN) + len(headers.DOC_BEGIN)
    doc.write_text(text[:begin] + "\nstale\n" + text[text.index(headers.DOC_END, begin):])
    assert headers.main(["--check", "--root", str(root)], out=lambda _: None) == 1
    assert headers.main(["--root", str(root)], out=lambda _: None) == 0
    assert doc.read_text() == text
    assert "| `__HYPERVISOR_console_io` | 18 |" in text
    assert "**struct vcpu_info** (64 bytes)" in text


def test_hypercall_table_and_wrappers_are_checked_too(tmp_path):
    root = make_checkout(tmp_path)
    doc, wrappers = root / headers.DOC_PATH, root / c_wrappers.H_PATH
    text = doc.read_text()
    begin = text.index(headers.HYPERCALL_TABLE_BEGIN) + len(headers.HYPERCALL_TABLE_BEGIN)
    row = "| 18 | console_io | `int cmd, int count, const char *buffer`; §5.7 |"
    assert row in text[begin:text.index(headers.DOC_END, begin)]
    doc.write_text(text.replace(row, row.replace("§5.7", "edited by hand")))
    wrappers.write_text(wrappers.read_text().replace("int count", "long count"))
    messages = []
    assert headers.main(["--check", "--root", str(root)], out=messages.append) == 1
    assert sorted(m.split()[1] for m in messages) == sorted([str(doc), str(wrappers)])
    assert headers.main(["--root", str(root)], out=lambda _: None) == 0
    assert doc.read_text() == text
    assert wrappers.read_text() == (ROOT / c_wrappers.H_PATH).read_text()


def test_each_region_ends_at_its_own_end_marker():
    document = "\n".join(["a", headers.HYPERCALL_TABLE_BEGIN, "old table", headers.DOC_END,
                          "b", headers.DOC_BEGIN, "old listing", headers.DOC_END, "c"])
    spliced = headers.splice_region(document, headers.HYPERCALL_TABLE_BEGIN, "T")
    assert spliced.split(headers.DOC_BEGIN)[1] == "\nold listing\n" + headers.DOC_END + "\nc"
    assert "old table" not in spliced and "\nT\n" + headers.DOC_END + "\nb" in spliced
    spliced = headers.splice_doc(spliced, "L")
    assert spliced.count(headers.DOC_END) == 2 and "old" not in spliced


def test_a_root_that_is_not_a_checkout_is_a_clean_error(tmp_path, capsys):
    assert headers.main(["--check", "--root", str(tmp_path)]) == 2
    assert "a paravisor checkout?" in capsys.readouterr().err
    (tmp_path / "docs").mkdir()
    (tmp_path / headers.DOC_PATH).write_text("# no markers\n")
    assert headers.main(["--root", str(tmp_path)]) == 2
    assert "markers" in capsys.readouterr().err


def test_module_runs_as_a_script():
    result = subprocess.run(["python3", "-m", "paravisor.abi.headers", "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
