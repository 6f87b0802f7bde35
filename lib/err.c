#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->code = code;
	e->sys_errno = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *e, enum err_code code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	if (!e)
		return -1;
	e->code = code;
	e->sys_errno = saved;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	size_t n, room;
	va_list ap;
	int w;

	if (!e)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	w = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w;
	if (n > sizeof(e->msg) - 1)
		n = sizeof(e->msg) - 1;
	/* "<context>: <old message>", cut to fit */
	room = sizeof(e->msg) - 1 - n;
	if (room >= 2) {
		size_t ol = strlen(old);

		memcpy(e->msg + n, ": ", 2);
		n += 2;
		room -= 2;
		if (ol > room)
			ol = room;
		memcpy(e->msg + n, old, ol);
		n += ol;
	}
	e->msg[n] = '\0';
	if (e->code == ERR_NONE)
		e->code = ERR_INTERNAL;
	return -1;
}

void err_clear(struct err *e)
{
	e->code = ERR_NONE;
	e->sys_errno = 0;
	e->msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
	static const char *const names[] = {
		"none", "internal", "not found", "syntax", "invalid", "limit",
		"io", "auth", "timeout", "cancelled", "sandbox", "remote",
	};

	if ((unsigned)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "unknown";
}
