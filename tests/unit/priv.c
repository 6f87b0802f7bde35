/*
 * Unit tests for sandbox/priv.c: rlimits, dropping privileges, the seccomp
 * filter.
 *
 * Every function under test changes its process for good, so each test
 * forks a child that applies it and checks the result; the child reports
 * through its exit status and a message on a pipe (never through cmocka,
 * whose state belongs to the parent), and ends with _exit() so that no
 * atexit handler or LeakSanitizer (which uses ptrace) runs under the
 * filter. The last test checks the parent is unchanged.
 *
 * Tests that need root (or a user namespace) skip otherwise. Anything that
 * would change the host if the sandbox failed (mount, sethostname) runs in
 * a private mount or UTS namespace first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sandbox/priv.h"

extern char **environ;

#define CHILD_SKIP 77
#define MSG_MAX 512

/* ---- the child side: checks that report and exit ---- */

static int report_fd = -1;

static _Noreturn void child_exit(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void child_exit(int status, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(msg) - 1)
		n = (int)sizeof(msg) - 1;
	if (n > 0 && report_fd >= 0 && write(report_fd, msg, (size_t)n) < 0)
		status = 2;
	_exit(status);
}

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			int e_ = errno; \
			child_exit(1, "line %d: %s (errno %d: %s)", __LINE__, #cond, \
				   e_, strerror(e_)); \
		} \
	} while (0)

/* call must fail with exactly errno want */
#define CHECK_FAILS(call, want) \
	do { \
		long r_; \
		errno = 0; \
		r_ = (long)(call); \
		if (r_ != -1 || errno != (want)) { \
			int e_ = errno; \
			child_exit(1, "line %d: %s returned %ld errno %d (%s), " \
				   "wanted -1 errno %d", __LINE__, #call, r_, e_, \
				   strerror(e_), (want)); \
		} \
	} while (0)

