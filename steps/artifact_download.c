/*
 * artifact_download: actions/download-artifact@v4 built in.
 *
 * Which artifacts: name (one, extracted straight into path), or
 * artifact-ids, or pattern (a glob over names), or neither (all of the
 * run's); several go each into path/<name>/, or all into path with
 * merge-multiple. They come from the run's part of the artifact store
 * (artifact_store.h), or another run's when run-id names one; there is
 * no GitHub API behind it, so github-token and repository are accepted
 * and not used.
 *
 * The zips are untrusted: any step can put a file in the store. Every
 * entry is checked before anything is written (pass 1): a relative name
 * without '..' parts (art_entry_ok), a plain file or a folder (no links,
 * hard links, devices, FIFOs), and the sizes the headers declare within
 * the cap. Then (pass 2) each file is written below path through folder
 * descriptors opened with O_NOFOLLOW, under a temporary name renamed into
 * place, with the bytes counted as they are written, so neither a crafted
 * entry nor a link an earlier step left in path can place a file outside
 * it, and a zip bomb stops at the cap (artifact.h). This is what
 * libarchive's ARCHIVE_EXTRACT_SECURE_NODOTDOT, _SECURE_SYMLINKS and
 * _SECURE_NOABSOLUTEPATHS check, done against descriptors instead of
 * path names: archive_write_disk would need a chdir() into path (the
 * flags refuse absolute names), which is not possible with the jobs of
 * a run running on threads of one process, and its checks are by name,
 * open to a link swapped in between check and write.
 */
#include "artifact.h"
#include "artifact_glob.h"
#include "artifact_store.h"
#include "stepx.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const known_inputs[] = {
	"name", "artifact-ids", "path", "pattern", "merge-multiple",
	"github-token", "repository", "run-id", NULL,
};

struct down {
	char *name, *ids, *path, *pattern, *token, *repo, *run_s;
	bool merge;
	long long run_id;
	char *dest;			/* owned: absolute, normalized */
	int root;			/* the root dest lies in */
	const char *rel;		/* dest below it, borrowed */
	struct art_roots roots;
};

struct tally {
	long long files, bytes;
	long long budget;		/* what the step may still write */
};

static void down_release(struct down *o)
{
	free(o->name);
	free(o->ids);
	free(o->path);
	free(o->pattern);
	free(o->token);
	free(o->repo);
	free(o->run_s);
	free(o->dest);
	art_roots_release(&o->roots);
	memset(o, 0, sizeof(*o));
}

/* "/a/./b//c/../d" is "/a/b/d" (as path.resolve, without the disk). */
static char *normalize(const char *abs)
{
	char *copy = xstrdup(abs), *save = NULL;
	struct strv parts = STRV_INIT;
	struct buf b = BUF_INIT;

	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (parts.n) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
			}
			continue;
		}
		strv_push(&parts, t);
	}
	for (size_t i = 0; i < parts.n; i++)
		buf_printf(&b, "/%s", parts.v[i]);
	if (!b.len)
		buf_addch(&b, '/');
	strv_release(&parts);
	free(copy);
	return buf_detach(&b, NULL);
}

static int resolve_dest(struct down *o, struct step_ctx *c, struct err *e)
{
	char *joined;
	const char *p = o->path;

	if (!p || !*p) {
		joined = xstrdup(c->workspace);
	} else if (p[0] == '~' && (p[1] == '/' || !p[1])) {
		const char *h = strv_getenv(c->envp, "HOME");

		if (!h || !*h)
			h = getenv("HOME");
		if (!h || *h != '/')
			return err_set(e, ERR_INVALID, "path: '%s': no HOME to expand ~ with", p);
		joined = xasprintf("%s%s", h, p + 1);
	} else {
		joined = fs_join(c->workspace, p);
	}
	o->dest = normalize(joined);
	free(joined);
	o->root = art_roots_find(&o->roots, o->dest, &o->rel);
	if (o->root < 0)
		return err_set(e, ERR_INVALID, "path: '%s' (%s) is outside the workspace "
			       "and RUNNER_TEMP: gantry writes downloads with its own "
			       "rights, outside the job's sandbox, so only into the job's "
			       "folders", p ? p : "", o->dest);
	return 0;
}

