/*
 * git: the libgit2 plumbing that talks to remotes. Credentials are handed
 * out once per kind and a second request is refused with a message that
 * names the credential (never its value); host keys are looked up in a
 * known_hosts file here because libgit2 1.5 does not; TLS keeps the
 * library's verdict. URLs are redacted before they reach any message.
 * URLs are read in lib/git_url.c; the cache itself (mirrors, checkout)
 * is in lib/git_mirror.c, its locks and gc in lib/git_cache.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "fs.h"
#include "git.h"
#include "git_int.h"
#include "util.h"

#define KNOWN_HOSTS_MAX (4 << 20)
#define KEY_FILE_MAX (64 << 10)
#define KH_FIELD_MAX 4096

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;
static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;

#ifdef __SANITIZE_ADDRESS__
/* libgit2 1.5 leaks PCRE2 match data on every config lookup with a
 * pattern (fixed upstream in 1.6, libgit2 PR #6382), its copy of the
 * custom headers when an HTTP connection is refused, and, over SSH, its
 * libssh2 known-hosts handle and two small buffers while connecting. Any
 * sanitizer build that links this module hides those library leaks. The
 * last one is matched by git_remote_connect_ext, which would also hide a
 * leak of ours made during a connection: our credential and certificate
 * callbacks allocate nothing that outlives the call. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\nleak:git_strarray_copy\n"
	       "leak:libssh2_knownhost_init\nleak:git_remote_connect_ext\n";
}
#endif

static void do_init(void)
{
	init_rc = git_libgit2_init();
	if (init_rc >= 0)
		init_rc = gitx_stream_register();
}

int gitx_ensure_init(struct err *e)
{
	pthread_once(&init_once, do_init);
	if (init_rc < 0)
		return err_set(e, ERR_INTERNAL, "libgit2 could not start");
	return 0;
}

int gitx_init(struct err *e)
{
	return gitx_ensure_init(e);
}

char *gitx_mirror_path(const char *cache_dir, const char *url)
{
	struct gitx_url u;
	struct err e = ERR_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *red = gitx_redact(url), *out;
	struct buf name = BUF_INIT;
	const char *host = "local", *path = url;

	if (gitx_url_parse(&u, red, &e) == 0) {
		if (*u.host)
			host = u.host;
		path = u.path;
	}
	buf_printf(&name, "%s-%s", host, path);
	while (str_ends_with(name.ptr, "/"))
		buf_truncate(&name, name.len - 1);
	if (str_ends_with(name.ptr, ".git"))
		buf_truncate(&name, name.len - 4);
	if (name.len > 80)
		buf_truncate(&name, 80);
	for (size_t i = 0; i < name.len; i++) {
		char ch = name.ptr[i];

		if (ch == '/')
			name.ptr[i] = '-';
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
			   ch == '-'))
			name.ptr[i] = '_';
	}
	EVP_Digest(red, strlen(red), md, &mdlen, EVP_sha256(), NULL);
	out = xasprintf("%s/%s-%02x%02x%02x%02x.git", cache_dir, name.ptr,
			md[0], md[1], md[2], md[3]);
	if (u.scheme)
		gitx_url_release(&u);
	buf_release(&name);
	free(red);
	return out;
}

/* base64 := { A-Z a-z 0-9 + / } [ "=" [ "=" ] ]; whitespace skipped.
 * Returns the decoded length, or -1 on a bad character or overflow. */
static long b64_decode(unsigned char *out, size_t cap, const char *s,
		       size_t len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		int v;

		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else if (ch == '=')
			break;
		else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

/* hashed := "|1|" base64(salt) "|" base64(HMAC-SHA1(salt, name)) */
static bool kh_hashed_match(const char *field, const char *name)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	const char *bar = strchr(field + 3, '|');
	long sl, wl;

	if (!bar)
		return false;
	sl = b64_decode(salt, sizeof(salt), field + 3, (size_t)(bar - field - 3));
	wl = b64_decode(want, sizeof(want), bar + 1, strlen(bar + 1));
	if (sl <= 0 || wl != 20)
		return false;
	if (!HMAC(EVP_sha1(), salt, (int)sl, (const unsigned char *)name,
		  strlen(name), got, &got_len))
		return false;
	return got_len == 20 && memcmp(got, want, 20) == 0;
}

