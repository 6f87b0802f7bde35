/*
 * artifact_upload: actions/upload-artifact@v4 built in.
 *
 * The files are found as the action finds them (artifact_glob.h: path is
 * one pattern a line, '!' excludes, a folder brings what is below it,
 * hidden names left out unless include-hidden-files, the common root
 * stripped). The zip is made with libarchive (deflate at
 * compression-level, 0 storing; modes kept; a link inside the job's
 * folders stored as the file it leads to) and put in the run's part of
 * the artifact store (artifact_store.h); overwrite: false refuses a name
 * the run already has. Outputs: artifact-id, artifact-url (file:// or
 * s3://), artifact-digest (SHA-256 of the zip).
 *
 * gantry reads with its own rights, outside the sandbox: files only from
 * the workspace and RUNNER_TEMP (links leading elsewhere are skipped with
 * a warning), and each file is checked again once open (its resolved
 * path), so a link swapped in after the search does not bring a host
 * file into the artifact.
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
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const known_inputs[] = {
	"name", "path", "if-no-files-found", "retention-days",
	"compression-level", "overwrite", "include-hidden-files", NULL,
};

struct up {
	char *name, *path, *if_none;
	long retention;			/* 0: not given */
	long level;
	bool overwrite, hidden;
};

static void up_release(struct up *o)
{
	free(o->name);
	free(o->path);
	free(o->if_none);
	memset(o, 0, sizeof(*o));
}

static int whole_number(long *out, const char *s, const char *input,
			long lo, long hi, struct err *e)
{
	if (str_to_long(s, out) < 0 || *out < lo || *out > hi)
		return err_set(e, ERR_INVALID, "%s: '%s' is not a whole number from "
			       "%ld to %ld", input, s, lo, hi);
	return 0;
}

static int read_inputs(struct up *o, struct step_ctx *c, struct err *e)
{
	char *t = NULL;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	stepx_check_inputs(c, known_inputs, "actions/upload-artifact");
	if (stepx_input(&o->name, c, "name", "artifact", e) < 0 ||
	    stepx_input(&o->path, c, "path", NULL, e) < 0 ||
	    stepx_input(&o->if_none, c, "if-no-files-found", "warn", e) < 0)
		goto done;
	if (art_name_check(o->name, "name", e) < 0)
		goto done;
	if (!o->path) {
		err_set(e, ERR_INVALID, "path: input required and not supplied "
			"(the files, folders or patterns to upload)");
		goto done;
	}
	if (strcmp(o->if_none, "warn") && strcmp(o->if_none, "error") &&
	    strcmp(o->if_none, "ignore")) {
		err_set(e, ERR_INVALID, "if-no-files-found: '%s' is not one of warn, "
			"error, ignore", o->if_none);
		goto done;
	}
	if (stepx_input(&t, c, "retention-days", NULL, e) < 0 ||
	    (t && whole_number(&o->retention, t, "retention-days", 0, 3650, e) < 0))
		goto done;
	free(t);
	if (stepx_input(&t, c, "compression-level", "6", e) < 0 ||
	    whole_number(&o->level, t, "compression-level", 0, 9, e) < 0)
		goto done;
	free(t);
	if (stepx_input(&t, c, "overwrite", "false", e) < 0)
		goto done;
	o->overwrite = stepx_truthy(t, false);
	free(t);
	if (stepx_input(&t, c, "include-hidden-files", "false", e) < 0)
		goto done;
	o->hidden = stepx_truthy(t, false);
	ret = 0;
done:
	free(t);
	return ret;
}

/* ---- finding the files ---------------------------------------------- */

static void say_warning(void *arg, const char *line)
{
	stepx_say(arg, "%s", line);
}

static int find_files(struct art_search *out, struct art_roots *roots,
		      struct step_ctx *c, const struct up *o, struct err *e)
{
	struct art_glob_opts go = { 0 };
	const char *h = strv_getenv(c->envp, "HOME");
	struct stat store;
	int r;

	art_roots_init(roots, c);
	if (!h || !*h)
		h = getenv("HOME");
	go.cwd = c->workspace;
	go.home = h && *h == '/' ? h : NULL;
	go.roots = roots;
	go.hidden = o->hidden;
	/* never the artifact store itself (include-hidden-files: true, ".") */
	if (c->artifact_store && c->artifact_store[0] == '/' &&
	    stat(c->artifact_store, &store) == 0)
		go.skip = &store;
	go.warn = say_warning;
	go.arg = c;
	r = art_search_run(out, o->path, &go, e);
	return r;
}

/* ---- the zip -------------------------------------------------------- */

struct sink {
	int fd;
	EVP_MD_CTX *md;
	long long size;
	int err;
};

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf,
			     size_t n)
{
	struct sink *k = ud;

	if (fs_write_all(k->fd, buf, n) < 0) {
		k->err = errno;
		archive_set_error(a, errno, "cannot write the zip");
		return -1;
	}
	EVP_DigestUpdate(k->md, buf, n);
	k->size += (long long)n;
	return (la_ssize_t)n;
}

/* The file as open: still a plain file inside the roots (a link or a
 * folder swapped in since the walk is refused here). */