static int read_inputs(struct down *o, struct step_ctx *c, struct err *e)
{
	char *t = NULL;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	art_roots_init(&o->roots, c);
	stepx_check_inputs(c, known_inputs, "actions/download-artifact");
	if (stepx_input(&o->name, c, "name", NULL, e) < 0 ||
	    stepx_input(&o->ids, c, "artifact-ids", NULL, e) < 0 ||
	    stepx_input(&o->path, c, "path", NULL, e) < 0 ||
	    stepx_input(&o->pattern, c, "pattern", NULL, e) < 0 ||
	    stepx_input(&o->token, c, "github-token", NULL, e) < 0 ||
	    stepx_input(&o->repo, c, "repository", NULL, e) < 0 ||
	    stepx_input(&o->run_s, c, "run-id", NULL, e) < 0 ||
	    stepx_input(&t, c, "merge-multiple", "false", e) < 0)
		goto done;
	o->merge = stepx_truthy(t, false);
	if (o->name && o->ids) {
		err_set(e, ERR_INVALID, "name and artifact-ids: give one of them, "
			"not both");
		goto done;
	}
	if (o->name && art_name_check(o->name, "name", e) < 0)
		goto done;
	o->run_id = c->run_id;
	if (o->run_s) {
		long v;

		if (str_to_long(o->run_s, &v) < 0 || v <= 0) {
			err_set(e, ERR_INVALID, "run-id: '%s' is not a run ID", o->run_s);
			goto done;
		}
		o->run_id = v;
	}
	if (resolve_dest(o, c, e) < 0)
		goto done;
	if (o->name && o->pattern)
		stepx_say(c, "warning: pattern '%s' is ignored: name is given", o->pattern);
	if (o->token && *o->token)
		stepx_say(c, "warning: github-token is not used: gantry downloads "
			  "artifacts from its artifact store, not from GitHub");
	if (o->repo && stepx_github(c, "repository") &&
	    str_casecmp(o->repo, stepx_github(c, "repository")))
		stepx_say(c, "warning: repository '%s' is not used: gantry's artifact "
			  "store holds the runs made on this machine, by run ID", o->repo);
	ret = 0;
done:
	free(t);
	return ret;
}

/* ---- which artifacts ------------------------------------------------- */

static void list_text(struct buf *b, const struct strv *names, long long run_id)
{
	if (!names->n) {
		buf_adds(b, "the run has no artifacts (yet): the job that uploads one "
			 "must finish first; list it in this job's needs:");
		return;
	}
	buf_adds(b, "the run has: ");
	for (size_t i = 0; i < names->n; i++)
		buf_printf(b, "%s'%s' (ID %lld)", i ? ", " : "", names->v[i],
			   art_id(run_id, names->v[i]));
}

/* The names to fetch, from the inputs and the store's list. */
static int select_names(struct strv *out, struct step_ctx *c,
			struct art_store *s, const struct down *o, struct err *e)
{
	struct strv all = STRV_INIT;
	struct buf why = BUF_INIT;
	int ret = -1;