#define CHECK_OK(call) \
	do { \
		struct err e_ = ERR_INIT; \
		if ((call) < 0) \
			child_exit(1, "line %d: %s: %s", __LINE__, #call, e_.msg); \
	} while (0)

/* Run fn in a child. Returns its wait status; its message (if any) in msg. */
static int run_child(void (*fn)(void), char *msg, size_t msgsz)
{
	int fds[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		report_fd = fds[1];
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (got < msgsz - 1) {
		n = read(fds[0], msg + got, msgsz - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Run fn in a child, fail the test unless it exits 0 (skip on 77). */
static void expect_child(void (*fn)(void))
{
	char msg[MSG_MAX];
	int st = run_child(fn, msg, sizeof(msg));

	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_SKIP) {
		print_message("skipped: %s\n", msg);
		skip();
	}
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d %s", WTERMSIG(st), msg);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child failed: %s", msg[0] ? msg : "(no message)");
	if (msg[0])
		print_message("%s\n", msg);
}

/* A field of /proc/self/status, parsed as hexadecimal (Cap*) or decimal. */
static unsigned long long status_field(const char *name, int base)
{
	char line[256];
	size_t len = strlen(name);
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");
	int i;

	if (!f)
		return v;
	for (i = 0; i < 200 && fgets(line, sizeof(line), f); i++) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtoull(line + len + 1, NULL, base);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Capabilities to drop: root, or a user namespace of our own. */
static void need_caps(void)
{
	if (geteuid() != 0 && unshare(CLONE_NEWUSER) < 0)
		child_exit(CHILD_SKIP, "needs root or user namespaces");
}

static void need_root(void)
{
	if (geteuid() != 0)
		child_exit(CHILD_SKIP, "needs root");
}

/* A private mount namespace, so that a mount that wrongly succeeds stays
 * in this child. */
static void private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_exit(CHILD_SKIP, "cannot make a private mount namespace");
}

/* A test that runs child_<name> in a child. */
#define CHILD_TEST(name) \
	static void test_priv_##name(void **state) \
	{ \
		(void)state; \
		expect_child(child_##name); \
	}

static void drop_and_filter(void)
{
	need_caps();
	CHECK_OK(sbx_drop_privileges(&e_));
	CHECK_OK(sbx_seccomp_apply(&e_));
}

/* ---- rlimits ---- */

static void test_priv_limits_default(void **state)
{
	struct sbx_limits l;
	struct rlimit rl;
	long want = 65536;

	(void)state;
	memset(&l, 0xff, sizeof(l));
	sbx_limits_default(&l);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want)
		want = (long)rl.rlim_max;
	assert_true(l.memory_bytes == 4LL << 30);
	assert_int_equal(l.pids_max, 4096);
	assert_true(l.cpus == 0);
	assert_int_equal(l.nofile, want);
	assert_int_equal(l.nproc, 0);
	assert_true(l.fsize_bytes == 256LL << 30);
}

static void child_rlimits_apply(void)
{
	struct sbx_limits l;
	struct rlimit rl;
	long nproc = 5000;

	/* below the hard limits: raising one needs CAP_SYS_RESOURCE */
	CHECK(getrlimit(RLIMIT_NPROC, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)nproc)
		nproc = (long)rl.rlim_max;
	memset(&l, 0, sizeof(l));
	l.nofile = 1024;
	l.nproc = nproc;
	l.fsize_bytes = 1LL << 30;
	CHECK_OK(sbx_apply_rlimits(&l, &e_));
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
	CHECK(rl.rlim_cur == 0 && rl.rlim_max == 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(rl.rlim_cur == 1024 && rl.rlim_max == 1024);
	CHECK(getrlimit(RLIMIT_NPROC, &rl) == 0);
	CHECK(rl.rlim_cur == (rlim_t)nproc && rl.rlim_max == (rlim_t)nproc);
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	CHECK(rl.rlim_cur == 1ULL << 30 && rl.rlim_max == 1ULL << 30);
}

CHILD_TEST(rlimits_apply)

static void child_rlimits_zero_leaves(void)
{
	struct sbx_limits l;
	struct rlimit before[3], after;
	static const int res[3] = { RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_FSIZE };
	int i;

	for (i = 0; i < 3; i++)
		CHECK(getrlimit(res[i], &before[i]) == 0);
	sbx_limits_default(&l);
	l.nofile = 0;
	l.fsize_bytes = 0;
	CHECK_OK(sbx_apply_rlimits(&l, &e_));
	for (i = 0; i < 3; i++) {
		CHECK(getrlimit(res[i], &after) == 0);
		CHECK(after.rlim_cur == before[i].rlim_cur &&
		      after.rlim_max == before[i].rlim_max);
	}
	CHECK(getrlimit(RLIMIT_CORE, &after) == 0);
	CHECK(after.rlim_cur == 0 && after.rlim_max == 0);
}

CHILD_TEST(rlimits_zero_leaves)

static void child_rlimits_errors(void)
{
	struct sbx_limits l;
	struct err e = ERR_INIT;

	/* above fs.nr_open (1048576 by default): refused even to root */
	memset(&l, 0, sizeof(l));
	l.nofile = 1L << 30;
	CHECK(sbx_apply_rlimits(&l, &e) == -1);
	if (strcmp(e.msg, "setrlimit NOFILE to 1073741824: Operation not permitted"))
		child_exit(1, "message: %s", e.msg);
	CHECK(e.code == ERR_SANDBOX && e.sys_errno == EPERM);

	err_clear(&e);
	memset(&l, 0, sizeof(l));
	l.nproc = -5;
	CHECK(sbx_apply_rlimits(&l, &e) == -1);
	CHECK(e.code == ERR_INVALID);
	if (strcmp(e.msg, "NPROC limit -5 is negative"))
		child_exit(1, "message: %s", e.msg);
}

CHILD_TEST(rlimits_errors)

/* ---- dropping privileges ---- */

static void child_drop_status(void)
{
	need_caps();
	CHECK(status_field("NoNewPrivs", 10) == 0);
	CHECK_OK(sbx_drop_privileges(&e_));
	CHECK(status_field("CapInh", 16) == 0);
	CHECK(status_field("CapPrm", 16) == 0);
	CHECK(status_field("CapEff", 16) == 0);
	CHECK(status_field("CapBnd", 16) == 0);
	CHECK(status_field("CapAmb", 16) == 0);
	CHECK(status_field("NoNewPrivs", 10) == 1);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
}

CHILD_TEST(drop_status)

static void child_drop_securebits(void)
{
	int want = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
	int bits, cap;

	need_caps();
	CHECK_OK(sbx_drop_privileges(&e_));
	bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	CHECK(bits >= 0 && (bits & want) == want);
	CHECK(!(bits & SECBIT_KEEP_CAPS));
	/* locked, and we lack CAP_SETPCAP anyway */
	CHECK_FAILS(prctl(PR_SET_SECUREBITS, 0, 0, 0, 0), EPERM);
	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0)
			break;
	CHECK(cap < 64 && errno == EINVAL);	/* none left, up to the last */
	/* nothing can be raised into the ambient set */
	CHECK_FAILS(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0, 0, 0), EPERM);
}

CHILD_TEST(drop_securebits)

/* All uids 0: without CAP_SETUID root cannot become anyone else. */
static void child_drop_setuid_root(void)
{
	need_root();
	CHECK_OK(sbx_drop_privileges(&e_));
	CHECK(setuid(0) == 0);	/* a no-op: already 0 */
	CHECK_FAILS(setuid(65534), EPERM);
	CHECK_FAILS(setresuid(65534, 65534, 65534), EPERM);
	CHECK(getuid() == 0 && geteuid() == 0);
	CHECK_FAILS(setgroups(0, NULL), EPERM);
	CHECK_FAILS(chown("/tmp", 12345, 12345), EPERM);
}

/* Real uid 65534, effective and saved 0: moving back to uid 0 works, and
 * gains nothing (NO_SETUID_FIXUP, empty permitted set). */
static void child_drop_setuid_saved(void)
{
	uid_t r, e, s;

	need_root();
	CHECK(setresuid(65534, 0, 0) == 0);
	CHECK_OK(sbx_drop_privileges(&e_));
	CHECK(seteuid(65534) == 0);
	CHECK(getresuid(&r, &e, &s) == 0 && e == 65534 && s == 0);
	CHECK(seteuid(0) == 0);	/* back to uid 0 through the saved uid */
	CHECK(getresuid(&r, &e, &s) == 0 && e == 0);
	CHECK(status_field("CapEff", 16) == 0);
	CHECK(status_field("CapPrm", 16) == 0);
	CHECK_FAILS(setuid(12345), EPERM);
	CHECK_FAILS(chown("/tmp", 12345, 12345), EPERM);
}

static void test_priv_drop_setuid(void **state)
{
	(void)state;
	expect_child(child_drop_setuid_root);
	expect_child(child_drop_setuid_saved);
}

static void child_drop_mount(void)
{
	char dir[] = "/tmp/gantry-priv-XXXXXX";

	need_root();
	private_mounts();
	CHECK(mkdtemp(dir) != NULL);
	CHECK_OK(sbx_drop_privileges(&e_));
	CHECK_FAILS(mount("none", dir, "tmpfs", 0, NULL), EPERM);
	CHECK_FAILS(sethostname("x", 1), EPERM);
	CHECK(open("/proc/1/mem", O_RDONLY | O_CLOEXEC) < 0);
	rmdir(dir);
}

CHILD_TEST(drop_mount)

/* After the drop, even an exec as uid 0 gains nothing (NOROOT, empty
 * bounding set): the new program's CapEff is 0. */
static void child_drop_exec(void)
{
	char *argv[] = { "/bin/grep", "-q", "^CapEff:[[:space:]]*0*$",
			 "/proc/self/status", NULL };
	int st;
	pid_t pid;

	need_root();
	CHECK_OK(sbx_drop_privileges(&e_));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

CHILD_TEST(drop_exec)

/* ---- the seccomp filter ---- */

static void child_seccomp_ptrace(void)
{
	drop_and_filter();
	CHECK(status_field("Seccomp", 10) == 2);
	CHECK_FAILS(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
	CHECK_FAILS(syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0),
		    EPERM);
	CHECK_FAILS(syscall(SYS_process_vm_writev, getppid(), NULL, 0, NULL, 0, 0),
		    EPERM);
}

CHILD_TEST(seccomp_ptrace)

static void child_seccomp_namespaces(void)
{
	static const int flags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
				     CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC,
				     CLONE_NEWCGROUP };
	size_t i;
	long r;

	drop_and_filter();
	CHECK_FAILS(unshare(CLONE_NEWUSER), EPERM);
	CHECK_FAILS(unshare(CLONE_NEWNS), EPERM);
	CHECK_FAILS(setns(0, 0), EPERM);
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		/* a raw clone, fork-like: if it wrongly works, the copy leaves */
		errno = 0;
		r = syscall(SYS_clone, (long)flags[i] | SIGCHLD, 0L, NULL, NULL, 0L);
		if (r == 0)
			_exit(0);
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		CHECK(r == -1 && errno == EPERM);
	}
}

CHILD_TEST(seccomp_namespaces)

/* The filter alone, with every capability still held: mount and friends
 * fail because of the filter, not for lack of CAP_SYS_ADMIN. */
static void child_seccomp_mount_with_caps(void)
{
	char dir[] = "/tmp/gantry-priv-XXXXXX";

	need_root();
	private_mounts();
	CHECK(mkdtemp(dir) != NULL);
	CHECK(unshare(CLONE_NEWUTS) == 0);
	CHECK_OK(sbx_seccomp_apply(&e_));
	CHECK(status_field("CapEff", 16) != 0);
	CHECK_FAILS(mount("none", dir, "tmpfs", 0, NULL), EPERM);
	CHECK_FAILS(umount2("/proc", MNT_DETACH), EPERM);
	CHECK_FAILS(syscall(SYS_pivot_root, "/", "/"), EPERM);
	CHECK_FAILS(chroot(dir), EPERM);
	CHECK_FAILS(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
	CHECK_FAILS(syscall(SYS_open_tree, -1, "/", 0), EPERM);
	CHECK_FAILS(sethostname("evil", 4), EPERM);
	CHECK_FAILS(setdomainname("evil", 4), EPERM);
	CHECK_FAILS(syscall(SYS_init_module, NULL, 0, ""), EPERM);
	CHECK_FAILS(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
	CHECK_FAILS(syscall(SYS_swapoff, "/nonexistent"), EPERM);
	CHECK_FAILS(syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EPERM);
	CHECK_FAILS(syscall(SYS_settimeofday, NULL, NULL), EPERM);
	rmdir(dir);
}

CHILD_TEST(seccomp_mount_with_caps)

static void child_seccomp_kernel_apis(void)
{
	drop_and_filter();
	CHECK_FAILS(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
			    -3 /* KEY_SPEC_SESSION_KEYRING */, 0), EPERM);
	CHECK_FAILS(syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM);
	CHECK_FAILS(syscall(SYS_request_key, "user", "k", NULL, 0), EPERM);
	CHECK_FAILS(syscall(SYS_bpf, 0, NULL, 0), EPERM);
	CHECK_FAILS(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
	CHECK_FAILS(syscall(SYS_userfaultfd, 0), EPERM);
	CHECK_FAILS(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0),
		    EPERM);
	CHECK_FAILS(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0),
		    EPERM);
}

CHILD_TEST(seccomp_kernel_apis)

static void child_seccomp_clone3(void)
{
	drop_and_filter();
	/* ENOSYS, whatever the arguments: libc then falls back to clone */
	CHECK_FAILS(syscall(SYS_clone3, NULL, 0), ENOSYS);
}

CHILD_TEST(seccomp_clone3)

static void *thread_main(void *arg)
{
	return arg;
}

/* What a build does must still work: fork, threads, exec, posix_spawn. */
static void child_seccomp_still_works(void)
{
	char *argv[] = { "/bin/true", NULL };
	pthread_t t;
	void *ret = NULL;
	int st, x = 7;
	pid_t pid;

	drop_and_filter();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* glibc tries clone3 first; on ENOSYS it uses clone */
	CHECK(pthread_create(&t, NULL, thread_main, &x) == 0);
	CHECK(pthread_join(t, &ret) == 0);
	CHECK(ret == &x);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	CHECK(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	CHECK(getrlimit(RLIMIT_NOFILE, &(struct rlimit){ 0, 0 }) == 0);
}

CHILD_TEST(seccomp_still_works)

static void child_seccomp_personality(void)
{
	const unsigned long ok = PER_LINUX32 | UNAME26 | ADDR_NO_RANDOMIZE;
	unsigned long bit;
	long cur;
	int b;

	drop_and_filter();
	cur = syscall(SYS_personality, 0xffffffffUL);
	CHECK(cur >= 0);
	CHECK(syscall(SYS_personality, (unsigned long)PER_LINUX32) >= 0);
	CHECK(syscall(SYS_personality, 0xffffffffUL) == PER_LINUX32);
	CHECK(syscall(SYS_personality,
		      (unsigned long)(PER_LINUX32 | ADDR_NO_RANDOMIZE | UNAME26)) >= 0);
	CHECK(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE) >= 0);
	CHECK(syscall(SYS_personality, 0UL) >= 0);
	CHECK(syscall(SYS_personality, 0xffffffffUL) == 0);
	CHECK_FAILS(syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC), EPERM);
	CHECK_FAILS(syscall(SYS_personality, (unsigned long)MMAP_PAGE_ZERO), EPERM);
	CHECK_FAILS(syscall(SYS_personality, (unsigned long)PER_BSD), EPERM);
	CHECK_FAILS(syscall(SYS_personality, 0x80000000UL), EPERM);
	CHECK_FAILS(syscall(SYS_personality, 0xfffffffeUL), EPERM);
	CHECK_FAILS(syscall(SYS_personality, 0x7fffffffUL), EPERM);
	/* the kernel reads 32 bits: high bits do not hide a flag */
	CHECK_FAILS(syscall(SYS_personality,
			    0x100000000UL | (unsigned long)READ_IMPLIES_EXEC), EPERM);
	/* every single flag outside the allowed ones; the query with any one
	 * bit cleared */
	for (b = 0; b < 32; b++) {
		bit = 1UL << b;
		if (!(bit & ok))
			CHECK_FAILS(syscall(SYS_personality, bit), EPERM);
		CHECK_FAILS(syscall(SYS_personality, 0xffffffffUL ^ bit), EPERM);
	}
	CHECK(syscall(SYS_personality, 0xffffffffUL) == 0);
}

