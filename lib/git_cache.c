/*
 * git_cache: the mirror cache's locks and its gc (lib/git.h), apart from
 * lib/git_mirror.c so that the agent (gantry-agent), which only collects
 * old mirrors, links without libgit2. The lock's rules are in
 * lib/git_mirror.c's header.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "git.h"
#include "git_int.h"
#include "util.h"

#define LOCK_POLL_MS 50
#define LOCK_WAIT_POLLS (10 * 60 * 1000 / LOCK_POLL_MS)
#define LOCK_REOPEN_MAX 100
#define GC_ENTRIES_MAX 100000

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int gitx_lock_mirror(int *fd_out, const char *mirror, bool wait,
		       struct err *e)
{
	char *path = xasprintf("%s.lock", mirror);
	int rc = -1, polls = 0;

	for (int reopen = 0; reopen < LOCK_REOPEN_MAX; reopen++) {
		struct stat fst, pst;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0) {
			err_sys(e, ERR_IO, "cannot open the lock %s", path);
			goto done;
		}
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				err_sys(e, ERR_IO, "cannot lock %s", path);
				close(fd);
				goto done;
			}
			if (!wait) {
				close(fd);
				rc = 1;
				goto done;
			}
			if (++polls > LOCK_WAIT_POLLS) {
				err_set(e, ERR_TIMEOUT,
					"waited 10 minutes for the lock %s: another "
					"process holds it", path);
				close(fd);
				goto done;
			}
			sleep_ms(LOCK_POLL_MS);
		}
		/* gc may have removed the file we locked: lock the new one */
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 &&
		    fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev) {
			*fd_out = fd;
			rc = 0;
			goto done;
		}
		close(fd);
	}
	err_set(e, ERR_IO, "the lock %s keeps being replaced", path);
done:
	free(path);
	return rc;
}

int gitx_cache_gc(const char *cache_dir, long long max_age, size_t *removed,
		  size_t *kept, struct err *e)
{
	size_t n_removed = 0, n_kept = 0;
	time_t now = time(NULL);
	DIR *d = opendir(cache_dir);
	int rc = -1;

	if (!d) {
		if (errno != ENOENT)
			return err_sys(e, ERR_IO, "cannot read the cache %s", cache_dir);
		rc = 0;
		goto done;
	}
	for (long n = 0; n < GC_ENTRIES_MAX; n++) {
		struct dirent *de = readdir(d);
		struct stat st;
		char *path, *used, *lock;
		int fd = -1, lr;

		if (!de)
			break;
		if (de->d_name[0] == '.' || !str_ends_with(de->d_name, ".git"))
			continue;
		path = fs_join(cache_dir, de->d_name);
		used = fs_join(path, GITX_LAST_USED);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(used);
			free(path);
			continue;
		}
		if (stat(used, &st) < 0)	/* never used: the folder's date */
			lstat(path, &st);
		if ((long long)(now - st.st_mtime) <= max_age) {
			n_kept++;
			free(used);
			free(path);
			continue;
		}
		lr = gitx_lock_mirror(&fd, path, false, e);
		if (lr == 0) {
			lock = xasprintf("%s.lock", path);
			lr = fs_remove_tree(path, e);
			unlink(lock);
			free(lock);
			close(fd);
			if (lr == 0)
				n_removed++;
		} else if (lr == 1) {
			n_kept++;	/* in use right now */
		}
		free(used);
		free(path);
		if (lr < 0)
			goto done;
	}
	rc = 0;
done:
	if (d)
		closedir(d);
	if (removed)
		*removed = n_removed;
	if (kept)
		*kept = n_kept;
	return rc;
}