	if (o->name) {
		/* one name: no listing needed (S3: no s3:ListBucket) unless
		 * it is missing, to say what the run has */
		int r = art_store_exists(s, o->name, e);

		if (r < 0)
			goto done;
		if (r > 0) {
			strv_push(out, o->name);
			ret = 0;
			goto done;
		}
		if (art_store_list(s, &all, e) < 0) {
			err_clear(e);
			err_set(e, ERR_NOT_FOUND, "name: artifact '%s' not found in run "
				"%lld (%s)", o->name, o->run_id, s->shown);
			goto done;
		}
		list_text(&why, &all, o->run_id);
		err_set(e, ERR_NOT_FOUND, "name: artifact '%s' not found in run %lld "
			"(%s); %s", o->name, o->run_id, s->shown, why.ptr);
		goto done;
	}
	if (art_store_list(s, &all, e) < 0)
		goto done;
	if (o->ids) {
		char *copy = xstrdup(o->ids), *save = NULL;

		for (char *t = strtok_r(copy, ", \t\n", &save); t;
		     t = strtok_r(NULL, ", \t\n", &save)) {
			long id;
			bool hit = false;

			if (str_to_long(t, &id) < 0) {
				err_set(e, ERR_INVALID, "artifact-ids: '%s' is not an ID", t);
				free(copy);
				goto done;
			}
			for (size_t i = 0; i < all.n && !hit; i++)
				if (art_id(o->run_id, all.v[i]) == (long long)id) {
					strv_push(out, all.v[i]);
					hit = true;
				}
			if (!hit) {
				list_text(&why, &all, o->run_id);
				err_set(e, ERR_NOT_FOUND, "artifact-ids: no artifact with ID "
					"%s in run %lld (%s); %s", t, o->run_id, s->shown,
					why.ptr);
				free(copy);
				goto done;
			}
		}
		free(copy);
	} else {
		for (size_t i = 0; i < all.n; i++)
			if (!o->pattern || art_glob(o->pattern, all.v[i]))
				strv_push(out, all.v[i]);
		if (!out->n && all.n) {
			list_text(&why, &all, o->run_id);
			stepx_say(c, "no artifact of run %lld matches pattern '%s'; %s",
				  o->run_id, o->pattern, why.ptr);
		}
	}
	ret = 0;
done:
	buf_release(&why);
	strv_release(&all);
	return ret;
}

/* ---- extraction ------------------------------------------------------ */

static int zip_open(struct archive **out, int fd, const char *art,
		    struct err *e)
{
	struct archive *a = archive_read_new();

	if (!a)
		return err_set(e, ERR_INTERNAL, "libarchive: out of memory");
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		err_set(e, ERR_SYNTAX, "artifact '%s': not a zip: %s", art,
			archive_error_string(a) ? archive_error_string(a) : "unreadable");
		archive_read_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* Pass 1: every entry acceptable, the declared sizes within limit. */
static int check_all(int fd, const char *art, const char *dest, long long limit,
		     struct err *e)
{
	struct archive *a = NULL;
	struct archive_entry *ent;
	long long declared = 0, n = 0;
	int r, ret = -1;

	if (zip_open(&a, fd, art, e) < 0)
		return -1;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ent);
		mode_t type = archive_entry_filetype(ent);
		const char *what = NULL;

		if (!name || !art_entry_ok(name))
			what = "would be written outside the destination (an absolute "
			       "path or '..')";
		else if (archive_entry_hardlink(ent))
			what = "is a hard link";
		else if (type == AE_IFLNK || archive_entry_symlink(ent))
			what = "is a symbolic link";
		else if (type != AE_IFREG && type != AE_IFDIR)
			what = "is a device file, FIFO or socket";
		if (what) {
			err_set(e, ERR_INVALID, "artifact '%s': entry '%s' %s: refused; "
				"nothing was extracted into %s", art, name ? name : "?",
				what, dest);
			goto done;
		}
		if (++n > ART_ENTRIES_MAX) {
			err_set(e, ERR_LIMIT, "artifact '%s': more than %d entries", art,
				ART_ENTRIES_MAX);
			goto done;
		}
		if (archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0)
			declared += archive_entry_size(ent);
		if (declared > limit) {
			err_set(e, ERR_LIMIT, "artifact '%s': its files would take more "
				"than %lld MiB (a zip bomb?): refused; nothing was "
				"extracted", art, limit >> 20);
			goto done;
		}
		if (archive_read_data_skip(a) != ARCHIVE_OK) {
			err_set(e, ERR_SYNTAX, "artifact '%s': %s", art,
				archive_error_string(a));
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		err_set(e, ERR_SYNTAX, "artifact '%s': %s", art, archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	archive_read_free(a);
	return ret;
}

/* "a/b/c.txt": the folder "a/b" (owned) and the name "c.txt" (owned). */
static void split_name(const char *name, char **dir, char **base)
{
	char *copy = xstrdup(name);
	size_t n = strlen(copy);
	char *slash;

	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		*dir = copy;
		*base = xstrdup(slash + 1);
	} else {
		*dir = xstrdup("");
		*base = copy;
	}
}

static int write_file(struct archive *a, struct archive_entry *ent, int dirfd,
		      const char *dest, const char *art, long long limit,
		      struct tally *t, struct err *e)
{
	const char *name = archive_entry_pathname(ent);
	char *dir = NULL, *base = NULL, *tmp = NULL, *shown = NULL;
	char chunk[65536];
	int pfd = -1, fd = -1, ret = -1;
	mode_t perm = archive_entry_perm(ent) & 0777;
	long long written = 0;
	ssize_t n;