/* glob := { "*" | "?" | char }, as OpenSSH matches host patterns ('[' is
 * literal, for "[host]:port"); ASCII case-insensitive. Linear backtracking
 * to the last '*', so bounded by len(pat) * len(s). */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		char a = *pat, b = *s;

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a == '*') {
			star = pat++;
			retry = s;
		} else if (a && (a == '?' || a == b)) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* hosts := hashed | pattern { "," pattern }; pattern := [ "!" ] glob */
static bool kh_hosts_match(const char *field, const char *name)
{
	char pat[KH_FIELD_MAX];
	const char *p = field;
	bool hit = false;

	if (str_starts_with(field, "|1|"))
		return kh_hashed_match(field, name);
	while (*p) {
		size_t n = strcspn(p, ",");
		bool neg = *p == '!';

		if (n < sizeof(pat)) {
			memcpy(pat, p + neg, n - neg);
			pat[n - neg] = '\0';
			if (glob_match(pat, name)) {
				if (neg)
					return false;
				hit = true;
			}
		}
		p += n + (p[n] == ',');
	}
	return hit;
}

/* Copy the next blank-separated field of *p into out (truncated safely). */
static bool kh_field(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= end)
		return false;
	while (s < end && *s != ' ' && *s != '\t') {
		if (n + 1 < cap)
			out[n++] = *s;
		s++;
	}
	out[n] = '\0';
	*p = s;
	return true;
}

/* The key type at the head of an SSH wire blob ("ssh-ed25519"). */
static bool blob_type(const unsigned char *k, size_t len, char *out, size_t cap)
{
	uint32_t n;

	if (len < 4)
		return false;
	n = ((uint32_t)k[0] << 24) | ((uint32_t)k[1] << 16) |
	    ((uint32_t)k[2] << 8) | k[3];
	if (n == 0 || n >= cap || n > len - 4)
		return false;
	memcpy(out, k + 4, n);
	out[n] = '\0';
	return true;
}

