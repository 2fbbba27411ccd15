"""The PV32 toolchain: assembler, linker, disassembler (and later the C compiler)."""