	split_name(name, &dir, &base);
	shown = xasprintf("%s/%s", dest, name);
	if (!strcmp(base, ".") || !*base) {
		err_set(e, ERR_INVALID, "artifact '%s': entry '%s' names no file", art, name);
		goto done;
	}
	if (art_openat_below(&pfd, dirfd, dest, dir, true, 0755, e) < 0) {
		err_wrap(e, "artifact '%s'", art);
		goto done;
	}
	for (int i = 0; i < 100 && fd < 0; i++) {
		free(tmp);
		/* not from base: a 255-byte name leaves no room */
		tmp = xasprintf(".gantry-%08x.tmp", (unsigned)(time_mono_ns() + i));
		fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err_sys(e, ERR_IO, "cannot write %s", shown);
		goto done;
	}
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		written += n;
		if (archive_entry_size_is_set(ent) && written > archive_entry_size(ent)) {
			err_set(e, ERR_INVALID, "artifact '%s': entry '%s' holds more than "
				"the %lld bytes its header says (a zip bomb?): refused", art,
				name, (long long)archive_entry_size(ent));
			goto done;
		}
		if (t->bytes + n > limit) {
			err_set(e, ERR_LIMIT, "artifact '%s': its files take more than "
				"%lld MiB (a zip bomb?): stopped at %s", art, limit >> 20,
				name);
			goto done;
		}
		if (fs_write_all(fd, chunk, (size_t)n) < 0) {
			err_sys(e, ERR_IO, "cannot write %s", shown);
			goto done;
		}
		t->bytes += n;
	}
	if (n < 0) {
		err_set(e, ERR_SYNTAX, "artifact '%s': %s: %s", art, name,
			archive_error_string(a));
		goto done;
	}
	if (fchmod(fd, perm ? perm : 0644) < 0) {
		err_sys(e, ERR_IO, "cannot set the mode of %s", shown);
		goto done;
	}
	if (archive_entry_mtime_is_set(ent)) {
		struct timespec ts[2];

		ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ent);
		ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
		(void)futimens(fd, ts);	/* the content matters, not its time */
	}
	if (close(fd) < 0) {
		fd = -1;
		err_sys(e, ERR_IO, "cannot write %s", shown);
		goto done;
	}
	fd = -1;
	if (renameat(pfd, tmp, pfd, base) < 0) {
		err_sys(e, ERR_IO, "cannot write %s", shown);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	t->files++;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (tmp && pfd >= 0)
		unlinkat(pfd, tmp, 0);
	if (pfd >= 0)
		close(pfd);
	free(tmp);
	free(shown);
	free(dir);
	free(base);
	return ret;
}

