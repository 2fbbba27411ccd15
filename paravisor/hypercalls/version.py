"""xen_version (17): who the hypervisor is and what it offers (version.h).

paravisor answers as the Xen interface it follows, **Xen 4.20**: XENVER_version returns
(4 << 16) | 20, so a guest that checks the version for a feature finds the interface
it expects; XENVER_extraversion (".0-paravisor") and the capabilities string
(abi.START_INFO_MAGIC, "paravisor-3.0-pv32", in the shape of "xen-3.0-x86_32") say what
it really is.  Every string is a fixed constant, never the host's compiler or date, so
runs stay deterministic on every host (docs/design.md, 'Fixed decisions' 5).

Per sub-op (strings are copied NUL-padded into buffers of the sizes version.h fixes):
- extraversion (char[16]), capabilities (char[1024]), changeset (char[64]),
  compile_info (xen_compile_info): any domain.
- platform_parameters: `virt_start`, the lowest virtual address the hypervisor keeps
  for itself.  paravisor keeps none; a u32 cannot say 4 GiB, so we name the last page,
  0xFFFFF000 (abi.HIGHEST_ADDRESS, where the builder never loads anything).
- get_features: `xen_feature_info {submap_idx, submap}`; only submap 0 exists (-EINVAL
  otherwise, as Xen).  Its bits are the XENFEAT_* we honour: XENFEAT_direct_mapped (PV
  page tables hold machine frames) for everyone, XENFEAT_dom0 for dom0.
- pagesize: 4096; a non-NULL `arg` is -EINVAL, as Xen.
- guest_handle: the domain's 16-byte handle (its UUID; zero unless the toolstack set it).
- commandline (char[1024]): the hypervisor's command line, which paravisor does not
  have: dom0 reads an empty string; a domU reads "<denied>", as Xen's XSM policy
  answers unprivileged domains.
- build_id: paravisor has no build id: -ENODATA for dom0 (Xen without one), -EPERM for
  a domU.
The variable-length sub-ops of Xen 4.21 (extraversion2 ...) and anything else: -ENOSYS.
"""

from __future__ import annotations

from paravisor.abi import (
    HIGHEST_ADDRESS,
    START_INFO_MAGIC,
    XEN_CAPABILITIES_INFO_LEN,
    XEN_CHANGESET_INFO_LEN,
    XEN_COMMANDLINE_LEN,
    XEN_COMPILE_INFO,
    XEN_EXTRAVERSION_LEN,
    XEN_FEATURE_INFO,
    XEN_PLATFORM_PARAMETERS,
    XENFEAT_direct_mapped,
    XENFEAT_dom0,
    XENVER_build_id,
    XENVER_capabilities,
    XENVER_changeset,
    XENVER_commandline,
    XENVER_compile_info,
    XENVER_extraversion,
    XENVER_get_features,
    XENVER_guest_handle,
    XENVER_pagesize,
    XENVER_platform_parameters,
    XENVER_version,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.common import HypercallError, copy_to, read_struct, write_struct
from paravisor.isa.table import PAGE_SIZE

XEN_MAJOR_VERSION = 4
XEN_MINOR_VERSION = 20
EXTRAVERSION = ".0-paravisor"
CHANGESET = "paravisor 0.1.0"
COMPILE_INFO = {"compiler": "paravisor (Python)", "compile_by": "paravisor",
                "compile_domain": "", "compile_date": ""}
DENIED = "<denied>"          # Xen's xen_deny(): what XSM shows an unprivileged caller


def features_submap0(privileged: bool) -> int:
    """The XENFEAT bits of submap 0 for a domain."""
    bits = 1 << XENFEAT_direct_mapped
    if privileged:
        bits |= 1 << XENFEAT_dom0
    return bits


def _copy_string(hv, vcpu, arg: int, text: str, size: int) -> int:
    data = text.encode()[:size - 1]
    copy_to(hv, vcpu, arg, data + bytes(size - len(data)))
    return 0


def _get_features(hv, vcpu, arg: int) -> int:
    info = read_struct(hv, vcpu, XEN_FEATURE_INFO, arg)
    if info["submap_idx"] != 0:
        raise HypercallError(Errno.EINVAL, f"no feature submap {info['submap_idx']}")
    write_struct(hv, vcpu, XEN_FEATURE_INFO, arg, submap_idx=0,
                 submap=features_submap0(vcpu.domain.privileged))
    return 0


def _strings(hv, vcpu, cmd: int, arg: int) -> int | None:
    """The string-valued sub-ops; None if `cmd` is not one of them."""
    privileged = vcpu.domain.privileged
    if cmd == XENVER_extraversion:
        return _copy_string(hv, vcpu, arg, EXTRAVERSION, XEN_EXTRAVERSION_LEN)
    if cmd == XENVER_capabilities:
        return _copy_string(hv, vcpu, arg, START_INFO_MAGIC, XEN_CAPABILITIES_INFO_LEN)
    if cmd == XENVER_changeset:
        return _copy_string(hv, vcpu, arg, CHANGESET, XEN_CHANGESET_INFO_LEN)
    if cmd == XENVER_commandline:
        return _copy_string(hv, vcpu, arg, "" if privileged else DENIED, XEN_COMMANDLINE_LEN)
    return None


def do_xen_version(hv, vcpu, cmd: int, arg: int, *_) -> int:
    if cmd == XENVER_version:
        return (XEN_MAJOR_VERSION << 16) | XEN_MINOR_VERSION
    done = _strings(hv, vcpu, cmd, arg)
    if done is not None:
        return done
    if cmd == XENVER_compile_info:
        write_struct(hv, vcpu, XEN_COMPILE_INFO, arg, **COMPILE_INFO)
        return 0
    if cmd == XENVER_platform_parameters:
        write_struct(hv, vcpu, XEN_PLATFORM_PARAMETERS, arg, virt_start=HIGHEST_ADDRESS)
        return 0
    if cmd == XENVER_get_features:
        return _get_features(hv, vcpu, arg)
    if cmd == XENVER_pagesize:
        return PAGE_SIZE if arg == 0 else -Errno.EINVAL
    if cmd == XENVER_guest_handle:
        handle = vcpu.domain.handle
        copy_to(hv, vcpu, arg, handle)
        return 0
    if cmd == XENVER_build_id:
        return -Errno.ENODATA if vcpu.domain.privileged else -Errno.EPERM
    return -Errno.ENOSYS
