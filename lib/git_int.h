/*
 * git_int: what lib/git.c and lib/git_mirror.c share, and what the unit
 * tests reach into. Not for use outside lib/git*.c and tests/unit/git.c.
 *
 * lib/git.c holds the libgit2 plumbing that touches the network: the
 * credential and certificate callbacks, known_hosts matching and error
 * mapping; lib/git_url.c reads URLs. lib/git_cache.c holds the mirrors'
 * locks and gc, lib/git_mirror.c the rest of the cache: mirrors,
 * checkout and submodules.
 */
#ifndef GANTRY_GIT_INT_H
#define GANTRY_GIT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "err.h"
#include "git.h"

/* Put lib/git_stream.c's TCP stream in place of libgit2's own (once,
 * from gitx_ensure_init): TCP_NODELAY and a bounded connect. */
int gitx_stream_register(void);
/* One such stream (for the tests); its int socket follows the git_stream
 * and two char pointers, as in libgit2 1.5's own. */
struct git_stream;
int gitx_stream_new(struct git_stream **out, const char *host,
		    const char *port);

/* The marker whose mtime dates a mirror's last use (for gc). */
#define GITX_LAST_USED "gantry-last-used"

/* Lock <mirror>.lock (lib/git_cache.c). wait: poll up to 10 minutes, else
 * fail at once. Returns 0 with *fd_out locked, 1 when busy (wait false),
 * -1 on error. */
int gitx_lock_mirror(int *fd_out, const char *mirror, bool wait,
		     struct err *e);

/* Whether two URLs name the same server: scheme, host (any case), port. */
bool gitx_same_origin(const char *a, const char *b);
/* The credentials to fetch url with when they were given for from_url:
 * c itself on the same server; on another, no token, user or password
 * (a .gitmodules URL must not collect the repository's token); none
 * when c is NULL. */
void gitx_creds_for(struct gitx_creds *out, const struct gitx_creds *c,
		    const char *from_url, const char *url);


/* Where an offered SSH host key stands in a known_hosts file. */
enum gitx_kh {
	GITX_KH_MATCH,		/* a line for the host has this key */
	GITX_KH_MISMATCH,	/* lines for the host and key type, other keys */
	GITX_KH_UNKNOWN,	/* no line for the host (and this key type) */
};

/*
 * Look host (port 22 or 0: plain name; else "[host]:port") up in the
 * known_hosts text and compare the key (the SSH wire blob, as in the
 * base64 field). Plain, wildcard, negated and hashed (|1|salt|hash) host
 * fields are understood; @revoked lines make a match a mismatch;
 * @cert-authority lines are skipped. Bounded by the text's length.
 */
enum gitx_kh gitx_known_hosts_match(const char *text, const char *host,
				    int port, const unsigned char *key,
				    size_t key_len);

/* Whether the private key text is an RSA key (PEM or OpenSSH form). */
bool gitx_key_is_rsa(const char *key_text);

/* The state the callbacks of one fetch share. */
struct gitx_cb {
	const struct gitx_creds *c;	/* borrowed; never NULL */
	const char *url;		/* borrowed, redacted, for messages */
	struct gitx_url u;		/* owned */
	int tries_userpass;
	int tries_key;
	int tries_user;
	char *tmp_key;			/* owned temp file of an in-memory key */
	struct err err;			/* set by a callback that refused */
};

/* Fill fetch options (callbacks, tags, prune, bearer header) for one
 * fetch of url; cb and the header storage must outlive the fetch.
 * gitx_cb_release() removes the temp key file, if any. */
int gitx_cb_init(struct gitx_cb *cb, const char *url,
		 const struct gitx_creds *c, struct err *e);
void gitx_cb_release(struct gitx_cb *cb);
void gitx_fetch_opts(git_fetch_options *o, struct gitx_cb *cb,
		     char **bearer_header);

/* Set the process-wide CA bundle when c names one (under a mutex). */
int gitx_ca_bundle(const struct gitx_creds *c, struct err *e);

/* Turn libgit2's last error after rc into e: the callback's own error
 * when it set one, else the network, not-found or disk-full forms.
 * what names the operation ("fetch"), path the folder written. */
int gitx_fail(struct err *e, int rc, const struct gitx_cb *cb,
	      const char *url, const char *path, const char *what);

/* The libgit2 once-init, for functions that may be called first. */
int gitx_ensure_init(struct err *e);

/* git_tree.c: write commit's tree into dir, which holds only .git, with
 * threads reading the mirror's objects; the index is built from the stat
 * data. 0 done, 1 declined (the tree needs libgit2's checkout: filters,
 * protected names), -1 with e filled. */
int gitx_write_worktree(git_repository *repo, const git_commit *commit,
			const char *dir, const char *mirror, struct err *e);

#endif
