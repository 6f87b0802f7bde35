/*
 * err: the error a failing function hands back to its caller.
 *
 * A function that can fail returns int (0 success, negative failure) and
 * fills a caller-owned struct err; on success it leaves the struct alone.
 * Callers add context on the way up with err_wrap(), so a message reads
 * outermost-first: "checkout of org/repo@main: fetch: HTTP 401".
 * Messages never contain secret values: callers pass names, not contents.
 */
#ifndef GANTRY_ERR_H
#define GANTRY_ERR_H

#include <stdarg.h>

enum err_code {
	ERR_NONE = 0,
	ERR_INTERNAL,	/* a bug or an unexpected library failure */
	ERR_NOT_FOUND,	/* a file, key, job or ref that does not exist */
	ERR_SYNTAX,	/* input that does not parse */
	ERR_INVALID,	/* input that parses but is not allowed */
	ERR_LIMIT,	/* input over a size, depth or count limit */
	ERR_IO,		/* reading or writing failed */
	ERR_AUTH,	/* credentials refused */
	ERR_TIMEOUT,	/* a deadline passed */
	ERR_CANCELLED,	/* the user or a signal cancelled */
	ERR_SANDBOX,	/* a process could not be started or isolated */
	ERR_REMOTE,	/* a remote service answered with an error */
};

/* Large enough that a message quoting a path or value is not cut in the
 * middle of a secret, which masking would then not recognize. */
#define ERR_MSG_MAX 4096

struct err {
	enum err_code code;
	int sys_errno;		/* errno when the failure came from the system */
	char msg[ERR_MSG_MAX];
};

#define ERR_INIT { ERR_NONE, 0, { 0 } }

/* Fill e and return -1, so callers can write "return err_set(...)". */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As err_set, appending ": strerror(errno)" and keeping errno. */
int err_sys(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix context: "<context>: <old message>". Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
const char *err_code_name(enum err_code code);

#endif
