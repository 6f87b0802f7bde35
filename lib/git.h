/*
 * git: clone, fetch and check out with libgit2, through a cache of bare
 * mirrors (one per remote URL) so that a new commit costs one incremental
 * fetch and a work tree write.
 *
 * Rules that always hold: TLS is verified (a CA bundle may be named);
 * SSH host keys are checked against a known_hosts file in the certificate
 * callback and anything unknown is refused (libgit2 1.5 does not check by
 * itself); credentials are tried once each and never appear in messages,
 * which name the kind of credential instead ("the token", "the SSH key
 * ~/.ssh/id_ed25519"). A mirror is updated under an exclusive file lock;
 * one left half-fetched by a crash is detected by its marker file and
 * rebuilt before use. A work tree borrows the mirror's objects through
 * objects/info/alternates, so no object is copied.
 * Prefix gitx_ (libgit2 owns git_).
 */
#ifndef GANTRY_GIT_H
#define GANTRY_GIT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct gitx_creds {
	const char *token;		/* HTTPS: x-access-token:TOKEN basic auth */
	bool token_bearer;		/* send the token as "Authorization: bearer" instead */
	const char *username;		/* HTTPS basic auth */
	const char *password;
	const char *ssh_key_path;	/* private key file (ed25519) */
	const char *ssh_key;		/* or the key itself (PEM/OpenSSH text) */
	const char *ssh_user;		/* default "git", or the URL's user */
	const char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
	const char *ca_bundle;		/* NULL: the system's */
};

/* s with every "scheme://user:pass@" reduced to "scheme://". Caller frees. */
char *gitx_redact(const char *s);

struct gitx_stats {
	bool cloned;			/* the mirror was made (or rebuilt) now */
	bool rebuilt;			/* a broken mirror was found and rebuilt */
	bool repaired;			/* one left half-fetched was checked and fetched again */
	size_t received_objects;
	size_t received_bytes;
	long long fetch_ms;
	long long checkout_ms;
};

/* Call once per process before anything else (thread-safe, idempotent). */
int gitx_init(struct err *e);

/* The mirror folder for url under cache_dir (not created). Caller frees.
 * The name is readable and unique: host-path-<8 hex of SHA-256(url)>. */
char *gitx_mirror_path(const char *cache_dir, const char *url);

/*
 * Make or update the bare mirror of url: fetch every branch and tag with
 * forced refspecs (so force-pushes are followed) and prune. Locked against
 * concurrent updates; repairs a half-fetched mirror. *mirror (caller
 * frees) is its path. stats may be NULL.
 */
int gitx_mirror_update(char **mirror, const char *cache_dir, const char *url,
		       const struct gitx_creds *c, struct gitx_stats *stats,
		       struct err *e);

/*
 * Resolve ref in a mirror: a full ref (refs/heads/x), a branch, a tag or a
 * commit SHA (full or at least 7 hex digits). sha gets 40 hex digits and a
 * NUL; *full_ref (caller frees, may be NULL for a bare SHA) the ref it
 * named. ERR_NOT_FOUND names the ref and the remote URL.
 */
int gitx_resolve(char sha[41], char **full_ref, const char *mirror,
		 const char *url, const char *ref, struct err *e);

/* Whether the mirror exists and has the commit/ref (for dry runs). */
bool gitx_mirror_has(const char *mirror, const char *ref);

struct gitx_checkout_opts {
	const char *dir;		/* the work tree (created if missing) */
	const char *mirror;
	const char *url;		/* recorded as origin */
	const char *sha;		/* the commit to check out */
	const char *ref;		/* refs/heads/x: a local branch x at sha; else detached */
	bool clean;			/* remove untracked files first (git clean -ffdx) */
	bool persist_url_credentials;	/* keep nothing else: tokens are never written */
};

/* Check out: init (or reuse) the repository at dir with alternates into
 * the mirror, set origin, move HEAD, force the work tree to the commit. */
int gitx_checkout(const struct gitx_checkout_opts *o, struct gitx_stats *stats,
		  struct err *e);

/* Update the submodules of the work tree at dir (each through its own
 * mirror), recursively when asked. Relative submodule URLs resolve
 * against parent_url. */
int gitx_submodules(const char *dir, const char *parent_url,
		    const char *cache_dir, bool recursive,
		    const struct gitx_creds *c, struct err *e);

/* Remove mirrors not used (fetched or checked out from) for max_age
 * seconds. *removed and *kept may be NULL. */
int gitx_cache_gc(const char *cache_dir, long long max_age, size_t *removed,
		  size_t *kept, struct err *e);

/* The parts of a remote URL (scheme://user:pass@host:port/path or the
 * scp form user@host:path). Strings are owned; port is 0 when absent. */
struct gitx_url {
	char *scheme;	/* "https", "ssh", "file", "git"; "ssh" for scp form */
	char *user;	/* NULL when absent */
	char *host;	/* "" for file URLs */
	int port;
	char *path;	/* without the leading '/' of the URL form */
};

/* Split url the way libgit2 reads it (the authority ends at "/", "?" or
 * "#"; the last '@' ends the userinfo); -1 (ERR_INVALID) when it is not a URL we can fetch. */
int gitx_url_parse(struct gitx_url *out, const char *url, struct err *e);
void gitx_url_release(struct gitx_url *u);
/* Whether a token may be offered to url: https, or http to loopback. */
bool gitx_token_url_ok(const char *url);

#endif