CHILD_TEST(seccomp_personality)

#if defined(__x86_64__)
/* An i386 system call through int 0x80 from this 64-bit process. */
static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

#define I386_GETPID 20
#define I386_MOUNT 21
#define I386_PTRACE 26
#define I386_SETHOSTNAME 74
#define I386_UNSHARE 310
#define X32_BIT 0x40000000L
#define X32_PTRACE 521	/* x32's own (compat) ptrace number */
#define X32_MOUNT 165

static void child_seccomp_compat_abis(void)
{
	pid_t pid;
	int st;

	/* is there an i386 ABI (ia32_emulation) at all? */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(int80(I386_GETPID, 0, 0, 0) == getpid() ? 0 : 1);
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		child_exit(CHILD_SKIP, "no i386 system calls on this kernel");

	drop_and_filter();
	CHECK(int80(I386_GETPID, 0, 0, 0) == getpid());
	CHECK(int80(I386_PTRACE, PTRACE_TRACEME, 0, 0) == -EPERM);
	CHECK(int80(I386_MOUNT, 0, 0, 0) == -EPERM);
	CHECK(int80(I386_SETHOSTNAME, 0, 0, 0) == -EPERM);
	CHECK(int80(I386_UNSHARE, CLONE_NEWUSER, 0, 0) == -EPERM);
	/* x32 numbers: the filter answers before the kernel looks for x32 */
	CHECK_FAILS(syscall(X32_BIT | X32_PTRACE, PTRACE_TRACEME, 0, 0, 0), EPERM);
	CHECK_FAILS(syscall(X32_BIT | X32_MOUNT, 0, 0, 0, 0, 0), EPERM);
}
#else
static void child_seccomp_compat_abis(void)
{
	child_exit(CHILD_SKIP, "i386 and x32 checks are for x86_64");
}
#endif