/* line := [ marker ] hosts keytype base64key [ comment ] */
enum gitx_kh gitx_known_hosts_match(const char *text, const char *host,
				    int port, const unsigned char *key,
				    size_t key_len)
{
	char f_hosts[KH_FIELD_MAX], f_type[256], f_key[KH_FIELD_MAX];
	unsigned char blob[KH_FIELD_MAX];
	char name[512], want_type[256];
	bool match = false, mismatch = false, revoked = false;
	const char *p = text;

	if (port > 0 && port != 22)
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	else
		snprintf(name, sizeof(name), "%s", host);
	for (size_t i = 0; name[i]; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	if (!blob_type(key, key_len, want_type, sizeof(want_type)))
		return GITX_KH_UNKNOWN;
	while (*p) {
		const char *end = p + strcspn(p, "\n");
		const char *q = p;
		bool is_revoked = false;
		long bl;

		p = *end ? end + 1 : end;
		if (!kh_field(&q, end, f_hosts, sizeof(f_hosts)) ||
		    f_hosts[0] == '#')
			continue;
		if (f_hosts[0] == '@') {
			if (strcmp(f_hosts, "@revoked") != 0)
				continue;
			is_revoked = true;
			if (!kh_field(&q, end, f_hosts, sizeof(f_hosts)))
				continue;
		}
		if (!kh_field(&q, end, f_type, sizeof(f_type)) ||
		    !kh_field(&q, end, f_key, sizeof(f_key)))
			continue;
		if (!kh_hosts_match(f_hosts, name))
			continue;
		bl = b64_decode(blob, sizeof(blob), f_key, strlen(f_key));
		if (bl < 0)
			continue;
		if (is_revoked) {
			if ((size_t)bl == key_len && memcmp(blob, key, key_len) == 0)
				revoked = true;
			continue;
		}
		if (strcmp(f_type, want_type) != 0)
			continue;
		if ((size_t)bl == key_len && memcmp(blob, key, key_len) == 0)
			match = true;
		else
			mismatch = true;
	}
	if (revoked)
		return GITX_KH_MISMATCH;
	if (match)
		return GITX_KH_MATCH;
	return mismatch ? GITX_KH_MISMATCH : GITX_KH_UNKNOWN;
}

bool gitx_key_is_rsa(const char *key_text)
{
	static const unsigned char rsa_oid[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
	};
	const char *begin, *body, *stop;
	unsigned char *der;
	long n;
	bool rsa = false;

	if (strstr(key_text, "BEGIN RSA PRIVATE KEY"))
		return true;
	begin = strstr(key_text, "-----BEGIN ");
	if (!begin || !(body = strstr(begin + 11, "-----")))
		return false;
	body += 5;
	stop = strstr(body, "-----END");
	if (!stop || stop - body > KEY_FILE_MAX)
		return false;
	der = xmalloc((size_t)(stop - body));
	n = b64_decode(der, (size_t)(stop - body), body, (size_t)(stop - body));
	if (n > 0 && strstr(begin, "OPENSSH PRIVATE KEY"))
		rsa = memmem(der, (size_t)n, "ssh-rsa", 7) != NULL;
	else if (n > 0)
		rsa = memmem(der, (size_t)n, rsa_oid, sizeof(rsa_oid)) != NULL;
	free(der);
	return rsa;
}

/* The SSH key named for messages; the RSA warning appended when it is. */
static void refuse_key(struct gitx_cb *cb)
{
	const struct gitx_creds *c = cb->c;
	struct buf text = BUF_INIT;
	struct err ignore = ERR_INIT;
	bool rsa = false;

	text.max = KEY_FILE_MAX;
	if (c->ssh_key_path) {
		if (fs_read_file(&text, c->ssh_key_path, &ignore) == 0)
			rsa = gitx_key_is_rsa(text.ptr);
	} else {
		rsa = gitx_key_is_rsa(c->ssh_key);
	}
	buf_release(&text);
	err_set(&cb->err, ERR_AUTH,
		"authentication to %s was refused with the SSH key %s%s",
		cb->u.host, c->ssh_key_path ? c->ssh_key_path : "given as text",
		rsa ? ": the SSH key is RSA: libssh2 1.10 cannot sign with "
		      "RSA-SHA2, which servers now require; use an ed25519 key"
		    : "");
}

/* An in-memory key that libgit2 cannot take from memory goes to a 0600
 * temporary file, removed by gitx_cb_release(). */
static int key_from_temp(git_credential **out, struct gitx_cb *cb,
			 const char *user)
{
	const char *tmp = getenv("TMPDIR");
	size_t len = strlen(cb->c->ssh_key);
	int fd;

	cb->tmp_key = xasprintf("%s/gantry-key-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkostemp(cb->tmp_key, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) < 0 ||
	    fs_write_all(fd, cb->c->ssh_key, len) < 0) {
		err_sys(&cb->err, ERR_IO, "cannot write the SSH key to a temporary file");
		if (fd >= 0)
			close(fd);
		return GIT_EUSER;
	}
	close(fd);
	return git_credential_ssh_key_new(out, user, NULL, cb->tmp_key, NULL);
}

static int cred_cb(git_credential **out, const char *url,
		   const char *user_from_url, unsigned int allowed,
		   void *payload)
{
	struct gitx_cb *cb = payload;
	const struct gitx_creds *c = cb->c;
	const char *user = user_from_url && *user_from_url ? user_from_url :
			   c->ssh_user ? c->ssh_user : "git";

	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && (c->ssh_key_path || c->ssh_key)) {
		if (cb->tries_key++ > 0) {
			refuse_key(cb);
			return GIT_EAUTH;
		}
		if (c->ssh_key_path) {
			if (access(c->ssh_key_path, R_OK) < 0) {
				err_sys(&cb->err, ERR_NOT_FOUND,
					"cannot read the SSH key %s", c->ssh_key_path);
				return GIT_EUSER;
			}
			return git_credential_ssh_key_new(out, user, NULL,
							  c->ssh_key_path, NULL);
		}
		if (git_credential_ssh_key_memory_new(out, user, NULL, c->ssh_key,
						      NULL) == 0)
			return 0;
		return key_from_temp(out, cb, user);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		if (cb->tries_user++ > 3)
			goto none;
		return git_credential_username_new(out, user);
	}
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		const char *what = c->username && c->password ?
				   "the username and password" : "the token";

		if (!(c->username && c->password) && !c->token)
			goto none;
		if (c->token_bearer && !(c->username && c->password)) {
			err_set(&cb->err, ERR_AUTH,
				"authentication to %s was refused with the token",
				cb->u.host);
			return GIT_EAUTH;
		}
		if (cb->tries_userpass++ > 0) {
			err_set(&cb->err, ERR_AUTH,
				"authentication to %s was refused with %s",
				cb->u.host, what);
			return GIT_EAUTH;
		}
		if (c->username && c->password)
			return git_credential_userpass_plaintext_new(out, c->username,
								     c->password);
		return git_credential_userpass_plaintext_new(out, "x-access-token",
							     c->token);
	}