static int open_checked(int *out, struct stat *st,
			const struct art_roots *roots, const char *abs,
			struct err *e)
{
	char proc[64], real[4096];
	int fd = open(abs, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, ERR_IO, "path: cannot read %s", abs);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || n <= 0 ||
	    (real[n] = '\0', !art_roots_contain_real(roots, real))) {
		close(fd);
		return err_set(e, ERR_INVALID, "path: %s changed while it was being "
			       "archived (no longer a plain file in the workspace)", abs);
	}
	*out = fd;
	return 0;
}

static int add_file(struct archive *a, const struct art_roots *roots,
		    const char *abs, const char *rel, struct err *e)
{
	struct archive_entry *ent = archive_entry_new();
	struct stat st;
	char chunk[65536];
	long long left;
	int fd = -1, ret = -1;

	if (open_checked(&fd, &st, roots, abs, e) < 0)
		goto done;
	archive_entry_set_pathname(ent, rel);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, st.st_mode & 0777);
	archive_entry_set_size(ent, st.st_size);
	archive_entry_set_mtime(ent, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (archive_write_header(a, ent) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
		goto done;
	}
	for (left = st.st_size; left > 0;) {
		ssize_t n = read(fd, chunk, left < (long long)sizeof(chunk) ?
				 (size_t)left : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "path: cannot read %s", abs);
			goto done;
		}
		if (n == 0) {
			err_set(e, ERR_IO, "path: %s shrank while it was being archived", abs);
			goto done;
		}
		if (archive_write_data(a, chunk, (size_t)n) < 0) {
			err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
			goto done;
		}
		left -= n;
	}
	if (archive_write_finish_entry(a) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	return ret;
}

/* Write the zip of w's files into fd; *size and digest (hex) out. */
static int make_zip(int fd, const struct art_search *f,
		    const struct art_roots *roots, const struct up *o,
		    long long *size, char digest[65], struct err *e)
{
	struct archive *a = archive_write_new();
	struct sink k = { .fd = fd, .md = EVP_MD_CTX_new() };
	unsigned char d[32];
	unsigned int dl = 32;
	char opt[48];
	int ret = -1;

	if (!a || !k.md) {
		err_set(e, ERR_INTERNAL, "zip: out of memory");
		goto done;
	}
	EVP_DigestInit_ex(k.md, EVP_sha256(), NULL);
	snprintf(opt, sizeof(opt), "zip:compression-level=%ld", o->level);
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, opt) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &k, NULL, sink_write, NULL) != ARCHIVE_OK) {
		err_set(e, ERR_INTERNAL, "zip: %s", archive_error_string(a));
		goto done;
	}
	for (size_t i = 0; i < f->n; i++)
		if (add_file(a, roots, f->files[i].abs,
			     art_search_rel(f, f->files[i].abs), e) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s", archive_error_string(a));
		goto done;
	}
	EVP_DigestFinal_ex(k.md, d, &dl);
	for (int i = 0; i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", d[i]);
	*size = k.size;
	ret = 0;
done:
	if (a)
		archive_write_free(a);
	EVP_MD_CTX_free(k.md);
	return ret;
}

/* ---- the step ------------------------------------------------------- */

static char *patterns_shown(const struct up *o)
{
	struct buf b = BUF_INIT;
	char *copy = xstrdup(o->path), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l && *l != '#')
			buf_printf(&b, "%s%s", b.len ? ", " : "", l);
	}
	free(copy);
	return buf_detach(&b, NULL);
}

/* No files: if-no-files-found decides. */
static int no_files(struct step_ctx *c, const struct up *o, struct err *e)
{
	char *shown = patterns_shown(o);
	int ret = 0;

	if (!strcmp(o->if_none, "error"))
		ret = err_set(e, ERR_NOT_FOUND, "path: no files were found with the "
			      "provided path: %s. No artifacts will be uploaded "
			      "(if-no-files-found: error)", shown);
	else if (!strcmp(o->if_none, "warn"))
		stepx_say(c, "warning: No files were found with the provided path: %s. "
			  "No artifacts will be uploaded.", shown);
	else
		stepx_say(c, "No files were found with the provided path: %s. No "
			  "artifacts will be uploaded.", shown);
	free(shown);
	return ret;
}

static char *meta_json(struct step_ctx *c, const struct up *o,
		       long long id, long long size, const char *digest,
		       size_t files)
{
	json_t *j = json_object();
	const char *rd = stepx_github(c, "retention_days");
	long days = o->retention;
	time_t now = time(NULL);
	char ts[32], exp[32];
	char *text;

	if (!days && (!rd || str_to_long(rd, &days) < 0 || days <= 0))
		days = 90;
	time_iso8601(ts, sizeof(ts), (long long)now);
	time_iso8601(exp, sizeof(exp), (long long)now + (long long)days * 86400);
	json_object_set_new(j, "name", json_string(o->name));
	json_object_set_new(j, "id", json_integer(id));
	json_object_set_new(j, "run_id", json_integer(c->run_id));
	json_object_set_new(j, "size", json_integer(size));
	json_object_set_new(j, "digest", json_string(digest));
	json_object_set_new(j, "files", json_integer((json_int_t)files));
	json_object_set_new(j, "retention_days", json_integer(days));
	json_object_set_new(j, "created_at", json_string(ts));
	json_object_set_new(j, "expires_at", json_string(exp));
	if (stepx_github(c, "job"))
		json_object_set_new(j, "job", json_string(stepx_github(c, "job")));
	text = jsonx_dump(j, 1);
	json_decref(j);
	return text;
}

