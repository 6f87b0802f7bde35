/*
 * queue_pg_lib: libpq, opened with dlopen when the first PostgreSQL queue
 * is opened, never for SQLite: a SQLite agent does not map libpq, nor the
 * libraries it needs (libssl, libcrypto, GSSAPI/Kerberos, LDAP, SASL) on
 * its account, and a machine without libpq runs every other part of
 * gantry. gantry-agent links neither libcurl nor OpenSSL, so an idle
 * agent on SQLite maps none of them: about 2.6 MiB less VmRSS.
 *
 * Rules that always hold here:
 * - One load per process (pthread_once): libpq.so.5 with RTLD_LOCAL, so
 *   its symbols stay out of the global scope, and every function of
 *   struct pg_lib found, or none of them set. It is never unloaded.
 * - A failed load is kept, with its message, and answered to every later
 *   pg_lib_load: the agent reports it and exits, as for a database it
 *   cannot reach.
 */
#include "queue_pg_int.h"

#include "../lib/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define PG_LIB_NAME "libpq.so.5"

struct pg_lib pg_lib;

/* Each member of struct pg_lib and the libpq function it holds. */
static const struct {
	const char *name;
	size_t off;
} pg_lib_syms[] = {
	{ "PQclear", offsetof(struct pg_lib, clear) },
	{ "PQconnectdbParams", offsetof(struct pg_lib, connectdb_params) },
	{ "PQerrorMessage", offsetof(struct pg_lib, error_message) },
	{ "PQexec", offsetof(struct pg_lib, exec) },
	{ "PQexecParams", offsetof(struct pg_lib, exec_params) },
	{ "PQfinish", offsetof(struct pg_lib, finish) },
	{ "PQfname", offsetof(struct pg_lib, fname) },
	{ "PQftype", offsetof(struct pg_lib, ftype) },
	{ "PQgetisnull", offsetof(struct pg_lib, getisnull) },
	{ "PQgetvalue", offsetof(struct pg_lib, getvalue) },
	{ "PQnfields", offsetof(struct pg_lib, nfields) },
	{ "PQntuples", offsetof(struct pg_lib, ntuples) },
	{ "PQreset", offsetof(struct pg_lib, reset) },
	{ "PQresultErrorField", offsetof(struct pg_lib, result_error_field) },
	{ "PQresultErrorMessage", offsetof(struct pg_lib, result_error_message) },
	{ "PQresultStatus", offsetof(struct pg_lib, result_status) },
	{ "PQsetNoticeProcessor", offsetof(struct pg_lib, set_notice_processor) },
	{ "PQstatus", offsetof(struct pg_lib, status) },
};

/* a member without its line above is a compile error, not a NULL call */
_Static_assert(sizeof(struct pg_lib) == ARRAY_SIZE(pg_lib_syms) * sizeof(void *),
	       "pg_lib_syms lists every member of struct pg_lib");
/* dlsym's void * is stored as a function pointer (POSIX: same size) */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
	       "function pointers are the size of void *");

static const char *lib_name = PG_LIB_NAME;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];	/* "" after a load that worked */

static void load(void)
{
	struct pg_lib l;
	const char *why;
	void *h, *f;

	dlerror();
	h = dlopen(lib_name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", why ? why : "not found");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(pg_lib_syms); i++) {
		f = dlsym(h, pg_lib_syms[i].name);
		if (!f) {
			why = dlerror();
			snprintf(load_error, sizeof(load_error), "%s: no %s%s%s",
				 lib_name, pg_lib_syms[i].name, why ? ": " : "",
				 why ? why : "");
			dlclose(h);
			return;
		}
		memcpy((char *)&l + pg_lib_syms[i].off, &f, sizeof(f));
	}
	pg_lib = l;
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_lib_load(struct err *e)
{
	pthread_once(&load_once, load);
	if (!load_error[0])
		return 0;
	return err_set(e, ERR_IO, "cannot load %s (%s): a PostgreSQL queue"
		       " needs libpq; install libpq5 (Debian, Ubuntu) or"
		       " libpq (Fedora, Alpine)", lib_name, load_error);
}

/* Declared, with what it does, in queue_pg_int.h. */
void pg_lib_name_for_test(const char *name)
{
	lib_name = name;
}
