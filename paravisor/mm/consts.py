"""Constants of the PV memory-management interface, re-exported from the ABI module for
paravisor.mm's own use, plus the hypervisor-internal sentinels."""

from __future__ import annotations

# The guest-visible numbers come from the ABI module, where they are defined once.
from paravisor.abi import (
    DOMID_FIRST_RESERVED,
    DOMID_SELF,
    DOMID_XEN,
    MMU_MACHPHYS_UPDATE,
    MMU_NORMAL_PT_UPDATE,
    MMU_PT_UPDATE_PRESERVE_AD,
    MMUEXT_INVLPG_ALL,
    MMUEXT_INVLPG_LOCAL,
    MMUEXT_INVLPG_MULTI,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_PIN_L3_TABLE,
    MMUEXT_PIN_L4_TABLE,
    MMUEXT_TLB_FLUSH_ALL,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_TLB_FLUSH_MULTI,
    MMUEXT_UNPIN_TABLE,
    UVMF_ALL,
    UVMF_FLUSHTYPE_MASK,
    UVMF_INVLPG,
    UVMF_LOCAL,
    UVMF_MULTI,
    UVMF_NONE,
    UVMF_TLB_FLUSH,
)
from paravisor.isa.table import PTE_FLAGS

__all__ = [
    "DOMID_FIRST_RESERVED",
    "DOMID_SELF",
    "DOMID_XEN",
    "INVALID_M2P_ENTRY",
    "INVALID_MFN",
    "MMUEXT_INVLPG_ALL",
    "MMUEXT_INVLPG_LOCAL",
    "MMUEXT_INVLPG_MULTI",
    "MMUEXT_NEW_BASEPTR",
    "MMUEXT_PIN_L1_TABLE",
    "MMUEXT_PIN_L2_TABLE",
    "MMUEXT_PIN_L3_TABLE",
    "MMUEXT_PIN_L4_TABLE",
    "MMUEXT_TLB_FLUSH_ALL",
    "MMUEXT_TLB_FLUSH_LOCAL",
    "MMUEXT_TLB_FLUSH_MULTI",
    "MMUEXT_UNPIN_TABLE",
    "MMU_CMD_MASK",
    "MMU_MACHPHYS_UPDATE",
    "MMU_NORMAL_PT_UPDATE",
    "MMU_PT_UPDATE_PRESERVE_AD",
    "PTE_ALLOWED_FLAGS",
    "PTE_FLAG_BITS",
    "UVMF_ALL",
    "UVMF_FLUSHTYPE_MASK",
    "UVMF_INVLPG",
    "UVMF_LOCAL",
    "UVMF_MULTI",
    "UVMF_NONE",
    "UVMF_TLB_FLUSH",
]

MMU_CMD_MASK = 3                # mmu_update: the low two bits of `ptr` select the command

# Hypervisor-internal sentinels.
INVALID_MFN = 0xFFFF_FFFF       # a p2m hole (a pfn with no frame behind it)
INVALID_M2P_ENTRY = 0xFFFF_FFFF  # m2p value of a frame no domain has named

# The only flag bits a present entry may carry, at either level.  Everything else in bits
# 11..0 is reserved: refusing it means no superpage (PSE) or cache-control bit can ever be
# set, so the XSA-148 class (undue superpage mappings) cannot arise.
PTE_ALLOWED_FLAGS = PTE_FLAGS
PTE_FLAG_BITS = 0xFFF