static int upload_plan(struct step_ctx *c, struct err *e)
{
	struct up o;
	struct art_search f = { 0 };
	struct art_roots roots = { 0 };
	struct art_store s = { .dirfd = -1 };
	char *url = NULL, *shown = NULL;
	int ret = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	shown = patterns_shown(&o);
	stepx_say(c, "upload-artifact '%s': path %s", o.name, shown);
	if (find_files(&f, &roots, c, &o, e) < 0 ||
	    art_store_open(&s, c, c->run_id, false, e) < 0)
		goto done;
	if (f.n)
		stepx_say(c, "  now: %zu file%s, %lld bytes, below %s", f.n,
			  f.n == 1 ? "" : "s", f.bytes, f.root);
	else
		stepx_say(c, "  now: no files match (if-no-files-found: %s; steps before "
			  "this one have not run in a dry run)", o.if_none);
	url = art_store_url(&s, o.name);
	stepx_say(c, "  would write %s (zip, compression level %ld%s)", url, o.level,
		  o.overwrite ? ", replacing one of the same name" : "");
	ret = 0;
done:
	free(url);
	free(shown);
	art_store_release(&s);
	art_search_release(&f);
	art_roots_release(&roots);
	up_release(&o);
	return ret;
}

static int upload_run(struct step_ctx *c, struct err *e)
{
	struct up o;
	struct art_search f = { 0 };
	struct art_roots roots = { 0 };
	struct art_store s = { .dirfd = -1 };
	struct art_tmp t = { .fd = -1 };
	char *url = NULL, *meta = NULL;
	char digest[65] = "", idtext[32];
	long long size = 0, id;
	int r, ret = -1;

	if (read_inputs(&o, c, e) < 0 || find_files(&f, &roots, c, &o, e) < 0)
		goto done;
	if (!f.n) {
		ret = no_files(c, &o, e);
		goto done;
	}
	for (size_t i = 0; i < f.n; i++)
		if (art_path_check(art_search_rel(&f, f.files[i].abs), e) < 0)
			goto done;
	stepx_say(c, "With the provided path, there will be %zu file%s uploaded "
		  "(%lld bytes, paths relative to %s)", f.n, f.n == 1 ? "" : "s",
		  f.bytes, f.root);
	if (art_store_open(&s, c, c->run_id, true, e) < 0)
		goto done;
	if (!o.overwrite) {
		r = art_store_exists(&s, o.name, e);
		if (r < 0)
			goto done;
		if (r > 0) {
			err_set(e, ERR_INVALID, "name: an artifact named '%s' already "
				"exists in run %lld (%s): set overwrite: true to replace "
				"it, or give this one another name", o.name, c->run_id,
				s.shown);
			goto done;
		}
	}
	if (art_store_begin(&s, o.name, &t, e) < 0 ||
	    make_zip(t.fd, &f, &roots, &o, &size, digest, e) < 0)
		goto done;
	id = art_id(c->run_id, o.name);
	meta = meta_json(c, &o, id, size, digest, f.n);
	r = art_store_commit(&s, o.name, &t, size, o.overwrite, meta, e);
	if (r < 0) {
		err_wrap(e, "name '%s'", o.name);
		goto done;
	}
	if (r > 0) {
		stepx_say(c, "warning: %s.zip.json (the artifact's record) was not "
			  "written: %s", o.name, e->msg);
		err_clear(e);
	}
	url = art_store_url(&s, o.name);
	snprintf(idtext, sizeof(idtext), "%lld", id);
	jsonx_set_str(c->outputs, "artifact-id", idtext);
	jsonx_set_str(c->outputs, "artifact-url", url);
	jsonx_set_str(c->outputs, "artifact-digest", digest);
	stepx_say(c, "SHA256 digest of uploaded artifact zip is %s", digest);
	stepx_say(c, "Artifact %s has been successfully uploaded! Final size is "
		  "%lld bytes. Artifact ID is %s", o.name, size, idtext);
	stepx_say(c, "Artifact download URL: %s", url);
	if (o.retention)
		stepx_say(c, "retention-days %ld: recorded in %s.zip.json; gantry's "
			  "store keeps artifacts until they are deleted", o.retention,
			  o.name);
	c->outcome = STEP_SUCCESS;
	ret = 0;
done:
	if (t.fd >= 0)
		art_store_abort(&s, &t);
	free(meta);
	free(url);
	art_store_release(&s);
	art_search_release(&f);
	art_roots_release(&roots);
	up_release(&o);
	return ret;
}

const struct step_type step_type_upload_artifact = {
	.name = "actions/upload-artifact",
	.plan = upload_plan,
	.run = upload_run,
};
