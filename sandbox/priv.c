/*
 * priv: a sandboxed process gives up its privileges, dangerous system calls
 * and unbounded resources (see priv.h).
 *
 * Threat model: everything that runs after these calls is hostile: it may
 * be root inside the sandbox, call any system call with any arguments, in
 * any ABI the kernel offers (x86_64, i386 through int 0x80, x32), and exec
 * any setuid binary it finds. What it must not do is regain a capability,
 * reach kernel interfaces a build never needs (ptrace, mounts, namespaces,
 * keyrings, bpf, modules, the clock, the hostname), or use resources
 * without bound. The kernel itself is trusted: a kernel bug is out of
 * scope. These functions run in the sandbox's freshly exec'd,
 * single-threaded init process; ordinary library calls are fine there.
 *
 * Order for callers: sbx_apply_rlimits, sbx_drop_privileges (which sets
 * no_new_privs), then sbx_seccomp_apply (which needs no_new_privs, and
 * denies calls the earlier steps still use).
 */
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <seccomp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* The highest capability number we probe when cap_last_cap is unreadable;
 * the kernel has 41 today (0..40), the capability sets hold 64. */
#define CAP_PROBE_MAX 63

void sbx_limits_default(struct sbx_limits *l)
{
	struct rlimit cur;

	memset(l, 0, sizeof(*l));
	/*
	 * 4 GiB of memory: enough for a compiler or linker of a large
	 * project running a few jobs in parallel, small enough that a
	 * runaway test cannot push the build machine into swap or wake the
	 * host's OOM killer. A workflow that needs more says so.
	 */
	l->memory_bytes = 4LL << 30;
	/*
	 * 4096 processes and threads: a parallel make, a test runner with a
	 * worker per CPU and a JVM or two fit easily; a fork bomb stops
	 * there, far below the host's pid_max.
	 */
	l->pids_max = 4096;
	/*
	 * No CPU quota: a runner usually runs one job per machine and a
	 * quota only makes that job slower. Sharing between concurrent jobs
	 * is the scheduler's (cgroup weights'), not a hard cap's.
	 */
	l->cpus = 0;
	/*
	 * 65536 open files: what build tools (bundlers, watchers, linkers of
	 * many objects) ask for, and a bound on a descriptor leak. Never
	 * above the current hard limit, which an unprivileged process
	 * cannot raise.
	 */
	l->nofile = 65536;
	if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
	    cur.rlim_max < (rlim_t)l->nofile)
		l->nofile = (long)cur.rlim_max;
	/*
	 * RLIMIT_NPROC left alone: it counts every process of the real uid
	 * (in its user namespace), not of the job: the runner's own
	 * processes and other jobs' count too when gantry runs as an
	 * ordinary user, and for real root the kernel does not enforce it
	 * at all. The cgroup pids limit above is the real bound; where no
	 * cgroup is available the job sandbox sets nproc as a fallback
	 * (sandbox/job.c).
	 */
	l->nproc = 0;
	/*
	 * RLIMIT_FSIZE 256 GiB: builds legitimately write large files
	 * (images, archives, debug info), far below this; a runaway writer
	 * stops here with SIGXFSZ instead of filling the disk with one file.
	 */
	l->fsize_bytes = 256LL << 30;
}

/* setrlimit(res) with soft = hard = v; name is for the message. */
static int set_limit(int res, const char *name, long long v, struct err *e)
{
	struct rlimit rl;

	if (v < 0)
		return err_set(e, ERR_INVALID, "%s limit %lld is negative", name, v);
	rl.rlim_cur = (rlim_t)v;
	rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) < 0)
		return err_sys(e, ERR_SANDBOX, "setrlimit %s to %lld", name, v);
	return 0;
}

int sbx_apply_rlimits(const struct sbx_limits *l, struct err *e)
{
	/* No core dumps, ever: a core holds the step's secrets in memory. */
	if (set_limit(RLIMIT_CORE, "CORE", 0, e) < 0)
		return -1;
	if (l->nofile && set_limit(RLIMIT_NOFILE, "NOFILE", l->nofile, e) < 0)
		return -1;
	if (l->nproc && set_limit(RLIMIT_NPROC, "NPROC", l->nproc, e) < 0)
		return -1;
	if (l->fsize_bytes &&
	    set_limit(RLIMIT_FSIZE, "FSIZE", l->fsize_bytes, e) < 0)
		return -1;
	return 0;
}

/* The highest capability the kernel knows, from /proc, else by probing
 * the bounding set (PR_CAPBSET_READ fails with EINVAL past the last). */
static int cap_last(void)
{
	char text[32];
	ssize_t n;
	long v;
	int fd, cap;

	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n > 0) {
			text[n] = '\0';
			if (text[n - 1] == '\n')
				text[n - 1] = '\0';
			if (str_to_long(text, &v) == 0 && v >= 0 &&
			    v <= CAP_PROBE_MAX)
				return (int)v;
		}
	}
	for (cap = 0; cap <= CAP_PROBE_MAX; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
	return cap - 1;
}

