# dom0.s: the dom0 kernel.  paravisor's dom0 "userspace" (console daemon, XenStore,
# backends, toolstack) runs on the host in Python, so this kernel is the visible part
# of dom0: it prints a banner with the hypervisor's version (xen_version) and the
# host's memory (XEN_SYSCTL_physinfo), lists the domains, binds VIRQ_DOM_EXC, and on
# each such event (a domain shut down, crashed, ...) lists the domains again, from
# XEN_SYSCTL_getdomaininfolist:
#
#   domain 1: blocked, 2048 pages
#   domain 3: shutdown (crash), 2048 pages
#
# It never shuts itself down: the toolstack ends the run when the guests are done.

        .include "runtime.s"

        .equ MAX_LISTED_DOMAINS, 32

        .text
        .global kmain
# int kmain(start_info *si): runs forever.
kmain:
        call  print_banner
        call  watch_domains
        call  list_domains
1:      call  local_irq_disable       # test the flag with events masked, then block
        la    t1, dom_exc_seen        # (which unmasks atomically): no event is missed
        lw    t2, 0(t1)
        bnez  t2, 2f
        call  HYPERVISOR_block
        j     1b
2:      sw    zero, 0(t1)
        call  local_irq_enable
        call  list_domains
        j     1b

# void print_banner(void): version and physinfo lines.
print_banner:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        la    a0, msg_banner
        call  print_str
        li    a0, XENVER_version
        li    a1, 0
        call  HYPERVISOR_xen_version
        mv    s0, a0
        blt   s0, zero, 1f
        srli  a0, s0, 16              # major << 16 | minor
        call  print_dec
        li    a0, '.'
        call  print_char
        slli  a0, s0, 16
        srli  a0, a0, 16
        call  print_dec
        li    a0, '\n'
        call  print_char
        j     2f
1:      call  print_error_line
2:      call  print_physinfo
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void print_physinfo(void): "memory: N pages total (M MiB), F pages free".
print_physinfo:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        la    a0, msg_memory
        call  print_str
        li    a0, XEN_SYSCTL_physinfo
        call  sysctl_prepare
        mv    s0, a0
        call  HYPERVISOR_sysctl
        blt   a0, zero, 1f
        lw    a0, XEN_SYSCTL_U_PHYSINFO_TOTAL_PAGES(s0)
        lw    a1, XEN_SYSCTL_U_PHYSINFO_TOTAL_PAGES + 4(s0)
        call  print_u64
        la    a0, msg_pages_total
        call  print_str
        lw    a0, XEN_SYSCTL_U_PHYSINFO_TOTAL_PAGES(s0)
        srli  a0, a0, 20 - PAGE_SHIFT # pages -> MiB (fine below 4 Gi pages)
        lw    a1, XEN_SYSCTL_U_PHYSINFO_TOTAL_PAGES + 4(s0)
        slli  a1, a1, 32 - (20 - PAGE_SHIFT)
        or    a0, a0, a1
        call  print_dec
        la    a0, msg_mib
        call  print_str
        lw    a0, XEN_SYSCTL_U_PHYSINFO_FREE_PAGES(s0)
        lw    a1, XEN_SYSCTL_U_PHYSINFO_FREE_PAGES + 4(s0)
        call  print_u64
        la    a0, msg_pages_free
        call  print_line
        j     2f
1:      call  print_error_line
2:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# xen_sysctl *sysctl_prepare(u32 cmd): the zeroed sysctl buffer with cmd and the
# interface version filled in.
sysctl_prepare:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a0, 0(sp)
        la    a0, sysctl_buf
        li    a1, 0
        li    a2, XEN_SYSCTL_SIZE
        call  memset
        lw    t1, 0(sp)
        sw    t1, XEN_SYSCTL_CMD(a0)
        li    t1, XEN_SYSCTL_INTERFACE_VERSION
        sw    t1, XEN_SYSCTL_INTERFACE_VERSION_OFFSET(a0)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void print_error_line(long err): "unavailable (error -38)".
