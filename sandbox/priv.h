/*
 * priv: what a sandboxed process gives up before it runs a step: its
 * capabilities, the right to gain new privileges, dangerous system calls
 * (a seccomp filter), and unbounded resources (rlimits).
 *
 * Threat model: the step's code is hostile. These calls run in the
 * sandbox's init process after the namespaces and mounts are set up and
 * before any step starts, so every step inherits them; none can be undone
 * from inside (no_new_privs and seccomp filters are one-way, an empty
 * bounding set cannot be refilled). All functions are for a process that
 * has just been created for the purpose: they change it for good.
 */
#ifndef GANTRY_PRIV_H
#define GANTRY_PRIV_H

#include "../lib/err.h"

struct sbx_limits {
	long long memory_bytes;	/* cgroup memory limit; 0: none */
	long pids_max;		/* cgroup pids limit; 0: none */
	double cpus;		/* cgroup CPU quota in CPUs; 0: none */
	long nofile;		/* RLIMIT_NOFILE; 0: leave */
	long nproc;		/* RLIMIT_NPROC; 0: leave */
	long long fsize_bytes;	/* RLIMIT_FSIZE; 0: leave */
};

/* The defaults for a CI step: 4 GiB of memory, 4096 processes, no CPU
 * quota, 65536 open files, 256 GiB files, the process rlimit left as it
 * is; priv.c says why. */
void sbx_limits_default(struct sbx_limits *l);

/* RLIMIT_CORE 0 and the rlimits set in l (soft and hard). */
int sbx_apply_rlimits(const struct sbx_limits *l, struct err *e);

/* no_new_privs, then every capability dropped: bounding set, ambient,
 * inheritable, permitted, effective; securebits locked so that uid 0
 * regains nothing by exec. */
int sbx_drop_privileges(struct err *e);

/*
 * The seccomp filter (libseccomp): allow by default, and fail with EPERM
 * (not a kill, so builds print a clear error): ptrace, process_vm_readv,
 * process_vm_writev, kexec_load, kexec_file_load, init_module,
 * finit_module, delete_module, mount, umount2, pivot_root, chroot,
 * move_mount, open_tree, fsopen, fsmount, fsconfig, fspick, mount_setattr,
 * unshare, setns, keyctl, add_key, request_key, bpf, perf_event_open,
 * userfaultfd, reboot, swapon, swapoff, acct, settimeofday, clock_settime,
 * clock_adjtime, adjtimex, sethostname, setdomainname, iopl, ioperm,
 * lookup_dcookie, name_to_handle_at, open_by_handle_at, quotactl,
 * nfsservctl, vhangup, syslog, io_uring_setup, io_uring_enter,
 * io_uring_register, personality (beyond the default), and clone
 * with any CLONE_NEW* flag; clone3 fails with ENOSYS so that libc falls
 * back to clone, whose flags the filter can see. Needs no_new_privs (or
 * CAP_SYS_ADMIN) first.
 */
int sbx_seccomp_apply(struct err *e);

#endif
