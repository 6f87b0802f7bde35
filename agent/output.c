#include "output.h"
#include "../lib/buf.h"
#include "../lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void out_init(struct out *o, FILE *f, struct mask *mask)
{
	const char *nc = getenv("NO_COLOR");

	pthread_mutex_init(&o->mu, NULL);
	o->f = f;
	o->tty = isatty(fileno(f));
	o->color = o->tty && !(nc && *nc);
	o->mask = mask;
}

void out_release(struct out *o)
{
	fflush(o->f);
	pthread_mutex_destroy(&o->mu);
}

static const char *kind_color(enum out_kind kind)
{
	switch (kind) {
	case OUT_INFO: return "\033[1m";
	case OUT_OK: return "\033[32m";
	case OUT_FAIL: return "\033[31m";
	case OUT_WARN: return "\033[33m";
	case OUT_DIM: return "\033[2m";
	case OUT_GROUP: return "\033[36m";
	default: return "";
	}
}

void out_line(struct out *o, enum out_kind kind, const char *prefix,
	      const char *text)
{
	char *masked = mask_str(o->mask, text);
	char *mprefix = prefix ? mask_str(o->mask, prefix) : NULL;
	const char *col = o->color ? kind_color(kind) : "";
	const char *reset = o->color && *col ? "\033[0m" : "";
	struct buf b = BUF_INIT;

	if (!mprefix && !*col) {
		/* plain text: as it is, with a newline at the end */
		size_t n = strlen(masked);

		pthread_mutex_lock(&o->mu);
		fwrite(masked, 1, n, o->f);
		if (!n || masked[n - 1] != '\n')
			fputc('\n', o->f);
		if (!o->buffered)
			fflush(o->f);
		pthread_mutex_unlock(&o->mu);
		free(masked);
		return;
	}
	for (char *p = masked;;) {
		char *nl = strchr(p, '\n');

		if (mprefix) {
			if (o->color)
				buf_printf(&b, "\033[2m%s\033[0m ", mprefix);
			else
				buf_printf(&b, "%s ", mprefix);
		}
		buf_adds(&b, col);
		buf_add(&b, p, nl ? (size_t)(nl - p) : strlen(p));
		buf_adds(&b, reset);
		buf_addch(&b, '\n');
		if (!nl || !nl[1])
			break;
		p = nl + 1;
	}
	pthread_mutex_lock(&o->mu);
	fwrite(b.ptr, 1, b.len, o->f);
	if (!o->buffered)
		fflush(o->f);
	pthread_mutex_unlock(&o->mu);
	buf_release(&b);
	free(masked);
	free(mprefix);
}

void out_printf(struct out *o, enum out_kind kind, const char *prefix,
		const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out_line(o, kind, prefix, b.ptr);
	buf_release(&b);
}