print_error_line:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a0, 0(sp)
        la    a0, msg_unavailable
        call  print_str
        lw    a0, 0(sp)
        call  print_signed
        li    a0, ')'
        call  print_char
        li    a0, '\n'
        call  print_char
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void watch_domains(void): bind VIRQ_DOM_EXC to dom_exc_handler.
watch_domains:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        call  events_init
        bnez  a0, 1f
        li    a0, VIRQ_DOM_EXC
        call  bind_virq
        mv    s0, a0
        blt   a0, zero, 1f
        la    a1, dom_exc_handler
        call  bind_evtchn
        mv    a0, s0
        call  unmask_evtchn
        beqz  a0, 2f
1:      mv    s0, a0
        la    a0, msg_no_dom_exc
        call  print_str
        mv    a0, s0
        call  print_error_line
2:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void dom_exc_handler(u32 port, bounce_frame *frame): note it; kmain does the work.
dom_exc_handler:
        la    t1, dom_exc_seen
        li    t2, 1
        sw    t2, 0(t1)
        ret

# void list_domains(void): one line per domain from XEN_SYSCTL_getdomaininfolist.
list_domains:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        li    a0, XEN_SYSCTL_getdomaininfolist
        call  sysctl_prepare
        sw    zero, XEN_SYSCTL_U_GETDOMAININFOLIST_FIRST_DOMAIN(a0)
        li    t1, MAX_LISTED_DOMAINS
        sw    t1, XEN_SYSCTL_U_GETDOMAININFOLIST_MAX_DOMAINS(a0)
        la    t1, domaininfo_buf
        sw    t1, XEN_SYSCTL_U_GETDOMAININFOLIST_BUFFER(a0)
        call  HYPERVISOR_sysctl
        blt   a0, zero, 3f
        la    s0, domaininfo_buf
        la    t1, sysctl_buf
        lw    t1, XEN_SYSCTL_U_GETDOMAININFOLIST_NUM_DOMAINS(t1)
        li    t2, MAX_LISTED_DOMAINS
        bleu  t1, t2, 1f
        mv    t1, t2                  # never trust a count beyond our buffer
1:      li    t2, XEN_DOMCTL_GETDOMAININFO_SIZE
        mul   t1, t1, t2
        add   t1, t1, s0
        la    t2, domaininfo_end
        sw    t1, 0(t2)
2:      la    t2, domaininfo_end
        lw    t2, 0(t2)
        bgeu  s0, t2, 4f
        mv    a0, s0
        call  print_domain
        addi  s0, s0, XEN_DOMCTL_GETDOMAININFO_SIZE
        j     2b
3:      mv    s0, a0
        la    a0, msg_list_failed
        call  print_str
        mv    a0, s0
        call  print_error_line
4:      lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void print_domain(xen_domctl_getdomaininfo *info): "domain 3: shutdown (crash), 2048 pages".
print_domain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    s0, 0(sp)
        mv    s0, a0
        la    a0, msg_domain
        call  print_str
        lhu   a0, XEN_DOMCTL_GETDOMAININFO_DOMAIN(s0)
        call  print_dec
        li    a0, ':'
        call  print_char
        lw    a0, XEN_DOMCTL_GETDOMAININFO_FLAGS(s0)
        call  print_domain_flags
        li    a0, ','
        call  print_char
        li    a0, ' '
        call  print_char
        lw    a0, XEN_DOMCTL_GETDOMAININFO_TOT_PAGES(s0)
        lw    a1, XEN_DOMCTL_GETDOMAININFO_TOT_PAGES + 4(s0)
        call  print_u64
        la    a0, msg_pages
        call  print_line
        lw    s0, 0(sp)
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