CHILD_TEST(seccomp_compat_abis)

/* The cost of the filter: building and loading it (once per job), and
 * what it adds to an allowed system call. Printed, never failed on. */
#define SPIN_CALLS 200000

static long long spin_ns(void)
{
	long long t0 = time_mono_ns();
	int i;

	for (i = 0; i < SPIN_CALLS; i++)
		syscall(SYS_getppid);
	return time_mono_ns() - t0;
}

static void child_seccomp_time(void)
{
	long long t0, build, before, after;

	need_caps();
	CHECK_OK(sbx_drop_privileges(&e_));
	before = spin_ns();
	t0 = time_mono_ns();
	CHECK_OK(sbx_seccomp_apply(&e_));
	build = time_mono_ns() - t0;
	after = spin_ns();
	child_exit(0, "seccomp filter built and loaded in %lld us; getppid "
		   "%lld ns before, %lld ns after", build / 1000,
		   before / SPIN_CALLS, after / SPIN_CALLS);
}

CHILD_TEST(seccomp_time)

/* Without no_new_privs or CAP_SYS_ADMIN the kernel refuses a filter;
 * libseccomp sets no_new_privs itself, so this works, and it is set. */
static void child_seccomp_sets_nnp(void)
{
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHECK_OK(sbx_seccomp_apply(&e_));
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK_FAILS(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
}

CHILD_TEST(seccomp_sets_nnp)

static struct rlimit parent_core;

/* Run last: the test process itself was never changed. */
static void test_priv_parent_unchanged(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(status_field("NoNewPrivs", 10), 0);
	assert_int_equal(status_field("Seccomp", 10), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_true(rl.rlim_cur == parent_core.rlim_cur &&
		    rl.rlim_max == parent_core.rlim_max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priv_limits_default),
		cmocka_unit_test(test_priv_rlimits_apply),
		cmocka_unit_test(test_priv_rlimits_zero_leaves),
		cmocka_unit_test(test_priv_rlimits_errors),
		cmocka_unit_test(test_priv_drop_status),
		cmocka_unit_test(test_priv_drop_securebits),
		cmocka_unit_test(test_priv_drop_setuid),
		cmocka_unit_test(test_priv_drop_mount),
		cmocka_unit_test(test_priv_drop_exec),
		cmocka_unit_test(test_priv_seccomp_ptrace),
		cmocka_unit_test(test_priv_seccomp_namespaces),
		cmocka_unit_test(test_priv_seccomp_mount_with_caps),
		cmocka_unit_test(test_priv_seccomp_kernel_apis),
		cmocka_unit_test(test_priv_seccomp_clone3),
		cmocka_unit_test(test_priv_seccomp_still_works),
		cmocka_unit_test(test_priv_seccomp_personality),
		cmocka_unit_test(test_priv_seccomp_compat_abis),
		cmocka_unit_test(test_priv_seccomp_time),
		cmocka_unit_test(test_priv_seccomp_sets_nnp),
		cmocka_unit_test(test_priv_parent_unchanged),
	};

	getrlimit(RLIMIT_CORE, &parent_core);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
