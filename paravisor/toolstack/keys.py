"""Which xl.cfg keys paravisor reads, and which keys xl knows that paravisor ignores.

A key in neither set is a mistake (an error suggesting the closest known key); a key in
UNSUPPORTED_KEYS is legitimate xl that has no meaning for paravisor's PV32 guests (a
warning, and the key is ignored).  The names are xl.cfg(5)'s.
"""

from __future__ import annotations

# Keys of a domain, read into DomainConfig (guest configs and dom0.cfg alike).
DOMAIN_KEYS = frozenset({
    "name", "type", "builder", "kernel", "memory", "maxmem", "vcpus", "maxvcpus", "cpus",
    "cpu_weight", "cap", "cmdline", "extra", "root", "on_poweroff", "on_reboot",
    "on_crash", "on_watchdog", "disk", "vif", "max_grant_frames", "max_maptrack_frames",
    "max_event_channels", "seed",
})

# Keys of the host, only in the file given to `paravisor launch` (HostConfig).
HOST_KEYS = frozenset({
    "guests", "sched", "pcpus", "engine", "tslice_ms", "ratelimit_us", "console_log",
    "bridges",
})

# xl.cfg(5) keys that paravisor accepts and ignores, with a warning.  Grouped as the
# manual groups them: boot paths we do not have, HVM/PVH-only machinery, display and
# input devices, passthrough, and tuning that has no PV32 counterpart.
UNSUPPORTED_KEYS = frozenset({
    # booting through something other than a direct kernel
    "bootloader", "bootloader_args", "bootloader_restrict", "bootloader_user", "ramdisk",
    "firmware", "pvshim", "pvshim_path", "pvshim_cmdline", "pvshim_extra",
    # identity, security labels, pools, placement
    "uuid", "seclabel", "init_seclabel", "pool", "cpus_soft", "vnuma", "driver_domain",
    "on_soft_reset", "nomigrate", "max_grant_version", "xenstore_feature_mask", "xenstore_quota",
    "llc_colors", "vmtrace_buf_kb", "vpmu", "cpuid", "msr_relaxed", "tsc_mode", "timer_mode",
    "crash_ctl", "cpu_hotplug", "trap_unmapped_accesses",
    # parameters of schedulers other than credit (sedf/rtds/arinc)
    "period", "slice", "latency", "extratime",
    # device models and emulation (HVM)
    "device_model", "device_model_version", "device_model_override",
    "device_model_stubdomain_override", "device_model_stubdomain_seclabel", "device_model_args",
    "device_model_args_pv", "device_model_args_hvm", "device_model_user", "dm_restrict",
    "stubdomain_kernel", "stubdomain_ramdisk", "stubdomain_cmdline", "stubdomain_memory", "bios",
    "bios_path_override", "boot", "acpi", "acpi_firmware", "acpi_s3", "acpi_s4",
    "acpi_laptop_slate", "apic", "pae", "hpet", "hap", "nestedhvm", "viridian", "altp2m",
    "altp2mhvm", "altp2m_count", "oos", "passthrough", "vpt_align", "localtime", "rtc_timeoffset",
    "shadow_memory", "smbios", "smbios_firmware", "ms_vm_genid", "mmio_hole", "xen_platform_pci",
    "xen_platform_pci_bar_uc", "hdtype", "e820_host", "vendor_device", "mca_caps",
    "xend_suspend_evtchn_compat", "hvm_pirq", "nx", "soundhw",
    # consoles, displays and input
    "serial", "vfb", "vkb", "vnc", "vnclisten", "vncdisplay", "vncunused", "vncpasswd", "keymap",
    "sdl", "opengl", "vncviewer", "vkb_device", "display", "xauthority", "nographic", "stdvga",
    "vga", "videoram", "spice", "spicehost", "spiceport", "spicetls_port", "spicedisable_ticketing",
    "spicepasswd", "spiceagent_mouse", "spicevdagent", "spice_clipboard_sharing",
    "spiceusbredirection", "spice_image_compression", "spice_streaming_video", "vuart", "channel",
    "vdispl", "vsnd", "vtpm",
    # other device classes and passthrough
    "pci", "pci_permissive", "pci_msitranslate", "pci_seize", "pci_power_mgmt", "rdm",
    "rdm_mem_boundary", "gfx_passthru", "ioports", "iomem", "irqs", "dtdev", "device_tree", "usb",
    "usbctrl", "usbdev", "usbdevice", "usbversion", "p9", "pvcalls", "virtio", "vif2",
    "gic_version", "nr_spis", "tee", "arm_sci", "sve",
})

ALL_KNOWN_KEYS = DOMAIN_KEYS | HOST_KEYS | UNSUPPORTED_KEYS