none:
	err_set(&cb->err, ERR_AUTH,
		"%s asked for credentials and none that it accepts were given: %s",
		cb->u.host,
		(allowed & GIT_CREDENTIAL_SSH_KEY) ? "give an SSH key" :
		"give a token, or a username and password");
	return GIT_EAUTH;
}

/* The known_hosts verdict on an SSH host key, as an error in cb->err. */
static int check_host_key(struct gitx_cb *cb, const git_cert_hostkey *hk)
{
	const struct gitx_creds *c = cb->c;
	const char *home = getenv("HOME");
	char *file = c->known_hosts ? xstrdup(c->known_hosts) :
		     xasprintf("%s/.ssh/known_hosts", home ? home : "");
	struct buf text = BUF_INIT;
	struct err ignore = ERR_INIT;
	enum gitx_kh v = GITX_KH_UNKNOWN;
	int rc = GIT_ECERTIFICATE;

	text.max = KNOWN_HOSTS_MAX;
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		err_set(&cb->err, ERR_AUTH,
			"host key of %s could not be checked: the SSH library "
			"did not hand over the key", cb->u.host);
		goto done;
	}
	if (fs_read_file(&text, file, &ignore) == 0)
		v = gitx_known_hosts_match(text.ptr, cb->u.host, cb->u.port,
					   (const unsigned char *)hk->hostkey,
					   hk->hostkey_len);
	if (v == GITX_KH_MATCH)
		rc = 0;
	else if (v == GITX_KH_MISMATCH)
		err_set(&cb->err, ERR_AUTH,
			"host key of %s does not match %s: someone may be "
			"intercepting; if the key changed, update the file",
			cb->u.host, file);
	else
		err_set(&cb->err, ERR_AUTH,
			"host key of %s is not in %s: add it (ssh-keyscan %s) "
			"after checking its fingerprint", cb->u.host, file,
			cb->u.host);
done:
	buf_release(&text);
	free(file);
	return rc;
}

static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct gitx_cb *cb = payload;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2)
		return check_host_key(cb, (const git_cert_hostkey *)cert);
	if (valid)
		return 0;
	err_set(&cb->err, ERR_AUTH,
		"TLS certificate of %s could not be verified: if the server uses "
		"a private CA, name its CA bundle", host ? host : cb->u.host);
	return GIT_ECERTIFICATE;
}