int sbx_drop_privileges(struct err *e)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int cap, last, rc;

	/* One-way: no exec (setuid, file capabilities) can add privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, ERR_SANDBOX, "prctl NO_NEW_PRIVS");

	/*
	 * The bounding set first: dropping from it needs CAP_SETPCAP in the
	 * effective set, which the capset below takes away. An empty
	 * bounding set cannot be refilled, and exec never grants a
	 * capability outside it, whatever the file says.
	 */
	last = cap_last();
	for (cap = 0; cap <= last; cap++) {
		rc = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (rc < 0 && errno == EINVAL)
			break;	/* past the kernel's last capability */
		if (rc == 0)
			continue;	/* already gone */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return err_sys(e, ERR_SANDBOX,
				       "dropping capability %d from the bounding set",
				       cap);
	}

	/* Ambient capabilities survive exec of unprivileged files; none. EINVAL
	 * means a kernel before 4.3, which has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return err_sys(e, ERR_SANDBOX, "clearing the ambient capabilities");

	/*
	 * Securebits, locked: uid 0 gets no capabilities from exec (NOROOT),
	 * uid changes do not touch the capability sets (NO_SETUID_FIXUP),
	 * keep-caps stays off, and no ambient raise (already impossible with
	 * empty sets; locked for good measure). Setting them needs
	 * CAP_SETPCAP: without it (an unprivileged gantry outside a user
	 * namespace) we go on, since the bounding set, empty capability sets
	 * and no_new_privs already keep a later exec from gaining anything.
	 */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		  SECBIT_KEEP_CAPS_LOCKED |
		  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0 && errno != EPERM)
		return err_sys(e, ERR_SANDBOX, "setting securebits");

	/* Last: effective, permitted and inheritable all empty. The raw call,
	 * so that gantry does not depend on libcap for one system call. */
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_sys(e, ERR_SANDBOX, "capset to empty sets");

	/* Trust, but verify: a kernel that silently kept something is a
	 * sandbox that fails open. */
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return err_sys(e, ERR_SANDBOX, "capget after dropping");
	if (data[0].effective || data[1].effective || data[0].permitted ||
	    data[1].permitted || data[0].inheritable || data[1].inheritable)
		return err_set(e, ERR_SANDBOX,
			       "capabilities still set after dropping them all");
	return 0;
}

/*
 * Denied with EPERM. Names libseccomp does not know for an architecture
 * are skipped (a name unknown everywhere, such as a call newer than the
 * installed libseccomp, is skipped with a debug message): the list may
 * name calls ahead of the library. "umount" is the old i386 call that
 * umount2 replaced; "vm86"/"vm86old" are i386 only.
 */
static const char *const denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev",
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"mount", "umount", "umount2", "pivot_root", "chroot",
	"move_mount", "open_tree", "open_tree_attr", "fsopen", "fsmount",
	"fsconfig", "fspick", "mount_setattr",
	"unshare", "setns",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname",
	"iopl", "ioperm", "vm86", "vm86old",
	"lookup_dcookie", "name_to_handle_at", "open_by_handle_at",
	"quotactl", "nfsservctl", "vhangup", "syslog",
	/* io_uring: a large kernel surface that builds do not need; denied
	 * as container runtimes deny it by default */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* reaching into other processes of the same uid (the init) */
	"pidfd_getfd", "process_madvise", "kcmp",
};

/* Every namespace flag; clone with any of them fails. CLONE_NEWTIME
 * (0x80) shares clone's low byte with the exit signal, where a valid
 * signal (at most 64) never sets it, so denying it costs nothing. */
static const uint64_t clone_new_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

/*
 * personality: allowed are the query (0xffffffff) and any combination of
 * PER_LINUX (0), PER_LINUX32 (0x8, for 32-bit builds under linux32),
 * UNAME26 (0x20000) and ADDR_NO_RANDOMIZE (0x40000, which setarch -R and
 * sanitizer runtimes use). Denied: every other flag, among them
 * READ_IMPLIES_EXEC and MMAP_PAGE_ZERO, and the other personas.
 *
 * libseccomp takes one comparison per argument in a rule, so "not one of
 * these" is spelt as rules of one masked compare each, over the 32 bits
 * the kernel reads (high bits of the register are ignored, as the kernel
 * ignores them). Call the 29 bits outside the allowed flags "bad" and
 * order them in a ring, next(b) being the next bad bit; next of an
 * allowed bit is bit 31. One rule per bit c, 32 in all:
 *	deny if bit c is clear and bit next(c) is set
 * A denied value has a bad bit set and (not being the query) a bit clear.
 * If some bad bit is clear, walking the ring from it reaches a set one:
 * that step's rule matches. If every bad bit is set, the clear bit is an
 * allowed one, whose next (bit 31) is set. An allowed value matches none:
 * the query has no clear bit, the others no bad bit set.
 */
