/*
 * jwt keyring: a folder of signing keys and keyring.json (see jwt.h for
 * its shape), built on jwt.h's key functions only.
 *
 * Rules: every change happens under an exclusive flock on <dir>/.lock and
 * starts by re-reading keyring.json, so processes sharing the folder see
 * each other's rotations. A new key's file is written (fsync, rename)
 * before keyring.json names it, and a retired key's file is deleted only
 * after keyring.json no longer names it: a crash leaves at worst an
 * unnamed key file, never a name without its key. A keyring is created
 * only where there is nothing to lose (no keyring.json, no .pem file).
 */
#include "jwt.h"
#include "fs.h"
#include "jsonx.h"
#include "strv.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define KR_JSON		"keyring.json"
#define KR_LOCK		".lock"
#define KR_VERSION	1
#define KR_SKEW		300		/* clock skew allowed to verifiers */
#define KR_JSON_MAX	(1 << 20)
#define KR_KEYS_MAX	256		/* published keys */
#define KR_TIME_MAX	1000000000000LL	/* Unix seconds, year ~33658 */
#define KR_LIFE_MAX	10000000000LL	/* seconds */
#define KR_KID_LEN	43

struct kr_entry {
	struct jwt_key *key;	/* owned */
	long long created_at;
	long long retired_at;	/* -1 for the current key */
};

struct kr_state {
	long long lifetime;	/* the longest token lifetime seen */
	struct kr_entry *keys;	/* owned; [0] is the current key */
	size_t n, alloc;
};

struct jwt_keyring {
	char *dir;		/* owned */
	char *json_path;	/* owned */
	char *lock_path;	/* owned */
	struct kr_state st;
};

static void kr_state_release(struct kr_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		jwt_key_free(st->keys[i].key);
	free(st->keys);
	memset(st, 0, sizeof(*st));
}

static char *kr_key_path(const char *dir, const char *kid)
{
	return xasprintf("%s/%s.pem", dir, kid);
}

/* The error for a keyring.json that is not what this file writes. */
__attribute__((format(printf, 3, 4)))
static int kr_corrupt(struct err *e, const char *path, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return err_set(e, ERR_SYNTAX,
		       "%s is damaged (%s); restore it from a backup: a new "
		       "keyring would make verifiers that cached the old keys "
		       "refuse tokens until they fetch the JWKS again",
		       path, detail);
}

static int kr_lock(int *out, const char *path, struct err *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return err_sys(e, ERR_IO, "cannot open lock file %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		err_sys(e, ERR_IO, "cannot lock %s", path);
		close(fd);
		return -1;
	}
	*out = fd;
	return 0;
}

/* Whether dir holds a key file (a keyring is created only where it does
 * not: keys without keyring.json mean keyring.json was lost). */
static int kr_has_key_files(bool *out, const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return err_sys(e, ERR_IO, "cannot list %s", dir);
	*out = false;
	while ((de = readdir(d)))
		if (str_ends_with(de->d_name, ".pem"))
			*out = true;
	closedir(d);
	return 0;
}