int gitx_cb_init(struct gitx_cb *cb, const char *url,
		 const struct gitx_creds *c, struct err *e)
{
	static const struct gitx_creds none;

	memset(cb, 0, sizeof(*cb));
	cb->c = c ? c : &none;
	cb->url = url;
	return gitx_url_parse(&cb->u, url, e);
}

void gitx_cb_release(struct gitx_cb *cb)
{
	if (cb->tmp_key) {
		unlink(cb->tmp_key);
		free(cb->tmp_key);
	}
	gitx_url_release(&cb->u);
	cb->tmp_key = NULL;
}

/* libgit2 counts received bytes only while a progress callback is set. */
static int progress_cb(const git_indexer_progress *stats, void *payload)
{
	(void)stats;
	(void)payload;
	return 0;
}

void gitx_fetch_opts(git_fetch_options *o, struct gitx_cb *cb,
		     char **bearer_header)
{
	const struct gitx_creds *c = cb->c;

	git_fetch_options_init(o, GIT_FETCH_OPTIONS_VERSION);
	o->callbacks.credentials = cred_cb;
	o->callbacks.certificate_check = cert_cb;
	o->callbacks.transfer_progress = progress_cb;
	o->callbacks.payload = cb;
	o->prune = GIT_FETCH_PRUNE;
	o->download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	*bearer_header = NULL;
	/* credentials (a bearer header goes with every request) stay with
	 * the server they were given for: no redirect to another one */
	if (c->token || (c->username && c->password))
		o->follow_redirects = GIT_REMOTE_REDIRECT_NONE;
	if (c->token && c->token_bearer && !(c->username && c->password)) {
		*bearer_header = xasprintf("Authorization: Bearer %s", c->token);
		o->custom_headers.strings = bearer_header;
		o->custom_headers.count = 1;
	}
}

/* libgit2 holds one CA location for the whole process: the last fetch to
 * name a bundle sets it for every later TLS connection too. */
int gitx_ca_bundle(const struct gitx_creds *c, struct err *e)
{
	int rc;

	if (!c || !c->ca_bundle)
		return 0;
	if (access(c->ca_bundle, R_OK) < 0)
		return err_sys(e, ERR_NOT_FOUND, "cannot read the CA bundle %s",
			       c->ca_bundle);
	pthread_mutex_lock(&ca_lock);
	rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, c->ca_bundle, NULL);
	pthread_mutex_unlock(&ca_lock);
	if (rc < 0)
		return err_set(e, ERR_INVALID, "the CA bundle %s could not be loaded",
			       c->ca_bundle);
	return 0;
}

int gitx_fail(struct err *e, int rc, const struct gitx_cb *cb,
	      const char *url, const char *path, const char *what)
{
	const git_error *ge = git_error_last();
	char *msg, *red = gitx_redact(url);
	int klass = ge ? ge->klass : GIT_ERROR_NONE;

	if (cb && cb->err.code != ERR_NONE) {
		*e = cb->err;
		free(red);
		return -1;
	}
	msg = gitx_redact(ge && ge->message ? ge->message : "unknown error");
	if (strstr(msg, "No space left on device"))
		err_set(e, ERR_IO, "disk full while writing %s", path ? path : "");
	else if (rc == GIT_EAUTH || rc == GIT_ECERTIFICATE)
		err_set(e, ERR_AUTH, "%s of %s: %s", what, red, msg);
	else if (klass == GIT_ERROR_NET || klass == GIT_ERROR_OS ||
		 klass == GIT_ERROR_SSH || klass == GIT_ERROR_SSL ||
		 klass == GIT_ERROR_HTTP || strstr(msg, "could not resolve") ||
		 strstr(msg, "failed to connect"))
		err_set(e, ERR_REMOTE,
			"cannot reach %s: %s; check the URL and the network",
			red, msg);
	else if (rc == GIT_ENOTFOUND)
		err_set(e, ERR_NOT_FOUND, "%s of %s: %s", what, red, msg);
	else
		err_set(e, ERR_REMOTE, "%s of %s: %s", what, red, msg);
	free(msg);
	free(red);
	return -1;
}