#define PERSONA_OK ((uint64_t)(PER_LINUX32 | UNAME26 | ADDR_NO_RANDOMIZE))

/* The ABIs the kernel runs beside the native one: a filter must cover
 * them too, or a 32-bit call (int 0x80, x32) walks around it. An arch the
 * filter does not list is killed by libseccomp's bad-arch action. */
struct extra_arches {
	uint32_t native;
	uint32_t extra[2];	/* 0 ends */
};

static const struct extra_arches extra_arches[] = {
	{ SCMP_ARCH_X86_64, { SCMP_ARCH_X86, SCMP_ARCH_X32 } },
	{ SCMP_ARCH_AARCH64, { SCMP_ARCH_ARM, 0 } },
};

static int scmp_fail(struct err *e, int rc, const char *what)
{
	errno = rc < 0 ? -rc : EINVAL;
	return err_sys(e, ERR_SANDBOX, "seccomp: %s", what);
}

static int add_arches(scmp_filter_ctx ctx, struct err *e)
{
	uint32_t native = seccomp_arch_native();
	size_t i, j;
	int rc;

	for (i = 0; i < ARRAY_SIZE(extra_arches); i++) {
		if (extra_arches[i].native != native)
			continue;
		for (j = 0; j < ARRAY_SIZE(extra_arches[i].extra); j++) {
			uint32_t a = extra_arches[i].extra[j];

			if (!a)
				break;
			rc = seccomp_arch_add(ctx, a);
			if (rc < 0 && rc != -EEXIST)
				return scmp_fail(e, rc, "adding a compat architecture");
		}
	}
	return 0;
}

static int add_denied(scmp_filter_ctx ctx, int *nrules, struct err *e)
{
	char what[96];
	size_t i;
	int nr, rc;

	for (i = 0; i < ARRAY_SIZE(denied); i++) {
		nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR) {
			log_debug("seccomp: %s unknown to libseccomp, skipped",
				  denied[i]);
			continue;
		}
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0) {
			snprintf(what, sizeof(what), "rule for %s", denied[i]);
			return scmp_fail(e, rc, what);
		}
		(*nrules)++;
	}
	return 0;
}

static int add_clone(scmp_filter_ctx ctx, int *nrules, struct err *e)
{
	uint32_t native = seccomp_arch_native();
	/* clone's flags are argument 0 on x86_64, i386, x32, arm and
	 * aarch64; s390 swaps the first two arguments. */
	unsigned int arg = (native == SCMP_ARCH_S390X ||
			    native == SCMP_ARCH_S390) ? 1 : 0;
	size_t i;
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0)
		return scmp_fail(e, rc, "rule for clone3");
	(*nrules)++;
	for (i = 0; i < ARRAY_SIZE(clone_new_flags); i++) {
		uint64_t f = clone_new_flags[i];

		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, f, f));
		if (rc < 0)
			return scmp_fail(e, rc, "rule for clone flags");
		(*nrules)++;
	}
	return 0;
}

static int add_personality(scmp_filter_ctx ctx, int *nrules, struct err *e)
{
	int next[32];
	int b, first = -1, prev = -1, rc;
	uint64_t c_bit, n_bit;

	for (b = 0; b < 32; b++) {
		next[b] = 31;
		if (PERSONA_OK & ((uint64_t)1 << b))
			continue;
		if (prev >= 0)
			next[prev] = b;
		else
			first = b;
		prev = b;
	}
	next[prev] = first;	/* close the ring of bad bits */
	for (b = 0; b < 32; b++) {
		c_bit = (uint64_t)1 << b;
		n_bit = (uint64_t)1 << next[b];
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				      SCMP_SYS(personality), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, c_bit | n_bit, n_bit));
		if (rc < 0)
			return scmp_fail(e, rc, "rule for personality");
		(*nrules)++;
	}
	return 0;
}

int sbx_seccomp_apply(struct err *e)
{
	scmp_filter_ctx ctx;
	long long t0 = time_mono_ns();
	int nrules = 0, rc, ret = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return err_set(e, ERR_SANDBOX, "seccomp: seccomp_init failed");
	/* Real errno values from seccomp_load (libseccomp >= 2.5), and a
	 * binary search over syscall numbers instead of a linear chain, so
	 * an allowed call pays a few comparisons, not one per rule. Both are
	 * optional: an older library builds a slower, equally strict
	 * filter. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	if (add_arches(ctx, e) < 0 || add_denied(ctx, &nrules, e) < 0 ||
	    add_clone(ctx, &nrules, e) < 0 ||
	    add_personality(ctx, &nrules, e) < 0)
		goto done;
	rc = seccomp_load(ctx);
	if (rc < 0) {
		scmp_fail(e, rc, "loading the filter (is no_new_privs set?)");
		goto done;
	}
	log_debug("seccomp: %d rules built and loaded in %lld us", nrules,
		  (time_mono_ns() - t0) / 1000);
	ret = 0;
done:
	seccomp_release(ctx);
	return ret;
}