# void print_domain_flags(u32 flags): " dying", " shutdown (crash)", " paused",
# " blocked", " running", each present flag once, in that order; " runnable" when none
# is set (ready to run but waiting for a CPU, xl's "-").
print_domain_flags:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    s0, 8(sp)
        sw    s1, 4(sp)
        mv    s0, a0
        li    t1, XEN_DOMINF_dying | XEN_DOMINF_shutdown | XEN_DOMINF_paused | XEN_DOMINF_blocked | XEN_DOMINF_running
        and   t1, t1, s0
        bnez  t1, 4f
        la    a0, name_runnable
        call  print_str
        j     3f
4:      la    s1, flag_names
1:      lw    t1, 0(s1)               # {bit, name} pairs, ending with bit 0
        beqz  t1, 3f
        and   t1, t1, s0
        beqz  t1, 2f
        lw    a0, 4(s1)
        call  print_str
        lw    t1, 0(s1)
        li    t2, XEN_DOMINF_shutdown
        bne   t1, t2, 2f
        srli  a0, s0, XEN_DOMINF_shutdownshift
        andi  a0, a0, XEN_DOMINF_shutdownmask
        call  print_shutdown_reason
2:      addi  s1, s1, 8
        j     1b
3:      lw    s1, 4(sp)
        lw    s0, 8(sp)
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret

# void print_shutdown_reason(u32 reason): " (crash)", or " (reason N)" if unknown.
print_shutdown_reason:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        sw    a0, 0(sp)
        la    a0, msg_open
        call  print_str
        lw    a0, 0(sp)
        li    t1, SHUTDOWN_MAX
        bgtu  a0, t1, 1f
        slli  a0, a0, 2
        la    t1, reason_names
        add   t1, t1, a0
        lw    a0, 0(t1)
        call  print_str
        j     2f
1:      la    a0, msg_reason
        call  print_str
        lw    a0, 0(sp)
        call  print_dec
2:      li    a0, ')'
        call  print_char
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret

        .rodata
msg_banner:       .asciz "paravisor dom0: hypervisor version "
msg_memory:       .asciz "memory: "
msg_pages_total:  .asciz " pages total ("
msg_mib:          .asciz " MiB), "
msg_pages_free:   .asciz " pages free"
msg_unavailable:  .asciz "unavailable (error "
msg_no_dom_exc:   .asciz "dom0: cannot watch domains: "
msg_list_failed:  .asciz "dom0: cannot list domains: "
msg_domain:       .asciz "domain "
msg_pages:        .asciz " pages"
msg_open:         .asciz " ("
msg_reason:       .asciz "reason "
name_dying:       .asciz " dying"
name_shutdown:    .asciz " shutdown"
name_paused:      .asciz " paused"
name_blocked:     .asciz " blocked"
name_running:     .asciz " running"
name_runnable:    .asciz " runnable"
reason_poweroff:  .asciz "poweroff"
reason_reboot:    .asciz "reboot"
reason_suspend:   .asciz "suspend"
reason_crash:     .asciz "crash"
reason_watchdog:  .asciz "watchdog"
reason_soft_reset: .asciz "soft_reset"

        .balign 4
flag_names:
        .word XEN_DOMINF_dying, name_dying
        .word XEN_DOMINF_shutdown, name_shutdown
        .word XEN_DOMINF_paused, name_paused
        .word XEN_DOMINF_blocked, name_blocked
        .word XEN_DOMINF_running, name_running
        .word 0, 0
reason_names:                         # indexed by SHUTDOWN_* (0..SHUTDOWN_MAX)
        .word reason_poweroff, reason_reboot, reason_suspend, reason_crash
        .word reason_watchdog, reason_soft_reset

        .data
        .balign 4
dom_exc_seen:     .word 0             # set by the VIRQ_DOM_EXC handler
domaininfo_end:   .word 0

        .bss
        .balign 8
sysctl_buf:       .space XEN_SYSCTL_SIZE
        .balign 8
domaininfo_buf:   .space XEN_DOMCTL_GETDOMAININFO_SIZE * MAX_LISTED_DOMAINS

        .elfnote "Xen", XEN_ELFNOTE_GUEST_OS, "dom0"
