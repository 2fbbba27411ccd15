"""paravisor.mm's own constants: the hypervisor-internal sentinels and the PTE flag rules.
The guest-visible numbers (MMUEXT_*, UVMF_*, DOMID_*) are the ABI module's: import them
from paravisor.abi, where they are defined once."""

from __future__ import annotations

from paravisor.isa.table import PTE_FLAGS

__all__ = ["INVALID_M2P_ENTRY", "INVALID_MFN", "MMU_CMD_MASK", "PTE_ALLOWED_FLAGS",
           "PTE_FLAG_BITS"]

MMU_CMD_MASK = 3                # mmu_update: the low two bits of `ptr` select the command

# Hypervisor-internal sentinels.
INVALID_MFN = 0xFFFF_FFFF       # a p2m hole (a pfn with no frame behind it)
INVALID_M2P_ENTRY = 0xFFFF_FFFF  # m2p value of a frame no domain has named

# The only flag bits a present entry may carry, at either level.  Everything else in bits
# 11..0 is reserved: refusing it means no superpage (PSE) or cache-control bit can ever be
# set, so the XSA-148 class (undue superpage mappings) cannot arise.
PTE_ALLOWED_FLAGS = PTE_FLAGS
PTE_FLAG_BITS = 0xFFF
