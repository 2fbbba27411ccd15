"""The disassembler renders from the ISA table: ABI register names, CR names, radix
per immediate kind, absolute or relative targets, symbolized targets, `.word`."""

from paravisor.isa.disasm import branch_target, disassemble, symbolizer
from paravisor.isa.table import CR, decode, encode


def test_registers_print_by_abi_name_in_syntax_order():
    assert disassemble(encode("add", rd=3, rs1=2, rs2=15), 0) == "add a0, sp, s3"
    assert disassemble(encode("sw", rs2=9, rs1=2, imm=-8), 0) == "sw t0, -8(sp)"
    assert disassemble(encode("cas", rd=3, rs1=5, rs2=4), 0) == "cas a0, a1, (a2)"


def test_control_registers_print_by_name():
    assert disassemble(encode("mfcr", rd=3, imm=int(CR.PTBR)), 0) == "mfcr a0, ptbr"
    assert disassemble(encode("mtcr", rs1=4, imm=int(CR.TIMECMP)), 0) == "mtcr timecmp, a1"


def test_immediates_use_the_radix_of_their_kind():
    assert disassemble(encode("addi", rd=3, rs1=3, imm=-1), 0) == "addi a0, a0, -1"
    assert disassemble(encode("andi", rd=3, rs1=3, imm=0xFF00), 0) == "andi a0, a0, 0xff00"
    assert disassemble(encode("lui", rd=3, imm=0xABCDE), 0) == "lui a0, 0xabcde"
    assert disassemble(encode("slli", rd=3, rs1=3, imm=31), 0) == "slli a0, a0, 31"


def test_targets_are_absolute_or_relative():
    word = encode("beq", rs1=3, rs2=0, imm=-2)
    assert disassemble(word, 0x1008) == "beq a0, zero, 0x00001000"
    assert disassemble(word, 0x1008, relative_targets=True) == "beq a0, zero, .-8"
    jal = encode("jal", rd=1, imm=3)
    assert disassemble(jal, 0x2000, relative_targets=True) == "jal ra, .+12"
    assert branch_target(decode(jal), 0x2000) == 0x200C
    assert branch_target(decode(encode("add", rd=1, rs1=1, rs2=1)), 0) is None


def test_symbolized_targets_name_the_nearest_symbol_below():
    names = symbolizer({"start": 0x1000, "loop": 0x1010})
    assert disassemble(encode("jal", rd=0, imm=0), 0x1010, names) == "jal zero, 0x00001010 <loop>"
    assert disassemble(encode("jal", rd=0, imm=1), 0x1000, names) == \
        "jal zero, 0x00001004 <start+0x4>"
    assert names(0xFFF) is None


def test_invalid_words_print_as_data():
    assert disassemble(0, 0) == ".word 0x00000000"
    assert disassemble(0xFFFFFFFF, 0) == ".word 0xffffffff"
    # A valid opcode with a reserved bit set is not an instruction either.
    assert disassemble(encode("halt") | 0x100, 0) == ".word 0x00000172"


def test_no_operand_instructions_print_the_mnemonic_alone():
    assert disassemble(encode("hcall"), 0) == "hcall"
    assert disassemble(encode("fence"), 0) == "fence"
