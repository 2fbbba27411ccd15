"""dom0's userspace services: Python programs on the host acting with dom0's identity
(docs/design.md, 'Fixed decisions' 6), as xenconsoled, xenstored and qemu's backends
do in Xen's dom0.  They reach other domains' memory only through foreign mappings of
the pages the toolstack handed them (the console and XenStore rings) or grant
operations (split drivers)."""
