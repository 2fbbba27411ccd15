"""The PV32 toolchain: assembler, linker, disassembler and the C compiler (`cc`)."""
