"""The toolstack: what xl is to Xen.  The xl.cfg syntax (xlcfg), the checked domain and
host configuration model (config, keys, fields, cpulist, configfiles) and the disk and
vif device specs (devices); creating domains from configs and acting on their endings
(domains); `paravisor launch` and `paravisor run` (launch, cli)."""

from paravisor.toolstack.config import (
    DomainConfig,
    HostConfig,
    load_domain_config,
    load_host_config,
    parse_domain_config,
    parse_host_config,
)
from paravisor.toolstack.devices import DeviceSpecError, DiskSpec, VifSpec
from paravisor.toolstack.fields import ConfigWarning
from paravisor.toolstack.xlcfg import ConfigError, parse_xl

__all__ = [
    "ConfigError", "ConfigWarning", "DeviceSpecError", "DiskSpec", "DomainConfig",
    "HostConfig", "VifSpec", "load_domain_config", "load_host_config",
    "parse_domain_config", "parse_host_config", "parse_xl",
]
