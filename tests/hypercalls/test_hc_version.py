"""xen_version (17): every sub-op, the buffer sizes version.h fixes, the privilege split
for commandline/build_id, and -EFAULT/-EINVAL/-ENOSYS."""

import pytest

from paravisor.abi import (
    HIGHEST_ADDRESS,
    START_INFO_MAGIC,
    XEN_CAPABILITIES_INFO_LEN,
    XEN_COMMANDLINE_LEN,
    XEN_COMPILE_INFO,
    XEN_EXTRAVERSION_LEN,
    XEN_FEATURE_INFO,
    XEN_PLATFORM_PARAMETERS,
    Hypercall,
    XenFeat,
    XENVER_build_id,
    XENVER_capabilities,
    XENVER_commandline,
    XENVER_compile_info,
    XENVER_extraversion,
    XENVER_get_features,
    XENVER_guest_handle,
    XENVER_pagesize,
    XENVER_platform_parameters,
    XENVER_version,
    cstring,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.version import EXTRAVERSION
from paravisor.isa.table import PTE_W

VER = Hypercall.xen_version


def test_version_is_major_minor(domu):
    assert domu.hcall(VER, XENVER_version, 0) == (4 << 16) | 20


@pytest.mark.parametrize("cmd, size, text", [
    (XENVER_extraversion, XEN_EXTRAVERSION_LEN, EXTRAVERSION),
    (XENVER_capabilities, XEN_CAPABILITIES_INFO_LEN, START_INFO_MAGIC),
])
def test_strings_fill_exactly_their_buffer(domu, cmd, size, text):
    buf = domu.alloc(size + 4)
    domu.write(buf, b"\xAA" * (size + 4))
    assert domu.call(VER, cmd, buf) == 0
    data = domu.read(buf, size + 4)
    assert cstring(data[:size]).decode() == text
    assert data[size:] == b"\xAA" * 4                 # nothing past the buffer


def test_compile_info_and_platform_parameters(domu):
    info = domu.alloc(XEN_COMPILE_INFO.size)
    assert domu.call(VER, XENVER_compile_info, info) == 0
    assert cstring(domu.get(XEN_COMPILE_INFO, info)["compile_by"]) == b"paravisor"
    params = domu.alloc(XEN_PLATFORM_PARAMETERS.size)
    assert domu.call(VER, XENVER_platform_parameters, params) == 0
    assert domu.get(XEN_PLATFORM_PARAMETERS, params)["virt_start"] == HIGHEST_ADDRESS


def test_get_features_submap0_depends_on_privilege(domu, dom0):
    for guest, dom0_bit in ((domu, 0), (dom0, 1 << XenFeat.XENFEAT_dom0)):
        fi = guest.put(XEN_FEATURE_INFO, submap_idx=0, submap=0xFFFF)
        assert guest.call(VER, XENVER_get_features, fi) == 0
        submap = guest.get(XEN_FEATURE_INFO, fi)["submap"]
        assert submap == (1 << XenFeat.XENFEAT_direct_mapped) | dom0_bit
    fi = domu.put(XEN_FEATURE_INFO, submap_idx=1)
    assert domu.call(VER, XENVER_get_features, fi) == -Errno.EINVAL


def test_pagesize_and_guest_handle(domu):
    assert domu.call(VER, XENVER_pagesize, 0) == 4096
    assert domu.call(VER, XENVER_pagesize, 0x1234) == -Errno.EINVAL
    handle = domu.put_words([0xFFFF_FFFF] * 4)
    assert domu.call(VER, XENVER_guest_handle, handle) == 0
    assert domu.read(handle, 16) == bytes(16)


def test_commandline_and_build_id_are_for_dom0(domu, dom0):
    for guest, expected in ((domu, b"<denied>"), (dom0, b"")):
        buf = guest.alloc(XEN_COMMANDLINE_LEN)
        guest.write(buf, b"x" * XEN_COMMANDLINE_LEN)
        assert guest.call(VER, XENVER_commandline, buf) == 0
        assert cstring(guest.read(buf, XEN_COMMANDLINE_LEN)) == expected
    assert domu.call(VER, XENVER_build_id, 0) == -Errno.EPERM
    assert dom0.call(VER, XENVER_build_id, 0) == -Errno.ENODATA


@pytest.mark.parametrize("cmd", [XENVER_extraversion, XENVER_compile_info,
                                 XENVER_get_features, XENVER_platform_parameters])
def test_bad_buffers_are_efault(domu, cmd):
    assert domu.call(VER, cmd, 0x1000) == -Errno.EFAULT       # unmapped
    read_only = domu.put(XEN_FEATURE_INFO, submap_idx=0)       # valid IN part ...
    domu.call(Hypercall.update_va_mapping, read_only & ~0xFFF,
              domu.hv.memory.read32(domu.l1_entry_maddr(read_only)) & ~PTE_W, 0)
    assert domu.call(VER, cmd, read_only) == -Errno.EFAULT     # ... but read-only


def test_unknown_sub_op_is_enosys(domu):
    assert domu.call(VER, 11, 0) == -Errno.ENOSYS          # extraversion2: not in PV32
    assert domu.call(VER, 0xFFFF_FFFF, 0) == -Errno.ENOSYS