static bool kr_kid_ok(const char *kid)
{
	size_t n = strlen(kid);

	if (n != KR_KID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kid[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* obj[name] as an integer in [0, max]; *out untouched when absent and
 * !required. */
static int kr_int(long long *out, const json_t *obj, const char *name,
		  long long max, bool required, const char *path,
		  struct err *e)
{
	json_t *v = json_object_get(obj, name);

	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return kr_corrupt(e, path, "%s is not an integer from 0 to %lld",
				  name, max);
	*out = json_integer_value(v);
	return 0;
}

/* One entry of "keys": its fields checked, its key file loaded. */
static int kr_read_entry(struct kr_entry *out, const json_t *k,
			 const char *dir, const char *path, struct err *e)
{
	const char *kid = jsonx_str(k, "kid"), *alg_s = jsonx_str(k, "alg");
	struct jwt_key *key = NULL;
	enum jwt_alg alg;
	char *pem = NULL;
	int ret = -1;

	out->retired_at = -1;
	if (!json_is_object(k) || !kid || !kr_kid_ok(kid)) {
		kr_corrupt(e, path, "a key without a valid kid");
		goto done;
	}
	if (jwt_alg_parse(&alg, alg_s, NULL) < 0) {
		kr_corrupt(e, path, "key %s has no alg RS256 or ES256", kid);
		goto done;
	}
	if (kr_int(&out->created_at, k, "created_at", KR_TIME_MAX, true, path, e) < 0 ||
	    kr_int(&out->retired_at, k, "retired_at", KR_TIME_MAX, false, path, e) < 0)
		goto done;
	pem = kr_key_path(dir, kid);
	if (jwt_key_load(&key, pem, e) < 0) {
		err_wrap(e, "key %s named in %s", kid, path);
		goto done;
	}
	if (strcmp(jwt_key_kid(key), kid) || jwt_key_alg(key) != alg) {
		err_set(e, ERR_INVALID,
			"%s holds another key than the %s key %s named in %s; "
			"restore the file from a backup", pem, alg_s, kid, path);
		goto done;
	}
	out->key = key;
	key = NULL;
	ret = 0;
done:
	jwt_key_free(key);
	free(pem);
	return ret;
}

/* Read keyring.json and the keys it names into st; *missing (and st
 * empty) when there is no keyring.json. */
static int kr_read(struct kr_state *st, bool *missing,
		   const struct jwt_keyring *kr, struct err *e)
{
	const char *path = kr->json_path, *current;
	json_t *root = NULL, *keys, *k;
	struct err rerr = ERR_INIT;
	struct buf b;
	json_error_t jerr;
	long long version = 0;
	size_t i, ncur = 0;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	*missing = false;
	buf_init(&b, KR_JSON_MAX);
	if (fs_read_file(&b, path, &rerr) < 0) {
		if (rerr.code == ERR_NOT_FOUND) {
			*missing = true;
			ret = 0;
		} else if (e) {
			*e = rerr;
		}
		goto done;
	}
	root = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		kr_corrupt(e, path, "line %d: %s", jerr.line, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		kr_corrupt(e, path, "not a JSON object");
		goto done;
	}
	if (kr_int(&version, root, "version", 1000, true, path, e) < 0)
		goto done;
	if (version != KR_VERSION) {
		err_set(e, ERR_INVALID, "%s has version %lld; this gantry reads "
			"version %d", path, version, KR_VERSION);
		goto done;
	}
	if (kr_int(&st->lifetime, root, "token_lifetime", KR_LIFE_MAX, true,
		   path, e) < 0)
		goto done;
	current = jsonx_str(root, "current");
	keys = json_object_get(root, "keys");
	if (!current || !json_is_array(keys) || !json_array_size(keys) ||
	    json_array_size(keys) > KR_KEYS_MAX) {
		kr_corrupt(e, path, "no current, or not 1 to %d keys",
			   KR_KEYS_MAX);
		goto done;
	}
	st->keys = xcalloc(json_array_size(keys), sizeof(*st->keys));
	st->alloc = json_array_size(keys);
	json_array_foreach(keys, i, k) {
		struct kr_entry *en = &st->keys[st->n];

		if (kr_read_entry(en, k, kr->dir, path, e) < 0)
			goto done;
		st->n++;
		for (size_t j = 0; j + 1 < st->n; j++)
			if (!strcmp(jwt_key_kid(st->keys[j].key),
				    jwt_key_kid(en->key))) {
				kr_corrupt(e, path, "key %s is listed twice",
					   jwt_key_kid(en->key));
				goto done;
			}
		if (en->retired_at < 0) {
			ncur++;
			if (strcmp(jwt_key_kid(en->key), current) || ncur > 1) {
				kr_corrupt(e, path, "key %s is neither retired "
					   "nor current", jwt_key_kid(en->key));
				goto done;
			}
			if (st->n > 1) {	/* the current key first */
				struct kr_entry t = *en;

				memmove(st->keys + 1, st->keys,
					(st->n - 1) * sizeof(*st->keys));
				st->keys[0] = t;
			}
		}
	}
	if (ncur != 1) {
		kr_corrupt(e, path, "current key %s is not in keys (or is retired)",
			   kr_kid_ok(current) ? current : "(invalid)");
		goto done;
	}
	ret = 0;
done:
	if (ret < 0)
		kr_state_release(st);
	json_decref(root);
	buf_release(&b);
	return ret;
}

static int kr_write(const struct jwt_keyring *kr, const struct kr_state *st,
		    struct err *e)
{
	json_t *root, *keys = json_array();
	char *text;
	int ret;

	for (size_t i = 0; i < st->n; i++) {
		const struct kr_entry *en = &st->keys[i];
		json_t *k = json_pack("{s:s, s:s, s:I}",
				      "kid", jwt_key_kid(en->key),
				      "alg", jwt_alg_name(jwt_key_alg(en->key)),
				      "created_at", (json_int_t)en->created_at);

		if (en->retired_at >= 0)
			json_object_set_new(k, "retired_at",
					    json_integer(en->retired_at));
		json_array_append_new(keys, k);
	}
	root = json_pack("{s:i, s:I, s:s, s:o}", "version", KR_VERSION,
			 "token_lifetime", (json_int_t)st->lifetime,
			 "current", jwt_key_kid(st->keys[0].key), "keys", keys);
	if (!root)
		BUG("json_pack of keyring.json");
	text = jsonx_dump(root, 1);
	ret = fs_write_file_sync(kr->json_path, text, strlen(text), 0600, e);
	free(text);
	json_decref(root);
	return ret;
}

/* Drop the retired keys whose tokens have all expired (retired_at +
 * lifetime + skew <= now); their files go into gone. */
static bool kr_prune(struct kr_state *st, const char *dir, long long now,
		     struct strv *gone)
{
	size_t w = 1;
	bool changed = false;

	for (size_t i = 1; i < st->n; i++) {
		struct kr_entry *en = &st->keys[i];

		if (en->retired_at + st->lifetime + KR_SKEW <= now) {
			strv_push_owned(gone, kr_key_path(dir, jwt_key_kid(en->key)));
			jwt_key_free(en->key);
			changed = true;
			continue;
		}
		st->keys[w++] = *en;
	}
	st->n = w;
	return changed;
}

/* A new current key of alg at the front; the old one retired at now. */
static int kr_add_key(struct kr_state *st, const char *dir, enum jwt_alg alg,
		      long long now, struct err *e)
{
	struct jwt_key *key = NULL;
	char *pem;
	int ret;

	if (st->n >= KR_KEYS_MAX)
		return err_set(e, ERR_LIMIT, "keyring %s already publishes %d "
			       "keys; rotate less often", dir, KR_KEYS_MAX);
	if (jwt_key_generate(&key, alg, e) < 0)
		return -1;
	pem = kr_key_path(dir, jwt_key_kid(key));
	ret = jwt_key_save(key, pem, e);
	free(pem);
	if (ret < 0) {
		jwt_key_free(key);
		return -1;
	}
	if (st->n)
		st->keys[0].retired_at = now;
	ALLOC_GROW(st->keys, st->n + 1, st->alloc);
	memmove(st->keys + 1, st->keys, st->n * sizeof(*st->keys));
	st->keys[0].key = key;
	st->keys[0].created_at = now;
	st->keys[0].retired_at = -1;
	st->n++;
	return 0;
}

/* dir exists, is ours and is mode 0700. */
static int kr_prepare_dir(const char *dir, struct err *e)
{
	struct stat st;

	if (fs_mkdirs(dir, 0700, e) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return err_sys(e, ERR_IO, "cannot stat %s", dir);
	if (st.st_uid != geteuid())
		return err_set(e, ERR_INVALID, "keyring folder %s belongs to "
			       "another user", dir);
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0)
		return err_sys(e, ERR_IO, "cannot make %s mode 0700", dir);
	return 0;
}

/* Read (or, in an empty folder, create) the state under the lock, bring
 * in alg's new key when rotating, prune, and write keyring.json when it
 * changed. */
static int kr_update(struct jwt_keyring *kr, bool rotate, enum jwt_alg alg,
		     long long now, long long lifetime, struct err *e)
{
	struct kr_state st = { 0 };
	struct strv gone = STRV_INIT;
	bool missing = false, has_keys = false, dirty = false;
	int lock = -1, ret = -1;

	if (kr_lock(&lock, kr->lock_path, e) < 0)
		goto done;
	if (kr_read(&st, &missing, kr, e) < 0)
		goto done;
	if (missing) {
		if (kr_has_key_files(&has_keys, kr->dir, e) < 0)
			goto done;
		if (has_keys || rotate) {
			err_set(e, ERR_NOT_FOUND, "%s is missing%s; restore it "
				"from a backup (or, if these keys never signed a "
				"token, move them away)", kr->json_path,
				has_keys ? " but the folder holds key files" : "");
			goto done;
		}
		st.lifetime = lifetime;
		if (kr_add_key(&st, kr->dir, alg, now, e) < 0)
			goto done;
		dirty = true;
	} else if (rotate) {
		if (kr_add_key(&st, kr->dir, alg, now, e) < 0)
			goto done;
		dirty = true;
	}
	if (lifetime > st.lifetime) {
		st.lifetime = lifetime;
		dirty = true;
	}
	if (kr_prune(&st, kr->dir, now, &gone))
		dirty = true;
	if (dirty && kr_write(kr, &st, e) < 0)
		goto done;
	/* no longer named: a file left behind is never read again */
	for (size_t i = 0; i < gone.n; i++)
		unlink(gone.v[i]);
	kr_state_release(&kr->st);
	kr->st = st;
	memset(&st, 0, sizeof(st));
	ret = 0;
done:
	if (lock >= 0)
		close(lock);	/* releases the flock */
	kr_state_release(&st);
	strv_release(&gone);
	if (ret < 0)
		err_wrap(e, "keyring %s", kr->dir);
	return ret;
}

int jwt_keyring_open(struct jwt_keyring **out, const char *dir,
		     enum jwt_alg alg, long long now,
		     long long token_lifetime, struct err *e)
{
	struct jwt_keyring *kr;

	if (!dir || !*dir)
		return err_set(e, ERR_INVALID, "keyring: no folder given");
	if (token_lifetime < 0 || token_lifetime > KR_LIFE_MAX)
		return err_set(e, ERR_INVALID, "keyring %s: token lifetime %lld "
			       "is not from 0 to %lld s", dir, token_lifetime,
			       KR_LIFE_MAX);
	if (now < 0 || now > KR_TIME_MAX)
		return err_set(e, ERR_INVALID, "keyring %s: time %lld out of "
			       "range", dir, now);
	if (kr_prepare_dir(dir, e) < 0)
		return err_wrap(e, "keyring %s", dir);
	kr = xcalloc(1, sizeof(*kr));
	kr->dir = xstrdup(dir);
	kr->json_path = fs_join(dir, KR_JSON);
	kr->lock_path = fs_join(dir, KR_LOCK);
	if (kr_update(kr, false, alg, now, token_lifetime, e) < 0) {
		jwt_keyring_free(kr);
		return -1;
	}
	*out = kr;
	return 0;
}

void jwt_keyring_free(struct jwt_keyring *kr)
{
	if (!kr)
		return;
	kr_state_release(&kr->st);
	free(kr->dir);
	free(kr->json_path);
	free(kr->lock_path);
	free(kr);
}

int jwt_keyring_rotate(struct jwt_keyring *kr, enum jwt_alg alg,
		       long long now, struct err *e)
{
	if (now < 0 || now > KR_TIME_MAX)
		return err_set(e, ERR_INVALID, "keyring %s: time %lld out of "
			       "range", kr->dir, now);
	return kr_update(kr, true, alg, now, kr->st.lifetime, e);
}

const struct jwt_key *jwt_keyring_current(const struct jwt_keyring *kr)
{
	return kr->st.keys[0].key;
}

json_t *jwt_keyring_jwks(const struct jwt_keyring *kr)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < kr->st.n; i++)
		json_array_append_new(keys, jwt_key_jwk(kr->st.keys[i].key));
	return json_pack("{s:o}", "keys", keys);
}