/* Pass 2: write every entry below the folder rel of root. */
static int extract(int zfd, long long zsize, const char *art, const char *root,
		   const char *rel, const char *dest, struct tally *t,
		   struct err *e)
{
	struct archive *a = NULL;
	struct archive_entry *ent;
	long long limit = zsize > ART_EXTRACT_MAX / ART_RATIO ? ART_EXTRACT_MAX :
			  zsize * ART_RATIO;
	long long start = t->bytes;
	int dfd = -1, r, ret = -1;

	if (limit < ART_EXTRACT_FLOOR)
		limit = ART_EXTRACT_FLOOR;
	if (limit > t->budget)
		limit = t->budget;
	if (check_all(zfd, art, dest, limit, e) < 0)
		return -1;
	if (art_open_below(&dfd, root, rel, true, 0755, e) < 0) {
		err_wrap(e, "path");
		goto done;
	}
	if (zip_open(&a, zfd, art, e) < 0)
		goto done;
	/* limit counts this artifact's bytes: t->bytes starts at start */
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (!art_entry_ok(archive_entry_pathname(ent))) {
			/* pass 1 saw another name: the zip changed under us */
			err_set(e, ERR_INVALID, "artifact '%s' changed while it was "
				"being extracted", art);
			goto done;
		}
		if (archive_entry_filetype(ent) == AE_IFDIR) {
			int fd;

			if (art_openat_below(&fd, dfd, dest, archive_entry_pathname(ent),
					     true, 0755, e) < 0) {
				err_wrap(e, "artifact '%s'", art);
				goto done;
			}
			close(fd);
		} else if (archive_entry_filetype(ent) == AE_IFREG &&
			   !archive_entry_hardlink(ent) && !archive_entry_symlink(ent)) {
			if (write_file(a, ent, dfd, dest, art, start + limit, t, e) < 0)
				goto done;
		} else {
			err_set(e, ERR_INVALID, "artifact '%s' changed while it was "
				"being extracted", art);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		err_set(e, ERR_SYNTAX, "artifact '%s': %s", art, archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	t->budget -= t->bytes - start;
	if (a)
		archive_read_free(a);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/* ---- the step -------------------------------------------------------- */

/* Where artifact name goes: dest, or dest/<name> (rel likewise). */
static void target_of(char **dest, char **rel, const struct down *o,
		      const char *name, bool own_folder)
{
	if (!own_folder) {
		*dest = xstrdup(o->dest);
		*rel = xstrdup(o->rel);
	} else {
		*dest = xasprintf("%s/%s", o->dest, name);
		*rel = *o->rel ? xasprintf("%s/%s", o->rel, name) : xstrdup(name);
	}
}

static void check_digest(struct step_ctx *c, struct art_store *s,
			 const char *name, int fd)
{
	json_t *meta = art_store_meta(s, name);
	const char *want = jsonx_str(meta, "digest");
	char got[65];
	struct err ignore = ERR_INIT;

	if (want && art_sha256_fd(got, fd, &ignore) == 0 && strcmp(want, got))
		stepx_say(c, "warning: artifact '%s': digest validation failed: the "
			  "zip's SHA-256 is %s, the upload recorded %s (changed since "
			  "it was uploaded?)", name, got, want);
	json_decref(meta);
}

static int fetch_one(struct step_ctx *c, struct art_store *s, const struct down *o,
		     const char *name, bool own_folder, struct tally *t,
		     struct err *e)
{
	char *dest = NULL, *rel = NULL, *url = art_store_url(s, name);
	long long size = 0, files0 = t->files, bytes0 = t->bytes;
	int fd = -1, ret = -1;

	target_of(&dest, &rel, o, name, own_folder);
	stepx_say(c, "Downloading artifact '%s' (ID %lld) from %s", name,
		  art_id(o->run_id, name), url);
	if (art_store_fetch(s, name, &fd, &size, e) < 0) {
		err_wrap(e, "artifact '%s'", name);
		goto done;
	}
	check_digest(c, s, name, fd);
	if (extract(fd, size, name, o->roots.dir[o->root], rel, dest, t, e) < 0)
		goto done;
	stepx_say(c, "Extracted %lld file%s (%lld bytes) into %s", t->files - files0,
		  t->files - files0 == 1 ? "" : "s", t->bytes - bytes0, dest);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(url);
	free(dest);
	free(rel);
	return ret;
}

static int download_run(struct step_ctx *c, struct err *e)
{
	struct down o;
	struct art_store s;
	struct strv names = STRV_INIT;
	struct tally t = { .budget = ART_EXTRACT_MAX };
	int ret = -1;

	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	if (read_inputs(&o, c, e) < 0 ||
	    art_store_open(&s, c, o.run_id, false, e) < 0 ||
	    select_names(&names, c, &s, &o, e) < 0)
		goto done;
	if (o.run_id != c->run_id)
		stepx_say(c, "artifacts of run %lld, from %s", o.run_id, s.shown);
	if (names.n) {
		stepx_say(c, "Preparing to download the following artifacts:");
		for (size_t i = 0; i < names.n; i++)
			stepx_say(c, "- %s (ID: %lld)", names.v[i],
				  art_id(o.run_id, names.v[i]));
	}
	/* as v4: one folder per artifact unless name: or merge-multiple */
	for (size_t i = 0; i < names.n; i++)
		if (fetch_one(c, &s, &o, names.v[i], !o.name && !o.merge, &t, e) < 0)
			goto done;
	jsonx_set_str(c->outputs, "download-path", o.dest);
	stepx_say(c, "Total of %zu artifact(s) downloaded (%lld file%s, %lld bytes) "
		  "into %s", names.n, t.files, t.files == 1 ? "" : "s", t.bytes, o.dest);
	c->outcome = STEP_SUCCESS;
	ret = 0;
done:
	strv_release(&names);
	art_store_release(&s);
	down_release(&o);
	return ret;
}

static int download_plan(struct step_ctx *c, struct err *e)
{
	struct down o;
	struct art_store s;
	struct strv names = STRV_INIT;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	if (read_inputs(&o, c, e) < 0 ||
	    art_store_open(&s, c, o.run_id, false, e) < 0)
		goto done;
	if (o.name) {
		char *url = art_store_url(&s, o.name);

		stepx_say(c, "download-artifact: would download '%s' from %s into %s",
			  o.name, url, o.dest);
		free(url);
	} else {
		stepx_say(c, "download-artifact: would download %s%s%s%s of run %lld "
			  "from %s into %s%s", o.ids ? "the artifacts with IDs " :
			  o.pattern ? "the artifacts matching '" : "every artifact",
			  o.ids ? o.ids : o.pattern ? o.pattern : "",
			  !o.ids && o.pattern ? "'" : "", "", o.run_id, s.shown, o.dest,
			  o.merge ? " (merge-multiple: all in one folder)" :
			  " (each in a folder of its name)");
	}
	if (!s.s3 && s.dirfd >= 0 && art_store_list(&s, &names, e) == 0 && names.n) {
		stepx_say(c, "  there now:");
		for (size_t i = 0; i < names.n; i++) {
			struct stat st;
			char *zip = xasprintf("%s.zip", names.v[i]);

			if (fstatat(s.dirfd, zip, &st, AT_SYMLINK_NOFOLLOW) == 0)
				stepx_say(c, "    %s (%lld bytes)", names.v[i],
					  (long long)st.st_size);
			free(zip);
		}
	} else if (o.run_id == c->run_id) {
		stepx_say(c, "  (uploaded by the jobs this one needs, which do not run "
			  "in a dry run)");
	}
	err_clear(e);
	ret = 0;
done:
	strv_release(&names);
	art_store_release(&s);
	down_release(&o);
	return ret;
}

const struct step_type step_type_download_artifact = {
	.name = "actions/download-artifact",
	.plan = download_plan,
	.run = download_run,
};
